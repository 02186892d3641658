// Shared by `deploy` and `health`: the stage answers GET /healthz through its public URL.
import { fail, missing, pass, type Check } from './check.ts';
import { request } from './http.ts';

export function edgeHealthCheck(edgeUrl: string | undefined): Check {
  return {
    name: 'edge health',
    async run() {
      if (edgeUrl === undefined) return missing('EDGE_URL is not set: no edge to ask');
      const url = `${edgeUrl}/healthz`;
      const answer = await request(url);
      const line = `GET ${url} → ${answer.status} in ${answer.ms} ms`;
      return answer.status === 200 ? pass(line) : fail(`${line}, expected 200`);
    },
  };
}
