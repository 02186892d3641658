import type { DataBucket } from '../../../shared/dataset.ts';
import type { JobMessage, JobPayloads, JobType } from '../../../shared/jobs.ts';
import { checksumHandler } from './checksum.ts';
import { rebuildDatasetHandler } from './rebuild-dataset.ts';

/**
 * Runs one job; rejects to fail it (the message is then retried). Must stop when `signal` aborts.
 * Its effects must be safe to repeat: SQS delivers at least once, and a job whose worker died
 * runs again (the job id is the idempotency key).
 */
export type JobHandler<P, R = unknown> = (payload: P, signal: AbortSignal, job: JobMessage) => Promise<R>;

/** One handler per job type: the compiler refuses a registry that misses a type. */
export type HandlerRegistry = { readonly [T in JobType]: JobHandler<JobPayloads[T]> };

export interface HandlerDependencies {
  /** The stage's data bucket (DATA_BUCKET); without it the rebuild job fails. */
  readonly data?: DataBucket;
}

export function createHandlers(deps: HandlerDependencies = {}): HandlerRegistry {
  return {
    checksum: checksumHandler,
    'rebuild-dataset': rebuildDatasetHandler(deps.data),
  };
}

export function handlerFor<T extends JobType>(registry: HandlerRegistry, type: T): JobHandler<JobPayloads[T]> {
  return registry[type];
}
