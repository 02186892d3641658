import { DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage, type Logger } from './log.ts';

const MAX_BATCH = 10; // SQS limit per DeleteMessageBatch
const MAX_DELAY_MS = 20; // how long a finished message waits for companions before a partial batch goes

/**
 * Collects the receipt handles of finished jobs and deletes them with DeleteMessageBatch, without
 * making the job loop wait: a full batch goes at once, a partial one after MAX_DELAY_MS.
 * A failed delete only means the message is delivered again (at-least-once), so it is logged.
 */
export class DeleteBatcher {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger;

  constructor(client: SQSClient, queueUrl: string, logger: Logger) {
    this.client = client;
    this.queueUrl = queueUrl;
    this.logger = logger;
  }

  delete(receiptHandle: string): void {
    this.pending.push(receiptHandle);
    if (this.pending.length >= MAX_BATCH) this.send();
    else this.timer ??= setTimeout(() => this.send(), MAX_DELAY_MS);
  }

  /** Sends what is pending and waits for every delete to be answered. */
  async flush(): Promise<void> {
    while (this.pending.length > 0) this.send();
    await Promise.all(this.inFlight);
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const handles = this.pending.splice(0, MAX_BATCH);
    if (handles.length === 0) return;
    if (this.pending.length > 0) this.timer = setTimeout(() => this.send(), MAX_DELAY_MS);
    const request = this.deleteBatch(handles).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async deleteBatch(handles: string[]): Promise<void> {
    try {
      const entries = handles.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle }));
      const result = await this.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
      for (const failed of result.Failed ?? []) {
        this.logger.warn('message.delete_failed', { code: failed.Code, reason: failed.Message });
      }
    } catch (error) {
      this.logger.warn('message.delete_failed', { count: handles.length, reason: errorMessage(error) });
    }
  }
}
