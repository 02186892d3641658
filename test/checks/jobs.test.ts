// The jobs check's decisions, with the API and the queue counters stood in for (the integration
// test in deploy-cli.test.ts runs it against the real API, worker and SQS emulator).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsCheck } from '../../pipeline/checks/deploy/jobs';
import type { QueueDepth } from '../../pipeline/checks/deploy/queue-depth';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-dlq';

let api: Server;
let edgeUrl: string;
let jobsStatus = 202;
/** When set, the status of each next POST (withStatuses). */
let nextStatus: (() => number) | undefined;
const postedBodies: unknown[] = [];
const postedAuthorizations: Array<string | undefined> = [];

beforeAll(async () => {
  api = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      postedBodies.push(JSON.parse(body));
      postedAuthorizations.push(request.headers.authorization);
      const status = nextStatus ? nextStatus() : jobsStatus;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(status === 202 ? '{"id":"job-1"}' : '{"error":"queue_unavailable"}');
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  edgeUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => api.close(() => resolve())));

/** Answers the given depths of the queue in turn (the last one repeats); the DLQ's likewise. */
function counters(queue: number[], dlq: number[]) {
  const next = (list: number[]): QueueDepth => ({ visible: list.length > 1 ? list.shift()! : list[0]!, inFlight: 0 });
  return () => async (url: string) => next(url === DLQ_URL ? dlq : queue);
}

const run = (queue: number[], dlq: number[], budgetSeconds = 1) =>
  jobsCheck({ edgeUrl, queueUrl: QUEUE_URL, dlqUrl: DLQ_URL, budgetSeconds, pollIntervalMs: 5, queueDepth: counters(queue, dlq) }).run();

describe('jobsCheck', () => {
  it('posts a one-round checksum job and passes when the queue is empty on two reads in a row and the DLQ did not grow', async () => {
    postedBodies.length = 0;
    const outcome = await run([1, 1, 0, 0], [3]);
    expect(postedBodies).toEqual([{ type: 'checksum', payload: { data: expect.stringMatching(/^deploy-check /), rounds: 1 } }]);
    expect(outcome).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^job job-1 posted; queue empty after .*; DLQ unchanged at 3$/) });
  });

  it('posts with the bearer token when one is given (writes are authenticated), and without one otherwise', async () => {
    postedAuthorizations.length = 0;
    await jobsCheck({ edgeUrl, queueUrl: QUEUE_URL, dlqUrl: DLQ_URL, budgetSeconds: 1, pollIntervalMs: 5, queueDepth: counters([0], [0]), apiToken: 'jwt-abc' }).run();
    await run([0], [0]);
    expect(postedAuthorizations).toEqual(['Bearer jwt-abc', undefined]);
  });

  it('does not take one empty read of the approximate counters for a drained queue', async () => {
    const outcome = await run([0, 1], [0], 0.05);
    expect(outcome).toMatchObject({ status: 'FAIL', detail: 'job job-1 posted, but the queue did not drain within 0.05 s: 1 visible, 0 in flight (are the workers running?)' });
  });

  it('fails when the DLQ grew while the job ran', async () => {
    const outcome = await run([0], [0, 1]);
    expect(outcome).toEqual({ status: 'FAIL', detail: 'job job-1 processed, but the DLQ grew from 0 to 1 message(s): a job failed' });
  });

  it('fails when the API does not accept the job', async () => {
    jobsStatus = 503;
    try {
      const outcome = await run([0], [0]);
      expect(outcome).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/v1\/jobs → 503, expected 202/) });
    } finally {
      jobsStatus = 202;
    }
  });
});

describe('the jobs check in a stage (a token of the issuer, after an anonymous write is refused)', () => {
  let tokens = 0;
  const withToken = (token: () => Promise<string>) =>
    jobsCheck({ edgeUrl, queueUrl: QUEUE_URL, dlqUrl: DLQ_URL, budgetSeconds: 1, pollIntervalMs: 5, queueDepth: counters([1, 0, 0], [0]), token }).run();

  it('requires an anonymous POST to get 401, then posts the job with the token it got', async () => {
    postedAuthorizations.length = 0;
    // The stand-in answers the anonymous POST 401 and the authenticated one 202.
    const statuses = [401, 202];
    const result = await withStatuses(statuses, () => withToken(async () => `jwt-${++tokens}`));
    expect(result).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^job job-1 posted with a token of the issuer \(anonymous POST refused with 401\)/) });
    expect(postedAuthorizations).toEqual([undefined, `Bearer jwt-${tokens}`]);
  });

  it('fails when the API takes an anonymous write, and asks for no token', async () => {
    const before = tokens;
    const result = await withStatuses([202], () => withToken(async () => `jwt-${++tokens}`));
    expect(result).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/without a token → 202, expected 401/) });
    expect(tokens).toBe(before);
  });

  it('fails naming the reason when no token can be had, and when the API refuses the token', async () => {
    const noToken = await withStatuses([401], () => withToken(async () => { throw new Error('POST https://auth.example.com/oauth/token → 401'); }));
    expect(noToken).toMatchObject({ status: 'FAIL', detail: 'no token for the authenticated write: POST https://auth.example.com/oauth/token → 401' });
    const refused = await withStatuses([401, 503], () => withToken(async () => 'jwt-x'));
    expect(refused).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^POST http:\/\/127\.0\.0\.1:\d+\/v1\/jobs with a token of the issuer → 503, expected 202/) });
  });
});

/** Runs `check` with the stand-in API answering `statuses` in turn (the last one repeats). */
async function withStatuses<T>(statuses: number[], check: () => Promise<T>): Promise<T> {
  const previous = jobsStatus;
  const pending = [...statuses];
  nextStatus = () => (pending.length > 1 ? pending.shift()! : pending[0]!);
  try {
    return await check();
  } finally {
    nextStatus = undefined;
    jobsStatus = previous;
  }
}
