// Background jobs run without delay: a job posted through the edge is processed (the queue drains
// within the budget) and does not fail (the dead-letter queue gains nothing).
import { fail, pass, type Check } from '../check.ts';
import { request } from '../http.ts';
import { pollUntil, seconds } from '../poll.ts';
import { describeDepth, total, type QueueDepthReader } from './queue-depth.ts';

/** The cheapest real job: one SHA-256 round. */
export function testJob(now = new Date()) {
  return { type: 'checksum', payload: { data: `deploy-check ${now.toISOString()}`, rounds: 1 } } as const;
}

/** Empty on this many reads in a row: one zero of an approximate counter is not yet proof. */
export const EMPTY_READS_REQUIRED = 2;

export interface JobsCheckOptions {
  readonly edgeUrl: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly budgetSeconds: number;
  readonly queueDepth: () => QueueDepthReader;
  /**
   * Bearer token of POST /v1/jobs (writes are authenticated: a JWT of the stage's OIDC issuer).
   * @default none (a local stack without API_TOKENS)
   */
  readonly apiToken?: string;
  /**
   * Gets the bearer token of a stage's write (a client-credentials grant at its OIDC issuer). With
   * it, the check first requires an anonymous POST to be refused (401), then posts its job with
   * the token: one authenticated write through the edge, as a user makes it.
   * @default undefined (post with apiToken, or none)
   */
  readonly token?: () => Promise<string>;
  /** @default 1000 */
  readonly pollIntervalMs?: number;
}

export function jobsCheck(options: JobsCheckOptions): Check {
  return {
    name: 'jobs',
    async run() {
      const queueDepth = options.queueDepth();
      const dlqBefore = total(await queueDepth(options.dlqUrl));

      const url = `${options.edgeUrl}/v1/jobs`;
      const post = (token?: string) => request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify(testJob()),
      });
      let token = options.apiToken;
      if (options.token) {
        const anonymous = await post();
        if (anonymous.status !== 401) return fail(`POST ${url} without a token → ${anonymous.status}, expected 401: writes must be authenticated`);
        try {
          token = await options.token();
        } catch (error) {
          return fail(`no token for the authenticated write: ${(error as Error).message}`);
        }
      }
      const posted = await post(token);
      if (posted.status !== 202) return fail(`POST ${url}${options.token ? ' with a token of the issuer' : ''} → ${posted.status}, expected 202: ${posted.body.slice(0, 200)}`);
      const jobId = (JSON.parse(posted.body) as { id?: unknown }).id;

      const postedAt = performance.now();
      let emptyReads = 0;
      let emptySinceMs = 0;
      const drained = await pollUntil({
        read: async () => {
          const depth = await queueDepth(options.queueUrl);
          if (total(depth) > 0) emptyReads = 0;
          else if (++emptyReads === 1) emptySinceMs = performance.now() - postedAt;
          return depth;
        },
        done: () => emptyReads >= EMPTY_READS_REQUIRED,
        budgetMs: options.budgetSeconds * 1000,
        intervalMs: options.pollIntervalMs ?? 1_000,
      });
      const job = `job ${String(jobId)}`;
      if (!drained.done) {
        return fail(
          `${job} posted, but the queue did not drain within ${options.budgetSeconds} s: ${describeDepth(drained.value)} (are the workers running?)`,
        );
      }

      const dlqAfter = total(await queueDepth(options.dlqUrl));
      if (dlqAfter > dlqBefore) return fail(`${job} processed, but the DLQ grew from ${dlqBefore} to ${dlqAfter} message(s): a job failed`);
      const how = options.token ? 'posted with a token of the issuer (anonymous POST refused with 401)' : 'posted';
      return pass(`${job} ${how}; queue empty after ${seconds(emptySinceMs)} (${EMPTY_READS_REQUIRED} reads in a row); DLQ unchanged at ${dlqAfter}`);
    },
  };
}
