// After a deploy the edge must not keep serving the old release: invalidate the paths it caches.
import { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand } from '@aws-sdk/client-cloudfront';
import { randomUUID } from 'node:crypto';
import { fail, pass, skip, type Check } from '../check.ts';
import { pollUntil, seconds } from '../poll.ts';

/** The cached paths (the edge-cache construct's cached behaviors) whose answer changes with a release. */
export const INVALIDATION_PATHS = ['/v1/version', '/v1/search*'] as const;

/** The two CloudFront calls the check makes (thin, so the waiting logic is tested without AWS). */
export interface InvalidationApi {
  /** Starts an invalidation of the paths and resolves with its id. */
  create(paths: readonly string[]): Promise<string>;
  /** `InProgress` or `Completed`. */
  status(invalidationId: string): Promise<string>;
}

export function cloudFrontInvalidations(client: CloudFrontClient, distributionId: string): InvalidationApi {
  return {
    async create(paths) {
      const { Invalidation } = await client.send(
        new CreateInvalidationCommand({
          DistributionId: distributionId,
          InvalidationBatch: { CallerReference: `deploy-check-${randomUUID()}`, Paths: { Quantity: paths.length, Items: [...paths] } },
        }),
      );
      if (!Invalidation?.Id) throw new Error('CreateInvalidation answered without an invalidation id');
      return Invalidation.Id;
    },
    async status(invalidationId) {
      const { Invalidation } = await client.send(new GetInvalidationCommand({ DistributionId: distributionId, Id: invalidationId }));
      return Invalidation?.Status ?? 'unknown';
    },
  };
}

export interface InvalidationCheckOptions {
  /** Undefined locally (no edge cache): the check is skipped. */
  readonly distributionId: string | undefined;
  /** Builds the API for the distribution (only called when there is one). */
  readonly api: (distributionId: string) => InvalidationApi;
  readonly budgetSeconds: number;
  /** @default 5000 */
  readonly pollIntervalMs?: number;
}

export function invalidationCheck(options: InvalidationCheckOptions): Check {
  return {
    name: 'invalidation',
    async run() {
      if (options.distributionId === undefined) return skip('DISTRIBUTION_ID is not set (no edge cache, e.g. a local run): nothing to invalidate');
      const api = options.api(options.distributionId);
      const id = await api.create(INVALIDATION_PATHS);
      const waited = await pollUntil({
        read: () => api.status(id),
        done: (status) => status === 'Completed',
        budgetMs: options.budgetSeconds * 1000,
        intervalMs: options.pollIntervalMs ?? 5_000,
      });
      const what = `invalidation ${id} of ${INVALIDATION_PATHS.join(' ')} on ${options.distributionId}`;
      return waited.done
        ? pass(`${what} completed in ${seconds(waited.elapsedMs)}`)
        : fail(`${what} still ${waited.value} after ${seconds(waited.elapsedMs)} (budget ${options.budgetSeconds} s)`);
    },
  };
}
