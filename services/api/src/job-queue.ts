import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobMessage } from '../../shared/jobs.ts';

/** Where accepted jobs go. */
export interface JobQueue {
  enqueue(message: JobMessage): Promise<void>;
}

export function createSqsJobQueue(client: SQSClient, queueUrl: string): JobQueue {
  return {
    async enqueue(message) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
    },
  };
}
