// `checks deploy` as a real process against the local stack: the SQS emulator, the real API and
// worker processes (random ports on 127.0.0.1). Passes against a healthy stack; fails when the
// version is stale or the worker is stopped. The tests run in order on one stack; the last one
// stops the worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEvent, startApi, startSqsEmulator, startWorker, stopAllServices, type ServiceProcess, type SqsEmulator } from '../services/helpers';
import { startFakeAws, type FakeAws } from './fake-aws';
import { runChecksCli } from './run-cli';

const API_VERSION = 'test-1.2.3'; // what startApi gives the API as APP_VERSION

let emulator: SqsEmulator;
let aws: FakeAws;
let worker: ServiceProcess;
let stackEnv: Record<string, string>;

beforeAll(async () => {
  emulator = await startSqsEmulator();
  aws = await startFakeAws();
  const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('deploy-checks');
  const { baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl, APP_VERSION: API_VERSION });
  worker = await startWorker(emulator, { QUEUE_URL: queueUrl, DLQ_URL: dlqUrl });
  stackEnv = {
    ...emulator.sdkEnv,
    EDGE_URL: baseUrl,
    QUEUE_URL: queueUrl,
    DLQ_URL: dlqUrl,
    EXPECTED_VERSION: API_VERSION,
    LATENCY_REQUESTS: '20',
    // Generous: this run proves the check works end to end, not how fast this machine is.
    LATENCY_BUDGET_MS: '5000',
    JOB_BUDGET_SECONDS: '30',
  };
});

afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
  await aws?.stop();
});

describe('checks deploy against the local stack', () => {
  it('passes every check of a healthy stack (the invalidation is skipped: no DISTRIBUTION_ID)', async () => {
    const run = await runChecksCli(['deploy'], stackEnv);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('edge health')).toMatch(/^PASS .*\/healthz → 200/);
    expect(run.line('latency')).toMatch(/^PASS .*p95 \d+ ms ≤ budget 5000 ms .* over 20 GET \/v1\/search/);
    expect(run.line('invalidation')).toMatch(/^SKIP .*DISTRIBUTION_ID is not set/);
    expect(run.line('version')).toMatch(new RegExp(`^PASS .*serves "${API_VERSION}"`));
    expect(run.line('jobs')).toMatch(/^PASS .*queue empty after [\d.]+ s .*DLQ unchanged at 0/);
    // The job the check posted really went through the worker.
    const jobId = /job ([\w-]+) posted/.exec(run.line('jobs') ?? '')?.[1];
    expect(worker.logs.some(isEvent('job.completed', { jobId }))).toBe(true);
  });

  it('fails the version check, naming both versions, when the API serves another version than expected', async () => {
    const run = await runChecksCli(['deploy'], { ...stackEnv, EXPECTED_VERSION: 'abc1234', VERSION_BUDGET_SECONDS: '1' });

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('version')).toMatch(new RegExp(`^FAIL .*serves version "${API_VERSION}", expected "abc1234": stale`));
    expect(run.line('jobs')).toMatch(/^PASS /);
  });

  it('accepts a flag in place of its variable (--expected-version wins over EXPECTED_VERSION)', async () => {
    const run = await runChecksCli(['deploy', '--expected-version', API_VERSION], { ...stackEnv, EXPECTED_VERSION: 'abc1234', VERSION_BUDGET_SECONDS: '1' });

    expect(run.line('version')).toMatch(/^PASS /);
  });

  it('invalidates the cached paths and waits for CloudFront to complete when DISTRIBUTION_ID is set', async () => {
    // CloudFront calls go to the local fake (AWS_ENDPOINT_URL_CLOUDFRONT); SQS still to the emulator.
    const { AWS_ENDPOINT_URL_CLOUDFRONT } = aws.sdkEnv;
    const run = await runChecksCli(['deploy'], { ...stackEnv, AWS_ENDPOINT_URL_CLOUDFRONT: AWS_ENDPOINT_URL_CLOUDFRONT!, DISTRIBUTION_ID: 'E2QWRUHAPOMQZL' });

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('invalidation')).toMatch(/^PASS .*invalidation I2J0I21PCUYOIK of \/v1\/version \/v1\/search\* on E2QWRUHAPOMQZL completed/);
    expect(aws.calls.map((call) => call.operation)).toEqual(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation']);
    const batch = aws.calls[0]!.body;
    expect(batch).toContain('<Quantity>2</Quantity>');
    expect(batch).toContain('<Path>/v1/version</Path>');
    expect(batch).toContain('<Path>/v1/search*</Path>');
    expect(run.line('version')).toMatch(/^PASS /);
  });

  it('exits 2 naming each missing variable', async () => {
    const { EDGE_URL: _edge, QUEUE_URL: _queue, ...rest } = stackEnv;
    const run = await runChecksCli(['deploy'], rest);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/EDGE_URL is required/);
    expect(run.stderr).toMatch(/QUEUE_URL is required/);
    expect(run.stdout).toBe('');
  });

  it('fails the jobs check when the worker is stopped: the queue does not drain within the budget', async () => {
    worker.child.kill('SIGKILL');
    await worker.exited;

    const run = await runChecksCli(['deploy'], { ...stackEnv, JOB_BUDGET_SECONDS: '2' });

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('jobs')).toMatch(/^FAIL .*did not drain within 2 s: 1 visible, 0 in flight|^FAIL .*did not drain within 2 s: 0 visible, 1 in flight/);
    expect(run.line('edge health')).toMatch(/^PASS /);
    expect(run.line('version')).toMatch(/^PASS /);
  });
});
