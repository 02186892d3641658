// The Lambda handler end to end: its configuration from the environment, its trusted keys from a
// local KMS endpoint (AWS_ENDPOINT_URL_KMS; GetPublicKey in the AWS JSON 1.1 protocol KMS speaks),
// the payload fetched from a local HTTP server, the attestation read from a local S3 (s3rver, as
// services/local-aws.ts runs it) through the SDK's default chain (AWS_ENDPOINT_URL_S3), on the
// real production template. And the environment the hooks stack gives the function is the one
// the handler reads.
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationKey, buildStatement, LocalSigner, revokedKey, serializeEnvelope, signEnvelope } from '../../enforcement/attestation/index';
import { configFromEnv, fetchPayload, handler, HOOK_ENVIRONMENT } from '../../enforcement/hook/handler';
import { fileAssets } from '../../enforcement/validator/templates';
import { ENFORCEMENT } from '../../lib/enforcement-names';
import { listStacks } from '../../pipeline/cloud-assembly';
import { sharedAssembly } from '../support/app';
import { changeSetEvent, changeSetPayload, stackEvent, stackPayload } from './hook-events';

const ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const BUCKET = 'br-fagq2-guardrail-enforcement-attestations-local';
/** Production's CDK asset bucket in the hook's region, which the handler reads the file assets from. */
const ASSETS = `cdk-hnb659fds-assets-${ACCOUNT}-${REGION}`;
/** Production-Tiers' file assets as published (stand-in zips) and their sha256. */
let files: { key: string; uri: string; body: string; sha256: string }[];
const COMMIT = 'b'.repeat(40);
const key = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111');
const next = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/22222222-2222-2222-2222-222222222222');
const ALIAS = 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k1';
const NEXT_ALIAS = 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k2';
const RSA_ALIAS = 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-rsa';
const ENCRYPT_ALIAS = 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-enc';
/** The fake KMS's keys by alias ARN: what GetPublicKey answers. */
const kmsKeys: Record<string, { KeyId: string; PublicKey: string; KeySpec: string; KeyUsage: string }> = {
  [ALIAS]: { KeyId: key.keyId, PublicKey: der(key.publicKeyPem), KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
  [NEXT_ALIAS]: { KeyId: next.keyId, PublicKey: der(next.publicKeyPem), KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
  [RSA_ALIAS]: { KeyId: 'arn:aws:kms:eu-west-1:333333333333:key/33333333-3333-3333-3333-333333333333', PublicKey: der(key.publicKeyPem), KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' },
  [ENCRYPT_ALIAS]: { KeyId: 'arn:aws:kms:eu-west-1:333333333333:key/44444444-4444-4444-4444-444444444444', PublicKey: der(key.publicKeyPem), KeySpec: 'ECC_NIST_P256', KeyUsage: 'ENCRYPT_DECRYPT' },
};
const kmsCalls: { target: string; keyId: string; region: string }[] = [];
function der(pem: string): string {
  return createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
}
const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:br-fagq2-guardrail-hook` };

const directory = mkdtempSync(join(tmpdir(), 'hook-s3-'));
const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
let s3: S3Client;
let http: Server;
let kms: Server;
let base: string;
let tiers: string;
const bodies = new Map<string, string>();
const saved = { ...process.env };

beforeAll(async () => {
  tiers = readFileSync(listStacks(sharedAssembly()).find((s) => s.stackName === 'Production-Tiers')!.templateFile, 'utf8');
  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  kms = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const target = String(request.headers['x-amz-target']);
      // SigV4's credential scope names the region the client signs for: <date>/<region>/kms/aws4_request.
      const region = /Credential=[^/]+\/\d+\/([^/]+)\/kms\//.exec(String(request.headers.authorization))?.[1] ?? '';
      kmsCalls.push({ target, keyId: body.KeyId, region });
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      const found = kmsKeys[body.KeyId];
      if (target !== 'TrentService.GetPublicKey' || !found) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'NotFoundException', message: `Alias ${body.KeyId} is not found.` }));
        return;
      }
      response.end(JSON.stringify({ ...found, SigningAlgorithms: ['ECDSA_SHA_256'] }));
    });
  });
  await new Promise<void>((resolve) => kms.listen(0, '127.0.0.1', resolve));
  // s3rver accepts only its own well-known key pair.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(kms.address() as AddressInfo).port}`,
    ATTESTATION_BUCKET: BUCKET,
    ATTESTATION_BUCKET_REGION: REGION,
    TRUSTED_KEY_ARNS: JSON.stringify([ALIAS]),
    PROTECTED_STACKS: JSON.stringify(['Production-Tiers', 'Production-EdgeWaf']),
  });
  s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new CreateBucketCommand({ Bucket: ASSETS }));
  files = fileAssets(JSON.parse(tiers)).map((f) => {
    const body = `PK stand-in zip of ${f.key}`;
    return { key: f.key, uri: `s3://${f.bucket}/${f.key}`, body, sha256: createHash('sha256').update(body).digest('hex') };
  });
  for (const f of files) await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: f.key, Body: f.body }));
  http = createServer((request, response) => {
    const body = bodies.get(request.url ?? '');
    if (request.url === '/slow') return; // never answers
    if (request.url === '/huge') {
      response.write('{"template":"');
      response.end('x'.repeat(9 * 1024 * 1024));
      return;
    }
    response.statusCode = body === undefined ? 403 : 200;
    response.end(body ?? '<Error><Code>AccessDenied</Code></Error>');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
  s3.destroy();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await new Promise<void>((resolve) => kms.close(() => resolve()));
  await s3rver.close();
  rmSync(directory, { recursive: true, force: true });
});

let n = 0;
function payloadUrl(body: string): string {
  const path = `/payload-${++n}`;
  bodies.set(path, body);
  return `${base}${path}`;
}

async function attest(signer = key, commit = COMMIT): Promise<void> {
  const statement = buildStatement({
    templates: [{ account: ACCOUNT, region: REGION, stackName: 'Production-Tiers', body: tiers }],
    images: [],
    files: files.map((f) => ({ uri: f.uri, sha256: f.sha256 })),
    release: { commit, executionId: 'exec-42' },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'parity', status: 'PASS', detail: 'equal' }],
    timeVerified: new Date(),
  });
  const object = attestationKey(ACCOUNT, REGION, 'Production-Tiers', createHash('sha256').update(tiers).digest('hex'));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: object, Body: serializeEnvelope(await signEnvelope(statement, signer)) }));
}

const target = (url: string) => ({ account: ACCOUNT, region: REGION, stackName: 'Production-Tiers', payloadUrl: url });

describe('the hook handler', () => {
  it('refuses before the attestation exists, admits after the validator stored it, refuses once the release is revoked', async () => {
    const request = () => changeSetEvent(target(payloadUrl(changeSetPayload(tiers))));
    const before = await handler(request(), context);
    expect(before).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant', clientRequestToken: 'a0b1c2d3-b23f-48f4-814c-0fb6a667f50e' });
    expect(before.message).toMatch(/no attestation/);
    await attest();
    const after = await handler(request(), context);
    expect(after.hookStatus, after.message).toBe('SUCCESS');
    expect(after.message).toMatch(new RegExp(`attested by release ${COMMIT} \\(execution exec-42\\)`));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: revokedKey(COMMIT), Body: 'revoked' }));
    const revoked = await handler(request(), context);
    expect(revoked).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
    expect(revoked.message).toMatch(/is revoked/);
  });

  it('reads the file assets from the region\'s asset bucket: refuses one overwritten after validation, and one deleted', async () => {
    await attest(key, 'd'.repeat(40));
    const request = () => stackEvent(target(payloadUrl(stackPayload(tiers))));
    const admitted = await handler(request(), context);
    expect(admitted.hookStatus, admitted.message).toBe('SUCCESS');
    expect(admitted.message).toMatch(/its 2 file assets unchanged since validation; admitted/);
    const [first] = files;
    try {
      await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: first!.key, Body: 'PK tampered' }));
      const overwritten = await handler(request(), context);
      expect(overwritten).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
      expect(overwritten.message).toContain(`file asset ${first!.uri} `);
      expect(overwritten.message).toContain(`has sha256 ${createHash('sha256').update('PK tampered').digest('hex')}, not the attested ${first!.sha256}`);
      await s3.send(new DeleteObjectCommand({ Bucket: ASSETS, Key: first!.key }));
      const deleted = await handler(request(), context);
      expect(deleted).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
      expect(deleted.message).toMatch(new RegExp(`file asset ${first!.uri} .*does not exist; refused`));
    } finally {
      await s3.send(new PutObjectCommand({ Bucket: ASSETS, Key: first!.key, Body: first!.body }));
    }
  });

  it('refuses a stack of another account than the function’s own', async () => {
    const response = await handler(stackEvent({ ...target(payloadUrl('{}')), account: '444444444444' }), context);
    expect(response).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
    expect(response.message).toMatch(/not in this hook's account 333333333333/);
  });

  it('refuses everything when its configuration is unreadable', async () => {
    const arns = process.env.TRUSTED_KEY_ARNS;
    process.env.TRUSTED_KEY_ARNS = '[{"keyid":"x"}]';
    try {
      const response = await handler(stackEvent(target(payloadUrl(JSON.stringify({ template: tiers })))), context);
      expect(response).toEqual({
        hookStatus: 'FAILED',
        errorCode: 'InternalFailure',
        message: 'guardrail hook: its configuration is unreadable (TRUSTED_KEY_ARNS is not a JSON array of 1 to 4 KMS key ARNs); every operation is refused until it is fixed',
        clientRequestToken: 'f8da6d11-b23f-48f4-814c-0fb6a667f50e',
      });
    } finally {
      process.env.TRUSTED_KEY_ARNS = arns;
    }
    expect(() => configFromEnv({})).toThrow(/missing environment: ATTESTATION_BUCKET, ATTESTATION_BUCKET_REGION, TRUSTED_KEY_ARNS, PROTECTED_STACKS, AWS_REGION/);
  });

  it("trusts the keys KMS returns for the aliases (GetPublicKey in the alias's region), two during a rotation, under the key ARN", async () => {
    const arns = process.env.TRUSTED_KEY_ARNS;
    try {
      process.env.TRUSTED_KEY_ARNS = JSON.stringify([ALIAS, NEXT_ALIAS]);
      kmsCalls.length = 0;
      await attest(next, 'c'.repeat(40));
      const request = () => changeSetEvent(target(payloadUrl(changeSetPayload(tiers))));
      const admitted = await handler(request(), context);
      expect(admitted.hookStatus, admitted.message).toBe('SUCCESS');
      expect(kmsCalls).toEqual([
        { target: 'TrentService.GetPublicKey', keyId: ALIAS, region: 'eu-west-1' },
        { target: 'TrentService.GetPublicKey', keyId: NEXT_ALIAS, region: 'eu-west-1' },
      ]);
      // Read once per cold start, not per invocation.
      expect((await handler(request(), context)).hookStatus).toBe('SUCCESS');
      expect(kmsCalls).toHaveLength(2);
      // After the rotation, only the new key is trusted: the old key's attestation is refused.
      process.env.TRUSTED_KEY_ARNS = JSON.stringify([NEXT_ALIAS]);
      await attest(key, 'c'.repeat(40));
      const old = await handler(request(), context);
      expect(old).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
      expect(old.message).toContain(`signed by key ${key.keyId}, which is not trusted`);
    } finally {
      process.env.TRUSTED_KEY_ARNS = arns;
    }
  });

  it('in us-east-1 (the EdgeWaf hook), reads the bucket in ATTESTATION_BUCKET_REGION and the keys in their own region, and matches the us-east-1 subject', async () => {
    const saved = { ...process.env };
    // A pass-through in front of s3rver that records the region each S3 request is signed for.
    const s3Regions: string[] = [];
    const s3Endpoint = process.env.AWS_ENDPOINT_URL_S3!;
    const proxy = createServer((request, response) => {
      s3Regions.push(/Credential=[^/]+\/\d+\/([^/]+)\/s3\//.exec(String(request.headers.authorization))?.[1] ?? '');
      const upstream = httpRequest(`${s3Endpoint}${request.url}`, { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      });
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const edge = { account: ACCOUNT, region: 'us-east-1', stackName: 'Production-EdgeWaf' };
      const body = '{"Resources":{"Acl":{"Type":"AWS::WAFv2::WebACL","Properties":{}}}}';
      const statement = buildStatement({
        templates: [{ ...edge, body }],
        images: [],
        release: { commit: 'd'.repeat(40), executionId: 'exec-43' },
        verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
        checks: [{ name: 'parity', status: 'PASS', detail: 'equal' }],
        timeVerified: new Date(),
      });
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: attestationKey(ACCOUNT, 'us-east-1', 'Production-EdgeWaf', createHash('sha256').update(body).digest('hex')), Body: serializeEnvelope(await signEnvelope(statement, key)) }));
      Object.assign(process.env, {
        AWS_REGION: 'us-east-1',
        ATTESTATION_BUCKET_REGION: REGION,
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        // Another list than the other tests': a cold start's read of the keys.
        TRUSTED_KEY_ARNS: JSON.stringify([NEXT_ALIAS, ALIAS]),
      });
      kmsCalls.length = 0;
      const response = await handler(changeSetEvent({ ...edge, payloadUrl: payloadUrl(changeSetPayload(body)) }), { invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:br-fagq2-guardrail-hook` });
      expect(response.hookStatus, response.message).toBe('SUCCESS');
      expect(new Set(s3Regions)).toEqual(new Set([REGION]));
      expect(kmsCalls.map((c) => c.region)).toEqual([REGION, REGION]);
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it.each([
    [RSA_ALIAS, /is RSA_2048, not ECC_NIST_P256: not trusted/],
    [ENCRYPT_ALIAS, /has key usage ENCRYPT_DECRYPT, not SIGN_VERIFY: not trusted/],
    ['arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-gone', /Alias .* is not found/],
  ])('refuses every operation (fail closed) when a trusted key is not a P-256 signing key or cannot be read: %s', async (alias, message) => {
    const arns = process.env.TRUSTED_KEY_ARNS;
    try {
      process.env.TRUSTED_KEY_ARNS = JSON.stringify([ALIAS, alias]);
      await attest();
      const response = await handler(changeSetEvent(target(payloadUrl(changeSetPayload(tiers)))), context);
      expect(response).toMatchObject({ hookStatus: 'FAILED', errorCode: 'InternalFailure' });
      expect(response.message).toMatch(/cannot read its trusted keys from KMS/);
      expect(response.message).toMatch(message);
    } finally {
      process.env.TRUSTED_KEY_ARNS = arns;
    }
  });

  it('caps the payload fetch in time and size, and refuses a non-http URL', async () => {
    await expect(fetchPayload(`${base}/slow`, 300)).rejects.toThrow(/abort|timeout/i);
    await expect(fetchPayload(`${base}/huge`)).rejects.toThrow(/more than 8388608 bytes/);
    await expect(fetchPayload('file:///etc/passwd')).rejects.toThrow(/not an http\(s\) URL/);
    const response = await handler(stackEvent(target(`${base}/huge`)), context);
    expect(response).toMatchObject({ hookStatus: 'FAILED', errorCode: 'InternalFailure' });
    expect(response.message).toMatch(/could not read the template payload \(the payload is more than 8388608 bytes\)/);
  });
});

describe("the hooks stacks' function environment", () => {
  /** Resolves the pseudo parameters CDK writes into the values (Fn::Join of strings and Refs). */
  const resolve = (value: unknown, env: { account: string; region: string }): string => {
    if (typeof value === 'string') return value;
    const v = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
    if (v.Ref) return ({ 'AWS::Partition': 'aws', 'AWS::AccountId': env.account, 'AWS::Region': env.region, 'AWS::URLSuffix': 'amazonaws.com' } as Record<string, string>)[v.Ref]!;
    if (v['Fn::Join']) return v['Fn::Join'][1].map((p) => resolve(p, env)).join(v['Fn::Join'][0]);
    throw new Error(`unresolvable ${JSON.stringify(value)}`);
  };

  it.each(['Enforcement', 'Enforcement-us-east-1'])('%s: sets exactly what configFromEnv reads (AWS_REGION is Lambda\'s), and configFromEnv accepts it', (stackId) => {
    const found = listStacks(sharedAssembly()).find((s) => s.artifactId === stackId)!;
    const stack = { ...found, account: found.account!, region: found.region! };
    const template = JSON.parse(readFileSync(stack.templateFile, 'utf8'));
    const [fn] = Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === ENFORCEMENT.hookFunctionName);
    const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect([...Object.keys(variables), 'AWS_REGION'].sort()).toEqual([...HOOK_ENVIRONMENT].sort());
    const env = { ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, resolve(v, stack)])), AWS_REGION: stack.region };
    const config = configFromEnv(env);
    expect(config.keyArns).toEqual(['arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k1']);
    // The bucket and the keys live in production's main region, whichever region the hook runs in.
    expect(config.bucketRegion).toBe('eu-west-1');
    expect(config.region).toBe(stack.region);
    for (const name of HOOK_ENVIRONMENT) {
      const without: Record<string, string> = { ...env };
      delete without[name];
      expect(() => configFromEnv(without)).toThrow(new RegExp(`missing environment: ${name}$`));
    }
  });
});
