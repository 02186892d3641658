// npm run bench:api — autocannon against GET /v1/search of the real API process and, in the same
// run, against a bare node:http server answering the same bytes. Prints req/s, p99 and the ratio.
// BENCH_DURATION (seconds, default 10) and BENCH_CONNECTIONS (default 50) override the defaults.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SEARCH_PATH = '/v1/search?q=rainfall%20north&limit=10';

/** Starts a server process and resolves with the URL from the first log line that carries one. */
async function startServer(script: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Keep reading stdout (the API logs every request): a full pipe would stall the server.
  for await (const line of createInterface({ input: child.stdout! })) {
    const url = (JSON.parse(line) as { url?: string }).url;
    if (url) {
      child.stdout!.resume();
      return { url, child };
    }
  }
  throw new Error(`${script} exited before listening`);
}

function run(url: string): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: DURATION });
}

async function main(): Promise<void> {
  const repo = join(import.meta.dirname, '..');
  const api = await startServer(join(repo, 'services', 'api', 'src', 'main.ts'), {
    PORT: '0',
    HOST: '127.0.0.1',
    // Search never touches the queue; the API only needs a well-formed URL to start.
    QUEUE_URL: 'http://127.0.0.1:9/000000000000/bench',
    // Nor the job table; the snapshot load at start fails at once (closed port) and the seed is served.
    JOBS_TABLE: 'bench',
    DATA_BUCKET: 'bench',
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
  });
  const body = await (await fetch(api.url + SEARCH_PATH)).text();
  const bare = await startServer(join(import.meta.dirname, 'api-bare-server.ts'), { BENCH_BODY: body });

  console.log(`bench:api  ${CONNECTIONS} connections, ${DURATION} s each, ${Buffer.byteLength(body)}-byte body`);
  await autocannon({ url: api.url + SEARCH_PATH, connections: CONNECTIONS, duration: 2 }); // warm-up
  await autocannon({ url: bare.url + SEARCH_PATH, connections: CONNECTIONS, duration: 2 });
  const results = { 'api /v1/search': await run(api.url + SEARCH_PATH), 'bare node:http': await run(bare.url + SEARCH_PATH) };
  for (const [name, result] of Object.entries(results)) {
    const errors = result.errors + result.non2xx;
    console.log(`  ${name.padEnd(15)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p99 ${result.latency.p99} ms   errors ${errors}`);
  }
  const ratio = results['api /v1/search'].requests.average / results['bare node:http'].requests.average;
  console.log(`  api / bare = ${ratio.toFixed(2)}x req/s`);
  api.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
