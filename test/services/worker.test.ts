// The worker as a real process against the emulated stage (fauxqs, dynalite, s3rver): the promises of
// issue 3, and the job records of issue 12.
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  checksumJob,
  isEvent,
  queueDepth,
  readJobRecord,
  receiveMessages,
  sendMessage,
  spawnService,
  startApi,
  startSqsEmulator,
  startWorker,
  SAFETY_NET_MS,
  stopAllServices,
  waitFor,
  type SqsEmulator,
} from './helpers';

// ~1 s or more of hashing on this machine: long enough to be caught mid-job by a signal.
const LONG_ROUNDS = 600_000;

let emulator: SqsEmulator;
let queueCount = 0;

async function freshQueues(options?: { maxReceiveCount?: number }) {
  return emulator.createQueueWithDlq(`worker-test-${++queueCount}`, options);
}

function workerEnv(queues: { queueUrl: string; dlqUrl: string }, extra: Record<string, string> = {}) {
  return { QUEUE_URL: queues.queueUrl, DLQ_URL: queues.dlqUrl, ...extra };
}

beforeAll(async () => {
  emulator = await startSqsEmulator();
});
// The tests run at once (each on its own queues, waiting mostly on SQS timing), so none stops
// another's processes: they all go when the file is done.
afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
});

// The work decides how long a test takes (a loaded machine is slower), not a clock: SAFETY_NET_MS.
describe.concurrent('worker', { timeout: SAFETY_NET_MS }, () => {
  it('processes a job posted to the API and deletes its message', async ({ expect }) => {
    const queues = await freshQueues();
    const { baseUrl } = await startApi(emulator, { QUEUE_URL: queues.queueUrl });
    const worker = await startWorker(emulator, workerEnv(queues));

    const response = await fetch(`${baseUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'checksum', payload: { data: 'abc', rounds: 1 } }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    const completed = await worker.waitForLog(isEvent('job.completed', { jobId: id }));
    const digest = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(completed).toMatchObject({ type: 'checksum', result: { digest } });
    expect(completed.durationMs).toEqual(expect.any(Number));

    // The result can be fetched.
    const result = await waitFor(async () => {
      const read = await fetch(`${baseUrl}/v1/jobs/${id}`);
      const body = (await read.json()) as { status?: string };
      return body.status === 'succeeded' && body;
    }, SAFETY_NET_MS, 'the job to be recorded succeeded');
    expect(result).toEqual({ id, type: 'checksum', status: 'succeeded', result: { digest }, submittedAt: expect.any(String), updatedAt: expect.any(String) });
    await waitFor(async () => {
      const depth = await queueDepth(emulator.client, queues.queueUrl);
      return depth.visible === 0 && depth.inFlight === 0;
    }, SAFETY_NET_MS, 'the message to be deleted');
  });

  it('loses nothing when killed with SIGKILL mid-job: another worker completes it after the visibility timeout', async ({ expect }) => {
    const queues = await freshQueues();
    const env = workerEnv(queues, { VISIBILITY_TIMEOUT_SECONDS: '2' });
    const first = await startWorker(emulator, env);
    await sendMessage(emulator.client, queues.queueUrl, checksumJob('killed-mid-job', LONG_ROUNDS));
    await first.waitForLog(isEvent('job.started', { jobId: 'killed-mid-job' }));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.logs.some(isEvent('job.completed'))).toBe(false);

    const second = await startWorker(emulator, env);
    const completed = await second.waitForLog(isEvent('job.completed', { jobId: 'killed-mid-job' }));
    expect(completed.receiveCount).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await queueDepth(emulator.client, queues.queueUrl)).inFlight === 0, SAFETY_NET_MS, 'the delete');
    expect(await queueDepth(emulator.client, queues.queueUrl)).toEqual({ visible: 0, inFlight: 0 });

    // One succeeded record: the second attempt took the expired lease over.
    const record = await readJobRecord(emulator, 'killed-mid-job');
    expect(record).toMatchObject({ status: 'succeeded', attempts: 2, result: completed.result });

    // SQS is at-least-once: the same message again is a duplicate, the finished job never reruns.
    await sendMessage(emulator.client, queues.queueUrl, checksumJob('killed-mid-job', LONG_ROUNDS));
    await second.waitForLog(isEvent('job.duplicate', { jobId: 'killed-mid-job', status: 'succeeded' }));
    expect(second.logs.filter(isEvent('job.started', { jobId: 'killed-mid-job' }))).toHaveLength(1);
    expect(await readJobRecord(emulator, 'killed-mid-job')).toEqual(record);
    await waitFor(async () => (await queueDepth(emulator.client, queues.queueUrl)).inFlight === 0, SAFETY_NET_MS, 'the duplicate deleted');
  });

  it('drains on SIGTERM: finishes the job in flight, takes no new one, exits 0', async ({ expect }) => {
    const queues = await freshQueues();
    const worker = await startWorker(emulator, workerEnv(queues, { CONCURRENCY: '2' }));
    await sendMessage(emulator.client, queues.queueUrl, checksumJob('in-flight', LONG_ROUNDS));
    await worker.waitForLog(isEvent('job.started', { jobId: 'in-flight' }));

    worker.child.kill('SIGTERM');
    await worker.waitForLog(isEvent('worker.stopping'));
    // The worker had a free slot and a long poll open: a message sent now must not be taken.
    await sendMessage(emulator.client, queues.queueUrl, checksumJob('after-sigterm', 1));

    expect(await worker.exited).toBe(0);
    expect(worker.logs.some(isEvent('job.completed', { jobId: 'in-flight' }))).toBe(true);
    expect(worker.logs.some(isEvent('job.started', { jobId: 'after-sigterm' }))).toBe(false);
    // The open long poll returned it; the worker made it visible again instead of keeping it.
    expect(worker.logs.some(isEvent('messages.handed_back', { count: 1 }))).toBe(true);
    // The finished job was deleted before exit; the new one waits, visible, for the next worker.
    expect(await queueDepth(emulator.client, queues.queueUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  it('sends poison messages (not JSON, unknown type, schema failure) to the DLQ named by the redrive policy, with the reason', async ({ expect }) => {
    const queues = await freshQueues();
    // No DLQ_URL: the worker reads the DLQ from the queue's RedrivePolicy at start.
    const worker = await startWorker(emulator, { QUEUE_URL: queues.queueUrl });
    expect(worker.logs.find(isEvent('worker.started'))).toMatchObject({ dlqUrl: queues.dlqUrl, dlqFrom: 'RedrivePolicy' });
    const poison = {
      'not json': 'body is not JSON',
      [JSON.stringify({ ...checksumJob('unknown-type', 1), type: 'transcode' })]: 'type must be equal to one of the allowed values',
      [JSON.stringify(checksumJob('bad-rounds', 0))]: 'payload.rounds must be >= 1',
    };
    for (const body of Object.keys(poison)) await sendMessage(emulator.client, queues.queueUrl, body);

    const deadLettered = await waitFor(async () => {
      const depth = await queueDepth(emulator.client, queues.dlqUrl);
      return depth.visible === 3 && receiveMessages(emulator.client, queues.dlqUrl);
    }, SAFETY_NET_MS, 'three messages in the DLQ');
    const reasons = Object.fromEntries(
      deadLettered.map((message) => [message.Body, message.MessageAttributes?.DeadLetterReason?.StringValue]),
    );
    expect(reasons).toEqual(Object.fromEntries(Object.entries(poison).map(([body, reason]) => [body, `malformed message: ${reason}`])));
    await waitFor(async () => (await queueDepth(emulator.client, queues.queueUrl)).inFlight === 0, SAFETY_NET_MS, 'the deletes');
    expect(await queueDepth(emulator.client, queues.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(worker.logs.filter(isEvent('job.failed', { action: 'dead_letter' }))).toHaveLength(3);
    expect(worker.logs.some(isEvent('job.started'))).toBe(false);
  });

  it('without DLQ_URL, exits 1 naming the problem when the queue has no redrive policy', async ({ expect }) => {
    const { QueueUrl } = await emulator.client.send(new CreateQueueCommand({ QueueName: `worker-test-no-redrive-${++queueCount}` }));
    const worker = spawnService('worker', { ...emulator.serviceEnv, QUEUE_URL: QueueUrl! });

    expect(await worker.exited).toBe(1);
    expect(worker.logs.find(isEvent('config.invalid'))?.reason).toMatch(/^DLQ_URL is unset and the queue's redrive policy could not be read: .*has no redrive policy: set DLQ_URL/);
  });

  it('leaves a failing job for retry until the redrive policy moves it to the DLQ, recording it dead-lettered on the last receive', async ({ expect }) => {
    const queues = await freshQueues({ maxReceiveCount: 2 });
    // A 1 s timeout fails a 10,000,000-round chain every time.
    const worker = await startWorker(emulator, workerEnv(queues, { JOB_TIMEOUT_SECONDS: '1', MAX_RECEIVE_COUNT: '2', RETRY_DELAY_MAX_SECONDS: '1' }));
    await sendMessage(emulator.client, queues.queueUrl, checksumJob('always-times-out', 10_000_000));

    await waitFor(async () => (await queueDepth(emulator.client, queues.dlqUrl)).visible === 1, SAFETY_NET_MS, 'the redrive to the DLQ');
    const failures = worker.logs.filter(isEvent('job.failed', { jobId: 'always-times-out' }));
    expect(failures.map((line) => [line.receiveCount, line.action, line.reason])).toEqual([
      [1, 'retry', 'timed out after 1 s'],
      [2, 'dead_letter', 'timed out after 1 s'],
    ]);
    expect(worker.logs.some(isEvent('job.completed'))).toBe(false);
    expect(await readJobRecord(emulator, 'always-times-out')).toMatchObject({ status: 'dead-lettered', attempts: 2, error: 'timed out after 1 s' });
  });

  it('protects the task from scale-in through the ECS agent while a job runs', async ({ expect }) => {
    const requests: unknown[] = [];
    const agent: Server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        requests.push({ method: request.method, path: request.url, body: JSON.parse(body) });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = agent.address() as { port: number };
      const queues = await freshQueues();
      const worker = await startWorker(emulator, workerEnv(queues, { ECS_AGENT_URI: `http://127.0.0.1:${port}/v4/task` }));
      expect(requests).toEqual([]); // idle: no protection
      await sendMessage(emulator.client, queues.queueUrl, checksumJob('protected', 1));
      await worker.waitForLog(isEvent('job.completed', { jobId: 'protected' }));
      await waitFor(async () => requests.length >= 2, SAFETY_NET_MS, 'the release of the protection');
      expect(requests).toEqual([
        // JOB_TIMEOUT_SECONDS defaults to 300 s: 5 minutes + 1.
        { method: 'PUT', path: '/v4/task/task-protection/v1/state', body: { ProtectionEnabled: true, ExpiresInMinutes: 6 } },
        { method: 'PUT', path: '/v4/task/task-protection/v1/state', body: { ProtectionEnabled: false } },
      ]);
    } finally {
      agent.closeAllConnections();
      await new Promise((resolve) => agent.close(resolve));
    }
  });
});
