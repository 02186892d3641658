import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../pipeline/checks/args';
import { mergeSettings, parseDeployConfig, parseHealthConfig, UsageError } from '../../pipeline/checks/config';

const deployEnv = {
  EDGE_URL: 'https://d111111abcdef8.cloudfront.net/',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq',
  EXPECTED_VERSION: '3f2a9c1',
};

const healthEnv = {
  EDGE_URL: 'https://d111111abcdef8.cloudfront.net',
  CLUSTER_NAME: 'production-cluster',
  API_SERVICE_NAME: 'api-id6pe9zboa',
  WORKER_SERVICE_NAME: 'worker-sskbsaup',
  API_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-id6pe9zboa/73e2d6bc24d8a067',
};

function usageError(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('deploy configuration', () => {
  it('reads the variables, strips the trailing slash of EDGE_URL and applies the defaults', () => {
    expect(parseDeployConfig(deployEnv)).toEqual({
      edgeUrl: 'https://d111111abcdef8.cloudfront.net',
      distributionId: undefined,
      queueUrl: deployEnv.QUEUE_URL,
      dlqUrl: deployEnv.DLQ_URL,
      expectedVersion: '3f2a9c1',
      latencyBudgetMs: 500,
      latencyRequests: 50,
      jobBudgetSeconds: 60,
      versionBudgetSeconds: 60,
      invalidationBudgetSeconds: 600,
      dataBucket: undefined,
      freshnessBudgetSeconds: 600,
      apiToken: undefined,
      oidcClient: undefined,
    });
  });

  it('reads the optional values when set', () => {
    const config = parseDeployConfig({ ...deployEnv, DISTRIBUTION_ID: 'E2QWRUHAPOMQZL', LATENCY_BUDGET_MS: '250', LATENCY_REQUESTS: '20', JOB_BUDGET_SECONDS: '45' });
    expect(config).toMatchObject({ distributionId: 'E2QWRUHAPOMQZL', latencyBudgetMs: 250, latencyRequests: 20, jobBudgetSeconds: 45 });
  });

  it('reads the write credential of a stage: its secret, issuer and audience together, or none', () => {
    const oidc = { OIDC_CLIENT_SECRET_ID: 'br-fagq2-staging/deploy-checks/oidc-client', OIDC_ISSUER: 'https://auth.example.com/', OIDC_AUDIENCE: 'br-fagq2-api' };
    expect(parseDeployConfig({ ...deployEnv, ...oidc }).oidcClient).toEqual({ secretId: oidc.OIDC_CLIENT_SECRET_ID, issuer: oidc.OIDC_ISSUER, audience: 'br-fagq2-api' });
    expect(usageError(() => parseDeployConfig({ ...deployEnv, OIDC_CLIENT_SECRET_ID: oidc.OIDC_CLIENT_SECRET_ID }))).toBe(
      'OIDC_CLIENT_SECRET_ID, OIDC_ISSUER and OIDC_AUDIENCE go together: set all three or none',
    );
    expect(usageError(() => parseDeployConfig({ ...deployEnv, ...oidc, OIDC_ISSUER: 'auth.example.com' }))).toBe('OIDC_ISSUER must be an http:// or https:// URL, got "auth.example.com"');
  });

  it('names every missing variable in one error', () => {
    const message = usageError(() => parseDeployConfig({ DLQ_URL: deployEnv.DLQ_URL, EXPECTED_VERSION: '  ' }));
    expect(message.split('\n')).toEqual([
      expect.stringMatching(/^EDGE_URL is required: /),
      expect.stringMatching(/^QUEUE_URL is required: /),
      expect.stringMatching(/^EXPECTED_VERSION is required: /),
    ]);
  });

  it.each([
    ['EDGE_URL', 'not a url', 'EDGE_URL must be a URL, got "not a url"'],
    ['EDGE_URL', 'ftp://example.com', 'EDGE_URL must be an http:// or https:// URL, got "ftp://example.com"'],
    ['QUEUE_URL', 'jobs', 'QUEUE_URL must be a URL, got "jobs"'],
    ['LATENCY_BUDGET_MS', '0', 'LATENCY_BUDGET_MS must be an integer from 1 to 60000, got "0"'],
    ['LATENCY_REQUESTS', '2.5', 'LATENCY_REQUESTS must be an integer from 1 to 10000, got "2.5"'],
    ['JOB_BUDGET_SECONDS', '-3', 'JOB_BUDGET_SECONDS must be an integer from 1 to 3600, got "-3"'],
  ])('rejects %s=%j naming the variable and what it expects', (name, value, expected) => {
    expect(usageError(() => parseDeployConfig({ ...deployEnv, [name]: value }))).toBe(expected);
  });
});

describe('health configuration', () => {
  it('requires every variable without --allow-missing', () => {
    const message = usageError(() => parseHealthConfig({ EDGE_URL: healthEnv.EDGE_URL }, false));
    expect(message).toMatch(/^CLUSTER_NAME is required/m);
    expect(message).toMatch(/^API_SERVICE_NAME is required/m);
    expect(message).toMatch(/^WORKER_SERVICE_NAME is required/m);
    expect(message).toMatch(/^API_TARGET_GROUP_ARN is required/m);
  });

  it('lets the stage variables be unset with --allow-missing (that part is then reported missing)', () => {
    expect(parseHealthConfig({}, true)).toEqual({
      allowMissing: true,
      edgeUrl: undefined,
      clusterName: undefined,
      apiServiceName: undefined,
      workerServiceName: undefined,
      apiTargetGroupArn: undefined,
      rolloutTimeoutMinutes: 30,
    });
  });

  it('still rejects a malformed value with --allow-missing', () => {
    expect(usageError(() => parseHealthConfig({ API_TARGET_GROUP_ARN: 'api-tg' }, true))).toMatch(
      /^API_TARGET_GROUP_ARN must be a target group ARN .*got "api-tg"$/,
    );
  });

  it('accepts a complete stage', () => {
    expect(parseHealthConfig(healthEnv, false)).toMatchObject({ allowMissing: false, clusterName: 'production-cluster', apiTargetGroupArn: healthEnv.API_TARGET_GROUP_ARN });
  });
});

describe('command line', () => {
  it('maps each flag to its variable, and a flag wins over the environment', () => {
    const invocation = parseCommandLine(['deploy', '--edge-url', 'http://127.0.0.1:8080', '--latency-requests=10']);
    expect(invocation).toEqual({ help: false, command: 'deploy', allowMissing: false, overrides: { EDGE_URL: 'http://127.0.0.1:8080', LATENCY_REQUESTS: '10' } });
    if (invocation.help) throw new Error('unreachable');
    expect(parseDeployConfig(mergeSettings({ ...deployEnv, LATENCY_REQUESTS: '99' }, invocation.overrides))).toMatchObject({
      edgeUrl: 'http://127.0.0.1:8080',
      latencyRequests: 10,
    });
  });

  it('takes --allow-missing for health only', () => {
    expect(parseCommandLine(['health', '--allow-missing'])).toMatchObject({ command: 'health', allowMissing: true });
    expect(() => parseCommandLine(['deploy', '--allow-missing'])).toThrow(UsageError);
  });

  it.each([
    [['ship'], /unknown command "ship": expected one of deploy, health/],
    [['deploy', '--cluster-name', 'x'], /deploy: Unknown option '--cluster-name'/],
    [['health', 'extra'], /health: .*positional/i],
    [['deploy', '--edge-url'], /deploy: Option '--edge-url <value>' argument missing/],
  ])('rejects %j', (argv, expected) => {
    expect(() => parseCommandLine(argv)).toThrow(expected);
  });

  it('answers --help with or without a command', () => {
    expect(parseCommandLine([])).toEqual({ help: true });
    expect(parseCommandLine(['health', '--help'])).toEqual({ help: true });
  });
});
