// DLQ_URL is optional: the queue's redrive policy already names its dead-letter queue.
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError } from './config.ts';

/**
 * The URL of the queue's dead-letter queue, from its RedrivePolicy attribute
 * (`{"deadLetterTargetArn": "arn:aws:sqs:<region>:<account>:<name>", "maxReceiveCount": n}`),
 * then GetQueueUrl by name and owner account. Both calls are allowed by the worker's grants
 * (GetQueueAttributes on its queue; GetQueueUrl on the DLQ it may send to).
 */
export async function dlqUrlFromRedrivePolicy(client: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = Attributes?.RedrivePolicy;
  if (!policy) throw new ConfigError(`DLQ_URL is unset and the queue ${queueUrl} has no redrive policy: set DLQ_URL`);
  const arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
  // arn:partition:sqs:region:account:name
  const parts = typeof arn === 'string' ? arn.split(':') : [];
  if (parts.length !== 6 || parts[2] !== 'sqs') throw new ConfigError(`the redrive policy of ${queueUrl} names no SQS queue ARN: ${policy}`);
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: parts[5], QueueOwnerAWSAccountId: parts[4] }));
  if (!QueueUrl) throw new ConfigError(`GetQueueUrl found no URL for the dead-letter queue ${String(arn)}`);
  return QueueUrl;
}
