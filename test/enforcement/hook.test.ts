// The hook's decision on the real production templates (a synthesized cdk.out), with requests in
// the documented shapes, the payload served by a local HTTP server (fetched by the handler's own
// fetchPayload), and the attestation bucket as an in-memory map. Each attack is a test.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attestationKey,
  buildStatement,
  type Envelope,
  LocalSigner,
  pae,
  revokedKey,
  serializeEnvelope,
  signEnvelope,
  type StatementInput,
  type TrustedKey,
} from '../../enforcement/attestation/index';
import { approvedDeleteKey, decide, type HookRequest, type HookResponse, MAX_MESSAGE_LENGTH, parseStackArn } from '../../enforcement/hook/decide';
import { fetchPayload } from '../../enforcement/hook/handler';
import { fileAssets } from '../../enforcement/validator/templates';
import { listStacks } from '../../pipeline/cloud-assembly';
import { sharedAssembly } from '../support/app';
import { changeSetEvent, changeSetPayload, type EventTarget, STACK_UUID, stackEvent, stackPayload } from './hook-events';

const ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const STACK = 'Production-Tiers';
const COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const NOW = new Date('2026-12-10T12:00:00.000Z');
const VERIFIED = new Date('2026-12-03T09:00:00.000Z');
const oldKey = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111');
const newKey = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/22222222-2222-2222-2222-222222222222');
const attacker = LocalSigner.generate('arn:aws:kms:eu-west-1:111111111111:key/33333333-3333-3333-3333-333333333333');

// The real production templates, copied out of the shared assembly (which stays untouched).
const scratch = mkdtempSync(join(tmpdir(), 'hook-test-'));
let tiers: string; // the Production-Tiers template text, exactly as synthesized
let edgeWaf: string;
/** Production's asset bucket (bucket/key → object): a stand-in zip for each file asset Production-Tiers names. */
const assetBucket = new Map<string, Buffer>();
let tiersFiles: { uri: string; sha256: string }[];
const payloads = new Map<string, { status: number; body: string }>();
let server: Server;
let base: string;

beforeAll(async () => {
  for (const stack of listStacks(sharedAssembly()).filter((s) => s.account === ACCOUNT)) {
    const file = join(scratch, `${stack.stackName}.template.json`);
    copyFileSync(stack.templateFile, file);
    if (stack.stackName === 'Production-Tiers') tiers = readFileSync(file, 'utf8');
    if (stack.stackName === 'Production-EdgeWaf') edgeWaf = readFileSync(file, 'utf8');
  }
  tiersFiles = fileAssets(JSON.parse(tiers)).map((f) => {
    const body = Buffer.from(`PK stand-in zip of ${f.key}`);
    assetBucket.set(`${f.bucket}/${f.key}`, body);
    return { uri: `s3://${f.bucket}/${f.key}`, sha256: createHash('sha256').update(body).digest('hex') };
  });
  server = createServer((request, response) => {
    const served = payloads.get(request.url ?? '');
    response.statusCode = served?.status ?? 404;
    response.end(served?.body ?? '<Error><Code>AccessDenied</Code></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(scratch, { recursive: true, force: true });
});

let served = 0;
/** Serves `body` at a fresh presigned-looking URL and returns the URL. */
function serve(body: string, status = 200): string {
  const path = `/hooks-payloads/${++served}?X-Amz-Signature=local`;
  payloads.set(path, { status, body });
  return `${base}${path}`;
}

const target = (payloadUrl: string, over: Partial<EventTarget> = {}): EventTarget => ({ account: ACCOUNT, region: REGION, stackName: STACK, payloadUrl, ...over });

function statementInput(over: Partial<StatementInput> = {}): StatementInput {
  return {
    templates: [
      { account: ACCOUNT, region: REGION, stackName: STACK, body: tiers },
      { account: ACCOUNT, region: 'us-east-1', stackName: 'Production-EdgeWaf', body: edgeWaf },
    ],
    images: [],
    files: tiersFiles,
    release: { commit: COMMIT, executionId: '0f1e2d3c-0000-4000-8000-000000000001' },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'parity', status: 'PASS', detail: 'production equals staging under the allowances' }],
    timeVerified: VERIFIED,
    validityDays: 30,
    ...over,
  };
}

/** A bucket holding one release's envelope under each template subject's key, as the validator stores it. */
async function bucketWith(input: StatementInput = statementInput(), by = oldKey): Promise<Map<string, Buffer>> {
  const envelope = serializeEnvelope(await signEnvelope(buildStatement(input), by));
  const bucket = new Map<string, Buffer>();
  for (const t of input.templates) bucket.set(attestationKey(t.account, t.region, t.stackName, createHash('sha256').update(t.body).digest('hex')), Buffer.from(envelope));
  return bucket;
}

function run(request: HookRequest, bucket: Map<string, Buffer>, over: { keys?: TrustedKey[]; now?: Date; protectedStacks?: string[]; assets?: Map<string, Buffer> } = {}): Promise<HookResponse> {
  const assets = over.assets ?? assetBucket;
  return decide(request, {
    readTemplatePayload: (url) => fetchPayload(url),
    readObject: async (key) => bucket.get(key),
    readAssetObject: async (bucketName, key) => assets.get(`${bucketName}/${key}`),
    now: () => over.now ?? NOW,
    keys: over.keys ?? [oldKey.trustedKey],
    protectedStacks: over.protectedStacks ?? ['Production-Tiers', 'Production-EdgeWaf', 'CDKToolkit'],
    account: ACCOUNT,
    region: REGION,
  });
}

const digestOf = (text: string) => createHash('sha256').update(text).digest('hex');
const keyFor = (text: string) => attestationKey(ACCOUNT, REGION, STACK, digestOf(text));

function expectRefused(response: HookResponse, errorCode: 'NonCompliant' | 'InternalFailure', message: RegExp) {
  expect(response.hookStatus).toBe('FAILED');
  expect(response.errorCode).toBe(errorCode);
  expect(response.message).toMatch(message);
  expect(response.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
}

describe('the hook admits attested operations', () => {
  it('admits the CDK Pipelines flow for the attested production template: CreateChangeSet, then the stack update of ExecuteChangeSet', async () => {
    const bucket = await bucketWith();
    const created = await run(changeSetEvent(target(serve(changeSetPayload(tiers)))), bucket);
    expect(created).toEqual({
      hookStatus: 'SUCCESS',
      message: `guardrail hook: stack ${STACK} (account ${ACCOUNT}, ${REGION}), template sha256 ${digestOf(tiers)}: attested by release ${COMMIT} (execution 0f1e2d3c-0000-4000-8000-000000000001), signed by ${oldKey.keyId}, valid until 2027-01-02T09:00:00.000Z, its 2 file assets unchanged since validation; admitted`,
      clientRequestToken: 'a0b1c2d3-b23f-48f4-814c-0fb6a667f50e',
    });
    const executed = await run(stackEvent(target(serve(stackPayload(tiers, tiers))), 'UPDATE_PRE_PROVISION', changeSetEvent(target('')).changeSetId!), bucket);
    expect(executed.hookStatus).toBe('SUCCESS');
    expect(executed.clientRequestToken).toBe('f8da6d11-b23f-48f4-814c-0fb6a667f50e');
  });

  it('reads the guide’s other spellings of the token and stack id fields', async () => {
    const { clientRequestToken, stackId, ...rest } = stackEvent(target(serve(stackPayload(tiers))));
    const response = await run({ ...rest, clientRequesttoken: clientRequestToken, stackID: stackId }, await bucketWith());
    expect(response).toMatchObject({ hookStatus: 'SUCCESS', clientRequestToken });
  });

  it('admits a release signed by the old key during a rotation, and refuses it after the old key is removed', async () => {
    const bucket = await bucketWith(statementInput(), oldKey);
    const request = () => stackEvent(target(serve(stackPayload(tiers))));
    expect((await run(request(), bucket, { keys: [oldKey.trustedKey, newKey.trustedKey] })).hookStatus).toBe('SUCCESS');
    expect((await run(request(), await bucketWith(statementInput(), newKey), { keys: [oldKey.trustedKey, newKey.trustedKey] })).hookStatus).toBe('SUCCESS');
    expectRefused(await run(request(), bucket, { keys: [newKey.trustedKey] }), 'NonCompliant', /signed by key .*1111.*, which is not trusted/);
  });
});

describe('the hook refuses', () => {
  it('a template with no attestation, naming the stack and the digest', async () => {
    const response = await run(stackEvent(target(serve(stackPayload(tiers)))), new Map());
    expectRefused(response, 'NonCompliant', new RegExp(`stack ${STACK} \\(account ${ACCOUNT}, ${REGION}\\), template sha256 ${digestOf(tiers)}: no attestation \\(s3 key ${keyFor(tiers)}\\)`));
  });

  it('a template one byte different from the attested one', async () => {
    const bucket = await bucketWith();
    const changed = tiers.replace('"Resources"', '"Resources" ');
    expect(changed).not.toBe(tiers);
    expectRefused(await run(stackEvent(target(serve(stackPayload(changed)))), bucket), 'NonCompliant', /no attestation/);
    expectRefused(await run(changeSetEvent(target(serve(changeSetPayload(changed)))), bucket), 'NonCompliant', /no attestation/);
  });

  it('an attestation for another stack name, account or region stored under this key (decoy relabelling)', async () => {
    // The validator attested the same template bytes for a decoy; someone copies the envelope to
    // the key the hook reads for the real stack.
    for (const decoy of [
      { account: ACCOUNT, region: REGION, stackName: 'Decoy-Tiers' },
      { account: '222222222222', region: REGION, stackName: STACK },
      { account: ACCOUNT, region: 'eu-central-1', stackName: STACK },
    ]) {
      const envelope = serializeEnvelope(await signEnvelope(buildStatement(statementInput({ templates: [{ ...decoy, body: tiers }] })), oldKey));
      const bucket = new Map([[keyFor(tiers), Buffer.from(envelope)]]);
      const response = await run(stackEvent(target(serve(stackPayload(tiers)))), bucket);
      expectRefused(response, 'NonCompliant', new RegExp(`does not name cloudformation:${ACCOUNT}:${REGION}:${STACK} \\(it names cloudformation:${decoy.account}:${decoy.region}:${decoy.stackName}\\)`));
    }
  });

  it('an attestation of the stack whose digest is another template’s', async () => {
    // Stored under this template's key, but attesting the EdgeWaf body as Production-Tiers.
    const envelope = serializeEnvelope(await signEnvelope(buildStatement(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: edgeWaf }] })), oldKey));
    const response = await run(stackEvent(target(serve(stackPayload(tiers)))), new Map([[keyFor(tiers), Buffer.from(envelope)]]));
    expectRefused(response, 'NonCompliant', new RegExp(`attests cloudformation:${ACCOUNT}:${REGION}:${STACK} with sha256 ${digestOf(edgeWaf)}, not this template`));
  });

  it('an attestation signed by an untrusted key', async () => {
    const response = await run(stackEvent(target(serve(stackPayload(tiers)))), await bucketWith(statementInput(), attacker));
    expectRefused(response, 'NonCompliant', /the attestation at .* is refused: signed by key arn:aws:kms:eu-west-1:111111111111:key\/3333.*, which is not trusted/);
  });

  it('an expired attestation (its rollback window is over), and admits it until then', async () => {
    const bucket = await bucketWith();
    const request = () => stackEvent(target(serve(stackPayload(tiers))));
    expect((await run(request(), bucket, { now: new Date('2027-01-02T08:59:59.999Z') })).hookStatus).toBe('SUCCESS');
    expectRefused(await run(request(), bucket, { now: new Date('2027-01-02T09:00:00.000Z') }), 'NonCompliant', new RegExp(`the attestation of release ${COMMIT} .* expired at 2027-01-02T09:00:00.000Z`));
  });

  it('an attestation verified in the future (a clock that cannot be trusted)', async () => {
    const response = await run(stackEvent(target(serve(stackPayload(tiers)))), await bucketWith(statementInput({ timeVerified: new Date('2026-12-10T12:10:00.000Z') })));
    expectRefused(response, 'NonCompliant', /says it was verified at 2026-12-10T12:10:00.000Z, after now/);
  });

  it('a revoked release', async () => {
    const bucket = await bucketWith();
    bucket.set(revokedKey(COMMIT), Buffer.from('revoked by the administrator: CVE in the base image'));
    expectRefused(await run(stackEvent(target(serve(stackPayload(tiers)))), bucket), 'NonCompliant', new RegExp(`release ${COMMIT} .* is revoked \\(revoked/${COMMIT}\\)`));
  });

  it('a template that declares a parameter other than BootstrapVersion, even attested', async () => {
    const template = JSON.parse(tiers);
    template.Parameters.ImageTag = { Type: 'String', Default: 'latest' };
    const text = JSON.stringify(template, null, 1);
    const bucket = await bucketWith(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: text }] }));
    expectRefused(await run(stackEvent(target(serve(stackPayload(text)))), bucket), 'NonCompliant', /declares parameters other than BootstrapVersion \(ImageTag\)/);
    expect(Object.keys(JSON.parse(tiers).Parameters)).toEqual(['BootstrapVersion']); // the shipped template passes
  });

  it('a template with a transform, even attested', async () => {
    const template = JSON.parse(tiers);
    template.Resources.Included = { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://cdk-hnb659fds-assets-333333333333-eu-west-1/x.yaml' } } };
    const text = JSON.stringify(template);
    const bucket = await bucketWith(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: text }] }));
    expectRefused(await run(stackEvent(target(serve(stackPayload(text)))), bucket), 'NonCompliant', /uses a transform/);
  });

  it('a template with a nested stack, even attested (its TemplateURL object is neither attested nor re-checked)', async () => {
    const template = JSON.parse(tiers);
    const url = { 'Fn::Join': ['', ['https://s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }, `/cdk-hnb659fds-assets-${ACCOUNT}-eu-west-1/${'a'.repeat(64)}.json`]] };
    template.Resources.Nested = { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: url } };
    const text = JSON.stringify(template);
    const bucket = await bucketWith(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: text }] }));
    expectRefused(await run(stackEvent(target(serve(stackPayload(text)))), bucket), 'NonCompliant', /declares nested stacks \(Nested\), whose templates the attestation does not cover/);
  });

  it('a template that names a key twice, even attested', async () => {
    const text = tiers.replace('{', '{"Resources":{},');
    const bucket = await bucketWith(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: text }] }));
    expectRefused(await run(stackEvent(target(serve(stackPayload(text)))), bucket), 'NonCompliant', /the template names the key "Resources" twice/);
  });

  it('a delete of a protected stack; admits a delete of an unprotected one, or of a protected one an administrator approved', async () => {
    const remove = (stackName: string) => stackEvent(target('', { stackName }), 'DELETE_PRE_PROVISION');
    expectRefused(await run(remove(STACK), new Map()), 'NonCompliant', new RegExp(`delete of stack ${STACK} .* refused: it is a protected stack \\(an administrator approves one delete by writing approved-deletes/${ACCOUNT}/${REGION}/${STACK}/${STACK_UUID}\\)`));
    expectRefused(await run(remove('CDKToolkit'), new Map()), 'NonCompliant', /protected stack/);
    expect(await run(remove('Scratch-Experiment'), new Map())).toMatchObject({ hookStatus: 'SUCCESS', message: expect.stringMatching(/not a protected stack; admitted/) });
    const approved = new Map([[approvedDeleteKey(ACCOUNT, REGION, STACK, STACK_UUID), Buffer.from('ROLLBACK_COMPLETE after a refused first create')]]);
    expect((await run(remove(STACK), approved)).hookStatus).toBe('SUCCESS');
    // The approval names one stack instance: a later stack of the same name is protected again.
    const later = { ...remove(STACK), stackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${STACK}/99999999-0000-00a0-a123-00abc0abc000` };
    expectRefused(await run(later, approved), 'NonCompliant', /protected stack/);
  });

  it('a tampered envelope, duplicate JSON keys, another payloadType and a giant envelope, each with a clear message', async () => {
    const good = await signEnvelope(buildStatement(statementInput()), oldKey);
    const request = () => stackEvent(target(serve(stackPayload(tiers))));
    const body = Buffer.from(good.payload, 'base64').toString();
    const tampered: Envelope = { ...good, payload: Buffer.from(body.replace('"PASSED"', '"PASSED" ')).toString('base64') };
    const cases: [string | Buffer, RegExp][] = [
      [serializeEnvelope(tampered), /the signature by .* does not verify: the envelope was changed after signing/],
      [serializeEnvelope(good).replace('{"payloadType":', '{"payloadType":"text/plain","payloadType":'), /names the key "payloadType" twice/],
      [Buffer.alloc(5 * 1024 * 1024, 0x20), /the envelope is 5242880 bytes, more than the 4194304 accepted/],
      ['not json', /the envelope is not valid JSON/],
    ];
    const typeBody = Buffer.from(body);
    const sig = await oldKey.signDigest(createHash('sha256').update(pae('application/json', typeBody)).digest());
    cases.push([JSON.stringify({ payloadType: 'application/json', payload: typeBody.toString('base64'), signatures: [{ keyid: oldKey.keyId, sig: sig.toString('base64') }] }), /payloadType is "application\/json"/]);
    for (const [stored, message] of cases) {
      const response = await run(request(), new Map([[keyFor(tiers), Buffer.from(stored)]]));
      expectRefused(response, 'NonCompliant', message);
      expect(response.message).toContain(`stack ${STACK} (account ${ACCOUNT}, ${REGION}), template sha256 ${digestOf(tiers)}`);
    }
  });
});

describe('the hook re-checks the file assets the template names', () => {
  const ASSETS = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
  const firstKey = () => tiersFiles[0]!.uri.slice(`s3://${ASSETS}/`.length);

  it('names two Lambda code zips in production\'s asset bucket in the real Production-Tiers template', () => {
    expect(tiersFiles.map((f) => f.uri)).toEqual([expect.stringMatching(new RegExp(`^s3://${ASSETS}/[0-9a-f]{64}\\.zip$`)), expect.stringMatching(new RegExp(`^s3://${ASSETS}/[0-9a-f]{64}\\.zip$`))]);
  });

  it('admits the operation while every file asset is the attested one', async () => {
    const response = await run(changeSetEvent(target(serve(changeSetPayload(tiers)))), await bucketWith());
    expect(response.hookStatus).toBe('SUCCESS');
    expect(response.message).toMatch(/its 2 file assets unchanged since validation; admitted$/);
  });

  it('refuses a file asset overwritten after validation, naming the key and both digests', async () => {
    const overwritten = new Map(assetBucket);
    const tampered = Buffer.from('PK tampered code');
    overwritten.set(`${ASSETS}/${firstKey()}`, tampered);
    const bucket = await bucketWith();
    for (const request of [changeSetEvent(target(serve(changeSetPayload(tiers)))), stackEvent(target(serve(stackPayload(tiers))))]) {
      expectRefused(await run(request, bucket, { assets: overwritten }), 'NonCompliant', new RegExp(`file asset s3://${ASSETS}/${firstKey()} \\(\\w+\\) has sha256 ${digestOf(tampered.toString())}, not the attested ${tiersFiles[0]!.sha256}: it was written after validation; refused`));
    }
  });

  it('refuses a file asset that no longer exists', async () => {
    const deleted = new Map(assetBucket);
    deleted.delete(`${ASSETS}/${firstKey()}`);
    expectRefused(await run(stackEvent(target(serve(stackPayload(tiers)))), await bucketWith(), { assets: deleted }), 'NonCompliant', new RegExp(`file asset s3://${ASSETS}/${firstKey()} \\(\\w+\\), attested with sha256 ${tiersFiles[0]!.sha256}, does not exist; refused`));
  });

  it('refuses an attestation that does not attest a file asset the template names', async () => {
    const bucket = await bucketWith(statementInput({ files: tiersFiles.slice(1) }));
    expectRefused(await run(stackEvent(target(serve(stackPayload(tiers)))), bucket), 'NonCompliant', new RegExp(`deploys file asset s3://${ASSETS}/${firstKey()}, which the attestation does not attest; refused`));
  });

  it('fails closed on an asset bucket it cannot read, and on file assets it cannot re-check (another bucket, a bucket written as an intrinsic)', async () => {
    const response = await decide(stackEvent(target(serve(stackPayload(tiers)))), {
      readTemplatePayload: (url) => fetchPayload(url),
      readObject: async (key) => (await bucketWith()).get(key),
      readAssetObject: async () => {
        throw new Error('AccessDenied');
      },
      now: () => NOW,
      keys: [oldKey.trustedKey],
      protectedStacks: [],
    });
    expectRefused(response, 'InternalFailure', new RegExp(`could not read file asset s3://${ASSETS}/[0-9a-f]{64}\\.zip \\(AccessDenied\\); refused`));
    for (const [name, bucketValue] of [['another bucket', 'attacker-bucket'], ['an intrinsic', { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }]] as const) {
      const json = JSON.parse(tiers);
      const fn = Object.values<any>(json.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Code?.S3Key);
      fn.Properties.Code.S3Bucket = bucketValue;
      const changed = JSON.stringify(json, null, 1);
      const bucket = await bucketWith(statementInput({ templates: [{ account: ACCOUNT, region: REGION, stackName: STACK, body: changed }] }));
      expectRefused(await run(stackEvent(target(serve(stackPayload(changed)))), bucket), 'NonCompliant', name === 'another bucket' ? /deploys s3:\/\/attacker-bucket\/.*outside this account and region's asset bucket/ : /the hook re-checks only file assets named by a literal bucket and key; refused/);
    }
  });

  it('leaves deletes unaffected: a delete reads no file asset', async () => {
    const response = await run(stackEvent(target(''), 'DELETE_PRE_PROVISION'), new Map(), {
      protectedStacks: [],
      assets: new Map(),
    });
    expect(response.hookStatus).toBe('SUCCESS');
  });
});

describe('the hook fails closed', () => {
  it('on an unreadable payload: HTTP error, not JSON, duplicate keys, no template', async () => {
    const bucket = await bucketWith();
    for (const [url, message] of [
      [serve('<Error/>', 403), /could not read the template payload \(the payload URL answered HTTP 403\)/],
      [serve('{"template":'), /the template payload is unreadable \(the hook payload is not valid JSON/],
      [serve(`{"template":${JSON.stringify(tiers)},"template":"{}"}`), /the hook payload names the key "template" twice/],
      [serve(JSON.stringify({ previousTemplate: tiers })), /it carries no template/],
      [serve(JSON.stringify({ template: 42 })), /not \{ template: string \}/],
    ] as const) {
      expectRefused(await run(stackEvent(target(url)), bucket), 'InternalFailure', message);
    }
    const { requestData, ...rest } = stackEvent(target(''));
    expectRefused(await run({ ...rest, requestData: { ...requestData, payload: undefined } }, bucket), 'InternalFailure', /no payload URL/);
  });

  it('on a bucket it cannot read', async () => {
    const response = await decide(stackEvent(target(serve(stackPayload(tiers)))), {
      readTemplatePayload: (url) => fetchPayload(url),
      readObject: async () => {
        throw new Error('AccessDenied');
      },
      readAssetObject: async () => undefined,
      now: () => NOW,
      keys: [oldKey.trustedKey],
      protectedStacks: [],
    });
    expectRefused(response, 'InternalFailure', /could not read attestations\/.* from the attestation bucket \(AccessDenied\)/);
  });

  it('on a malformed request: no stack ARN, another target type, mismatched names, another account or region', async () => {
    const bucket = await bucketWith();
    const event = () => stackEvent(target(serve(stackPayload(tiers))));
    expectRefused(await run({ ...event(), stackId: 'Production-Tiers' }, bucket), 'InternalFailure', /stack id "Production-Tiers" is not a CloudFormation stack ARN/);
    expectRefused(await run({ ...event(), requestData: { ...event().requestData, targetName: 'AWS::S3::Bucket', targetType: 'AWS::S3::Bucket' } }, bucket), 'InternalFailure', /STACK and CHANGE_SET operations only/);
    expectRefused(await run({ ...event(), requestData: { ...event().requestData, targetLogicalId: 'Staging-Tiers' } }, bucket), 'InternalFailure', /names stack Staging-Tiers as its target/);
    expectRefused(await run({ ...event(), awsAccountId: '111111111111' }, bucket), 'InternalFailure', /account 111111111111 is not the stack's/);
    expectRefused(await run(stackEvent(target(serve(stackPayload(tiers)), { account: '222222222222' })), bucket), 'NonCompliant', /is not in this hook's account 333333333333/);
    expectRefused(await run(stackEvent(target(serve(stackPayload(tiers)), { region: 'eu-central-1' })), bucket), 'NonCompliant', /is not in this hook's region eu-west-1/);
    expectRefused(await run({ ...event(), actionInvocationPoint: 'POST_PROVISION' }, bucket), 'InternalFailure', /not a documented invocation point/);
    const notAnObject = await run(null as unknown as HookRequest, bucket);
    expect(notAnObject).toMatchObject({ hookStatus: 'FAILED', errorCode: 'InternalFailure', clientRequestToken: '' });
  });

  it('keeps messages within CloudFormation’s 4096 characters', async () => {
    const long = 'x'.repeat(4090); // under the request schema's limit, but quoted in the message
    const response = await run({ ...stackEvent(target('')), stackId: long }, new Map());
    expect(response.hookStatus).toBe('FAILED');
    expect(response.message.length).toBe(MAX_MESSAGE_LENGTH);
  });

  it('parses stack ARNs defensively', () => {
    expect(parseStackArn(`arn:aws:cloudformation:eu-west-1:333333333333:stack/Production-Tiers/${STACK_UUID}`)).toEqual({ account: ACCOUNT, region: REGION, stackName: STACK, stackUuid: STACK_UUID });
    for (const bad of [
      `arn:aws:cloudformation:eu-west-1:333333333333:stack/Production-Tiers/${STACK_UUID}/extra`,
      `arn:aws:cloudformation:eu-west-1:33333333333:stack/Production-Tiers/${STACK_UUID}`,
      `arn:aws:cloudformation:eu-west-1:333333333333:stack/../${STACK_UUID}`,
      `arn:aws:s3:eu-west-1:333333333333:stack/Production-Tiers/${STACK_UUID}`,
      42,
      undefined,
    ]) {
      expect(parseStackArn(bad)).toBeUndefined();
    }
  });
});
