// The API answers within its latency budget: p95 of sequential searches through the edge.
import { fail, pass, type Check, type Outcome } from '../check.ts';
import { request } from '../http.ts';
import { percentile } from '../percentile.ts';

/** Varied queries (words of the dataset, single and combined), so the edge cannot answer all from one cache entry. */
export const SEARCH_TERMS = [
  'energy', 'finance', 'weather forecast', 'transport west', 'health', 'agriculture csv', 'education north',
  'environment timeseries', 'emissions', 'coastal', 'alpine weather', 'metropolitan transport', 'geospatial',
  'public api', 'archived', 'central finance', 'south energy json', 'raw', 'licensed', 'daily emissions forecast',
] as const;

/** The path of the n-th request: the terms in turn, with a limit that varies too. */
export function searchPath(n: number): string {
  const term = SEARCH_TERMS[n % SEARCH_TERMS.length]!;
  const limit = 5 + (Math.floor(n / SEARCH_TERMS.length) % 4) * 5;
  return `/v1/search?q=${encodeURIComponent(term)}&limit=${limit}`;
}

export interface LatencyCheckOptions {
  readonly edgeUrl: string;
  readonly requests: number;
  readonly budgetMs: number;
}

export function latencyCheck(options: LatencyCheckOptions): Check {
  return {
    name: 'latency',
    async run() {
      const samples: number[] = [];
      for (let n = 0; n < options.requests; n += 1) {
        const path = searchPath(n);
        const answer = await request(`${options.edgeUrl}${path}`);
        if (answer.status !== 200) return fail(`GET ${path} → ${answer.status}, expected 200 (request ${n + 1} of ${options.requests})`);
        samples.push(answer.ms);
      }
      return evaluateLatency(samples, options.budgetMs);
    },
  };
}

export function evaluateLatency(samplesMs: readonly number[], budgetMs: number): Outcome {
  const p95 = percentile(samplesMs, 95);
  const figures = `p50 ${percentile(samplesMs, 50)} ms, max ${Math.max(...samplesMs)} ms over ${samplesMs.length} GET /v1/search`;
  return p95 <= budgetMs
    ? pass(`p95 ${p95} ms ≤ budget ${budgetMs} ms (${figures})`)
    : fail(`p95 ${p95} ms > budget ${budgetMs} ms (${figures})`);
}
