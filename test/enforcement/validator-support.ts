// What the validator's tests run it with: the real synthesized templates (copies, with the
// release substituted), in-process fakes of the AWS reads, and a local signer and DSSE/in-toto
// stand-in that follows the contract (ENFORCEMENT-CONTRACT; the DSSE spec's PAE) until
// enforcement/attestation is merged: node:crypto ECDSA P-256, DER signatures, as KMS signs.
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseValidatorConfig, type ValidatorConfig } from '../../enforcement/validator/config';
import { guardrailCompareStages } from '../../enforcement/validator/parity';
import type { AttestationStore, ProductionReads, RunningImage, StagingReads } from '../../enforcement/validator/reads';
import type { AttestationInput, ValidateDeps } from '../../enforcement/validator/validate';
import { cdkJsonContext, sharedAssembly } from '../support/app';

export const COMMIT = 'c0ffee0000000000000000000000000000000001';
export const OTHER_COMMIT = 'beef000000000000000000000000000000000002';
export const EXECUTION_ID = '5e0b4a3c-1d2e-4f00-8a9b-0c1d2e3f4a5b';

/** The template text of a stack of the shared assembly, by stack name, with the release set to `commit`. */
export function assemblyTemplate(stackName: string, commit = COMMIT): string {
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

/** The validator's configuration for the shipped stages (allowances: the shipped stage settings). */
export function testConfig(overrides: Record<string, unknown> = {}): ValidatorConfig {
  const context = cdkJsonContext() as Record<string, any>;
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
    allowances: { staging: structuredClone(context.staging), production: structuredClone(context.production) },
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

export function fakeStaging(state: FakeStagingState): StagingReads {
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

export function fakeProduction(state: FakeProductionState): ProductionReads {
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

export function memoryStore(): AttestationStore & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return { objects, async put(key, body) { objects.set(key, body); } };
}

/** A local P-256 signer, as the contract's LocalSigner: signs a SHA-256 digest, DER signature. */
export function localSigner(keyId = 'local-test-key') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keyId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

/** DSSE's pre-authentication encoding (DSSE protocol.md). */
export const pae = (type: string, body: Buffer) => Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
const PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** The contract's statement and envelope, built and signed locally (the stand-in for enforcement/attestation). */
export function localAttest(signer: ReturnType<typeof localSigner>) {
  return async (input: AttestationInput): Promise<Buffer> => {
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        ...input.templates.map((t) => ({ name: `cloudformation:${t.account}:${t.region}:${t.stackName}`, digest: { sha256: createHash('sha256').update(t.body).digest('hex') } })),
        ...input.images.map((i) => ({ name: `image:${i.uri}`, digest: { sha256: i.sha256 } })),
        ...input.files.map((f) => ({ name: f.uri, digest: { sha256: f.sha256 } })),
      ],
      predicateType: 'https://slsa.dev/verification_summary/v1',
      predicate: {
        verifier: { id: input.verifierId },
        timeVerified: input.timeVerified.toISOString(),
        resourceUri: `git+https://github.com/example/br-fagq2@${input.release.commit}`,
        policy: { uri: 'urn:br-fagq2:guardrail:r5gdjql-k000zve0-zxk' },
        verificationResult: 'PASSED',
        verifiedLevels: [],
        release: input.release,
        expiresAt: new Date(input.timeVerified.getTime() + input.validityDays * 86_400_000).toISOString(),
        checks: input.checks,
      },
    };
    const payload = Buffer.from(JSON.stringify(statement));
    // KMS Sign with MessageType DIGEST takes sha256(PAE); node:crypto hashes PAE itself: the same signature input.
    const sig = sign('sha256', pae(PAYLOAD_TYPE, payload), { key: signer.privateKey, dsaEncoding: 'der' });
    return Buffer.from(JSON.stringify({ payloadType: PAYLOAD_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: signer.keyId, sig: sig.toString('base64') }] }));
  };
}

/** Verifies an envelope with a public key and returns its statement; throws when it does not verify. */
export function verifyLocal(envelope: Buffer, publicKeyPem: string): any {
  const parsed = JSON.parse(envelope.toString('utf8'));
  const payload = Buffer.from(parsed.payload, 'base64');
  const ok = verify('sha256', pae(parsed.payloadType, payload), { key: publicKeyPem, dsaEncoding: 'der' }, Buffer.from(parsed.signatures[0].sig, 'base64'));
  if (!ok) throw new Error('the envelope does not verify');
  return JSON.parse(payload.toString('utf8'));
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
  const deps = (config = testConfig()): ValidateDeps => ({
    config,
    staging: fakeStaging(staging),
    production: fakeProduction(registry),
    store,
    compareStages: guardrailCompareStages,
    attest: localAttest(signer),
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    now: () => new Date('2026-12-03T10:00:00Z'),
  });
  return { commit, production, staging, registry, signer, store, request, deps };
}
