// `checks health`: the pre-deployment health of every node of a running stage.
import { awsClients } from '../aws-clients.ts';
import type { Check } from '../check.ts';
import type { HealthConfig } from '../config.ts';
import { edgeHealthCheck } from '../edge-health.ts';
import { apiReleaseCheck } from './api-release.ts';
import { ecsServiceCheck } from './ecs-service.ts';
import { targetHealthCheck } from './target-health.ts';

export function healthChecks(config: HealthConfig): Check[] {
  const ecs = { client: awsClients.ecs, clusterName: config.clusterName, rolloutTimeoutMinutes: config.rolloutTimeoutMinutes };
  return [
    targetHealthCheck(awsClients.elbv2, config.apiTargetGroupArn, config.apiAlternateTargetGroupArn),
    ecsServiceCheck({ ...ecs, name: 'api service', serviceName: config.apiServiceName, serviceVariable: 'API_SERVICE_NAME' }),
    apiReleaseCheck({ client: awsClients.ecs, clusterName: config.clusterName, serviceName: config.apiServiceName }),
    ecsServiceCheck({ ...ecs, name: 'worker service', serviceName: config.workerServiceName, serviceVariable: 'WORKER_SERVICE_NAME' }),
    edgeHealthCheck(config.edgeUrl),
  ];
}
