// The API as a real process against the emulated stage (fauxqs, dynalite, s3rver).
import { request } from 'node:http';
import { connect } from 'node:net';
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isEvent,
  queueDepth,
  receiveMessages,
  startApi,
  startSqsEmulator,
  stopAllServices,
  waitFor,
  type ServiceProcess,
  type SqsEmulator,
} from './helpers';

let emulator: SqsEmulator;
let queueUrl: string;
let api: ServiceProcess;
let baseUrl: string;

beforeAll(async () => {
  emulator = await startSqsEmulator();
  ({ queueUrl } = await emulator.createQueueWithDlq('api-test'));
  ({ api, baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl }));
});
afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
});

function postJob(body: string, contentType = 'application/json') {
  return fetch(`${baseUrl}/v1/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

async function expectQueueEmpty() {
  expect(await queueDepth(emulator.client, queueUrl)).toEqual({ visible: 0, inFlight: 0 });
}

describe('api', () => {
  it('answers /healthz, never cached', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers /v1/version from APP_VERSION with a short max-age', async () => {
    const response = await fetch(`${baseUrl}/v1/version`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=5');
    expect(await response.json()).toEqual({ version: 'test-1.2.3' });
  });

  it('searches with a strong ETag and answers 304 on revalidation', async () => {
    const url = `${baseUrl}/v1/search?q=rainfall%20north&limit=5`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=60, stale-while-revalidate=300');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]+"$/); // strong: no W/ prefix
    const body = (await first.json()) as { total: number; results: { name: string; region: string }[] };
    expect(body.results).toHaveLength(5);
    expect(body.results[0]!.name).toContain('rainfall');
    expect(body.results[0]!.region).toBe('north');

    const revalidated = await fetch(url, { headers: { 'if-none-match': etag! } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('etag')).toBe(etag);
    expect(await revalidated.text()).toBe('');

    const other = await fetch(`${baseUrl}/v1/search?q=rainfall%20south&limit=5`, { headers: { 'if-none-match': etag! } });
    expect(other.status).toBe(200);
    expect(other.headers.get('etag')).not.toBe(etag);
  });

  it.each([
    ['', 'q'],
    ['?limit=5', 'q'],
    [`?q=${'x'.repeat(101)}`, 'q'],
    ['?q=rain&limit=0', 'limit'],
    ['?q=rain&limit=101', 'limit'],
    ['?q=rain&limit=ten', 'limit'],
  ])('rejects search parameters %j with a 400 naming %s', async (query, field) => {
    const response = await fetch(`${baseUrl}/v1/search${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('enqueues a valid job and answers 202 with its id', async () => {
    const response = await postJob(JSON.stringify({ type: 'checksum', payload: { data: 'hello', rounds: 3 } }));
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const [message] = await receiveMessages(emulator.client, queueUrl);
    const job = JSON.parse(message!.Body!);
    expect(job).toEqual({ v: 1, id, type: 'checksum', payload: { data: 'hello', rounds: 3 }, submittedAt: expect.any(String) });
    expect(Number.isNaN(Date.parse(job.submittedAt))).toBe(false);
    await api.waitForLog(isEvent('job enqueued', { jobId: id }));
    await emulator.client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message!.ReceiptHandle }));

    // Sent, so recorded as queued (no worker runs here), and never cacheable.
    const read = await fetch(`${baseUrl}/v1/jobs/${id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect(await read.json()).toEqual({ id, type: 'checksum', status: 'queued', submittedAt: job.submittedAt, updatedAt: expect.any(String) });
  });

  it('answers 404 for an unknown job id', async () => {
    const response = await fetch(`${baseUrl}/v1/jobs/no-such-job`);
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('requires a bearer token for writes when API_TOKENS is set: 401 without, 403 wrong, nothing enqueued or written', async () => {
    const { queueUrl: authQueue } = await emulator.createQueueWithDlq('api-auth-test');
    const { baseUrl: authUrl } = await startApi(emulator, { QUEUE_URL: authQueue, API_TOKENS: 'first-token, second-token' });
    const post = (headers: Record<string, string>) =>
      fetch(`${authUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ type: 'checksum', payload: { data: 'x', rounds: 1 } }),
      });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post({ authorization: 'Bearer wrong-token' })).status).toBe(403);
    expect((await post({ authorization: 'Basic Zmlyc3QtdG9rZW4=' })).status).toBe(401);
    expect(await queueDepth(emulator.client, authQueue)).toEqual({ visible: 0, inFlight: 0 });
    expect((await emulator.dynamodb.send(new ScanCommand({ TableName: emulator.serviceEnv.JOBS_TABLE! }))).Items ?? []).not.toContainEqual(
      expect.objectContaining({ status: { S: 'accepted' } }),
    );

    const accepted = await post({ authorization: 'Bearer second-token' });
    expect(accepted.status).toBe(202);
    expect(await queueDepth(emulator.client, authQueue)).toEqual({ visible: 1, inFlight: 0 });
    // Reads stay public.
    expect((await fetch(`${authUrl}/v1/search?q=rainfall`)).status).toBe(200);
  });

  it.each([
    ['{"payload":{"data":"x","rounds":1}}', 'type'],
    ['{"type":"transcode","payload":{}}', 'type'],
    ['{"type":"checksum"}', 'payload'],
    ['{"type":"checksum","payload":{"data":"x","rounds":0}}', 'payload.rounds'],
    ['{"type":"checksum","payload":{"data":"x","rounds":10000001}}', 'payload.rounds'],
    ['{"type":"checksum","payload":{"data":"x","rounds":1.5}}', 'payload.rounds'],
    ['{"type":"checksum","payload":{"data":7,"rounds":1}}', 'payload.data'],
    ['{"type":"checksum","payload":{"data":"x","rounds":1,"extra":true}}', 'payload.extra'],
    ['{"type":"checksum","payload":{"data":"x","rounds":1},"priority":1}', 'priority'],
    ['[]', 'body'],
    ['{not json', 'body'],
  ])('rejects the job %s with a 400 naming %s and enqueues nothing', async (body, field) => {
    const response = await postJob(body);
    expect(response.status).toBe(400);
    const error = (await response.json()) as Record<string, string>;
    expect(error).toMatchObject({ error: expect.any(String), field });
    expect(JSON.stringify(error)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    await expectQueueEmpty();
  });

  it('rejects a body over 256 KiB with 413 and enqueues nothing', async () => {
    const response = await postJob(JSON.stringify({ type: 'checksum', payload: { data: 'x'.repeat(300 * 1024), rounds: 1 } }));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ error: 'payload_too_large' });
    await expectQueueEmpty();
  });

  it('answers 503 with Retry-After when the queue is unreachable, and never shows the job', async () => {
    // A second API whose SQS endpoint is a closed port.
    const { baseUrl: brokenUrl, api: broken } = await startApi(
      { ...emulator, serviceEnv: { ...emulator.serviceEnv, AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9' } },
      { QUEUE_URL: queueUrl },
    );
    const response = await fetch(`${brokenUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'checksum', payload: { data: 'x', rounds: 1 } }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toEqual({ error: 'queue_unavailable', message: expect.any(String) });
    const { jobId } = await broken.waitForLog(isEvent('enqueue failed'));
    // Written before the send, never moved on: `accepted`, which GET does not show.
    const { Item } = await emulator.dynamodb.send(new GetItemCommand({ TableName: emulator.serviceEnv.JOBS_TABLE!, Key: { id: { S: String(jobId) } } }));
    expect(Item?.status).toEqual({ S: 'accepted' });
    expect((await fetch(`${brokenUrl}/v1/jobs/${String(jobId)}`)).status).toBe(404);
  });

  it('logs one JSON line per request with a request id', async () => {
    const response = await fetch(`${baseUrl}/healthz`, { headers: { 'x-test': 'log-line' } });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    const line = await api.waitForLog(isEvent('request', { requestId: requestId! }));
    expect(line).toMatchObject({ method: 'GET', url: '/healthz', statusCode: 200 });
    expect(api.logs.filter((entry) => entry.requestId === requestId)).toHaveLength(1);
  });

  // Last: it stops the shared API. SIGTERM while a request is in flight: the API stops accepting
  // connections, finishes the request it is serving, then exits 0.
  it('finishes the request in flight after SIGTERM, accepts no new connection, and exits 0', async () => {
    const url = new URL('/v1/jobs', baseUrl);
    const body = JSON.stringify({ type: 'checksum', payload: { data: 'in-flight', rounds: 1 } });
    const half = Math.floor(body.length / 2);
    const queuedBefore = (await queueDepth(emulator.client, queueUrl)).visible;

    // Headers and half the body now; the rest only after SIGTERM.
    // `Expect: 100-continue`: the API answers 100 Continue once it has read the headers (Node does,
    // with no checkContinue listener), so the test knows the request reached it, whatever the load.
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
    });
    const received = new Promise<void>((resolve) => req.once('continue', () => resolve()));
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
    });
    req.flushHeaders();
    await received;
    req.write(body.slice(0, half));

    api.child.kill('SIGTERM');
    await api.waitForLog(isEvent('api.stopping'));
    // The listener closes as the API stops: wait for that state, not for a guessed 200 ms.
    expect(await waitFor(async () => !(await acceptsConnections(url)), undefined, 'the API to refuse connections')).toBe(true);
    req.end(body.slice(half));

    const response = await answered;
    expect(response.status).toBe(202);
    expect(JSON.parse(response.body)).toEqual({ id: expect.any(String) });
    expect(await api.exited).toBe(0);
    expect(api.logs.some(isEvent('api.stopped'))).toBe(true);
    expect((await queueDepth(emulator.client, queueUrl)).visible).toBe(queuedBefore + 1);
  });
});

/** Resolves true when a TCP connection to the API is accepted, false when it is refused. */
function acceptsConnections(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
