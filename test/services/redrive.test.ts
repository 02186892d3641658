// A dead-lettered job runs again when it is redriven (issue 21): the real worker process against
// the emulated stage (fauxqs, dynalite, s3rver). Before the fix, the worker logged job.duplicate
// and deleted the redriven message: a `dead-lettered` record was final.
//
// fauxqs 1.9 implements no message move task (StartMessageMoveTask), so the test moves the dead
// letters the way SQS's redrive does to them: each one is sent again as a new message (SQS gives a
// redriven message a new message id and enqueue time) and deleted from the DLQ. `ops redrive`'s own
// StartMessageMoveTask call is tested against a fake of that API in test/ops/.
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isEvent,
  queueDepth,
  readJobRecord,
  sendMessage,
  startLocalAws,
  startWorker,
  stopAllServices,
  waitFor,
  type LocalAws,
} from './helpers';

let emulator: LocalAws;

beforeAll(async () => {
  emulator = await startLocalAws();
});
afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
});

/** Moves every message of the DLQ back to the queue as new messages; resolves with how many. */
async function moveBack(dlqUrl: string, queueUrl: string): Promise<number> {
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await emulator.client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return moved;
    for (const message of Messages) {
      await emulator.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body! }));
      await emulator.client.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle! }));
      moved += 1;
    }
  }
}

describe('redrive', () => {
  it('a job dead-lettered by a broken worker is redriven and completes once the cause is fixed', async () => {
    const queues = await emulator.createQueueWithDlq('redrive-test', { maxReceiveCount: 2, visibilityTimeoutSeconds: 5 });
    const env = { QUEUE_URL: queues.queueUrl, DLQ_URL: queues.dlqUrl, MAX_RECEIVE_COUNT: '2', RETRY_DELAY_MAX_SECONDS: '1' };
    const job = { id: 'poisoned-rebuild', type: 'rebuild-dataset', payload: { reason: 'redrive test' }, submittedAt: new Date().toISOString() };

    // 1. The cause: a worker configured with a bucket that does not exist fails the job every time.
    const broken = await startWorker(emulator, { ...env, DATA_BUCKET: 'no-such-bucket' });
    await sendMessage(emulator.client, queues.queueUrl, job);
    await waitFor(async () => (await queueDepth(emulator.client, queues.dlqUrl)).visible === 1, 60_000, 'the redrive policy to move the job to the DLQ');
    expect(broken.logs.filter(isEvent('job.failed', { jobId: job.id })).map((line) => line.action)).toEqual(['retry', 'dead_letter']);
    expect(await readJobRecord(emulator, job.id)).toMatchObject({ status: 'dead-lettered', attempts: 2 });
    broken.child.kill('SIGTERM');
    await broken.exited;

    // 2. The fix (the real bucket), then the redrive.
    const fixed = await startWorker(emulator, env);
    // A duplicate delivery of the original message (sent before the job was dead-lettered) stays a duplicate.
    const deadLetteredAt = String((await readJobRecord(emulator, job.id))!.updatedAt);
    expect(new Date(job.submittedAt) < new Date(deadLetteredAt)).toBe(true);
    expect(await moveBack(queues.dlqUrl, queues.queueUrl)).toBe(1);

    const completed = await fixed.waitForLog(isEvent('job.completed', { jobId: job.id }), 60_000);
    expect(completed.result).toMatchObject({ pointerMoved: true });
    expect(fixed.logs.some(isEvent('job.redriven', { jobId: job.id, attempt: 3 }))).toBe(true);
    expect(fixed.logs.some(isEvent('job.duplicate', { jobId: job.id }))).toBe(false);
    expect(await readJobRecord(emulator, job.id)).toMatchObject({ status: 'succeeded', attempts: 3 });
    await waitFor(async () => {
      const depth = await queueDepth(emulator.client, queues.queueUrl);
      return depth.visible === 0 && depth.inFlight === 0;
    }, 30_000, 'the redriven message to be deleted');
  });

  it('a dead-lettered job whose message arrives again from before its dead-lettering is a duplicate: deleted, not run', async () => {
    const queues = await emulator.createQueueWithDlq('redrive-duplicate', { maxReceiveCount: 2, visibilityTimeoutSeconds: 5 });
    const worker = await startWorker(emulator, { QUEUE_URL: queues.queueUrl, DLQ_URL: queues.dlqUrl, MAX_RECEIVE_COUNT: '2' });
    // A record dead-lettered in the future of every message sent now: any message is "older".
    const { DynamoDBDocumentClient, PutCommand } = await import('@aws-sdk/lib-dynamodb');
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await DynamoDBDocumentClient.from(emulator.dynamodb).send(
      new PutCommand({
        TableName: emulator.serviceEnv.JOBS_TABLE,
        Item: { v: 1, id: 'old-dead-letter', type: 'checksum', status: 'dead-lettered', attempts: 2, submittedAt: future, updatedAt: future, error: 'x' },
      }),
    );
    await sendMessage(emulator.client, queues.queueUrl, { id: 'old-dead-letter', type: 'checksum', payload: { data: 'x', rounds: 1 }, submittedAt: future });
    await worker.waitForLog(isEvent('job.duplicate', { jobId: 'old-dead-letter', status: 'dead-lettered' }));
    expect(worker.logs.some(isEvent('job.started', { jobId: 'old-dead-letter' }))).toBe(false);
    expect(await readJobRecord(emulator, 'old-dead-letter')).toMatchObject({ status: 'dead-lettered', attempts: 2 });
  });
});
