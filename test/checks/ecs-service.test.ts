import { ClusterNotFoundException, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { ecsServiceCheck, evaluateService } from '../../pipeline/checks/health/ecs-service';

const NOW = new Date('2026-11-27T10:00:00Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
const expectations = { serviceName: 'api-id6pe9zboa', rolloutTimeoutMinutes: 30, now: NOW };

// As DescribeServices answers for a Fargate service with the deployment circuit breaker.
function service(overrides: Partial<Service> = {}): Service {
  return {
    serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/production-cluster/api-id6pe9zboa',
    serviceName: 'api-id6pe9zboa',
    clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/production-cluster',
    status: 'ACTIVE',
    desiredCount: 2,
    runningCount: 2,
    pendingCount: 0,
    launchType: 'FARGATE',
    deployments: [
      {
        id: 'ecs-svc/4875211871836958221',
        status: 'PRIMARY',
        taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/api:42',
        desiredCount: 2,
        runningCount: 2,
        pendingCount: 0,
        failedTasks: 0,
        createdAt: minutesAgo(120),
        updatedAt: minutesAgo(110),
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment ecs-svc/4875211871836958221 completed.',
      },
    ],
    ...overrides,
  };
}

describe('evaluateService', () => {
  it('passes a service running its desired count with its rollout completed', () => {
    expect(evaluateService({ services: [service()], failures: [] }, expectations)).toEqual({
      status: 'PASS',
      detail: 'service api-id6pe9zboa: running 2 of desired 2, 1 deployment(s), none failed or stuck',
    });
  });

  it('fails naming the service when fewer tasks run than desired', () => {
    const outcome = evaluateService({ services: [service({ runningCount: 1, pendingCount: 1 })] }, expectations);
    expect(outcome).toEqual({ status: 'FAIL', detail: 'service api-id6pe9zboa: running 1 of desired 2 (pending 1)' });
  });

  it('fails on a deployment the circuit breaker marked FAILED, with its reason', () => {
    const failed = service({
      deployments: [
        { ...service().deployments![0]!, id: 'ecs-svc/111', status: 'PRIMARY', rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.' },
        { ...service().deployments![0]!, id: 'ecs-svc/000', status: 'ACTIVE' },
      ],
    });
    expect(evaluateService({ services: [failed] }, expectations).detail).toBe(
      'service api-id6pe9zboa: deployment ecs-svc/111 (PRIMARY) FAILED: ECS deployment circuit breaker: tasks failed to start.',
    );
  });

  it('fails on a rollout in progress longer than the timeout, and accepts a recent one', () => {
    const rollout = (minutes: number) =>
      service({ deployments: [{ ...service().deployments![0]!, id: 'ecs-svc/222', rolloutState: 'IN_PROGRESS', createdAt: minutesAgo(minutes) }] });
    expect(evaluateService({ services: [rollout(45)] }, expectations)).toEqual({
      status: 'FAIL',
      detail: 'service api-id6pe9zboa: deployment ecs-svc/222 (PRIMARY) in progress for 45 min (more than 30 min)',
    });
    expect(evaluateService({ services: [rollout(5)] }, expectations).status).toBe('PASS');
  });

  it('reports a service DescribeServices does not know (failure MISSING) or a deleted (INACTIVE) one as missing', () => {
    const failures = [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:service/production-cluster/api-id6pe9zboa', reason: 'MISSING' }];
    expect(evaluateService({ services: [], failures }, expectations)).toEqual({ status: 'FAIL', missing: true, detail: 'service api-id6pe9zboa not found' });
    expect(evaluateService({ services: [service({ status: 'INACTIVE', desiredCount: 0, runningCount: 0 })] }, expectations)).toMatchObject({ missing: true });
  });

  it('fails (not missing) on a service being deleted or another DescribeServices failure', () => {
    expect(evaluateService({ services: [service({ status: 'DRAINING' })] }, expectations)).toEqual({
      status: 'FAIL',
      detail: 'service api-id6pe9zboa is DRAINING, expected ACTIVE',
    });
    const outcome = evaluateService({ failures: [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:service/production-cluster/api-id6pe9zboa', reason: 'AccessDenied' }] }, expectations);
    expect(outcome).toEqual({ status: 'FAIL', detail: 'service api-id6pe9zboa: DescribeServices failed (AccessDenied)' });
  });
});

describe('ecsServiceCheck', () => {
  const options = { name: 'api service', clusterName: 'production-cluster', serviceName: 'api-id6pe9zboa', serviceVariable: 'API_SERVICE_NAME', rolloutTimeoutMinutes: 30 };
  const clientThat = (send: (command: { input: unknown }) => Promise<unknown>) => () => ({ send }) as unknown as ECSClient;

  it('asks DescribeServices for the service in the cluster and evaluates the answer', async () => {
    const inputs: unknown[] = [];
    const client = clientThat(async (command) => {
      inputs.push(command.input);
      return { services: [service({ runningCount: 0 })], failures: [] };
    });
    const outcome = await ecsServiceCheck({ ...options, client }).run();
    expect(inputs).toEqual([{ cluster: 'production-cluster', services: ['api-id6pe9zboa'] }]);
    expect(outcome).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('running 0 of desired 2') });
  });

  it('reports a cluster that does not exist as missing', async () => {
    const notFound = new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: { httpStatusCode: 400 } });
    const outcome = await ecsServiceCheck({ ...options, client: clientThat(() => Promise.reject(notFound)) }).run();
    expect(outcome).toMatchObject({ status: 'FAIL', missing: true, detail: expect.stringContaining('ClusterNotFoundException') });
  });

  it('is missing when its variables are unset (health --allow-missing)', async () => {
    const client = clientThat(() => Promise.reject(new Error('must not be called')));
    expect(await ecsServiceCheck({ ...options, client, clusterName: undefined }).run()).toEqual({ status: 'FAIL', missing: true, detail: 'CLUSTER_NAME is not set' });
    expect(await ecsServiceCheck({ ...options, client, serviceName: undefined }).run()).toEqual({ status: 'FAIL', missing: true, detail: 'API_SERVICE_NAME is not set' });
  });
});
