import type { JobPayloads, JobType } from '../jobs.js';
import { checksumHandler } from './checksum.js';

/** Runs one job; rejects to fail it (the message is then retried). Must stop when `signal` aborts. */
export type JobHandler<P, R = unknown> = (payload: P, signal: AbortSignal) => Promise<R>;

/** One handler per job type: the compiler refuses a registry that misses a type. */
export type HandlerRegistry = { readonly [T in JobType]: JobHandler<JobPayloads[T]> };

export const defaultHandlers: HandlerRegistry = {
  checksum: checksumHandler,
};

export function handlerFor<T extends JobType>(registry: HandlerRegistry, type: T): JobHandler<JobPayloads[T]> {
  return registry[type];
}
