export interface WorkerConfig {
  /** The queue the worker consumes. */
  readonly queueUrl: string;
  /**
   * Where malformed messages are sent, with the reason as a message attribute. Undefined when
   * DLQ_URL is unset: the worker then reads it from the queue's RedrivePolicy at start (dlq.ts).
   */
  readonly dlqUrl: string | undefined;
  /** How many jobs run at once. */
  readonly concurrency: number;
  /** A job running longer than this fails (and is retried). */
  readonly jobTimeoutSeconds: number;
  /** Visibility timeout of received messages; extended by a heartbeat while a job runs. */
  readonly visibilityTimeoutSeconds: number;
  /** On SIGTERM, in-flight jobs get this long to finish before their messages are handed back. */
  readonly shutdownTimeoutSeconds: number;
  /**
   * Long-poll wait of each receive (SQS allows 0–20 s). The longest wait means the fewest empty
   * receives; on stop the worker lets an open poll return, so a shorter one stops sooner (local runs).
   */
  readonly receiveWaitSeconds: number;
  /** The DynamoDB table of job records (JOBS_TABLE). */
  readonly jobsTable: string;
  /** The stage's data bucket: raw records in, snapshots out (DATA_BUCKET). */
  readonly dataBucket: string;
  /** The queue's redrive maxReceiveCount: a failure on that receive is recorded dead-lettered. */
  readonly maxReceiveCount: number;
  /** How long finished job records are kept (their TTL). */
  readonly resultRetentionDays: number;
  /** A failed job is retried after 2^receiveCount seconds, at most this long. */
  readonly retryDelayMaxSeconds: number;
  /** ECS agent endpoint for task scale-in protection; undefined outside ECS. */
  readonly ecsAgentUri: string | undefined;
}

export class ConfigError extends Error {}

export const workerConfigDefaults = {
  concurrency: 4,
  jobTimeoutSeconds: 300,
  visibilityTimeoutSeconds: 30,
  // ECS stops the task with SIGKILL 120 s (the service's stop timeout) after SIGTERM: finish well before.
  shutdownTimeoutSeconds: 90,
  receiveWaitSeconds: 20,
  maxReceiveCount: 3,
  resultRetentionDays: 7,
  retryDelayMaxSeconds: 60,
} as const;

export function parseWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  return {
    queueUrl: requiredUrl(env, 'QUEUE_URL'),
    dlqUrl: optionalUrl(env, 'DLQ_URL'),
    concurrency: integer(env, 'CONCURRENCY', workerConfigDefaults.concurrency, 1, 100),
    jobTimeoutSeconds: integer(env, 'JOB_TIMEOUT_SECONDS', workerConfigDefaults.jobTimeoutSeconds, 1, 43_200),
    visibilityTimeoutSeconds: integer(
      env,
      'VISIBILITY_TIMEOUT_SECONDS',
      workerConfigDefaults.visibilityTimeoutSeconds,
      2,
      43_200,
    ),
    shutdownTimeoutSeconds: integer(
      env,
      'SHUTDOWN_TIMEOUT_SECONDS',
      workerConfigDefaults.shutdownTimeoutSeconds,
      1,
      3_600,
    ),
    receiveWaitSeconds: integer(env, 'RECEIVE_WAIT_SECONDS', workerConfigDefaults.receiveWaitSeconds, 0, 20),
    jobsTable: required(env, 'JOBS_TABLE', 'the DynamoDB table of job records'),
    dataBucket: required(env, 'DATA_BUCKET', 'the S3 bucket of raw records and snapshots'),
    maxReceiveCount: integer(env, 'MAX_RECEIVE_COUNT', workerConfigDefaults.maxReceiveCount, 1, 1_000),
    resultRetentionDays: integer(env, 'RESULT_RETENTION_DAYS', workerConfigDefaults.resultRetentionDays, 1, 365),
    retryDelayMaxSeconds: integer(env, 'RETRY_DELAY_MAX_SECONDS', workerConfigDefaults.retryDelayMaxSeconds, 0, 43_200),
    ecsAgentUri: optionalUrl(env, 'ECS_AGENT_URI'),
  };
}

function requiredUrl(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required: the URL of the SQS queue`);
  return checkedUrl(name, value);
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required: ${what}`);
  return value;
}

function optionalUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? checkedUrl(name, value) : undefined;
}

function checkedUrl(name: string, value: string): string {
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be a URL, got "${value}"`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
