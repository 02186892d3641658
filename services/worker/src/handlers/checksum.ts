import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ChecksumPayload } from '../../../shared/jobs.ts';
import type { JobHandler } from './registry.ts';

export interface ChecksumResult {
  readonly digest: string;
}

// ~10 ms of hashing on one core between yields: heartbeats, receives and other jobs keep running.
const ROUNDS_PER_SLICE = 8_192;

/**
 * A SHA-256 chain: round 1 hashes the UTF-8 bytes of `data`, every later round hashes the previous
 * 32-byte digest; the result is the last digest in hex. Runs on the main thread in slices (see
 * services/README.md for the measurement behind that choice) and stops when `signal` aborts.
 */
export const checksumHandler: JobHandler<ChecksumPayload, ChecksumResult> = async (payload, signal) => {
  let digest: Buffer = Buffer.from(payload.data, 'utf8');
  for (let done = 0; done < payload.rounds; ) {
    const end = Math.min(payload.rounds, done + ROUNDS_PER_SLICE);
    for (; done < end; done++) digest = createHash('sha256').update(digest).digest();
    if (done < payload.rounds) {
      await yieldToEventLoop();
      signal.throwIfAborted();
    }
  }
  return { digest: digest.toString('hex') };
};
