// Puts a job on the queue in the message shape the API and the schedules send
// (services/shared/jobs.ts, format 1), for checks that go around the API.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Sends `{ type, payload }` as a queued job; returns its id. */
export async function sendJobToQueue(sqs: SQSClient, queueUrl: string, type: string, payload: unknown): Promise<string> {
  const id = randomUUID();
  const job = { v: 1, id, type, payload, submittedAt: new Date().toISOString() };
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
  return id;
}
