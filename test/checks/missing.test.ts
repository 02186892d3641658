import { ClusterNotFoundException, ServiceNotFoundException } from '@aws-sdk/client-ecs';
import { TargetGroupNotFoundException } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../pipeline/checks/check';
import { applyAllowMissing, isNotFoundError } from '../../pipeline/checks/health/missing';

const $metadata = { httpStatusCode: 400 };

describe('isNotFoundError', () => {
  it('recognises the SDK errors for a cluster, service or target group that does not exist', () => {
    expect(isNotFoundError(new ClusterNotFoundException({ message: 'Cluster not found.', $metadata }))).toBe(true);
    expect(isNotFoundError(new ServiceNotFoundException({ message: 'Service not found.', $metadata }))).toBe(true);
    expect(isNotFoundError(new TargetGroupNotFoundException({ message: 'One or more target groups not found', $metadata }))).toBe(true);
  });

  it('does not take a permission or network error for a missing stage', () => {
    expect(isNotFoundError(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }))).toBe(false);
    expect(isNotFoundError(new Error('getaddrinfo ENOTFOUND ecs.eu-west-1.amazonaws.com'))).toBe(false);
    expect(isNotFoundError('ClusterNotFoundException')).toBe(false);
  });
});

describe('applyAllowMissing', () => {
  const missingResult = (name: string): CheckResult => ({ name, status: 'FAIL', detail: `${name} not found`, missing: true });
  const passed: CheckResult = { name: 'edge health', status: 'PASS', detail: 'GET /healthz → 200' };

  it('turns a stage of which nothing exists into SKIPs (the first release)', () => {
    const results = applyAllowMissing([missingResult('api targets'), missingResult('api service'), missingResult('edge health')], true);
    expect(results.map((result) => result.status)).toEqual(['SKIP', 'SKIP', 'SKIP']);
    expect(results[0]!.detail).toBe('api targets not found (stage not deployed yet, allowed by --allow-missing)');
  });

  it('keeps a missing part FAIL when other parts of the stage exist', () => {
    const results = applyAllowMissing([missingResult('worker service'), passed], true);
    expect(results[0]).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('other parts of the stage exist') });
    expect(results[1]).toEqual(passed);
  });

  it('keeps every missing part FAIL without --allow-missing', () => {
    const results = applyAllowMissing([missingResult('api targets'), missingResult('api service')], false);
    expect(results.map((result) => [result.status, result.detail])).toEqual([
      ['FAIL', 'api targets not found'],
      ['FAIL', 'api service not found'],
    ]);
  });
});
