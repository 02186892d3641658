// What the validator's tests run it with: the real synthesized templates (copies, with the
// release substituted), in-process fakes of the AWS reads, the shipped allowances
// (enforcement/allowances.json) with the real compareStages (enforcement/parity), and the real
// attestation module (enforcement/attestation) with a LocalSigner: node:crypto ECDSA P-256, DER
// signatures, as KMS signs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Allowances, loadAllowances } from '../../enforcement/allowances';
import { buildStatement, LocalSigner, type Statement, serializeEnvelope, signEnvelope, verifyEnvelope } from '../../enforcement/attestation/index';
import { compareStages } from '../../enforcement/parity/index';
import { parseValidatorConfig, type ValidatorConfig } from '../../enforcement/validator/config';
import type { AttestationStore, ProductionReads, RunningImage, StagingReads } from '../../enforcement/validator/reads';
import type { AttestationInput, ValidateDeps } from '../../enforcement/validator/validate';
import { sharedAssembly } from '../support/app';

export const COMMIT = 'c0ffee0000000000000000000000000000000001';
export const OTHER_COMMIT = 'beef000000000000000000000000000000000002';
export const EXECUTION_ID = '5e0b4a3c-1d2e-4f00-8a9b-0c1d2e3f4a5b';

/** The template text of a stack of the shared assembly, by stack name, with the release set to `commit`. */
function assemblyTemplate(stackName: string, commit = COMMIT): string {
  const root = sharedAssembly();
  const top = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')).artifacts as Record<string, any>;
  for (const artifact of Object.values(top)) {
    if (artifact.type !== 'cdk:cloud-assembly') continue;
    const dir = join(root, artifact.properties.directoryName);
    const nested = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).artifacts as Record<string, any>;
    for (const a of Object.values(nested)) {
      if (a.type === 'aws:cloudformation:stack' && a.properties.stackName === stackName) {
        // The shared assembly is synthesized for the release "test-version" (test/support/app.ts).
        return readFileSync(join(dir, a.properties.templateFile), 'utf8').replaceAll('"test-version"', JSON.stringify(commit));
      }
    }
  }
  throw new Error(`no stack ${stackName} in the shared assembly`);
}

/** Edits a template's JSON text. */
export function editTemplate(text: string, edit: (template: any) => void): string {
  const template = JSON.parse(text);
  edit(template);
  return JSON.stringify(template, null, 1);
}

/** The shipped statement of what may differ between the stages, as the enforcement stack bundles it. */
export function shippedAllowances(): Allowances {
  return loadAllowances(join(__dirname, '..', '..', 'enforcement', 'allowances.json'));
}

/** The validator's configuration for the shipped stages (the allowances come apart: {@link shippedAllowances}). */
export function testConfig(overrides: Record<string, unknown> = {}): ValidatorConfig {
  return parseValidatorConfig({
    staging: {
      account: '222222222222',
      region: 'eu-west-1',
      stacks: { Tiers: { stackName: 'Staging-Tiers' }, EdgeWaf: { stackName: 'Staging-EdgeWaf', region: 'us-east-1' } },
      readRoleArn: 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1',
    },
    production: {
      account: '333333333333',
      region: 'eu-west-1',
      stacks: { Tiers: { stackName: 'Production-Tiers' }, EdgeWaf: { stackName: 'Production-EdgeWaf', region: 'us-east-1' } },
    },
    keyId: 'local-test-key',
    pipelineAccount: '111111111111',
    ...overrides,
  });
}

const digestOf = (name: string) => `sha256:${createHash('sha256').update(name).digest('hex')}`;

/** The staging account as the fake answers it: deployed templates by stack name, and what each container runs. */
export interface FakeStagingState {
  templates: Record<string, string>;
  /** Container name → the digest its service's current revision runs. */
  running: Record<string, string>;
  /** When set, every read throws it (an unreadable staging). */
  failWith?: string;
}

function fakeStaging(state: FakeStagingState): StagingReads {
  const services = (stackName: string) => {
    const template = JSON.parse(state.templates[stackName] ?? '{"Resources":{}}');
    return Object.entries(template.Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::ECS::Service').map(([id]) => id);
  };
  return {
    async deployedTemplate(stackName) {
      if (state.failWith) throw new Error(state.failWith);
      return state.templates[stackName];
    },
    async services(stackName) {
      if (state.failWith) throw new Error(state.failWith);
      return services(stackName).map((logicalId) => ({ logicalId, serviceArn: `arn:aws:ecs:eu-west-1:222222222222:service/cluster/${logicalId}` }));
    },
    async runningImages(serviceArn): Promise<RunningImage[]> {
      const id = serviceArn.split('/').pop()!;
      const name = id.startsWith('api') ? 'api' : 'worker';
      return [{ containerName: name, image: `222222222222.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-222222222222-eu-west-1:${name}`, imageDigest: state.running[name] }];
    },
  };
}

/** Production's registry (repository:tag → digest) and asset bucket (bucket/key → content). */
export interface FakeProductionState {
  images: Record<string, string>;
  objects: Record<string, string>;
}

function fakeProduction(state: FakeProductionState): ProductionReads {
  return {
    async imageDigest(repository, tag) {
      return state.images[`${repository}:${tag}`];
    },
    async objectSha256(bucket, key) {
      const content = state.objects[`${bucket}/${key}`];
      return content === undefined ? undefined : createHash('sha256').update(content).digest('hex');
    },
  };
}

function memoryStore(): AttestationStore & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return { objects, async put(key, body) { objects.set(key, body); } };
}

/** A local P-256 signer (enforcement/attestation's LocalSigner). */
export function localSigner(keyId = 'local-test-key'): LocalSigner {
  return LocalSigner.generate(keyId);
}

/** The validator's attest dependency over the real attestation module, signing with `signer`. */
export function localAttest(signer: LocalSigner) {
  return async (input: AttestationInput): Promise<Buffer> => Buffer.from(serializeEnvelope(await signEnvelope(buildStatement(input), signer)));
}

/** Verifies an envelope with the signer's public key (enforcement/attestation's verifyEnvelope) and returns its statement; throws when it does not verify. */
export function verifyLocal(envelope: Buffer, signer: LocalSigner): Statement {
  return verifyEnvelope(envelope, [signer.trustedKey]).statement;
}

/** A whole world in which the shipped release validates: staging runs it, production holds the same images and files. */
export function world(options: { commit?: string } = {}) {
  const commit = options.commit ?? COMMIT;
  const production = { tiers: assemblyTemplate('Production-Tiers', commit), edgeWaf: assemblyTemplate('Production-EdgeWaf', commit) };
  const staging: FakeStagingState = {
    templates: { 'Staging-Tiers': assemblyTemplate('Staging-Tiers', commit), 'Staging-EdgeWaf': assemblyTemplate('Staging-EdgeWaf', commit) },
    running: { api: digestOf('api image'), worker: digestOf('worker image') },
  };
  const registry: FakeProductionState = { images: {}, objects: {} };
  const tiers = JSON.parse(production.tiers);
  for (const r of Object.values(tiers.Resources as Record<string, any>)) {
    if (r.Type === 'AWS::ECS::TaskDefinition') {
      for (const c of r.Properties.ContainerDefinitions) {
        const [, repoTag] = /\/(.+)$/.exec(c.Image['Fn::Sub'])!;
        registry.images[repoTag] = staging.running[c.Name];
      }
    }
    if (r.Type === 'AWS::Lambda::Function' && typeof r.Properties.Code?.S3Key === 'string') {
      registry.objects[`${r.Properties.Code.S3Bucket}/${r.Properties.Code.S3Key}`] = `zip of ${r.Properties.Code.S3Key}`;
    }
  }
  const signer = localSigner();
  const store = memoryStore();
  const request = { release: { commit, executionId: EXECUTION_ID }, templates: { 'Production-Tiers': production.tiers, 'Production-EdgeWaf': production.edgeWaf } };
  const deps = (config = testConfig(), allowances = shippedAllowances()): ValidateDeps => ({
    config,
    staging: fakeStaging(staging),
    production: fakeProduction(registry),
    store,
    compareStages,
    allowances,
    attest: localAttest(signer),
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    now: () => new Date('2026-12-03T10:00:00Z'),
  });
  return { commit, production, staging, registry, signer, store, request, deps };
}
