import { describe, expect, it } from 'vitest';
import { INVALIDATION_PATHS, invalidationCheck, type InvalidationApi } from '../../pipeline/checks/deploy/invalidation';

/** A CloudFront stand-in: records the paths invalidated, answers the given statuses in turn. */
function fakeCloudFront(statuses: string[]) {
  const calls: { distributionId: string; paths: readonly string[] }[] = [];
  const api = (distributionId: string): InvalidationApi => ({
    async create(paths) {
      calls.push({ distributionId, paths });
      return 'I2J0I21PCUYOIK';
    },
    async status() {
      return statuses.length > 1 ? statuses.shift()! : statuses[0]!;
    },
  });
  return { api, calls };
}

describe('invalidationCheck', () => {
  it('invalidates /v1/version and /v1/search* and passes once CloudFront reports the invalidation Completed', async () => {
    const cloudFront = fakeCloudFront(['InProgress', 'InProgress', 'Completed']);
    const outcome = await invalidationCheck({ distributionId: 'E2QWRUHAPOMQZL', api: cloudFront.api, budgetSeconds: 5, pollIntervalMs: 1 }).run();

    expect(cloudFront.calls).toEqual([{ distributionId: 'E2QWRUHAPOMQZL', paths: ['/v1/version', '/v1/search*'] }]);
    expect(INVALIDATION_PATHS).toEqual(['/v1/version', '/v1/search*']);
    expect(outcome).toMatchObject({ status: 'PASS', detail: expect.stringMatching(/^invalidation I2J0I21PCUYOIK of \/v1\/version \/v1\/search\* on E2QWRUHAPOMQZL completed in /) });
  });

  it('fails when the invalidation is still in progress when the budget is spent', async () => {
    const cloudFront = fakeCloudFront(['InProgress']);
    const outcome = await invalidationCheck({ distributionId: 'E2QWRUHAPOMQZL', api: cloudFront.api, budgetSeconds: 0.05, pollIntervalMs: 10 }).run();

    expect(outcome).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/still InProgress after .* \(budget 0.05 s\)$/) });
  });

  it('is skipped without a distribution (a local run), without calling CloudFront', async () => {
    const cloudFront = fakeCloudFront(['Completed']);
    const outcome = await invalidationCheck({ distributionId: undefined, api: cloudFront.api, budgetSeconds: 5 }).run();

    expect(outcome).toMatchObject({ status: 'SKIP', detail: expect.stringContaining('DISTRIBUTION_ID is not set') });
    expect(cloudFront.calls).toEqual([]);
  });
});
