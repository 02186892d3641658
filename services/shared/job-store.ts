// Job records in DynamoDB, keyed by job id: what GET /v1/jobs/{id} answers. The API writes
// `accepted` and `queued`; the worker writes `running`, `succeeded`, `failed` and `dead-lettered`,
// every time with a conditional write, so a redelivered message never overwrites a newer state.
//
// Order without a transaction (DynamoDB and SQS share none):
//   API:    put `accepted` (new id) → SendMessage → put `queued` (only if still `accepted`)
//   worker: claim = update to `running` if the record is missing, `accepted`, `queued`, `failed`,
//           or `running` with an expired lease (creating it when missing)
// - No job is reported queued that was never sent: `queued` is written only after SendMessage
//   succeeded, and GET never shows an `accepted` record (404 until it is queued or claimed).
// - No sent job stays without a record: the record is written before the send, and a worker that
//   receives a message whose record is gone (expired by its TTL) creates it in its claim. A send
//   that failed, or seemed to, leaves the record `accepted`: a worker takes it over if the message
//   arrived after all, its TTL removes it otherwise.
// The API only puts and gets records (IAM: PutItem, GetItem); the worker only updates and gets.
//
// Rollback safety: records carry a format version `v`. Changes are additive; readers ignore fields
// they do not know and show a status they do not know as it is. See jobs.ts.
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { JobMessage } from './jobs.ts';

/** The statuses a client can see. */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'dead-lettered'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** `accepted`: written, not yet known to be sent; never shown. */
export type StoredStatus = 'accepted' | JobStatus;

/** Statuses after which a job never runs again. */
export const FINAL_STATUSES: readonly string[] = ['succeeded', 'dead-lettered'];

/** The newest record format this code writes; it reads every format up to this one. */
export const JOB_RECORD_FORMAT = 1;

/** A job record as stored (format 1). */
export interface JobRecord {
  readonly v: number;
  readonly id: string;
  readonly type: string;
  readonly status: StoredStatus;
  readonly submittedAt: string;
  readonly updatedAt: string;
  /** Claims so far (the attempt number of the latest run). */
  readonly attempts?: number;
  /** While running: epoch ms after which another worker may take the job over. */
  readonly leaseUntil?: number;
  readonly result?: unknown;
  readonly error?: string;
  /** Epoch seconds: DynamoDB's TTL attribute. Set on finished (and on not-yet-queued) records. */
  readonly expiresAt?: number;
}

/** The body of GET /v1/jobs/{id}. */
export interface JobView {
  readonly id: string;
  readonly type: string;
  readonly status: string;
  readonly result?: unknown;
  readonly error?: string;
  readonly submittedAt: string;
  readonly updatedAt: string;
}

export type ClaimResult =
  | { readonly claimed: true; readonly attempt: number; /** The job had been dead-lettered: a redrive. */ readonly redriven?: boolean }
  | { readonly claimed: false; readonly record: JobRecord | undefined };

export interface JobStoreOptions {
  /** The table's name (JOBS_TABLE). */
  readonly tableName: string;
  /**
   * How long finished records are kept (TTL).
   * @default 7 days
   */
  readonly finishedTtlSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default a client configured by the SDK's environment (AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, ...) */
  readonly client?: DynamoDBClient;
}

/** Records not yet queued expire after this (longer than the queue's 4-day retention). */
const ACCEPTED_TTL_SECONDS = 14 * 24 * 3600;

export class JobStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly finishedTtlSeconds: number;
  private readonly now: () => number;

  constructor(options: JobStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    });
    this.table = options.tableName;
    this.finishedTtlSeconds = options.finishedTtlSeconds ?? 7 * 24 * 3600;
    this.now = options.now ?? Date.now;
  }

  /** API, step 1: the record of a new job, before it is sent. Fails if the id exists. */
  async accept(job: JobMessage): Promise<JobRecord> {
    const now = this.now();
    const record: JobRecord = {
      v: JOB_RECORD_FORMAT,
      id: job.id,
      type: job.type,
      status: 'accepted',
      submittedAt: job.submittedAt,
      updatedAt: new Date(now).toISOString(),
      expiresAt: Math.floor(now / 1000) + ACCEPTED_TTL_SECONDS,
    };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: record, ConditionExpression: 'attribute_not_exists(id)' }));
    return record;
  }

  /**
   * API, step 3 (after the send): `queued`, unless a worker has already moved it on. A conditional
   * put of the whole record, so the API needs PutItem and GetItem only. A failed send leaves the
   * record `accepted`: never shown, taken over by a worker if the send went through after all,
   * removed by its TTL otherwise.
   */
  async markQueued(accepted: JobRecord): Promise<boolean> {
    const { expiresAt: _expiresAt, ...rest } = accepted;
    return this.conditional(
      new PutCommand({
        TableName: this.table,
        Item: { ...rest, status: 'queued', updatedAt: this.isoNow() },
        ConditionExpression: '#status = :accepted',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':accepted': 'accepted' },
      }),
    );
  }

  /** The stored record (strongly consistent), or undefined. */
  async record(id: string): Promise<JobRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }));
    return Item as JobRecord | undefined;
  }

  /** What a client sees: undefined for an unknown id and for a job not yet sent. */
  async view(id: string): Promise<JobView | undefined> {
    const record = await this.record(id);
    if (!record || record.status === 'accepted') return undefined;
    const { type, status, result, error, submittedAt, updatedAt } = record;
    return { id, type, status, ...(result !== undefined && { result }), ...(error !== undefined && { error }), submittedAt, updatedAt };
  }

  /**
   * Worker: takes the job (status `running`, a lease of `leaseSeconds`, attempts + 1), creating the
   * record if it is missing. Refused when the job is finished or another worker's lease is live.
   *
   * A `dead-lettered` job is taken again only by a message enqueued after it was dead-lettered
   * (`sentAt`, the message's SentTimestamp, later than the record's `updatedAt`): a DLQ redrive. SQS
   * gives every redriven message a new message id and enqueue time (SQS Developer Guide, "Learn how
   * to configure a dead-letter queue redrive in Amazon SQS",
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html),
   * while a duplicate delivery of the original message was sent before the job failed for good.
   */
  async claim(job: JobMessage, leaseSeconds: number, sentAt?: string): Promise<ClaimResult> {
    const now = this.now();
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id: job.id },
          UpdateExpression:
            'SET #status = :running, leaseUntil = :lease, updatedAt = :now, attempts = if_not_exists(attempts, :zero) + :one, ' +
            '#type = if_not_exists(#type, :type), submittedAt = if_not_exists(submittedAt, :submittedAt), v = if_not_exists(v, :v) ' +
            'REMOVE expiresAt, #error',
          ConditionExpression:
            'attribute_not_exists(id) OR #status IN (:accepted, :queued, :failed) OR (#status = :running AND leaseUntil < :nowMs)' +
            (sentAt === undefined ? '' : ' OR (#status = :deadLettered AND updatedAt < :sentAt)'),
          ExpressionAttributeNames: { '#status': 'status', '#type': 'type', '#error': 'error' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':accepted': 'accepted',
            ':queued': 'queued',
            ':failed': 'failed',
            ':lease': now + leaseSeconds * 1000,
            ':nowMs': now,
            ':now': new Date(now).toISOString(),
            ':zero': 0,
            ':one': 1,
            ':type': job.type,
            ':submittedAt': job.submittedAt,
            ':v': JOB_RECORD_FORMAT,
            ...(sentAt !== undefined && { ':deadLettered': 'dead-lettered', ':sentAt': sentAt }),
          },
          // The old record: it tells a redriven job (it was dead-lettered) from a retried one.
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { claimed: true, attempt: Number(Attributes?.attempts ?? 0) + 1, ...(Attributes?.status === 'dead-lettered' && { redriven: true }) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { claimed: false, record: await this.record(job.id) };
    }
  }

  /** Worker, while the job runs: extends the lease (with the message's visibility). */
  renew(id: string, attempt: number, leaseSeconds: number): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: 'SET leaseUntil = :lease',
        ConditionExpression: '#status = :running AND attempts = :attempt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':lease': this.now() + leaseSeconds * 1000, ':running': 'running', ':attempt': attempt },
      }),
    );
  }

  /** Worker: the attempt succeeded. False when the attempt no longer owns the job (it was taken over). */
  succeed(id: string, attempt: number, result: unknown): Promise<boolean> {
    return this.finish(id, attempt, 'succeeded', { result });
  }

  /** Worker: the attempt failed; `final` (the last receive SQS allows) marks it dead-lettered. */
  fail(id: string, attempt: number, error: string, final: boolean): Promise<boolean> {
    return this.finish(id, attempt, final ? 'dead-lettered' : 'failed', { error });
  }

  private async finish(id: string, attempt: number, status: JobStatus, value: { result?: unknown; error?: string }): Promise<boolean> {
    const now = this.now();
    const final = FINAL_STATUSES.includes(status);
    const field = value.error !== undefined ? 'error' : 'result';
    return this.conditional(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: `SET #status = :status, #field = :value, updatedAt = :now${final ? ', expiresAt = :expires' : ''} REMOVE leaseUntil`,
        // Only the attempt that owns the job may finish it: a stale worker never overwrites.
        ConditionExpression: '#status = :running AND attempts = :attempt',
        ExpressionAttributeNames: { '#status': 'status', '#field': field },
        ExpressionAttributeValues: {
          ':status': status,
          ':value': value[field] ?? null,
          ':now': new Date(now).toISOString(),
          ':running': 'running',
          ':attempt': attempt,
          ...(final && { ':expires': Math.floor(now / 1000) + this.finishedTtlSeconds }),
        },
      }),
    );
  }

  /** Runs a conditional write; false when its condition did not hold. */
  private async conditional(command: UpdateCommand | PutCommand): Promise<boolean> {
    try {
      await this.doc.send(command as UpdateCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  destroy(): void {
    this.doc.destroy();
  }
}
