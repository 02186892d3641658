// The validator's SDK reads (enforcement/validator/aws-reads.ts) against a local stand-in of
// STS, CloudFormation, ECS, ECR and S3 (validator-fake-aws.ts): staging is read with the
// credentials of its read role, production and the attestation bucket with the function's own,
// and the decision is the same as with the in-process fakes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionReads, s3AttestationStore, stagingReads } from '../../enforcement/validator/aws-reads';
import { compareStages } from '../../enforcement/parity/index';
import { releaseKey } from '../../enforcement/attestation/statement';
import { validate, type ValidateDeps } from '../../enforcement/validator/validate';
import { type FakeAws, startFakeAws } from './validator-fake-aws';
import { COMMIT, EXECUTION_ID, localAttest, localSigner, shippedAllowances, testConfig, verifyLocal, world } from './validator-support';

const BUCKET = 'br-fagq2-attestations-fake';

describe('the validator reads AWS through the SDK', () => {
  let aws: FakeAws;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    aws = await startFakeAws();
    for (const [k, v] of Object.entries(aws.sdkEnv)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await aws?.stop();
  });

  /** The fake AWS as the shipped release leaves it: staging runs it, production holds its images and files. */
  function seed() {
    const w = world();
    aws.state.templates = { ...w.staging.templates };
    aws.state.services = {};
    aws.state.deployments = {};
    aws.state.revisions = {};
    for (const [stackName, text] of Object.entries(w.staging.templates)) {
      const services = Object.entries(JSON.parse(text).Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::ECS::Service');
      aws.state.services[stackName] = {};
      for (const [id] of services) {
        const arn = `arn:aws:ecs:eu-west-1:222222222222:service/br-fagq2-cluster/${id}`;
        const container = id.startsWith('api') ? 'api' : 'worker';
        aws.state.services[stackName][id] = arn;
        // An older revision ran another image; the newest deployment is what staging runs.
        aws.state.deployments[arn] = [
          { status: 'SUCCESSFUL', createdAt: 1_764_000_000, revisionArn: `${arn}/revision-old` },
          { status: 'SUCCESSFUL', createdAt: 1_764_100_000, revisionArn: `${arn}/revision-new` },
        ];
        aws.state.revisions[`${arn}/revision-old`] = [{ containerName: container, image: 'old', imageDigest: `sha256:${'0'.repeat(64)}` }];
        aws.state.revisions[`${arn}/revision-new`] = [{ containerName: container, image: `${container}:tag`, imageDigest: w.staging.running[container] }];
      }
    }
    aws.state.images = { ...w.registry.images };
    aws.state.objects = new Map(Object.entries(w.registry.objects).map(([k, v]) => [k, Buffer.from(v)]));
    aws.calls.length = 0;
    const config = testConfig();
    const signer = localSigner();
    const deps: ValidateDeps = {
      config,
      staging: stagingReads(config.staging.readRoleArn, config.production.region),
      production: productionReads(config.production.account, { forcePathStyle: true }),
      store: s3AttestationStore(BUCKET, config.production.region, { forcePathStyle: true }),
      compareStages,
      allowances: shippedAllowances(),
      attest: localAttest(signer),
      verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
      now: () => new Date('2026-12-03T10:00:00Z'),
    };
    return { w, deps, signer };
  }

  it('signs the shipped release, reading staging as its read role and production as itself', async () => {
    const { w, deps, signer } = seed();
    const response = await validate(w.request, deps);
    expect(response.checks.filter((c) => c.status === 'FAIL')).toEqual([]);
    expect(response.passed).toBe(true);
    const stored = [...aws.state.objects.keys()].filter((k) => k.startsWith(`${BUCKET}/`)).sort();
    expect(stored).toContain(`${BUCKET}/${releaseKey({ commit: COMMIT, executionId: EXECUTION_ID })}`);
    expect(stored.filter((k) => k.includes('/attestations/333333333333/'))).toHaveLength(2);
    expect(stored.some((k) => k.startsWith(`${BUCKET}/attestations/333333333333/eu-west-1/Production-Tiers/`))).toBe(true);
    verifyLocal(aws.state.objects.get(`${BUCKET}/${releaseKey({ commit: COMMIT, executionId: EXECUTION_ID })}`)!, signer);

    const assume = aws.calls.filter((c) => c.operation === 'sts:AssumeRole');
    expect(assume).toHaveLength(1);
    expect(new URLSearchParams(assume[0].body).get('RoleArn')).toBe(deps.config.staging.readRoleArn);
    const signedBy = (prefix: string) => [...new Set(aws.calls.filter((c) => c.operation.startsWith(prefix)).map((c) => c.accessKeyId))];
    expect(signedBy('cloudformation:')).toEqual([aws.assumedAccessKeyId]);
    expect(signedBy('ecs:')).toEqual([aws.assumedAccessKeyId]);
    expect(signedBy('ecr:')).toEqual([aws.sdkEnv.AWS_ACCESS_KEY_ID]);
    expect(signedBy('s3:')).toEqual([aws.sdkEnv.AWS_ACCESS_KEY_ID]);
    const getTemplate = aws.calls.find((c) => c.operation === 'cloudformation:GetTemplate')!;
    expect(new URLSearchParams(getTemplate.body).get('TemplateStage')).toBe('Original');
  });

  it('refuses while staging is still deploying, when a staging stack is gone, and when a tag is not in production', async () => {
    const { w, deps } = seed();
    const [arn] = Object.keys(aws.state.deployments);
    aws.state.deployments[arn].push({ status: 'IN_PROGRESS', createdAt: 1_764_200_000, revisionArn: `${arn}/revision-next` });
    delete aws.state.templates['Staging-EdgeWaf'];
    const [tag] = Object.keys(aws.state.images);
    delete aws.state.images[tag];
    const response = await validate(w.request, deps);
    expect(response.passed).toBe(false);
    const staging = response.checks.find((c) => c.name === 'staging')!.detail;
    expect(staging).toContain('is IN_PROGRESS, not SUCCESSFUL');
    expect(staging).toContain('the stack Staging-EdgeWaf (us-east-1) does not exist');
    expect(response.checks.find((c) => c.name === 'images')!.detail).toContain(`production's registry has no image ${tag}`);
    expect([...aws.state.objects.keys()].filter((k) => k.startsWith(`${BUCKET}/`))).toEqual([]);
  });
});
