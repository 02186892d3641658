import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../lib/config';
import { payloadSchemas } from '../services/shared/job-schemas';
import { payloadSchemas as contractSchemas, validateJobRequest } from '../services/shared/jobs';
import { cdkJsonContext, REPO_ROOT, shippedConfig } from './support/app';

/** The error loadConfig throws for cdk.json's context plus `-c` overrides (undefined: none). */
function overrideError(overrides: Record<string, unknown>): string | undefined {
  try {
    loadConfig({ ...cdkJsonContext(), ...overrides });
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
}

/** Parses the shipped config after `edit`, returning the error message (or undefined). */
function errorAfter(edit: (c: Record<string, any>) => void): string | undefined {
  const config = shippedConfig();
  edit(config);
  try {
    parseConfig(config);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
}

describe('configuration', () => {
  it('accepts the defaults shipped in cdk.json', () => {
    const config = loadConfig(cdkJsonContext());
    expect(config.staging.worker.minTasks).toBe(0);
    expect(config.production.api.minTasks).toBeGreaterThanOrEqual(2);
  });

  it('staging and production differ only in sizing values, not in shape', () => {
    const keys = (o: unknown, prefix = ''): string[] =>
      o && typeof o === 'object' && !Array.isArray(o)
        ? Object.entries(o).flatMap(([k, v]) => [`${prefix}${k}`, ...keys(v, `${prefix}${k}.`)])
        : [];
    const { staging, production } = shippedConfig();
    expect(keys(staging)).toEqual(keys(production));
  });

  it('rejects an account id that is not 12 digits, naming the key', () => {
    expect(errorAfter((c) => (c.production.account = '12345'))).toMatch(/production\.account: expected a 12-digit AWS account id/);
  });

  it('rejects an unknown region, naming the key', () => {
    expect(errorAfter((c) => (c.staging.region = 'mars-north-1'))).toMatch(/staging\.region: expected a known AWS region/);
  });

  it('rejects minTasks greater than maxTasks', () => {
    expect(errorAfter((c) => Object.assign(c.production.worker, { minTasks: 5, maxTasks: 2 }))).toMatch(
      /production\.worker\.minTasks: expected minTasks ≤ maxTasks/,
    );
  });

  it('rejects an API that may scale to zero tasks', () => {
    expect(errorAfter((c) => (c.staging.api.minTasks = 0))).toMatch(/staging\.api\.minTasks/);
  });

  it('reports a missing value as missing', () => {
    expect(errorAfter((c) => delete c.pipeline.connectionArn)).toMatch(/pipeline\.connectionArn: missing value/);
  });

  it('rejects a CPU size Fargate does not offer', () => {
    expect(errorAfter((c) => (c.staging.worker.cpu = 300))).toMatch(/staging\.worker\.cpu: expected a Fargate CPU value/);
  });

  it('rejects a log retention CloudWatch does not offer', () => {
    expect(errorAfter((c) => (c.staging.logRetentionDays = 10))).toMatch(/staging\.logRetentionDays: expected a CloudWatch Logs retention/);
  });

  it('rejects fewer than two availability zones, and more than the six the address plan has room for', () => {
    expect(errorAfter((c) => (c.staging.availabilityZones = ['eu-west-1a']))).toMatch(/staging\.availabilityZones/);
    expect(errorAfter((c) => (c.staging.availabilityZones = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((z) => `us-east-1${z}`)))).toMatch(
      /staging\.availabilityZones: at most six: the address plan has room for six zones/,
    );
  });

  it('rejects a custom domain without its certificate', () => {
    expect(errorAfter((c) => (c.production.edge.domainName = 'data.example.com'))).toMatch(
      /production\.edge\.domainName: expected domainName and certificateArn together/,
    );
  });

  it('rejects a certificate outside us-east-1', () => {
    expect(
      errorAfter((c) => Object.assign(c.production.edge, { domainName: 'data.example.com', certificateArn: 'arn:aws:acm:eu-west-1:333333333333:certificate/abc' })),
    ).toMatch(/production\.edge\.certificateArn: expected an ACM certificate ARN in us-east-1/);
  });

  it('rejects a malformed schedule expression', () => {
    expect(errorAfter((c) => (c.production.worker.schedules[0].cron = 'every night'))).toMatch(/production\.worker\.schedules\.0\.cron/);
  });

  it('lists every bad key in one error', () => {
    const message = errorAfter((c) => {
      c.staging.account = 'x';
      c.production.region = 'nowhere';
    });
    expect(message).toMatch(/staging\.account/);
    expect(message).toMatch(/production\.region/);
  });

  it('applies -c overrides by dotted path, keeping strings as strings', () => {
    const config = loadConfig({
      ...cdkJsonContext(),
      'production.account': '012345678901',
      'production.api.maxTasks': '40',
      'pipeline.manualApproval': 'true',
    });
    expect(config.production.account).toBe('012345678901');
    expect(config.production.api.maxTasks).toBe(40);
    expect(config.pipeline.manualApproval).toBe(true);
  });

  describe('pipeline.baseImage', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    it.each([
      'public.ecr.aws/docker/library/node:22-alpine',
      `public.ecr.aws/docker/library/node:22-alpine@${digest}`,
      `public.ecr.aws/docker/library/node@${digest}`,
      `123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecr-public/docker/library/node:22-alpine@${digest}`,
      'registry.internal:5000/node:22-alpine',
    ])('accepts a tag, a digest or both: %s', (image) => {
      expect(errorAfter((c) => (c.pipeline.baseImage = image))).toBeUndefined();
    });

    it.each([
      ['no tag and no digest', 'public.ecr.aws/docker/library/node'],
      ['a digest of 63 hex digits', `public.ecr.aws/docker/library/node@${digest.slice(0, -1)}`],
      ['upper-case hex', `public.ecr.aws/docker/library/node@${digest.toUpperCase().replace('SHA256', 'sha256')}`],
      ['another algorithm', `public.ecr.aws/docker/library/node@sha512:${'0'.repeat(128)}`],
      ['a tag after the digest', `public.ecr.aws/docker/library/node@${digest}:22-alpine`],
      ['an empty digest', 'public.ecr.aws/docker/library/node:22-alpine@sha256:'],
      ['no registry path', 'node:22-alpine'],
    ])('refuses %s, naming the key', (_, image) => {
      expect(errorAfter((c) => (c.pipeline.baseImage = image))).toMatch(/pipeline\.baseImage: expected a container image reference with a tag, a digest or both/);
    });
  });

  it('validates -c overrides like any other value', () => {
    expect(() => loadConfig({ ...cdkJsonContext(), 'staging.api.maxTasks': '0' })).toThrow(/staging\.api\.maxTasks/);
  });

  it.each([
    [{ 'production.api.maxTask': '40' }, 'production.api.maxTask: unknown key; did you mean production.api.maxTasks?'],
    [{ 'productoin.account': '123456789012' }, 'productoin.account: unknown key; did you mean production.account?'],
    [{ 'staging.wroker.concurrency': '2' }, 'staging.wroker: unknown key; did you mean staging.worker?'],
    [{ sandobx: 'true' }, 'sandobx: unknown key; did you mean sandbox?'],
    [{ sandbox: 'yes' }, "sandbox: expected true or false, got 'yes'"],
    [{ 'staging.worker.concurrency': 'abc' }, "staging.worker.concurrency: expected a number, got 'abc'"],
    [{ 'pipeline.manualApproval': 'sometimes' }, "pipeline.manualApproval: expected a boolean, got 'sometimes'"],
  ])('rejects the override %j: "%s"', (overrides, expected) => {
    expect(overrideError(overrides)).toContain(`  - ${expected}`);
  });

  it('rejects unknown keys anywhere in the sections, by the schema alone (array items included)', () => {
    expect(errorAfter((c) => (c.staging.edge.pricClass = 'PriceClass_100'))).toMatch(/staging\.edge\.pricClass: unknown key; did you mean staging\.edge\.priceClass\?/);
    expect(errorAfter((c) => (c.production.worker.schedules[0].jobTyp = 'x'))).toMatch(/production\.worker\.schedules\.0\.jobTyp: unknown key; did you mean production\.worker\.schedules\.0\.jobType\?/);
    expect(errorAfter((c) => (c.pipeline.somethingElse = 1))).toMatch(/pipeline\.somethingElse: unknown key$/m);
    // A schedule's payload is not the configuration schema's: the job contract's payload schema decides (below).
    expect(errorAfter((c) => (c.production.worker.schedules[0].payload.anything = 1))).toMatch(
      /production\.worker\.schedules\.0\.payload\.anything: unknown key \(not in the payload schema\) \(the checksum job's payload schema/,
    );
  });

  describe('scheduled jobs, checked against the job contract the worker uses (services/shared/job-schemas.ts)', () => {
    const schedule = (jobType: string, payload: Record<string, unknown>) => [{ name: 'x', cron: 'rate(1 hour)', jobType, payload }];
    const withSchedules = (s: unknown) => (c: Record<string, any>) => {
      c.staging.worker.schedules = s;
      c.production.worker.schedules = structuredClone(s);
    };

    it('refuses a job type the worker does not know, naming the ones it does', () => {
      expect(errorAfter(withSchedules(schedule('nope', {})))).toMatch(
        /^ {2}- staging\.worker\.schedules\.0\.jobType: expected a job type of the worker \(checksum, rebuild-dataset\), got 'nope'$/m,
      );
    });

    it('refuses a payload the worker would refuse (rounds: 0), with the schema\'s own words', () => {
      expect(errorAfter(withSchedules(schedule('checksum', { data: 'x', rounds: 0 })))).toMatch(/^ {2}- production\.worker\.schedules\.0\.payload\.rounds: must be >= 1 \(the checksum job's payload schema/m);
      expect(errorAfter(withSchedules(schedule('checksum', { data: 'x' })))).toMatch(/schedules\.0\.payload\.rounds: missing value \(required\)/);
      expect(errorAfter(withSchedules(schedule('checksum', { data: 'x', rounds: '5' })))).toMatch(/schedules\.0\.payload\.rounds: must be integer/);
    });

    it('accepts what the worker accepts', () => {
      expect(errorAfter(withSchedules(schedule('rebuild-dataset', { reason: 'nightly' })))).toBeUndefined();
      expect(errorAfter(withSchedules(schedule('checksum', { data: 'x', rounds: 1 })))).toBeUndefined();
    });

    it('reads the very objects the worker validates messages with (one schema, not a copy)', () => {
      expect(contractSchemas).toBe(payloadSchemas);
      // And the worker refuses what the synth refuses.
      expect(validateJobRequest({ type: 'checksum', payload: { data: 'x', rounds: 0 } })).toMatchObject({ ok: false, field: 'payload.rounds' });
    });
  });

  it('refuses a pipeline account that is a stage account in one clean line (no stack trace)', () => {
    expect(overrideError({ 'pipeline.account': '333333333333' })).toMatch(
      /^ {2}- pipeline\.account: must differ from staging\.account and production\.account, got '333333333333' \(a stage's account\)/m,
    );
  });

  it('takes a CANARY step from 0.1 % and a LINEAR step from 3 % (ECS CanaryConfiguration, LinearConfiguration)', () => {
    const both = (strategy: string, percent: string) =>
      Object.fromEntries(['staging', 'production'].flatMap((s) => [[`${s}.api.deployment.strategy`, strategy], [`${s}.api.deployment.trafficStepPercent`, percent]]));
    expect(overrideError(both('CANARY', '0.1'))).toBeUndefined();
    expect(overrideError(both('CANARY', '100'))).toBeUndefined();
    expect(overrideError(both('CANARY', '0.05'))).toMatch(/staging\.api\.deployment\.trafficStepPercent/);
    expect(overrideError(both('LINEAR', '3'))).toBeUndefined();
    expect(overrideError(both('LINEAR', '2.9'))).toMatch(/staging\.api\.deployment\.trafficStepPercent: expected at least 3 for LINEAR/);
    expect(overrideError(both('LINEAR', '100.1'))).toMatch(/trafficStepPercent/);
  });

  it('accepts sandbox true/false and the CDK CLI own context keys', () => {
    for (const sandbox of [true, 'true', 'false']) expect(overrideError({ sandbox })).toBeUndefined();
    expect(overrideError({ 'aws:cdk:enable-path-metadata': true, '@aws-cdk/core:newStyleStackSynthesis': true })).toBeUndefined();
  });

  it('makes the app exit 1 with the message alone, no stack trace', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'config-test-'));
    try {
      const run = spawnSync(process.execPath, ['bin/run-app.mjs'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        // As the CDK CLI runs the app: the context as JSON, -c overrides included.
        env: { PATH: process.env.PATH, TMPDIR: tmpdir(), CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), 'production.api.maxTask': '40' }) },
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        'Invalid br-fagq2 configuration (cdk.json context, or -c overrides):\n  - production.api.maxTask: unknown key; did you mean production.api.maxTasks?\n',
      );
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

describe('the enforcement section', () => {
  it('defaults to a 30-day validity, one signing key and enabled hooks', () => {
    const config = shippedConfig();
    config.enforcement = { administratorArn: config.enforcement.administratorArn };
    expect(parseConfig(config).enforcement).toEqual({ administratorArn: 'arn:aws:iam::333333333333:role/br-fagq2-guardrail-administrator', validityDays: 30, signingKeys: ['k1'], hookStatus: 'ENABLED' });
  });

  it('names the bad key: an administrator that is no role ARN, three signing keys, an unknown hook status', () => {
    expect(errorAfter((c) => { c.enforcement.administratorArn = 'admin'; })).toMatch(/enforcement\.administratorArn: expected an IAM role ARN/);
    expect(errorAfter((c) => { c.enforcement.signingKeys = ['a', 'b', 'c']; })).toMatch(/enforcement\.signingKeys/);
    expect(overrideError({ 'enforcement.hookStatus': 'OFF' })).toMatch(/enforcement\.hookStatus/);
    expect(errorAfter((c) => { delete c.enforcement; })).toMatch(/enforcement: missing value/);
  });
});
