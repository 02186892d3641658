// "Cached data updates correctly": a query already cached at the edge shows a record added after it
// was cached, within the freshness budget. The check primes the edge with a query for a fresh probe
// id, adds a probe record matching it (under raw/_probe/: indexed by its id only, so no user query
// ever shows it), runs the data pipeline on demand, and reads the same query through the edge until
// the record appears. The probe is removed afterwards and the pipeline run again to drop it.
import { randomBytes } from 'node:crypto';
import { describeError, fail, pass, skip, type Check } from '../check.ts';
import { request } from '../http.ts';
import { pollUntil, seconds } from '../poll.ts';

/** Where probe records go and how the pipeline is started: S3 and SQS on AWS, the emulators locally. */
export interface FreshnessActions {
  putProbe(key: string, body: string): Promise<void>;
  deleteProbe(key: string): Promise<void>;
  /** Puts a rebuild-dataset job on the queue (what the schedule does); resolves with its id. */
  runPipeline(reason: string): Promise<string>;
}

export interface FreshnessCheckOptions {
  readonly edgeUrl: string;
  /** Unset: SKIP (the stage has no data bucket output wired). */
  readonly dataBucket: string | undefined;
  readonly budgetSeconds: number;
  readonly actions: () => FreshnessActions;
  /** @default 2000 */
  readonly pollIntervalMs?: number;
}

export const PROBE_PREFIX = 'raw/_probe/';

interface SearchAnswer {
  readonly total: number;
  readonly results: ReadonlyArray<{ readonly id: string }>;
}

export function freshnessCheck(options: FreshnessCheckOptions): Check {
  return {
    name: 'data freshness',
    async run() {
      if (!options.dataBucket) return skip('DATA_BUCKET is not set: no probe record can be added');
      const actions = options.actions();
      // Letters and digits only: the search tokenizer keeps it one term.
      const probeId = `probe${randomBytes(8).toString('hex')}`;
      const key = `${PROBE_PREFIX}${probeId}.json`;
      const url = `${options.edgeUrl}/v1/search?q=${probeId}`;
      const read = async (): Promise<SearchAnswer | string> => {
        const answer = await request(url);
        return answer.status === 200 ? (JSON.parse(answer.body) as SearchAnswer) : `GET ${url} → ${answer.status}`;
      };

      const primed = await read();
      if (typeof primed === 'string') return fail(primed);
      if (primed.total !== 0) return fail(`the fresh probe query ${probeId} already matches ${primed.total} record(s)`);
      let added = false;
      try {
        await actions.putProbe(key, JSON.stringify([probeRecord(probeId)]));
        added = true;
        const addedAt = performance.now();
        const jobId = await actions.runPipeline('deploy check');
        const polled = await pollUntil({
          read,
          done: (answer) => typeof answer !== 'string' && answer.results.some((record) => record.id === probeId),
          budgetMs: options.budgetSeconds * 1000,
          intervalMs: options.pollIntervalMs ?? 2_000,
        });
        const took = seconds(performance.now() - addedAt);
        if (!polled.done) {
          const last = typeof polled.value === 'string' ? polled.value : `${polled.value.total} result(s)`;
          return fail(
            `probe ${probeId} added and pipeline run ${jobId} started, but the edge still answered without it after ${took} (${polled.reads} reads; budget ${options.budgetSeconds} s; last: ${last})`,
          );
        }
        return pass(`probe ${probeId} visible through the edge ${took} after it was added (pipeline run ${jobId}; ${polled.reads} reads; budget ${options.budgetSeconds} s)`);
      } catch (error) {
        return fail(`could not add the probe or run the pipeline: ${describeError(error)}`);
      } finally {
        if (added) {
          // Best effort: the next scheduled run drops the probe even if this cleanup fails.
          await actions.deleteProbe(key).catch(() => undefined);
          await actions.runPipeline('deploy check cleanup').catch(() => undefined);
        }
      }
    },
  };
}

function probeRecord(id: string) {
  return {
    id,
    name: 'deploy check probe',
    category: 'probe',
    region: 'none',
    year: new Date().getUTCFullYear(),
    tags: ['probe'],
    description: 'Added and removed by the release pipeline’s freshness check; found by its id only.',
  };
}
