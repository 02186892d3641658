// Every registered target of the API's load balancer target group is healthy (and there is one).
import {
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
  type ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeError, fail, missing, pass, type Check, type Outcome } from '../check.ts';
import { isNotFoundError } from './missing.ts';

/** Draining targets are being deregistered (a scale-in or the end of a rollout): they serve no new requests. */
const IGNORED_STATES: ReadonlySet<string> = new Set(['draining']);

export function evaluateTargetHealth(output: Pick<DescribeTargetHealthCommandOutput, 'TargetHealthDescriptions'>): Outcome {
  const targets = (output.TargetHealthDescriptions ?? []).filter((target) => !IGNORED_STATES.has(state(target)));
  const ignored = (output.TargetHealthDescriptions?.length ?? 0) - targets.length;
  const ignoredNote = ignored > 0 ? `; ${ignored} draining target(s) ignored` : '';
  if (targets.length === 0) return fail(`no registered targets${ignoredNote}`);
  const unhealthy = targets.filter((target) => state(target) !== 'healthy');
  if (unhealthy.length > 0) {
    return fail(`${unhealthy.length} of ${targets.length} target(s) not healthy: ${unhealthy.map(describeTarget).join('; ')}${ignoredNote}`);
  }
  return pass(`${targets.length} of ${targets.length} target(s) healthy: ${targets.map(targetId).join(', ')}${ignoredNote}`);
}

/**
 * With blue/green, canary or linear deployments the API has two target groups, and which one holds
 * the tasks alternates from release to release (ECS moves them): the targets of both count, and
 * one group being empty is normal.
 */
export function targetHealthCheck(
  client: () => ElasticLoadBalancingV2Client,
  targetGroupArn: string | undefined,
  alternateTargetGroupArn?: string,
): Check {
  return {
    name: 'api targets',
    async run() {
      if (targetGroupArn === undefined) return missing('API_TARGET_GROUP_ARN is not set');
      const arns = [targetGroupArn, ...(alternateTargetGroupArn ? [alternateTargetGroupArn] : [])];
      const descriptions: TargetHealthDescription[] = [];
      for (const arn of arns) {
        try {
          const output = await client().send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
          descriptions.push(...(output.TargetHealthDescriptions ?? []));
        } catch (error) {
          if (isNotFoundError(error)) return missing(`target group ${arn} not found (${describeError(error)})`);
          throw error;
        }
      }
      const outcome = evaluateTargetHealth({ TargetHealthDescriptions: descriptions });
      return arns.length > 1 ? { ...outcome, detail: `${outcome.detail} (both target groups)` } : outcome;
    },
  };
}

function state(target: TargetHealthDescription): string {
  return target.TargetHealth?.State ?? 'unknown';
}

function targetId(target: TargetHealthDescription): string {
  const id = target.Target?.Id ?? '?';
  return target.Target?.Port === undefined ? id : `${id}:${target.Target.Port}`;
}

function describeTarget(target: TargetHealthDescription): string {
  const why = [target.TargetHealth?.Reason, target.TargetHealth?.Description].filter(Boolean).join(': ');
  return `${targetId(target)} ${state(target)}${why ? ` (${why})` : ''}`;
}
