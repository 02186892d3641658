// The checks a release's new (green) tasks pass on test traffic, before users reach them: the same
// checks `checks deploy` runs through the edge, pointed at the load balancer's test listener.
import type { Check } from '../check.ts';
import { latencyCheck } from '../deploy/latency.ts';
import { versionCheck } from '../deploy/version.ts';
import { edgeHealthCheck } from '../edge-health.ts';
import { searchCheck } from './search.ts';

export interface TestTrafficConfig {
  /** The test listener, e.g. `http://internal-api-123.eu-west-1.elb.amazonaws.com:9080` (no trailing slash). */
  readonly testUrl: string;
  /** The release the green tasks must report at /v1/version. */
  readonly expectedVersion: string;
  /** The p95 of sequential searches must be at or below this. */
  readonly latencyBudgetMs: number;
  readonly latencyRequests: number;
  /** The test listener reaches only green tasks, and nothing caches: a short budget suffices. */
  readonly versionBudgetSeconds: number;
}

export function testTrafficChecks(config: TestTrafficConfig): Check[] {
  const baseUrl = config.testUrl;
  return [
    { ...edgeHealthCheck(baseUrl), name: 'health' },
    versionCheck({ edgeUrl: baseUrl, expectedVersion: config.expectedVersion, budgetSeconds: config.versionBudgetSeconds }),
    searchCheck({ baseUrl }),
    latencyCheck({ edgeUrl: baseUrl, requests: config.latencyRequests, budgetMs: config.latencyBudgetMs }),
  ];
}
