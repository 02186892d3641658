// `checks health` as a real process: its real ECS/ELBv2 SDK calls go to a local fake of those APIs
// (test/checks/fake-aws.ts), which also stands in for the edge's /healthz.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeAws, type FakeAws, type WireService } from './fake-aws';
import { runChecksCli } from './run-cli';

const TARGET_GROUP_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-id6pe9zboa/73e2d6bc24d8a067';

let aws: FakeAws;
let stageEnv: Record<string, string>;

const service = (serviceName: string, runningCount = 2): WireService => ({
  serviceName,
  status: 'ACTIVE',
  desiredCount: 2,
  runningCount,
  pendingCount: 2 - runningCount,
  deployments: [{ id: `ecs-svc/${serviceName}`, status: 'PRIMARY', rolloutState: 'COMPLETED', createdAt: Date.now() / 1000 - 3600 }],
});

beforeAll(async () => {
  aws = await startFakeAws();
  stageEnv = {
    ...aws.sdkEnv,
    EDGE_URL: aws.url,
    CLUSTER_NAME: 'production-cluster',
    API_SERVICE_NAME: 'api-id6pe9zboa',
    WORKER_SERVICE_NAME: 'worker-sskbsaup',
    API_TARGET_GROUP_ARN: TARGET_GROUP_ARN,
  };
});
beforeEach(() => {
  aws.calls.length = 0;
  aws.state.stackOutputs = undefined;
  aws.state.serviceDeployments = [];
  aws.state.cluster = { services: [service('api-id6pe9zboa'), service('worker-sskbsaup')] };
  aws.state.targets = [
    { id: '10.0.1.23', state: 'healthy' },
    { id: '10.0.2.41', state: 'healthy' },
  ];
});
afterAll(async () => {
  await aws?.stop();
});

describe('checks health', () => {
  it('passes a healthy stage, asking ELBv2 and ECS about exactly its resources', async () => {
    const run = await runChecksCli(['health'], stageEnv);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('api targets')).toBe('PASS  api targets     2 of 2 target(s) healthy: 10.0.1.23:8080, 10.0.2.41:8080');
    expect(run.line('api service')).toMatch(/^PASS .*api-id6pe9zboa: running 2 of desired 2/);
    expect(run.line('worker service')).toMatch(/^PASS .*worker-sskbsaup: running 2 of desired 2/);
    expect(run.line('edge health')).toMatch(/^PASS .*\/healthz → 200/);
    expect(run.line('api release')).toMatch(/^PASS .*no deployment of the API recorded yet/);
    expect(aws.calls.map((call) => call.operation).sort()).toEqual([
      'ecs:DescribeServices',
      'ecs:DescribeServices',
      'ecs:ListServiceDeployments',
      'elasticloadbalancing:DescribeTargetHealth',
    ]);
    expect(new URLSearchParams(aws.calls.find((call) => call.operation.startsWith('elasticloadbalancing'))!.body).get('TargetGroupArn')).toBe(TARGET_GROUP_ARN);
  });

  it('tells what ECS did with the last API release: rolled back by an alarm (production healthy: PASS), a failed rollback (FAIL)', async () => {
    const arn = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/production-cluster/api-id6pe9zboa/abc';
    aws.state.serviceDeployments = [
      {
        serviceDeploymentArn: arn,
        status: 'ROLLBACK_SUCCESSFUL',
        targetServiceRevision: { arn: 'arn:aws:ecs:eu-west-1:123456789012:service-revision/production-cluster/api-id6pe9zboa/42' },
        alarms: { status: 'TRIGGERED', alarmNames: ['a', 'b'], triggeredAlarmNames: ['Production-Tiers-api-id6pe9zboa-alternate-5xx-rate'] },
        rollback: { reason: 'Deployment alarm triggered' },
      },
    ];
    const rolledBack = await runChecksCli(['health'], stageEnv);
    expect(rolledBack.code, rolledBack.stdout + rolledBack.stderr).toBe(0);
    expect(rolledBack.line('api release')).toBe(
      'PASS  api release     last release (service revision 42) ROLLED BACK by deployment alarm(s) Production-Tiers-api-id6pe9zboa-alternate-5xx-rate: Deployment alarm triggered; the previous release serves',
    );
    expect(JSON.parse(aws.calls.find((call) => call.operation === 'ecs:DescribeServiceDeployments')!.body)).toEqual({ serviceDeploymentArns: [arn] });

    aws.state.serviceDeployments = [{ serviceDeploymentArn: arn, status: 'ROLLBACK_FAILED', statusReason: 'tasks failed to start' }];
    const failed = await runChecksCli(['health'], stageEnv);
    expect(failed.code).toBe(1);
    expect(failed.line('api release')).toMatch(/^FAIL .*its rollback FAILED: tasks failed to start/);
  });

  it('fails naming the unhealthy target and the service short of its desired count', async () => {
    aws.state.targets = [
      { id: '10.0.1.23', state: 'healthy' },
      { id: '10.0.2.41', state: 'unhealthy', reason: 'Target.FailedHealthChecks' },
    ];
    aws.state.cluster = { services: [service('api-id6pe9zboa'), service('worker-sskbsaup', 1)] };
    const run = await runChecksCli(['health'], stageEnv);

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('api targets')).toMatch(/^FAIL .*10\.0\.2\.41:8080 unhealthy \(Target\.FailedHealthChecks\)/);
    expect(run.line('worker service')).toMatch(/^FAIL .*worker-sskbsaup: running 1 of desired 2/);
    expect(run.line('api service')).toMatch(/^PASS /);
  });

  describe('a production stage that does not exist yet (first release)', () => {
    beforeEach(() => {
      aws.state.cluster = undefined; // ClusterNotFoundException
      aws.state.targets = undefined; // TargetGroupNotFound
    });
    // The pipeline looks the stage's outputs up; a stack that does not exist has none, so EDGE_URL is unset.
    const firstReleaseEnv = () => ({ ...stageEnv, EDGE_URL: '' });

    it('is SKIP with --allow-missing', async () => {
      const run = await runChecksCli(['health', '--allow-missing'], firstReleaseEnv());

      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.line('api targets')).toMatch(/^SKIP .*not found .*TargetGroupNotFoundException.*stage not deployed yet/);
      expect(run.line('api service')).toMatch(/^SKIP .*ClusterNotFoundException/);
      expect(run.line('worker service')).toMatch(/^SKIP /);
      expect(run.line('edge health')).toMatch(/^SKIP .*EDGE_URL is not set/);
    });

    it('is FAIL without --allow-missing (and an unset EDGE_URL is bad usage)', async () => {
      const run = await runChecksCli(['health'], { ...firstReleaseEnv(), EDGE_URL: aws.url });
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.line('api service')).toMatch(/^FAIL .*ClusterNotFoundException/);

      const unset = await runChecksCli(['health'], firstReleaseEnv());
      expect(unset.code).toBe(2);
      expect(unset.stderr).toMatch(/EDGE_URL is required/);
    });
  });

  it('does not let --allow-missing hide a missing service of a stage that otherwise exists', async () => {
    aws.state.cluster = { services: [service('api-id6pe9zboa')] }; // the worker service is gone
    const run = await runChecksCli(['health', '--allow-missing'], stageEnv);

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('worker service')).toMatch(/^FAIL .*service worker-sskbsaup not found .*other parts of the stage exist/);
    expect(run.line('api service')).toMatch(/^PASS /);
  });

  describe('--stack: the variables from the stage stack\'s outputs', () => {
    const sdkOnly = () => ({ ...aws.sdkEnv });

    it('reads the endpoints of a deployed stage from CloudFormation', async () => {
      aws.state.stackOutputs = {
        EdgeUrl: aws.url,
        ClusterName: 'production-cluster',
        ApiServiceName: 'api-id6pe9zboa',
        WorkerServiceName: 'worker-sskbsaup',
        ApiTargetGroupArn: TARGET_GROUP_ARN,
      };
      const run = await runChecksCli(['health', '--stack', 'Production-Tiers', '--allow-missing'], sdkOnly());

      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.line('api targets')).toMatch(/^PASS /);
      expect(run.line('worker service')).toMatch(/^PASS .*worker-sskbsaup/);
      expect(new URLSearchParams(aws.calls.find((c) => c.operation === 'cloudformation:DescribeStacks')!.body).get('StackName')).toBe('Production-Tiers');
    });

    it('reports a stack that does not exist yet as SKIP with --allow-missing, without asking ECS or ELBv2', async () => {
      const run = await runChecksCli(['health', '--stack', 'Production-Tiers', '--allow-missing'], sdkOnly());

      expect(run.code, run.stdout + run.stderr).toBe(0);
      for (const check of ['api targets', 'api service', 'worker service', 'edge health']) expect(run.line(check)).toMatch(/^SKIP /);
      expect(aws.calls.map((c) => c.operation)).toEqual(['cloudformation:DescribeStacks']);
    });

    it('lets a flag win over the stack\'s output', async () => {
      aws.state.stackOutputs = { EdgeUrl: 'http://127.0.0.1:9/unreachable', ClusterName: 'production-cluster', ApiServiceName: 'api-id6pe9zboa', WorkerServiceName: 'worker-sskbsaup', ApiTargetGroupArn: TARGET_GROUP_ARN };
      const run = await runChecksCli(['health', '--stack', 'Production-Tiers', '--edge-url', aws.url], sdkOnly());
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.line('edge health')).toMatch(/^PASS /);
    });
  });
});
