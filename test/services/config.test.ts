import { describe, expect, it } from 'vitest';
import { ConfigError as ApiConfigError, parseApiConfig } from '../../services/api/src/config';
import { ConfigError, parseWorkerConfig, workerConfigDefaults } from '../../services/worker/src/config';
import { isEvent, spawnService } from './helpers';

const queues = {
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq',
  JOBS_TABLE: 'jobs',
  DATA_BUCKET: 'data',
};
const api = { QUEUE_URL: queues.QUEUE_URL, JOBS_TABLE: 'jobs', DATA_BUCKET: 'data' };

describe('worker configuration', () => {
  it('applies the defaults', () => {
    expect(parseWorkerConfig(queues)).toEqual({
      queueUrl: queues.QUEUE_URL,
      dlqUrl: queues.DLQ_URL,
      jobsTable: 'jobs',
      dataBucket: 'data',
      ...workerConfigDefaults,
      ecsAgentUri: undefined,
    });
  });

  it('leaves DLQ_URL optional: unset, the worker reads it from the redrive policy at start', () => {
    expect(parseWorkerConfig({ ...queues, DLQ_URL: undefined }).dlqUrl).toBeUndefined();
    expect(parseWorkerConfig({ ...queues, DLQ_URL: ' ' }).dlqUrl).toBeUndefined();
  });

  it('reads every variable', () => {
    const config = parseWorkerConfig({
      ...queues,
      CONCURRENCY: '8',
      JOB_TIMEOUT_SECONDS: '60',
      VISIBILITY_TIMEOUT_SECONDS: '45',
      SHUTDOWN_TIMEOUT_SECONDS: '100',
      RECEIVE_WAIT_SECONDS: '0',
      RETRY_DELAY_MAX_SECONDS: '1',
      ECS_AGENT_URI: 'http://169.254.170.2/api/abc',
    });
    expect(config).toMatchObject({ concurrency: 8, jobTimeoutSeconds: 60, visibilityTimeoutSeconds: 45, shutdownTimeoutSeconds: 100, receiveWaitSeconds: 0, retryDelayMaxSeconds: 1, ecsAgentUri: 'http://169.254.170.2/api/abc' });
  });

  it.each([
    [{ DLQ_URL: queues.DLQ_URL }, /^QUEUE_URL is required/],
    [{ QUEUE_URL: '  ', DLQ_URL: queues.DLQ_URL }, /^QUEUE_URL is required/],
    [{ ...queues, DLQ_URL: 'dlq' }, /^DLQ_URL must be a URL, got "dlq"/],
    [{ ...queues, RECEIVE_WAIT_SECONDS: '21' }, /^RECEIVE_WAIT_SECONDS must be an integer from 0 to 20/],
    [{ ...queues, QUEUE_URL: 'jobs' }, /^QUEUE_URL must be a URL, got "jobs"/],
    [{ ...queues, CONCURRENCY: '0' }, /^CONCURRENCY must be an integer from 1 to 100, got "0"/],
    [{ ...queues, CONCURRENCY: 'four' }, /^CONCURRENCY must be an integer/],
    [{ ...queues, CONCURRENCY: '2.5' }, /^CONCURRENCY must be an integer/],
    [{ ...queues, JOB_TIMEOUT_SECONDS: '-1' }, /^JOB_TIMEOUT_SECONDS must be an integer/],
    [{ ...queues, VISIBILITY_TIMEOUT_SECONDS: '1' }, /^VISIBILITY_TIMEOUT_SECONDS must be an integer from 2/],
    [{ ...queues, ECS_AGENT_URI: 'not a url' }, /^ECS_AGENT_URI must be a URL/],
    [{ ...queues, JOBS_TABLE: '' }, /^JOBS_TABLE is required/],
    [{ ...queues, DATA_BUCKET: ' ' }, /^DATA_BUCKET is required/],
    [{ ...queues, MAX_RECEIVE_COUNT: '0' }, /^MAX_RECEIVE_COUNT must be an integer from 1/],
  ])('rejects %j', (env, message) => {
    expect(() => parseWorkerConfig(env)).toThrow(ConfigError);
    expect(() => parseWorkerConfig(env)).toThrow(message);
  });

  it('makes the worker process exit 1 with a clear error when QUEUE_URL is missing', async () => {
    const worker = spawnService('worker', { DLQ_URL: queues.DLQ_URL });
    expect(await worker.exited).toBe(1);
    expect(worker.logs.find(isEvent('config.invalid'))?.reason).toMatch(/^QUEUE_URL is required/);
  });
});

describe('API configuration', () => {
  it('applies the defaults', () => {
    expect(parseApiConfig(api)).toEqual({
      port: 8080,
      host: '0.0.0.0',
      queueUrl: queues.QUEUE_URL,
      appVersion: 'dev',
      jobsTable: 'jobs',
      dataBucket: 'data',
      datasetReloadSeconds: 30,
      searchMaxAgeSeconds: 60,
      searchStaleSeconds: 300,
      auth: { kind: 'none' },
    });
  });

  it('reads the write authentication: OIDC issuer and audience, or static tokens', () => {
    expect(parseApiConfig({ ...api, OIDC_ISSUER: 'https://id.example.com/', OIDC_AUDIENCE: 'br-fagq2' }).auth).toEqual({
      kind: 'oidc',
      issuer: 'https://id.example.com/',
      audience: 'br-fagq2',
    });
    expect(parseApiConfig({ ...api, API_TOKENS: ' a, b ,,' }).auth).toEqual({ kind: 'tokens', tokens: ['a', 'b'] });
  });

  it('reads PORT, HOST and APP_VERSION', () => {
    expect(parseApiConfig({ ...api, PORT: '3000', HOST: '127.0.0.1', APP_VERSION: '1.4.2' })).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      appVersion: '1.4.2',
    });
  });

  it.each([
    [{}, /^QUEUE_URL is required/],
    [{ ...api, PORT: '70000' }, /^PORT must be an integer from 0 to 65535, got "70000"/],
    [{ ...api, PORT: 'http' }, /^PORT must be an integer/],
    [{ ...api, JOBS_TABLE: '' }, /^JOBS_TABLE is required/],
    [{ ...api, OIDC_ISSUER: 'https://id.example.com' }, /^OIDC_ISSUER and OIDC_AUDIENCE go together/],
    [{ ...api, OIDC_ISSUER: 'id.example.com', OIDC_AUDIENCE: 'x' }, /^OIDC_ISSUER must be an http\(s\) URL/],
    [{ ...api, DATASET_RELOAD_SECONDS: '0' }, /^DATASET_RELOAD_SECONDS must be an integer from 1/],
  ])('rejects %j', (env, message) => {
    expect(() => parseApiConfig(env)).toThrow(ApiConfigError);
    expect(() => parseApiConfig(env)).toThrow(message);
  });
});
