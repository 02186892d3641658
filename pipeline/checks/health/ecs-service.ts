// Each ECS service of the stage runs its desired count, and no deployment failed or hangs.
import {
  DescribeServicesCommand,
  type DescribeServicesCommandOutput,
  type Deployment,
  type ECSClient,
} from '@aws-sdk/client-ecs';
import { describeError, fail, missing, pass, type Check, type Outcome } from '../check.ts';
import { isNotFoundError } from './missing.ts';

export interface ServiceExpectations {
  /** The service asked for (its name). */
  readonly serviceName: string;
  /** A rollout in progress longer than this is a failure. */
  readonly rolloutTimeoutMinutes: number;
  /** The time the response was read (rollout durations are measured against it). */
  readonly now: Date;
}

export function evaluateService(
  output: Pick<DescribeServicesCommandOutput, 'services' | 'failures'>,
  expected: ServiceExpectations,
): Outcome {
  const { serviceName } = expected;
  const service = output.services?.find((candidate) => candidate.serviceName === serviceName || candidate.serviceArn === serviceName);
  if (service === undefined) {
    const failure = output.failures?.find((candidate) => candidate.arn?.endsWith(`/${serviceName}`)) ?? output.failures?.[0];
    if (failure === undefined || failure.reason === 'MISSING') return missing(`service ${serviceName} not found`);
    return fail(`service ${serviceName}: DescribeServices failed (${failure.reason}${failure.detail ? `: ${failure.detail}` : ''})`);
  }
  // A deleted service stays describable for a while as INACTIVE.
  if (service.status === 'INACTIVE') return missing(`service ${serviceName} is INACTIVE (deleted)`);
  if (service.status !== 'ACTIVE') return fail(`service ${serviceName} is ${service.status}, expected ACTIVE`);

  const running = service.runningCount ?? 0;
  const desired = service.desiredCount ?? 0;
  const counts = `running ${running} of desired ${desired}`;
  const problems: string[] = [];
  if (running !== desired) problems.push(`${counts} (pending ${service.pendingCount ?? 0})`);
  for (const deployment of service.deployments ?? []) {
    const problem = deploymentProblem(deployment, expected);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) return fail(`service ${serviceName}: ${problems.join('; ')}`);
  return pass(`service ${serviceName}: ${counts}, ${service.deployments?.length ?? 0} deployment(s), none failed or stuck`);
}

function deploymentProblem(deployment: Deployment, expected: ServiceExpectations): string | undefined {
  const name = `deployment ${deployment.id ?? '?'} (${deployment.status ?? '?'})`;
  if (deployment.rolloutState === 'FAILED') {
    return `${name} FAILED${deployment.rolloutStateReason ? `: ${deployment.rolloutStateReason}` : ''}`;
  }
  if (deployment.rolloutState === 'IN_PROGRESS' && deployment.createdAt !== undefined) {
    const minutes = (expected.now.getTime() - deployment.createdAt.getTime()) / 60_000;
    if (minutes > expected.rolloutTimeoutMinutes) {
      return `${name} in progress for ${Math.floor(minutes)} min (more than ${expected.rolloutTimeoutMinutes} min)`;
    }
  }
  return undefined;
}

export interface EcsServiceCheckOptions {
  readonly client: () => ECSClient;
  /** The check's name in the report (`api service`, `worker service`). */
  readonly name: string;
  readonly clusterName: string | undefined;
  readonly serviceName: string | undefined;
  /** The variable that names the service, for the message when it is unset. */
  readonly serviceVariable: string;
  readonly rolloutTimeoutMinutes: number;
}

export function ecsServiceCheck(options: EcsServiceCheckOptions): Check {
  const { clusterName, serviceName } = options;
  return {
    name: options.name,
    async run() {
      if (clusterName === undefined) return missing('CLUSTER_NAME is not set');
      if (serviceName === undefined) return missing(`${options.serviceVariable} is not set`);
      try {
        const output = await options.client().send(new DescribeServicesCommand({ cluster: clusterName, services: [serviceName] }));
        return evaluateService(output, { serviceName, rolloutTimeoutMinutes: options.rolloutTimeoutMinutes, now: new Date() });
      } catch (error) {
        if (isNotFoundError(error)) return missing(`cluster ${clusterName} or service ${serviceName} not found (${describeError(error)})`);
        throw error;
      }
    },
  };
}
