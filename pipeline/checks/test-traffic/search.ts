// Search answers correctly: a query of words of the dataset finds records, each of which contains
// every word of the query (the API's AND semantics), within the limit asked for.
import { fail, pass, type Check, type Outcome } from '../check.ts';
import { request } from '../http.ts';

export interface SearchCheckOptions {
  /** Without a trailing slash. */
  readonly baseUrl: string;
  /** Words the dataset is known to contain. @default 'weather forecast' */
  readonly query?: string;
  /** @default 5 */
  readonly limit?: number;
}

export function searchCheck(options: SearchCheckOptions): Check {
  const query = options.query ?? 'weather forecast';
  const limit = options.limit ?? 5;
  const path = `/v1/search?q=${encodeURIComponent(query)}&limit=${limit}`;
  return {
    name: 'search',
    async run() {
      const answer = await request(`${options.baseUrl}${path}`);
      if (answer.status !== 200) return fail(`GET ${path} → ${answer.status}, expected 200`);
      return evaluateSearch(path, query, limit, answer.body);
    },
  };
}

export function evaluateSearch(path: string, query: string, limit: number, body: string): Outcome {
  let parsed: { total?: unknown; results?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return fail(`GET ${path} answered no JSON: ${body.slice(0, 200)}`);
  }
  const { total, results } = parsed;
  if (typeof total !== 'number' || !Array.isArray(results)) return fail(`GET ${path} answered without "total" and "results": ${body.slice(0, 200)}`);
  if (total < 1 || results.length < 1) return fail(`GET ${path} found nothing (total ${total}), expected records of the dataset`);
  if (results.length > limit || results.length > total) return fail(`GET ${path} answered ${results.length} result(s) for limit ${limit}, total ${total}`);
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const wrong = results.filter((record) => !words.every((word) => JSON.stringify(record).toLowerCase().includes(word)));
  if (wrong.length > 0) return fail(`GET ${path}: ${wrong.length} of ${results.length} result(s) do not contain every word of "${query}"`);
  return pass(`GET ${path} → ${results.length} of ${total} record(s), each matching "${query}"`);
}
