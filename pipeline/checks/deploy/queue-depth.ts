// How many messages a queue holds, from SQS's approximate counters (thin over GetQueueAttributes).
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueDepth {
  /** ApproximateNumberOfMessages: waiting to be received. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not yet deleted. */
  readonly inFlight: number;
}

export type QueueDepthReader = (queueUrl: string) => Promise<QueueDepth>;

export function sqsQueueDepth(client: SQSClient): QueueDepthReader {
  return async (queueUrl) => {
    const { Attributes = {} } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return { visible: count(Attributes, 'ApproximateNumberOfMessages'), inFlight: count(Attributes, 'ApproximateNumberOfMessagesNotVisible') };
  };
}

function count(attributes: Record<string, string>, name: string): number {
  const value = Number(attributes[name]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`GetQueueAttributes answered ${name}="${attributes[name]}"`);
  return value;
}

export const total = (depth: QueueDepth): number => depth.visible + depth.inFlight;

export const describeDepth = (depth: QueueDepth): string => `${depth.visible} visible, ${depth.inFlight} in flight`;
