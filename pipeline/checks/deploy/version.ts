// Cached data updates correctly: /v1/version read through the edge is the release just deployed.
import { describeError, fail, pass, type Check } from '../check.ts';
import { request } from '../http.ts';
import { pollUntil, seconds } from '../poll.ts';

export interface VersionCheckOptions {
  readonly edgeUrl: string;
  readonly expectedVersion: string;
  /** Reads are retried (the edge's copy lives max-age 5 s) until this budget is spent. */
  readonly budgetSeconds: number;
  /** @default 2000 */
  readonly pollIntervalMs?: number;
}

/** What one read of /v1/version showed: the version, or why there is none. */
export type VersionRead = { readonly version: string } | { readonly problem: string };

export function versionCheck(options: VersionCheckOptions): Check {
  const url = `${options.edgeUrl}/v1/version`;
  return {
    name: 'version',
    async run() {
      const polled = await pollUntil({
        read: () => readVersion(url),
        done: (read) => 'version' in read && read.version === options.expectedVersion,
        budgetMs: options.budgetSeconds * 1000,
        intervalMs: options.pollIntervalMs ?? 2_000,
      });
      const reads = `${polled.reads} read(s) in ${seconds(polled.elapsedMs)}`;
      if (polled.done) return pass(`GET ${url} serves "${options.expectedVersion}" (${reads})`);
      const seen = 'version' in polled.value ? `serves version "${polled.value.version}"` : polled.value.problem;
      return fail(`GET ${url} ${seen}, expected "${options.expectedVersion}": stale after ${reads} (budget ${options.budgetSeconds} s)`);
    },
  };
}

export async function readVersion(url: string): Promise<VersionRead> {
  try {
    const answer = await request(url);
    if (answer.status !== 200) return { problem: `answered ${answer.status}` };
    const body: unknown = JSON.parse(answer.body);
    const version = (body as { version?: unknown } | null)?.version;
    return typeof version === 'string' ? { version } : { problem: `answered without a "version" string: ${answer.body.slice(0, 200)}` };
  } catch (error) {
    return { problem: `failed (${describeError(error)})` };
  }
}
