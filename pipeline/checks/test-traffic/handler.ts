// The ECS deployment lifecycle hook (POST_TEST_TRAFFIC_SHIFT) of the API: runs the test-traffic
// checks against the green tasks through the load balancer's test listener and answers ECS with
// a hookStatus: SUCCEEDED lets the release go on to production traffic, FAILED rolls it back
// before any user request reaches the new version. A throw also rolls back (ECS developer guide,
// "Lambda hooks for Amazon ECS service deployments").
import { runChecks, type CheckResult } from '../check.ts';
import { testTrafficChecks, type TestTrafficConfig } from './index.ts';

/** What ECS sends (the fields used; the rest is logged as is). */
export interface LifecycleHookEvent {
  readonly executionId?: string;
  readonly lifecycleStage?: string;
  readonly resourceArn?: string;
  readonly executionDetails?: { readonly targetServiceRevisionArn?: string; readonly testTrafficWeights?: Record<string, number> };
}

/** What the hook needs of Lambda's context object. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

/**
 * How long before the function's timeout the checks stop, so the verdict is logged and returned
 * to ECS: 50 sequential searches of up to 10 s each (REQUEST_TIMEOUT_MS) could outlast the
 * function's 3 minutes, and a timed-out invocation leaves no verdict line.
 */
export const VERDICT_MARGIN_MS = 10_000;

export interface LifecycleHookResponse {
  readonly hookStatus: 'SUCCEEDED' | 'FAILED';
}

/** The hook's configuration from its environment; a missing or malformed value throws (and so rolls back). */
export function configFromEnv(env: NodeJS.ProcessEnv): TestTrafficConfig {
  const testUrl = env.TEST_URL?.replace(/\/+$/, '');
  if (!testUrl || !URL.canParse(testUrl)) throw new Error(`TEST_URL must be the test listener's URL, got "${env.TEST_URL}"`);
  const expectedVersion = env.EXPECTED_VERSION?.trim();
  if (!expectedVersion) throw new Error('EXPECTED_VERSION is required: the release the green tasks must serve');
  return {
    testUrl,
    expectedVersion,
    latencyBudgetMs: integer(env, 'LATENCY_BUDGET_MS', 800),
    latencyRequests: integer(env, 'LATENCY_REQUESTS', 50),
    versionBudgetSeconds: integer(env, 'VERSION_BUDGET_SECONDS', 30),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

/** Runs the checks; one line of JSON per check and one for the verdict go to the function's log. */
export async function checkTestTraffic(
  event: LifecycleHookEvent,
  config: TestTrafficConfig,
  log: (line: string) => void = console.log,
  deadline?: AbortSignal,
): Promise<LifecycleHookResponse & { readonly results: CheckResult[] }> {
  const results = await runChecks(testTrafficChecks(config), undefined, deadline);
  for (const result of results) log(JSON.stringify({ event: 'release-check', ...result }));
  const failed = results.filter((result) => result.status === 'FAIL');
  const hookStatus = failed.length === 0 ? 'SUCCEEDED' : 'FAILED';
  log(
    JSON.stringify({
      event: 'release-check.verdict',
      hookStatus,
      failed: failed.map((result) => result.name),
      expectedVersion: config.expectedVersion,
      executionId: event.executionId,
      lifecycleStage: event.lifecycleStage,
      serviceRevision: event.executionDetails?.targetServiceRevisionArn,
    }),
  );
  return { hookStatus, results };
}

export async function handler(event: LifecycleHookEvent, context: LambdaContext): Promise<LifecycleHookResponse> {
  const deadline = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - VERDICT_MARGIN_MS));
  const { hookStatus } = await checkTestTraffic(event, configFromEnv(process.env), console.log, deadline);
  return { hookStatus };
}
