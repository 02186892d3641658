import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { workerConfigDefaults, type WorkerConfig } from './config.ts';
import { DeleteBatcher } from './delete-batcher.ts';
import { FINAL_STATUSES, type JobStore } from '../../shared/job-store.ts';
import { parseJobMessage, type JobMessage } from '../../shared/jobs.ts';
import { createHandlers, handlerFor, type HandlerRegistry } from './handlers/registry.ts';
import { errorMessage, type Logger } from './log.ts';
import { noTaskProtection, type TaskProtection } from './task-protection.ts';

const MAX_MESSAGES_PER_RECEIVE = 10; // the SQS maximum
const MAX_RECEIVE_BACKOFF_MS = 20_000;

export type ConsumerConfig = Pick<
  WorkerConfig,
  'queueUrl' | 'concurrency' | 'jobTimeoutSeconds' | 'visibilityTimeoutSeconds' | 'shutdownTimeoutSeconds'
> & {
  /** The dead-letter queue, resolved (main.ts reads it from the redrive policy when DLQ_URL is unset). */
  readonly dlqUrl: string;
  /** @default 20 (the SQS maximum long poll: fewest empty receives) */
  readonly receiveWaitSeconds?: number;
  /** The redrive's maxReceiveCount: a failure on that receive is recorded dead-lettered. @default none recorded */
  readonly maxReceiveCount?: number;
  /** @default 60 */
  readonly retryDelayMaxSeconds?: number;
};

export interface ConsumerOptions {
  readonly client: SQSClient;
  readonly config: ConsumerConfig;
  readonly logger: Logger;
  /** @default the shipped handlers, without a data bucket */
  readonly handlers?: HandlerRegistry;
  /**
   * Where job records are kept (running, succeeded, failed, dead-lettered).
   * @default none: jobs run without records (the benchmark)
   */
  readonly jobStore?: JobStore;
  /** @default none (outside ECS) */
  readonly taskProtection?: TaskProtection;
}

export interface RunningConsumer {
  /**
   * Stops receiving, lets in-flight jobs finish (for up to shutdownTimeoutSeconds, then hands their
   * messages back), flushes the pending deletes and settles when all of that is done.
   */
  stop(): Promise<void>;
  /** Settles when the consumer has stopped (after stop(), or if it fails). */
  readonly stopped: Promise<void>;
}

/** Starts the job loop. The CLI (main.ts) and the benchmark both run exactly this. */
export function startConsumer(options: ConsumerOptions): RunningConsumer {
  return new QueueConsumer(options);
}

class QueueConsumer implements RunningConsumer {
  readonly stopped: Promise<void>;
  private stopping = false;
  /** Aborted by stop(): ends a backoff sleep. An open long poll is left to return (see stop()). */
  private readonly stopAbort = new AbortController();
  /** Aborted when the shutdown deadline passes: handlers stop, their messages are handed back. */
  private readonly shutdownAbort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private wakeLoop: (() => void) | undefined;
  private readonly client: SQSClient;
  private readonly config: ConsumerConfig;
  private readonly logger: Logger;
  private readonly handlers: HandlerRegistry;
  private readonly taskProtection: TaskProtection;
  private readonly deleter: DeleteBatcher;
  private readonly jobStore: JobStore | undefined;

  constructor(options: ConsumerOptions) {
    this.client = options.client;
    this.config = options.config;
    this.logger = options.logger;
    this.handlers = options.handlers ?? createHandlers();
    this.jobStore = options.jobStore;
    this.taskProtection = options.taskProtection ?? noTaskProtection;
    this.deleter = new DeleteBatcher(this.client, this.config.queueUrl, this.logger);
    this.stopped = this.run();
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      // The open long poll (if any) is not aborted: SQS may already have handed it messages, which
      // an aborted request would leave invisible for a whole visibility timeout. It returns within
      // WaitTimeSeconds and whatever it brings is handed back at once (handBack).
      this.stopAbort.abort();
      this.wake();
    }
    return this.stopped;
  }

  private async run(): Promise<void> {
    let consecutiveFailures = 0;
    while (!this.stopping) {
      // Receive only as many messages as there are free slots: a received message is never left
      // waiting while its visibility timeout runs.
      const free = this.config.concurrency - this.running.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        // Let the other jobs finishing in this same turn free their slots too: one fuller receive
        // instead of several receives of one message each.
        await yieldToEventLoop();
        continue;
      }
      let messages: Message[];
      try {
        messages = await this.receive(Math.min(free, MAX_MESSAGES_PER_RECEIVE));
        consecutiveFailures = 0;
      } catch (error) {
        if (this.stopping) break;
        consecutiveFailures += 1;
        const retryInMs = Math.min(MAX_RECEIVE_BACKOFF_MS, 500 * 2 ** consecutiveFailures);
        this.logger.warn('receive.failed', { reason: errorMessage(error), retryInMs });
        await sleep(retryInMs, undefined, { signal: this.stopAbort.signal }).catch(() => undefined);
        continue;
      }
      if (this.stopping) {
        await this.handBack(messages);
        break;
      }
      for (const message of messages) this.start(message);
    }
    await this.drain();
    await this.deleter.flush();
    await this.taskProtection.close();
  }

  private async receive(maxMessages: number): Promise<Message[]> {
    const result = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.config.queueUrl,
        MaxNumberOfMessages: maxMessages,
        WaitTimeSeconds: this.config.receiveWaitSeconds ?? workerConfigDefaults.receiveWaitSeconds,
        VisibilityTimeout: this.config.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    return result.Messages ?? [];
  }

  private start(message: Message): void {
    this.taskProtection.jobStarted();
    const job = this.process(message).finally(() => {
      this.running.delete(job);
      this.taskProtection.jobFinished();
      this.wake();
    });
    this.running.add(job);
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  private async process(message: Message): Promise<void> {
    const messageId = message.MessageId;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const parsed = parseJobMessage(message.Body);
    if (!parsed.ok) {
      // Retrying cannot fix a malformed message: straight to the DLQ, with the reason.
      const reason = `malformed message: ${parsed.field} ${parsed.message}`;
      this.logger.error('job.failed', { messageId, reason, action: 'dead_letter' });
      await this.deadLetter(message, reason);
      return;
    }
    const job = parsed.value;
    const fields = { jobId: job.id, type: job.type, messageId, receiveCount };
    const attempt = await this.claim(message, job, fields);
    if (attempt === undefined) return;
    const startedAt = performance.now();
    const heartbeat = this.startHeartbeat(message, job.id, attempt);
    const timeout = AbortSignal.timeout(this.config.jobTimeoutSeconds * 1000);
    try {
      this.logger.info('job.started', { ...fields, attempt });
      const result = await handlerFor(this.handlers, job.type)(job.payload, AbortSignal.any([timeout, this.shutdownAbort.signal]), job);
      clearInterval(heartbeat);
      const recorded = (await this.jobStore?.succeed(job.id, attempt, result)) ?? true;
      this.logger.info('job.completed', { ...fields, durationMs: elapsedMs(startedAt), result, ...(!recorded && { superseded: true }) });
      this.deleter.delete(message.ReceiptHandle!);
    } catch (error) {
      clearInterval(heartbeat);
      const shuttingDown = this.shutdownAbort.signal.aborted;
      const reason = timeout.aborted
        ? `timed out after ${this.config.jobTimeoutSeconds} s`
        : shuttingDown
          ? 'stopped by shutdown'
          : errorMessage(error);
      // SQS says nothing when its redrive moves a message to the DLQ: on the last receive it allows,
      // a failure is recorded as final (dead-lettered). A shutdown is not the job's fault.
      const last = !shuttingDown && this.config.maxReceiveCount !== undefined && receiveCount >= this.config.maxReceiveCount;
      await this.record(() => this.jobStore?.fail(job.id, attempt, reason, last), job);
      // Left on the queue: visible again after a short backoff (at once if we are shutting down);
      // the redrive policy moves it to the DLQ after maxReceiveCount attempts.
      const retryInSeconds = shuttingDown ? 0 : this.retryDelay(receiveCount);
      this.logger.error('job.failed', {
        ...fields,
        durationMs: elapsedMs(startedAt),
        reason,
        action: last ? 'dead_letter' : 'retry',
        retryInSeconds,
      });
      await this.changeVisibility(message, retryInSeconds);
    }
  }

  /** Seconds until a failed message is visible again: 2^receiveCount, at most retryDelayMaxSeconds. */
  private retryDelay(receiveCount: number): number {
    return Math.min(this.config.retryDelayMaxSeconds ?? workerConfigDefaults.retryDelayMaxSeconds, 2 ** receiveCount);
  }

  /**
   * Takes the job in its record (the job id is the idempotency key). Resolves with the attempt
   * number, or undefined when the job must not run now: finished already (the message is a
   * duplicate: deleted), or another worker's lease is live (the message comes back when it ends).
   */
  private async claim(message: Message, job: JobMessage, fields: Record<string, unknown>): Promise<number | undefined> {
    if (!this.jobStore) return 1;
    let claim;
    try {
      const sent = Number(message.Attributes?.SentTimestamp);
      claim = await this.jobStore.claim(job, this.leaseSeconds(), Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined);
    } catch (error) {
      const receiveCount = Number(fields.receiveCount);
      this.logger.error('job.claim_failed', { ...fields, reason: errorMessage(error) });
      await this.changeVisibility(message, this.retryDelay(receiveCount));
      return undefined;
    }
    if (claim.claimed) {
      if (claim.redriven) this.logger.info('job.redriven', { ...fields, attempt: claim.attempt });
      return claim.attempt;
    }
    const status = claim.record?.status;
    if (status !== undefined && FINAL_STATUSES.includes(status)) {
      this.logger.info('job.duplicate', { ...fields, status });
      this.deleter.delete(message.ReceiptHandle!);
      return undefined;
    }
    const leaseLeftSeconds = Math.ceil(((claim.record?.leaseUntil ?? 0) - Date.now()) / 1000);
    const retryInSeconds = Math.min(43_200, Math.max(1, leaseLeftSeconds));
    this.logger.info('job.busy', { ...fields, status, retryInSeconds });
    await this.changeVisibility(message, retryInSeconds);
    return undefined;
  }

  /**
   * The lease ends a little before the message can be delivered again (its visibility timeout,
   * counted from before our receive returned): a worker that died is taken over at the
   * redelivery; a live one renews both with its heartbeat.
   */
  private leaseSeconds(): number {
    return Math.max(1, this.config.visibilityTimeoutSeconds - 1);
  }

  /** A failed record write is logged: the message is retried anyway. */
  private async record(write: () => Promise<unknown> | undefined, job: JobMessage): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.warn('job.record_failed', { jobId: job.id, reason: errorMessage(error) });
    }
  }

  /**
   * Keeps a running job's message invisible and its record's lease live: extends both every third
   * of the visibility timeout.
   */
  private startHeartbeat(message: Message, jobId: string, attempt: number): NodeJS.Timeout {
    const intervalMs = Math.max(1_000, (this.config.visibilityTimeoutSeconds * 1000) / 3);
    return setInterval(() => {
      void this.changeVisibility(message, this.config.visibilityTimeoutSeconds);
      void this.jobStore?.renew(jobId, attempt, this.leaseSeconds()).catch((error: unknown) =>
        this.logger.warn('job.lease_renew_failed', { jobId, reason: errorMessage(error) }),
      );
    }, intervalMs);
  }

  private async changeVisibility(message: Message, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.config.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      this.logger.warn('message.visibility_failed', { messageId: message.MessageId, seconds, reason: errorMessage(error) });
    }
  }

  private async deadLetter(message: Message, reason: string): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.config.dlqUrl,
          // SQS refuses an empty body; an empty message is still worth keeping for the record.
          MessageBody: message.Body || '(empty)',
          MessageAttributes: {
            DeadLetterReason: { DataType: 'String', StringValue: reason },
            SourceMessageId: { DataType: 'String', StringValue: message.MessageId ?? 'unknown' },
          },
        }),
      );
      this.deleter.delete(message.ReceiptHandle!);
    } catch (error) {
      // Not deleted: the message comes back and, after maxReceiveCount, the redrive policy moves it.
      this.logger.error('message.dead_letter_failed', { messageId: message.MessageId, reason: errorMessage(error) });
    }
  }

  /** Makes received messages that will not be processed visible again at once. */
  private async handBack(messages: Message[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.config.queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      this.logger.info('messages.handed_back', { count: messages.length });
    } catch (error) {
      this.logger.warn('messages.hand_back_failed', { count: messages.length, reason: errorMessage(error) });
    }
  }

  private async drain(): Promise<void> {
    if (this.running.size === 0) return;
    this.logger.info('worker.draining', { inFlight: this.running.size });
    const deadline = setTimeout(() => {
      this.logger.warn('worker.shutdown_deadline', { inFlight: this.running.size });
      this.shutdownAbort.abort();
    }, this.config.shutdownTimeoutSeconds * 1000);
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    clearTimeout(deadline);
  }
}

function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}
