// "Missing" (the resource does not exist) versus "unhealthy": the first release has no production
// stage yet, and `health --allow-missing` must then pass, without hiding a half-deleted stage.
import type { CheckResult } from '../check.ts';

/** The SDK errors that mean "no such resource" (not "no permission", not "throttled"). */
export const NOT_FOUND_ERRORS: ReadonlySet<string> = new Set([
  'ClusterNotFoundException', // ECS DescribeServices: the cluster does not exist
  'ServiceNotFoundException', // ECS: the service does not exist
  'TargetGroupNotFoundException', // ELBv2 DescribeTargetHealth: the target group does not exist
]);

export function isNotFoundError(error: unknown): boolean {
  return error instanceof Error && NOT_FOUND_ERRORS.has(error.name);
}

/**
 * With allowMissing, a stage of which nothing exists is reported SKIP (nothing to check before the
 * first deploy). A stage of which some parts exist and others are missing is broken: those stay
 * FAIL. Without allowMissing a missing part is always FAIL.
 */
export function applyAllowMissing(results: readonly CheckResult[], allowMissing: boolean): CheckResult[] {
  const nothingExists = results.length > 0 && results.every((result) => result.missing);
  return results.map((result) => {
    if (!result.missing) return result;
    if (!allowMissing) return result;
    if (nothingExists) return { ...result, status: 'SKIP', detail: `${result.detail} (stage not deployed yet, allowed by --allow-missing)` };
    return { ...result, detail: `${result.detail} (other parts of the stage exist, so --allow-missing does not apply)` };
  });
}
