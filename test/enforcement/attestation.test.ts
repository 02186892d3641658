// The attestation format: in-toto Statement v1 + SLSA verification summary in a DSSE envelope,
// signed with ECDSA P-256 over SHA-256(PAE). Verification reads its input defensively.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AttestationError,
  attestationKey,
  buildStatement,
  type Envelope,
  GUARDRAIL_POLICY,
  LocalSigner,
  MAX_ENVELOPE_BYTES,
  pae,
  releaseKey,
  revokedKey,
  serializeEnvelope,
  sha256Hex,
  signEnvelope,
  type Statement,
  type StatementInput,
  verifyEnvelope,
} from '../../enforcement/attestation/index';
import { decodeBase64Strict } from '../../enforcement/attestation/base64';
import { listStacks } from '../../pipeline/cloud-assembly';
import { sharedAssembly } from '../support/app';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const signer = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111');
const other = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/22222222-2222-2222-2222-222222222222');

function input(overrides: Partial<StatementInput> = {}): StatementInput {
  return {
    templates: [{ account: '333333333333', region: 'eu-west-1', stackName: 'Production-Tiers', body: '{"Resources":{}}\n' }],
    images: [{ uri: '333333333333.dkr.ecr.eu-west-1.amazonaws.com/br-fagq2-api', sha256: `sha256:${'ab'.repeat(32)}` }],
    release: { commit: COMMIT, executionId: '5f3c2a1e-0000-4000-8000-000000000001' },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'parity', status: 'PASS', detail: 'production equals staging under the allowances' }],
    timeVerified: new Date('2026-12-03T09:00:00.000Z'),
    ...overrides,
  };
}

/** Signs an arbitrary payload (bytes) as the signer would: for attacks the builder never makes. */
async function signRaw(body: Buffer, by = signer, payloadType = 'application/vnd.in-toto+json'): Promise<Envelope> {
  const sig = await by.signDigest(createHash('sha256').update(pae(payloadType, body)).digest());
  return { payloadType, payload: body.toString('base64'), signatures: [{ keyid: by.keyId, sig: sig.toString('base64') }] };
}

const expectRefused = (run: () => unknown, message: RegExp) => {
  expect(run).toThrow(AttestationError);
  expect(run).toThrow(message);
};

describe('statement', () => {
  it('is an in-toto Statement v1 with a SLSA verification summary naming the guardrail policy, for real production templates', () => {
    const production = listStacks(sharedAssembly()).filter((s) => s.account === '333333333333');
    expect(production.length).toBeGreaterThanOrEqual(2);
    const templates = production.map((s) => ({ account: s.account!, region: s.region!, stackName: s.stackName, body: readFileSync(s.templateFile) }));
    const statement = buildStatement(input({ templates, validityDays: 30 }));
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/verification_summary/v1');
    for (const s of production) {
      // The digest is of the file's raw bytes, exactly as CloudFormation is sent them.
      expect(statement.subject).toContainEqual({
        name: `cloudformation:${s.account}:${s.region}:${s.stackName}`,
        digest: { sha256: createHash('sha256').update(readFileSync(s.templateFile)).digest('hex') },
      });
    }
    expect(statement.subject).toContainEqual({ name: 'image:333333333333.dkr.ecr.eu-west-1.amazonaws.com/br-fagq2-api', digest: { sha256: 'ab'.repeat(32) } });
    expect(statement.predicate).toEqual({
      verifier: { id: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator' },
      timeVerified: '2026-12-03T09:00:00.000Z',
      resourceUri: `git+https://github.com/example/br-fagq2@${COMMIT}`,
      policy: { uri: `urn:br-fagq2:guardrail:${GUARDRAIL_POLICY}` },
      verificationResult: 'PASSED',
      verifiedLevels: [],
      release: { commit: COMMIT, executionId: '5f3c2a1e-0000-4000-8000-000000000001' },
      expiresAt: '2027-01-02T09:00:00.000Z',
      checks: [{ name: 'parity', status: 'PASS', detail: 'production equals staging under the allowances' }],
    });
    expect(GUARDRAIL_POLICY).toBe('r5gdjql-k000zve0-zxk');
  });

  it('is never built for a release that failed a check, or for malformed names', () => {
    expect(() => buildStatement(input({ checks: [{ name: 'cdk-nag', status: 'FAIL', detail: 'IAM5' }] }))).toThrow(/checks failed, nothing is attested: cdk-nag/);
    expect(() => buildStatement(input({ checks: [] }))).toThrow(/no checks ran/);
    expect(() => buildStatement(input({ release: { commit: 'main', executionId: 'x' } }))).toThrow(/commit "main" is not 40 lowercase hex/);
    expect(() => buildStatement(input({ templates: [{ account: '333333333333', region: 'eu-west-1', stackName: '../x', body: '{}' }] }))).toThrow(/not a CloudFormation stack name/);
    expect(() => buildStatement(input({ validityDays: 0 }))).toThrow(/validityDays/);
  });

  it('attests file assets as file:s3:// subjects, and images of one repository once per digest', async () => {
    const repo = '333333333333.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-333333333333-eu-west-1';
    const statement = buildStatement(
      input({
        images: [{ uri: repo, sha256: 'aa'.repeat(32) }, { uri: repo, sha256: `sha256:${'bb'.repeat(32)}` }],
        files: [{ uri: 's3://cdk-hnb659fds-assets-333333333333-eu-west-1/0123abcd.zip', sha256: 'cc'.repeat(32) }],
      }),
    );
    expect(statement.subject.slice(1)).toEqual([
      { name: `image:${repo}`, digest: { sha256: 'aa'.repeat(32) } },
      { name: `image:${repo}`, digest: { sha256: 'bb'.repeat(32) } },
      { name: 'file:s3://cdk-hnb659fds-assets-333333333333-eu-west-1/0123abcd.zip', digest: { sha256: 'cc'.repeat(32) } },
    ]);
    // The signed statement verifies with its two images of one name.
    expect(verifyEnvelope(serializeEnvelope(await signEnvelope(statement, signer)), [signer.trustedKey]).statement.subject).toHaveLength(4);
    expect(() => buildStatement(input({ files: [{ uri: 'https://example.com/x.zip', sha256: 'cc'.repeat(32) }] }))).toThrow(/is not s3:\/\/<bucket>\/<key>/);
    expect(() => buildStatement(input({ files: [{ uri: 's3://bucket-name/x.zip', sha256: 'CC' }] }))).toThrow(/is not 64 lowercase hex/);
    // The same image twice, or a template subject named twice, stays refused.
    expect(() => buildStatement(input({ images: [{ uri: repo, sha256: 'aa'.repeat(32) }, { uri: repo, sha256: 'aa'.repeat(32) }] }))).toThrow(/names subject image:.* twice/);
    const twice = input().templates[0]!;
    expect(() => buildStatement(input({ templates: [twice, { ...twice, body: '{"Resources":{"A":{}}}' }] }))).toThrow(/names subject cloudformation:.* twice/);
  });

  it('names its bucket keys from validated parts', () => {
    expect(attestationKey('333333333333', 'eu-west-1', 'Production-Tiers', 'ab'.repeat(32))).toBe(`attestations/333333333333/eu-west-1/Production-Tiers/${'ab'.repeat(32)}.dsse.json`);
    expect(releaseKey({ commit: COMMIT, executionId: 'e-1' })).toBe(`releases/${COMMIT}/e-1.dsse.json`);
    expect(revokedKey(COMMIT)).toBe(`revoked/${COMMIT}`);
    expect(() => attestationKey('333333333333', 'eu-west-1', 'Production-Tiers', '../../x')).toThrow(AttestationError);
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('DSSE', () => {
  it("computes PAE as the DSSE spec's test vector does, and verifies the spec's own signature with it", () => {
    const body = Buffer.from('hello world');
    expect(pae('http://example.com/HelloWorld', body).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    // protocol.md's key (X, Y decimal) and signature (raw r||s), re-encoded for node:crypto.
    const coordinate = (decimal: string) => Buffer.from(BigInt(decimal).toString(16).padStart(64, '0'), 'hex').toString('base64url');
    const key = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: coordinate('46950820868899156662930047687818585632848591499744589407958293238635476079160'),
        y: coordinate('5640078356564379163099075877009565129882514886557779369047442380624545832820'),
      },
      format: 'jwk',
    });
    const sig = Buffer.from('A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==', 'base64');
    expect(verify('sha256', pae('http://example.com/HelloWorld', body), { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
    expect(verify('sha256', pae('http://example.com/HelloWorld', Buffer.from('hello worle')), { key, dsaEncoding: 'ieee-p1363' }, sig)).toBe(false);
  });

  it('signs and verifies: the signature is DER ECDSA P-256 over SHA-256(PAE), checkable by node:crypto alone', async () => {
    const statement = buildStatement(input());
    const envelope = await signEnvelope(statement, signer);
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(envelope.signatures).toHaveLength(1);
    expect(envelope.signatures[0]!.keyid).toBe(signer.keyId);
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    expect(sig[0]).toBe(0x30); // a DER SEQUENCE, as KMS returns
    const body = Buffer.from(envelope.payload, 'base64');
    expect(verify('sha256', pae(envelope.payloadType, body), { key: signer.publicKeyPem, dsaEncoding: 'der' }, sig)).toBe(true);
    const verified = verifyEnvelope(serializeEnvelope(envelope), [signer.trustedKey]);
    expect(verified.statement).toEqual(statement);
    expect(verified.keyids).toEqual([signer.keyId]);
    // Already parsed objects are accepted too (without the duplicate-key check only text allows).
    expect(verifyEnvelope(envelope, [signer.trustedKey]).statement).toEqual(statement);
  });

  it('refuses a changed payload, a changed signature and a signature with a byte appended', async () => {
    const envelope = await signEnvelope(buildStatement(input()), signer);
    const body = Buffer.from(envelope.payload, 'base64');
    const changed = Buffer.from(body.toString().replace('Production-Tiers', 'Production-Tierz'));
    expectRefused(() => verifyEnvelope({ ...envelope, payload: changed.toString('base64') }, [signer.trustedKey]), /signature by .* does not verify/);
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1]! ^= 1;
    expectRefused(() => verifyEnvelope({ ...envelope, signatures: [{ keyid: signer.keyId, sig: sig.toString('base64') }] }, [signer.trustedKey]), /does not verify/);
    const longer = Buffer.concat([Buffer.from(envelope.signatures[0]!.sig, 'base64'), Buffer.from([0])]);
    expectRefused(() => verifyEnvelope({ ...envelope, signatures: [{ keyid: signer.keyId, sig: longer.toString('base64') }] }, [signer.trustedKey]), /does not verify/);
  });

  it('refuses an untrusted signer, an unknown keyid, and a trusted keyid on another key', async () => {
    const byOther = await signEnvelope(buildStatement(input()), other);
    expectRefused(() => verifyEnvelope(byOther, [signer.trustedKey]), /signed by key .*2222.*, which is not trusted \(trusted: .*1111/);
    // The keyid is a hint, not a credential: claiming the trusted keyid does not make it verify.
    const relabelled = { ...byOther, signatures: [{ keyid: signer.keyId, sig: byOther.signatures[0]!.sig }] };
    expectRefused(() => verifyEnvelope(relabelled, [signer.trustedKey]), /does not verify/);
    // One good and one unknown signature: refused (every keyid must be trusted).
    const good = await signEnvelope(buildStatement(input()), signer);
    const both = { ...good, signatures: [...good.signatures, { keyid: 'arn:aws:kms:eu-west-1:999999999999:key/x', sig: good.signatures[0]!.sig }] };
    expectRefused(() => verifyEnvelope(both, [signer.trustedKey]), /not trusted/);
    expectRefused(() => verifyEnvelope({ ...good, signatures: [] }, [signer.trustedKey]), /no signature/);
    expectRefused(() => verifyEnvelope(good, []), /no trusted keys/);
  });

  it('during a rotation, accepts either trusted key; after it, the old key is refused', async () => {
    const statement = buildStatement(input());
    const byOld = await signEnvelope(statement, signer);
    const byNew = await signEnvelope(statement, other);
    const rotation = [signer.trustedKey, other.trustedKey];
    expect(verifyEnvelope(byOld, rotation).keyids).toEqual([signer.keyId]);
    expect(verifyEnvelope(byNew, rotation).keyids).toEqual([other.keyId]);
    expectRefused(() => verifyEnvelope(byOld, [other.trustedKey]), /not trusted/);
  });

  it('refuses another payloadType, even correctly signed', async () => {
    const body = Buffer.from(JSON.stringify(buildStatement(input())));
    const json = await signRaw(body, signer, 'application/json');
    expectRefused(() => verifyEnvelope(json, [signer.trustedKey]), /payloadType is "application\/json", not application\/vnd.in-toto\+json/);
  });

  it('refuses duplicate keys in the envelope and in the signed statement', async () => {
    const envelope = await signEnvelope(buildStatement(input()), signer);
    const text = serializeEnvelope(envelope);
    const doubled = text.replace('{"payloadType":', '{"payloadType":"application/json","payloadType":');
    expectRefused(() => verifyEnvelope(doubled, [signer.trustedKey]), /names the key "payloadType" twice/);
    // A correctly signed statement whose subject name appears twice in one object: readers would
    // disagree on which stack it attests.
    const statementText = JSON.stringify(buildStatement(input())).replace(
      '"name":"cloudformation:333333333333:eu-west-1:Production-Tiers"',
      '"name":"cloudformation:222222222222:eu-west-1:Staging-Tiers","name":"cloudformation:333333333333:eu-west-1:Production-Tiers"',
    );
    const signedDoubled = await signRaw(Buffer.from(statementText));
    expectRefused(() => verifyEnvelope(serializeEnvelope(signedDoubled), [signer.trustedKey]), /the statement names the key "name" twice in one object \(at \$\.subject\[0\]\.name\)/);
  });

  it('refuses a giant envelope unread, and non-canonical base64', async () => {
    const giant = Buffer.alloc(MAX_ENVELOPE_BYTES + 1, 0x20);
    expectRefused(() => verifyEnvelope(giant, [signer.trustedKey]), new RegExp(`the envelope is ${MAX_ENVELOPE_BYTES + 1} bytes, more than the ${MAX_ENVELOPE_BYTES} accepted`));
    const envelope = await signEnvelope(buildStatement(input()), signer);
    expectRefused(() => verifyEnvelope(`\ufeff${serializeEnvelope(envelope)}`, [signer.trustedKey]), /the envelope is not valid JSON/);
    expectRefused(() => verifyEnvelope(Buffer.from([0x7b, 0xff, 0x7d]), [signer.trustedKey]), /the envelope is not UTF-8/);
    // Node would decode these to the same bytes; a strict reader refuses them.
    expectRefused(() => verifyEnvelope({ ...envelope, payload: `${envelope.payload.slice(0, 8)}\n${envelope.payload.slice(8)}` }, [signer.trustedKey]), /payload is not canonical base64/);
    expectRefused(() => verifyEnvelope({ ...envelope, payload: `${envelope.payload}====` }, [signer.trustedKey]), /payload is not canonical base64/);
    // URL-safe base64 of the same bytes is accepted: DSSE verifiers must accept both alphabets.
    const urlSafe = Buffer.from(envelope.payload, 'base64').toString('base64url');
    expect(verifyEnvelope({ ...envelope, payload: urlSafe }, [signer.trustedKey]).keyids).toEqual([signer.keyId]);
    expect(decodeBase64Strict('YQ==')).toEqual(Buffer.from('a'));
    expect(decodeBase64Strict('YR==')).toBeUndefined(); // trailing bits set: another encoding of "a"
    expect(decodeBase64Strict('Y+_=')).toBeUndefined(); // mixed alphabets
  });

  it('refuses a correctly signed statement that is not a guardrail verification summary', async () => {
    const base = buildStatement(input());
    const variants: [Partial<Statement> | Record<string, unknown>, RegExp][] = [
      [{ ...base, predicate: { ...base.predicate, policy: { uri: 'urn:br-fagq2:guardrail:other' } } }, /predicate\.policy\.uri/],
      [{ ...base, predicate: { ...base.predicate, verificationResult: 'FAILED' } }, /predicate\.verificationResult/],
      [{ ...base, predicateType: 'https://slsa.dev/provenance/v1' }, /predicateType/],
      [{ ...base, subject: [] }, /subject/],
      [{ ...base, predicate: { ...base.predicate, expiresAt: base.predicate.timeVerified } }, /expires .* before it was verified/],
      [{ ...base, predicate: { ...base.predicate, checks: [{ name: 'nag', status: 'FAIL', detail: '' }] } }, /predicate\.checks\.0\.status/],
      [{ ...base, subject: [base.subject[0]!, base.subject[0]!] }, /names subject .* twice/],
    ];
    for (const [statement, message] of variants) {
      const envelope = await signRaw(Buffer.from(JSON.stringify(statement)));
      expectRefused(() => verifyEnvelope(envelope, [signer.trustedKey]), message);
    }
  });
});
