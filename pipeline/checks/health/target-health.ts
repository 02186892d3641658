// Every registered target of the API's load balancer target group is healthy (and there is one).
import {
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
  type ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeError, fail, missing, pass, type Check, type Outcome } from '../check.js';
import { isNotFoundError } from './missing.js';

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

export function targetHealthCheck(client: () => ElasticLoadBalancingV2Client, targetGroupArn: string | undefined): Check {
  return {
    name: 'api targets',
    async run() {
      if (targetGroupArn === undefined) return missing('API_TARGET_GROUP_ARN is not set');
      try {
        return evaluateTargetHealth(await client().send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })));
      } catch (error) {
        if (isNotFoundError(error)) return missing(`target group ${targetGroupArn} not found (${describeError(error)})`);
        throw error;
      }
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
