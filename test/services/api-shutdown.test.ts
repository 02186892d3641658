// SIGTERM while a request is in flight: the API stops accepting connections, finishes the request
// it is serving, then exits 0.
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isEvent, queueDepth, startApi, startSqsEmulator, stopAllServices, type ServiceProcess, type SqsEmulator } from './helpers';

let emulator: SqsEmulator;
let queueUrl: string;
let api: ServiceProcess;
let baseUrl: string;

beforeAll(async () => {
  emulator = await startSqsEmulator();
  ({ queueUrl } = await emulator.createQueueWithDlq('api-shutdown-test'));
  ({ api, baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl }));
});
afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
});

/** Resolves true when a TCP connection to the API is accepted, false when it is refused. */
function accepts(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('finishes the request in flight after SIGTERM, accepts no new connection, and exits 0', async () => {
  const url = new URL('/v1/jobs', baseUrl);
  const body = JSON.stringify({ type: 'checksum', payload: { data: 'in-flight', rounds: 1 } });
  const half = Math.floor(body.length / 2);

  // Headers and half the body now; the rest only after SIGTERM.
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.write(body.slice(0, half));
    setTimeout(() => {
      api.child.kill('SIGTERM');
      // Once the server has closed its listener, new connections are refused.
      api
        .waitForLog(isEvent('api.stopping'), 10_000)
        .catch(() => undefined)
        .then(() => new Promise((r) => setTimeout(r, 200)))
        .then(async () => {
          expect(await accepts(url)).toBe(false);
          req.end(body.slice(half));
        }, reject);
    }, 300);
  });

  const answered = await response;
  expect(answered.status).toBe(202);
  expect(JSON.parse(answered.body)).toEqual({ id: expect.any(String) });
  expect(await api.exited).toBe(0);
  expect((await queueDepth(emulator.client, queueUrl)).visible).toBe(1);
});
