// What ECS did with the API's last release: completed, rolled back by a deployment alarm, by the
// circuit breaker, or stopped by a lifecycle hook (the release checks on test traffic). Production
// is healthy after a rollback (it serves the previous release), so a rollback PASSes, saying so;
// only a rollback that itself failed fails. The pipeline prints this line before the next release
// (health checks) and right after a deploy (deploy checks: "completed" for the release just deployed;
// a stage rollback's deploy checks see the rollback ECS already made, and pass).
import {
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
  type ECSClient,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import { describeError, fail, missing, pass, skip, type Check, type Outcome } from '../check.ts';
import { isNotFoundError } from './missing.ts';

export function evaluateRelease(deployment: ServiceDeployment | undefined): Outcome {
  if (deployment === undefined) return pass('no deployment of the API recorded yet');
  const revision = deployment.targetServiceRevision?.arn?.split('/').pop() ?? '?';
  const what = `last release (service revision ${revision})`;
  const reason = deployment.rollback?.reason ?? deployment.statusReason;
  switch (deployment.status) {
    case 'SUCCESSFUL':
      return pass(`${what} completed`);
    case 'ROLLBACK_SUCCESSFUL':
      return pass(`${what} ROLLED BACK ${rollbackCause(deployment)}${reason ? `: ${reason}` : ''}; the previous release serves`);
    case 'ROLLBACK_FAILED':
      return fail(`${what}: its rollback FAILED${reason ? `: ${reason}` : ''}`);
    default:
      return pass(`${what} is ${deployment.status ?? 'in an unknown state'}${deployment.lifecycleStage ? ` at ${deployment.lifecycleStage}` : ''}`);
  }
}

function rollbackCause(deployment: ServiceDeployment): string {
  const triggered = deployment.alarms?.triggeredAlarmNames ?? [];
  if (deployment.alarms?.status === 'TRIGGERED' || triggered.length > 0) return `by deployment alarm(s) ${triggered.join(', ') || '(unnamed)'}`;
  if (deployment.deploymentCircuitBreaker?.status === 'TRIGGERED') return 'by the circuit breaker (tasks failed to start or stay healthy)';
  const hook = deployment.lifecycleHookDetails?.find((detail) => detail.status === 'FAILED');
  if (hook) return `by the lifecycle hook ${hook.targetArn?.split(':').pop() ?? hook.hookId ?? '?'} (the release checks on test traffic)`;
  return deployment.lifecycleStage ? `at ${deployment.lifecycleStage}` : '';
}

export interface ApiReleaseCheckOptions {
  readonly client: () => ECSClient;
  readonly clusterName: string | undefined;
  readonly serviceName: string | undefined;
  /**
   * Unset cluster or service: SKIP (the deploy checks of a local run) rather than missing.
   * @default false
   */
  readonly skipWhenUnset?: boolean;
}

export function apiReleaseCheck(options: ApiReleaseCheckOptions): Check {
  const { clusterName, serviceName } = options;
  return {
    name: 'api release',
    async run() {
      if (options.skipWhenUnset && (clusterName === undefined || serviceName === undefined)) {
        return skip('CLUSTER_NAME or API_SERVICE_NAME is not set (no ECS service, e.g. a local run)');
      }
      if (clusterName === undefined) return missing('CLUSTER_NAME is not set');
      if (serviceName === undefined) return missing('API_SERVICE_NAME is not set');
      try {
        // Newest first (ECS ListServiceDeployments).
        const listed = await options.client().send(new ListServiceDeploymentsCommand({ cluster: clusterName, service: serviceName, maxResults: 1 }));
        const arn = listed.serviceDeployments?.[0]?.serviceDeploymentArn;
        if (arn === undefined) return evaluateRelease(undefined);
        const described = await options.client().send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
        return evaluateRelease(described.serviceDeployments?.[0]);
      } catch (error) {
        if (isNotFoundError(error)) return missing(`cluster ${clusterName} or service ${serviceName} not found (${describeError(error)})`);
        throw error;
      }
    },
  };
}
