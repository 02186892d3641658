import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../lib/config';
import { cdkJsonContext, shippedConfig } from './support/app';

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

  it('rejects fewer than two availability zones', () => {
    expect(errorAfter((c) => (c.staging.availabilityZones = ['eu-west-1a']))).toMatch(/staging\.availabilityZones/);
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

  it('validates -c overrides like any other value', () => {
    expect(() => loadConfig({ ...cdkJsonContext(), 'staging.api.maxTasks': '0' })).toThrow(/staging\.api\.maxTasks/);
  });
});
