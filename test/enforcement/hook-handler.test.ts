// The Lambda handler end to end: its configuration from the environment, the payload fetched from
// a local HTTP server, the attestation read from a local S3 (s3rver, as services/local-aws.ts runs
// it) through the SDK's default chain (AWS_ENDPOINT_URL_S3), on the real production template.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestationKey, buildStatement, LocalSigner, revokedKey, serializeEnvelope, signEnvelope } from '../../enforcement/attestation/index';
import { configFromEnv, fetchPayload, handler } from '../../enforcement/hook/handler';
import { listStacks } from '../../pipeline/cloud-assembly';
import { sharedAssembly } from '../support/app';
import { changeSetEvent, changeSetPayload, stackEvent } from './hook-events';

const ACCOUNT = '333333333333';
const REGION = 'eu-west-1';
const BUCKET = 'br-fagq2-guardrail-enforcement-attestations-local';
const COMMIT = 'b'.repeat(40);
const key = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111');
const context = { invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:br-fagq2-guardrail-hook` };

const directory = mkdtempSync(join(tmpdir(), 'hook-s3-'));
const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
let s3: S3Client;
let http: Server;
let base: string;
let tiers: string;
const bodies = new Map<string, string>();
const saved = { ...process.env };

beforeAll(async () => {
  tiers = readFileSync(listStacks(sharedAssembly()).find((s) => s.stackName === 'Production-Tiers')!.templateFile, 'utf8');
  const { port } = await s3rver.run();
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts only its own well-known key pair.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_S3: endpoint,
    ATTESTATION_BUCKET: BUCKET,
    TRUSTED_KEYS: JSON.stringify([key.trustedKey]),
    PROTECTED_STACKS: JSON.stringify(['Production-Tiers', 'Production-EdgeWaf']),
  });
  s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
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
  await s3rver.close();
  rmSync(directory, { recursive: true, force: true });
});

let n = 0;
function payloadUrl(body: string): string {
  const path = `/payload-${++n}`;
  bodies.set(path, body);
  return `${base}${path}`;
}

async function attest(): Promise<void> {
  const statement = buildStatement({
    templates: [{ account: ACCOUNT, region: REGION, stackName: 'Production-Tiers', body: tiers }],
    images: [],
    release: { commit: COMMIT, executionId: 'exec-42' },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'parity', status: 'PASS', detail: 'equal' }],
    timeVerified: new Date(),
  });
  const object = attestationKey(ACCOUNT, REGION, 'Production-Tiers', createHash('sha256').update(tiers).digest('hex'));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: object, Body: serializeEnvelope(await signEnvelope(statement, key)) }));
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

  it('refuses a stack of another account than the function’s own', async () => {
    const response = await handler(stackEvent({ ...target(payloadUrl('{}')), account: '444444444444' }), context);
    expect(response).toMatchObject({ hookStatus: 'FAILED', errorCode: 'NonCompliant' });
    expect(response.message).toMatch(/not in this hook's account 333333333333/);
  });

  it('refuses everything when its configuration is unreadable', async () => {
    const keys = process.env.TRUSTED_KEYS;
    process.env.TRUSTED_KEYS = '[{"keyid":"x"}]';
    try {
      const response = await handler(stackEvent(target(payloadUrl(JSON.stringify({ template: tiers })))), context);
      expect(response).toEqual({
        hookStatus: 'FAILED',
        errorCode: 'InternalFailure',
        message: 'guardrail hook: its configuration is unreadable (TRUSTED_KEYS is not a JSON array of 1 to 4 { keyid, publicKeyPem }); every operation is refused until it is fixed',
        clientRequestToken: 'f8da6d11-b23f-48f4-814c-0fb6a667f50e',
      });
    } finally {
      process.env.TRUSTED_KEYS = keys;
    }
    expect(() => configFromEnv({})).toThrow(/missing environment: ATTESTATION_BUCKET, TRUSTED_KEYS, PROTECTED_STACKS, AWS_REGION/);
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
