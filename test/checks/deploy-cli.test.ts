// `checks deploy` as a real process against the local stack, all three tiers: the SQS emulator,
// the real API and worker processes and the local edge cache in front of the API (random ports on
// 127.0.0.1), as `npm run local` runs them. Passes against a healthy stack; fails when the edge
// serves a stale version, when the version is wrong or the worker is stopped. The tests run in
// order on one stack; the last one stops the worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeProxy, type EdgeProxy } from '../../services/edge/proxy';
import { isEvent, startApi, startSqsEmulator, startWorker, stopAllServices, type ServiceProcess, type SqsEmulator } from '../services/helpers';
import { startFakeAws, type FakeAws } from './fake-aws';
import { runChecksCli } from './run-cli';

let API_VERSION = 'test-1.2.3'; // what startApi gives the API as APP_VERSION (a release replaces it)

let emulator: SqsEmulator;
let edge: EdgeProxy;
let api: ServiceProcess;
let apiPort: string;
let worker: ServiceProcess;
let stackEnv: Record<string, string>;
/** ECS's answers about the API's service deployments (the `api release` check). */
let ecs: FakeAws;

beforeAll(async () => {
  ecs = await startFakeAws();
  emulator = await startSqsEmulator();
  const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('deploy-checks');
  let baseUrl: string;
  ({ api, baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl, APP_VERSION: API_VERSION }));
  apiPort = new URL(baseUrl).port;
  worker = await startWorker(emulator, { QUEUE_URL: queueUrl, DLQ_URL: dlqUrl, RECEIVE_WAIT_SECONDS: '1' });
  // The edge's clock stands still: what it caches stays fresh until invalidated, so "stale" is certain.
  const frozen = Date.now();
  edge = await startEdgeProxy({ origin: baseUrl, now: () => frozen });
  stackEnv = {
    ...emulator.sdkEnv,
    EDGE_URL: edge.url,
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
  await edge?.stop();
  await emulator?.stop();
  await ecs?.stop();
});

describe('checks deploy against the local stack', () => {
  it('passes every check of a healthy stack (the invalidation is skipped: no DISTRIBUTION_ID)', async () => {
    const run = await runChecksCli(['deploy'], stackEnv);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('edge health')).toMatch(/^PASS .*\/healthz → 200/);
    expect(run.line('latency')).toMatch(/^PASS .*p95 \d+ ms ≤ budget 5000 ms .* over 20 GET \/v1\/search/);
    expect(run.line('invalidation')).toMatch(/^SKIP .*DISTRIBUTION_ID is not set/);
    expect(run.line('api release')).toMatch(/^SKIP .*CLUSTER_NAME or API_SERVICE_NAME is not set/);
    expect(run.line('version')).toMatch(new RegExp(`^PASS .*serves "${API_VERSION}"`));
    expect(run.line('jobs')).toMatch(/^PASS .*queue empty after [\d.]+ s .*DLQ unchanged at 0/);
    // The job the check posted really went through the worker.
    const jobId = /job ([\w-]+) posted/.exec(run.line('jobs') ?? '')?.[1];
    expect(worker.logs.some(isEvent('job.completed', { jobId }))).toBe(true);
  });

  it("reports what ECS did with the release just deployed (completed), asking ECS about the stage's API service", async () => {
    const arn = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/production-cluster/api-id6pe9zboa/def';
    ecs.state.serviceDeployments = [
      { serviceDeploymentArn: arn, status: 'SUCCESSFUL', targetServiceRevision: { arn: 'arn:aws:ecs:eu-west-1:123456789012:service-revision/production-cluster/api-id6pe9zboa/43' } },
    ];
    const withEcs = { ...stackEnv, CLUSTER_NAME: 'production-cluster', API_SERVICE_NAME: 'api-id6pe9zboa', AWS_ENDPOINT_URL_ECS: ecs.url };
    const run = await runChecksCli(['deploy'], withEcs);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('api release')).toBe('PASS  api release     last release (service revision 43) completed');
    expect(JSON.parse(ecs.calls.find((call) => call.operation === 'ecs:ListServiceDeployments')!.body)).toMatchObject({ cluster: 'production-cluster', service: 'api-id6pe9zboa' });
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

  it('after a release, fails the version check while the edge serves the cached old version, and passes once the invalidation ran', async () => {
    // Release: the API restarts on its port with a new version; the edge still holds the old answer.
    api.child.kill('SIGTERM');
    await api.exited;
    API_VERSION = 'test-2.0.0';
    ({ api } = await startApi(emulator, { QUEUE_URL: stackEnv.QUEUE_URL!, APP_VERSION: API_VERSION, PORT: apiPort }));

    const stale = await runChecksCli(['deploy'], { ...stackEnv, EXPECTED_VERSION: API_VERSION, VERSION_BUDGET_SECONDS: '1' });
    expect(stale.code, stale.stdout + stale.stderr).toBe(1);
    expect(stale.line('version')).toMatch(/^FAIL .*serves version "test-1.2.3", expected "test-2.0.0": stale/);

    // The CloudFront calls go to the local edge (AWS_ENDPOINT_URL_CLOUDFRONT), which drops the paths.
    const fresh = await runChecksCli(['deploy'], {
      ...stackEnv,
      EXPECTED_VERSION: API_VERSION,
      VERSION_BUDGET_SECONDS: '1',
      DISTRIBUTION_ID: 'ELOCAL',
      AWS_ENDPOINT_URL_CLOUDFRONT: edge.url,
    });
    expect(fresh.code, fresh.stdout + fresh.stderr).toBe(0);
    expect(fresh.line('invalidation')).toMatch(/^PASS .*invalidation \w+ of \/v1\/version \/v1\/search\* on ELOCAL completed/);
    expect(fresh.line('version')).toMatch(/^PASS .*serves "test-2.0.0" \(1 read/);
    stackEnv.EXPECTED_VERSION = API_VERSION;
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
