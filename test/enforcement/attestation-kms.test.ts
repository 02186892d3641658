// KmsSigner against a local KMS endpoint on 127.0.0.1 (the AWS JSON 1.1 protocol KMS speaks:
// POST / with X-Amz-Target TrentService.Sign). The fake signs with a local P-256 key, as KMS signs
// with the key's private half: the envelope must verify with the fake's public key, and the
// request must be the one the contract fixes (MessageType DIGEST, ECDSA_SHA_256, sha256 of PAE).
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatement, KmsSigner, LocalSigner, pae, signEnvelope, verifyEnvelope } from '../../enforcement/attestation/index';

const KEY_ARN = 'arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111';
const kmsKey = LocalSigner.generate(KEY_ARN);
const requests: { target: string; body: Record<string, unknown> }[] = [];
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const target = String(request.headers['x-amz-target']);
      requests.push({ target, body });
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'TrentService.Sign' || body.KeyId !== KEY_ARN) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'NotFoundException', message: `no such key ${body.KeyId}` }));
        return;
      }
      const signature = await kmsKey.signDigest(Buffer.from(body.Message, 'base64'));
      response.end(JSON.stringify({ KeyId: KEY_ARN, Signature: signature.toString('base64'), SigningAlgorithm: body.SigningAlgorithm }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new KMSClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } });

describe('KmsSigner', () => {
  it('signs the sha256 of PAE with KMS Sign (MessageType DIGEST, ECDSA_SHA_256); the envelope verifies with the key’s public key', async () => {
    const statement = buildStatement({
      templates: [{ account: '333333333333', region: 'eu-west-1', stackName: 'Production-Tiers', body: '{"Resources":{}}' }],
      images: [],
      release: { commit: 'f'.repeat(40), executionId: 'exec-1' },
      verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
      checks: [{ name: 'cdk-nag', status: 'PASS', detail: 'no findings' }],
      timeVerified: new Date('2026-12-03T09:00:00Z'),
    });
    requests.length = 0;
    const envelope = await signEnvelope(statement, new KmsSigner(KEY_ARN, client()));
    expect(requests).toHaveLength(1);
    const digest = createHash('sha256').update(pae('application/vnd.in-toto+json', Buffer.from(envelope.payload, 'base64'))).digest('base64');
    expect(requests[0]).toEqual({ target: 'TrentService.Sign', body: { KeyId: KEY_ARN, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' } });
    expect(envelope.signatures[0]!.keyid).toBe(KEY_ARN);
    expect(verifyEnvelope(envelope, [{ keyid: KEY_ARN, publicKeyPem: kmsKey.publicKeyPem }]).statement).toEqual(statement);
  });

  it('fails when KMS refuses, so nothing is signed', async () => {
    const signer = new KmsSigner('arn:aws:kms:eu-west-1:333333333333:key/00000000-0000-0000-0000-000000000000', client());
    await expect(signer.signDigest(Buffer.alloc(32))).rejects.toThrow(/no such key/);
    await expect(signer.signDigest(Buffer.alloc(31))).rejects.toThrow(/32 bytes/);
  });
});
