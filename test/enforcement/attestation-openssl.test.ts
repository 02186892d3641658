// An attestation is checkable without this project's code: the README's openssl recipe (run here
// exactly as written) and verify-attestation.ts (run as a program, as a user runs it).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildStatement, LocalSigner, serializeEnvelope, signEnvelope } from '../../enforcement/attestation/index';
import { listStacks } from '../../pipeline/cloud-assembly';
import { REPO_ROOT, sharedAssembly } from '../support/app';

const README = readFileSync(join(REPO_ROOT, 'enforcement/README.md'), 'utf8');
const RECIPE = /^```bash attestation-openssl\n([\s\S]*?)^```$/m.exec(README)?.[1];
const PROGRAM = join(REPO_ROOT, 'enforcement/verify-attestation.ts');
const signer = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/11111111-1111-1111-1111-111111111111');
const other = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/22222222-2222-2222-2222-222222222222');
const scratch = mkdtempSync(join(tmpdir(), 'attestation-openssl-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The production Tiers stack of the real assembly, its template copied into the scratch folder. */
function productionTiers() {
  const stack = listStacks(sharedAssembly()).find((s) => s.account === '333333333333' && s.stackName.endsWith('Tiers'))!;
  const template = join(scratch, 'Production-Tiers.template.json');
  copyFileSync(stack.templateFile, template);
  return { stack, template };
}

async function envelopeFile(dir: string, by = signer): Promise<string> {
  const { stack, template } = productionTiers();
  const statement = buildStatement({
    templates: [{ account: stack.account!, region: stack.region!, stackName: stack.stackName, body: readFileSync(template) }],
    images: [],
    release: { commit: 'c'.repeat(40), executionId: 'exec-7' },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'parity', status: 'PASS', detail: 'equal' }],
    timeVerified: new Date(),
  });
  const file = join(dir, 'envelope.json');
  writeFileSync(file, serializeEnvelope(await signEnvelope(statement, by)));
  return file;
}

function runRecipe(dir: string) {
  return spawnSync('bash', ['-e', '-c', RECIPE!], { cwd: dir, encoding: 'utf8' });
}

describe('the README openssl recipe', () => {
  it('runs on a machine with openssl (required, not skipped)', () => {
    const found = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' });
    expect(found.status, 'openssl is not installed: the README promises verification with openssl alone; install it (Debian: apt-get install openssl)').toBe(0);
    expect(RECIPE, 'enforcement/README.md has no ```bash attestation-openssl block').toBeTruthy();
  });

  it('verifies a real envelope with openssl alone, and the statement it extracts names the template’s digest', async () => {
    const dir = mkdtempSync(join(scratch, 'ok-'));
    await envelopeFile(dir);
    writeFileSync(join(dir, 'pub.pem'), signer.publicKeyPem);
    const run = runRecipe(dir);
    expect(run.stdout + run.stderr).toContain('Verified OK');
    expect(run.status).toBe(0);
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-r', join(scratch, 'Production-Tiers.template.json')], { encoding: 'utf8' }).split(' ')[0];
    expect(readFileSync(join(dir, 'statement.json'), 'utf8')).toContain(`"digest":{"sha256":"${digest}"}`);
  });

  it('fails on a changed statement and on another key', async () => {
    const dir = mkdtempSync(join(scratch, 'tampered-'));
    const file = await envelopeFile(dir);
    const envelope = JSON.parse(readFileSync(file, 'utf8'));
    const body = Buffer.from(envelope.payload, 'base64').toString().replace('"verificationResult":"PASSED"', '"verificationResult":"PASSED" ');
    writeFileSync(file, JSON.stringify({ ...envelope, payload: Buffer.from(body).toString('base64') }));
    writeFileSync(join(dir, 'pub.pem'), signer.publicKeyPem);
    const tampered = runRecipe(dir);
    expect(tampered.stdout + tampered.stderr).toContain('Verification failure');
    expect(tampered.status).not.toBe(0);

    const dir2 = mkdtempSync(join(scratch, 'otherkey-'));
    await envelopeFile(dir2, other);
    writeFileSync(join(dir2, 'pub.pem'), signer.publicKeyPem);
    expect(runRecipe(dir2).status).not.toBe(0);
  });
});

describe('verify-attestation.ts', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [PROGRAM, ...args], { encoding: 'utf8' });

  it('verifies an envelope and says the template file is attested for the stack', async () => {
    const dir = mkdtempSync(join(scratch, 'cli-'));
    const file = await envelopeFile(dir);
    writeFileSync(join(dir, 'pub.pem'), signer.publicKeyPem);
    const { stack, template } = productionTiers();
    const ok = run(file, '--key', join(dir, 'pub.pem'), '--template', template, '--stack', `${stack.account}:${stack.region}:${stack.stackName}`);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`OK: the signature by ${signer.keyId} verifies`);
    expect(ok.stdout).toContain('policy urn:br-fagq2:guardrail:r5gdjql-k000zve0-zxk: PASSED');
    expect(ok.stdout).toContain(`is attested as cloudformation:${stack.account}:${stack.region}:${stack.stackName}`);

    // Two keys during a rotation: the old one found among them.
    writeFileSync(join(dir, 'other.pem'), other.publicKeyPem);
    expect(run(file, '--key', join(dir, 'other.pem'), '--key', join(dir, 'pub.pem')).status).toBe(0);
  });

  it('refuses another key, a keyid pinned to the wrong key, a changed template and another stack name', async () => {
    const dir = mkdtempSync(join(scratch, 'cli-bad-'));
    const file = await envelopeFile(dir);
    writeFileSync(join(dir, 'pub.pem'), signer.publicKeyPem);
    writeFileSync(join(dir, 'other.pem'), other.publicKeyPem);
    const wrongKey = run(file, '--key', join(dir, 'other.pem'));
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.stderr).toMatch(/REFUSED: the signature by .* does not verify/);
    const pinned = run(file, '--key', join(dir, 'pub.pem'), '--keyid', other.keyId);
    expect(pinned.status).toBe(1);
    expect(pinned.stderr).toMatch(/REFUSED: signed by key .*1111.*, which is not trusted/);

    const { stack, template } = productionTiers();
    const changed = join(dir, 'changed.template.json');
    writeFileSync(changed, Buffer.concat([readFileSync(template), Buffer.from(' ')]));
    const oneByte = run(file, '--key', join(dir, 'pub.pem'), '--template', changed, '--stack', `${stack.account}:${stack.region}:${stack.stackName}`);
    expect(oneByte.status).toBe(1);
    expect(oneByte.stderr).toMatch(/NOT ATTESTED: .*changed.template.json has sha256 [0-9a-f]{64}; the attestation names/);
    const decoy = run(file, '--key', join(dir, 'pub.pem'), '--template', template, '--stack', `222222222222:${stack.region}:${stack.stackName}`);
    expect(decoy.status).toBe(1);
    expect(decoy.stderr).toContain(`NOT ATTESTED: the attestation names no cloudformation:222222222222:${stack.region}:${stack.stackName}`);
    expect(run(file).status).toBe(2);
  });
});
