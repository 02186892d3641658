// The release-check hook's handler (pipeline/checks/test-traffic/handler.ts) against the local
// stack: the real API process (as `npm run local` runs it) behind a small proxy that plays the
// load balancer's test listener and can break what the green tasks answer. The hook lets a healthy
// release through (SUCCEEDED) and stops it (FAILED) on a wrong version, a wrong search answer, or
// latency over budget.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TestTrafficHook } from '../../constructs/test-traffic-hook';
import { checkTestTraffic, configFromEnv, handler, VERDICT_MARGIN_MS } from '../../pipeline/checks/test-traffic/handler';
import type { TestTrafficConfig } from '../../pipeline/checks/test-traffic/index';
import { startApi, startSqsEmulator, stopAllServices, type SqsEmulator } from '../services/helpers';

const RELEASE = 'release-abc1234';
const EVENT = {
  executionId: 'exec-1',
  lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
  executionDetails: { targetServiceRevisionArn: 'arn:aws:ecs:eu-west-1:111111111111:service-revision/c/api/1' },
};

/** What the proxy does to the requests it forwards. */
type Fault = { readonly kind: 'none' } | { readonly kind: 'hang-search' } | { readonly kind: 'rewrite-search'; readonly q: string } | { readonly kind: 'delay'; readonly ms: number };

let emulator: SqsEmulator;
let proxy: Server;
let testUrl: string;
let fault: Fault = { kind: 'none' };

beforeAll(async () => {
  emulator = await startSqsEmulator();
  const { queueUrl } = await emulator.createQueueWithDlq('release-checks');
  const { baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl, APP_VERSION: RELEASE });
  proxy = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', baseUrl);
      if (fault.kind === 'hang-search' && url.pathname === '/v1/search') return; // never answers
      if (fault.kind === 'rewrite-search' && url.pathname === '/v1/search') url.searchParams.set('q', fault.q);
      if (fault.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.kind === 'delay' ? fault.ms : 0));
      const answer = await fetch(url);
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
      res.end(await answer.text());
    })().catch((error: unknown) => {
      res.writeHead(502);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  testUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterEach(() => {
  fault = { kind: 'none' };
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await stopAllServices();
  await emulator?.stop();
});

const config = (overrides: Partial<TestTrafficConfig> = {}): TestTrafficConfig => ({
  testUrl,
  expectedVersion: RELEASE,
  // Generous: these runs prove the verdicts, not how fast this machine is.
  latencyBudgetMs: 5_000,
  latencyRequests: 10,
  versionBudgetSeconds: 1,
  ...overrides,
});

/** Lambda's context, as far as the hook reads it: so much time left before the function's timeout. */
const lambdaContext = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

const statuses = (results: { name: string; status: string }[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));

describe('release checks on test traffic (lifecycle hook)', () => {
  it('lets a healthy release through: every check passes, SUCCEEDED, a verdict line in the log', async () => {
    const lines: string[] = [];
    const verdict = await checkTestTraffic(EVENT, config(), (line) => lines.push(line));

    expect(verdict.hookStatus, JSON.stringify(verdict.results)).toBe('SUCCEEDED');
    expect(statuses(verdict.results)).toEqual({ health: 'PASS', version: 'PASS', search: 'PASS', latency: 'PASS' });
    expect(verdict.results.find((r) => r.name === 'search')!.detail).toMatch(/each matching "weather forecast"/);
    const last = JSON.parse(lines.at(-1)!);
    expect(last).toMatchObject({ event: 'release-check.verdict', hookStatus: 'SUCCEEDED', failed: [], expectedVersion: RELEASE, executionId: 'exec-1' });
  });

  it('stops a release whose tasks serve another version', async () => {
    const verdict = await checkTestTraffic(EVENT, config({ expectedVersion: 'release-other' }), () => {});

    expect(verdict.hookStatus).toBe('FAILED');
    expect(statuses(verdict.results)).toEqual({ health: 'PASS', version: 'FAIL', search: 'PASS', latency: 'PASS' });
    expect(verdict.results.find((r) => r.name === 'version')!.detail).toContain(`serves version "${RELEASE}", expected "release-other"`);
  });

  it('stops a release whose search answers wrongly (records that do not match the query)', async () => {
    fault = { kind: 'rewrite-search', q: 'energy' };
    const verdict = await checkTestTraffic(EVENT, config(), () => {});

    expect(verdict.hookStatus).toBe('FAILED');
    expect(statuses(verdict.results)).toMatchObject({ health: 'PASS', version: 'PASS', search: 'FAIL' });
    expect(verdict.results.find((r) => r.name === 'search')!.detail).toMatch(/do not contain every word of "weather forecast"/);
  });

  it('stops a release whose latency is over budget', async () => {
    fault = { kind: 'delay', ms: 150 };
    const verdict = await checkTestTraffic(EVENT, config({ latencyBudgetMs: 100, latencyRequests: 3 }), () => {});

    expect(verdict.hookStatus).toBe('FAILED');
    expect(statuses(verdict.results)).toEqual({ health: 'PASS', version: 'PASS', search: 'PASS', latency: 'FAIL' });
    expect(verdict.results.find((r) => r.name === 'latency')!.detail).toMatch(/^p95 \d+ ms > budget 100 ms/);
  });

  it('answers FAILED with a verdict before the function times out when the green tasks stop answering', async () => {
    // 50 sequential searches of up to 10 s each would outlast the function's 3 minutes; the hook
    // stops its checks VERDICT_MARGIN_MS before the timeout Lambda reports, and still answers.
    fault = { kind: 'hang-search' };
    const saved = { ...process.env };
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    Object.assign(process.env, { TEST_URL: testUrl, EXPECTED_VERSION: RELEASE, LATENCY_BUDGET_MS: '5000', LATENCY_REQUESTS: '50', VERSION_BUDGET_SECONDS: '1' });
    try {
      expect(await handler(EVENT, lambdaContext(VERDICT_MARGIN_MS + 1_000))).toEqual({ hookStatus: 'FAILED' });
      const checks = lines.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'release-check');
      expect(Object.fromEntries(checks.map((c) => [c.name, c.status]))).toEqual({ health: 'PASS', version: 'PASS', search: 'FAIL', latency: 'FAIL' });
      expect(checks.find((c) => c.name === 'search').detail).toMatch(/the deadline passed before this check finished/);
      expect(checks.find((c) => c.name === 'latency').detail).toMatch(/not run: the deadline passed/);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ event: 'release-check.verdict', hookStatus: 'FAILED', failed: ['search', 'latency'] });
    } finally {
      process.env = saved;
      vi.restoreAllMocks();
    }
  });

  it('answers ECS with the hook status alone, configured from the function environment', async () => {
    const saved = { ...process.env };
    vi.spyOn(console, 'log').mockImplementation(() => {});
    Object.assign(process.env, { TEST_URL: `${testUrl}/`, EXPECTED_VERSION: RELEASE, LATENCY_BUDGET_MS: '5000', LATENCY_REQUESTS: '5', VERSION_BUDGET_SECONDS: '1' });
    try {
      expect(await handler(EVENT, lambdaContext(60_000))).toEqual({ hookStatus: 'SUCCEEDED' });
      process.env.EXPECTED_VERSION = 'release-other';
      expect(await handler(EVENT, lambdaContext(60_000))).toEqual({ hookStatus: 'FAILED' });
    } finally {
      process.env = saved;
      vi.restoreAllMocks();
    }
  });

  it('as bundled into the function by the synth, answers the same (the Lambda handler index.handler)', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'hook-synth-'));
    const saved = { ...process.env };
    vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'Hook', { env: { account: '111111111111', region: 'eu-west-1' } });
      const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      const hook = new TestTrafficHook(stack, 'Hook', {
        vpc,
        vpcCidr: '10.0.0.0/16',
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        testUrl: 'http://lb:9080',
        testPort: 9080,
        expectedVersion: RELEASE,
        latencyBudget: Duration.seconds(5),
        logRetention: 30,
      });
      app.synth();
      const fn = hook.function.node.defaultChild as lambda.CfnFunction;
      const s3Key = stack.resolve((fn.code as lambda.CfnFunction.CodeProperty).s3Key) as string;
      // The function's code is the file asset its S3 key names: `<hash>.zip` of the directory the
      // synth staged as `asset.<hash>` in the assembly.
      const staged = join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.js');
      expect(existsSync(staged), `${staged} not staged`).toBe(true);
      const bundle = (await import(staged)) as { handler: typeof handler };
      Object.assign(process.env, { TEST_URL: testUrl, EXPECTED_VERSION: RELEASE, LATENCY_REQUESTS: '5', VERSION_BUDGET_SECONDS: '1', LATENCY_BUDGET_MS: '5000' });
      expect(await bundle.handler(EVENT, lambdaContext(60_000))).toEqual({ hookStatus: 'SUCCEEDED' });
      process.env.EXPECTED_VERSION = 'release-other';
      expect(await bundle.handler(EVENT, lambdaContext(60_000))).toEqual({ hookStatus: 'FAILED' });
    } finally {
      process.env = saved;
      vi.restoreAllMocks();
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('throws (ECS then rolls back) when its configuration is missing or malformed', () => {
    expect(() => configFromEnv({ EXPECTED_VERSION: 'v' })).toThrow(/TEST_URL must be the test listener's URL/);
    expect(() => configFromEnv({ TEST_URL: 'http://lb:9080' })).toThrow(/EXPECTED_VERSION is required/);
    expect(() => configFromEnv({ TEST_URL: 'http://lb:9080', EXPECTED_VERSION: 'v', LATENCY_BUDGET_MS: 'fast' })).toThrow(/LATENCY_BUDGET_MS must be a positive integer/);
    expect(configFromEnv({ TEST_URL: 'http://lb:9080/', EXPECTED_VERSION: 'v' })).toEqual({
      testUrl: 'http://lb:9080',
      expectedVersion: 'v',
      latencyBudgetMs: 800,
      latencyRequests: 50,
      versionBudgetSeconds: 30,
    });
  });
});
