import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tiersTemplates } from './support/app';

let production: Template;
let staging: Template;

beforeAll(() => {
  ({ staging, production } = tiersTemplates());
});

const apiTaskDefinition = (t: Template) =>
  Object.values(t.findResources('AWS::ECS::TaskDefinition')).find((r) => r.Properties.ContainerDefinitions[0].Name === 'api')!;

describe('ApiService', () => {
  it('runs at least two tasks in production and scales between the configured bounds', () => {
    production.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: 20,
      ResourceId: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.objectLike({ 'Fn::GetAtt': [Match.stringLikeRegexp('apiid6pe9zboaService'), 'Name'] })])]) }),
    });
  });

  it('spreads tasks across availability zones', () => {
    production.hasResourceProperties('AWS::ECS::Service', { LoadBalancers: Match.anyValue(), AvailabilityZoneRebalancing: 'ENABLED' });
  });

  it('scales on CPU and on requests per target', () => {
    production.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 60 },
    });
    production.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }), TargetValue: 3000 },
    });
  });

  it('health-checks /healthz and deregisters quickly', () => {
    production.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/healthz',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    });
  });

  it('closes idle connections at the load balancer before the API does', () => {
    production.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'idle_timeout.timeout_seconds', Value: '60' }]),
    });
  });

  it('writes load balancer access logs', () => {
    production.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'access_logs.s3.enabled', Value: 'true' }]),
    });
  });

  it('rolls a bad deployment back on its 5xx and latency alarms (the canary has no circuit breaker: test/progressive-delivery.test.ts)', () => {
    production.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: Match.anyValue(),
      DeploymentConfiguration: Match.objectLike({
        Alarms: {
          Enable: true,
          Rollback: true,
          // Both target groups' alarms (test/progressive-delivery.test.ts).
          AlarmNames: Match.arrayWith(['Production-Tiers-api-id6pe9zboa-5xx-rate', 'Production-Tiers-api-id6pe9zboa-p99-latency']),
        },
      }),
    });
    production.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Production-Tiers-api-id6pe9zboa-5xx-rate',
      Threshold: 5,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: Match.stringLikeRegexp('target5xx') })]),
    });
    production.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Production-Tiers-api-id6pe9zboa-p99-latency', MetricName: 'TargetResponseTime', ExtendedStatistic: 'p99', Threshold: 1.5 });
  });

  it('runs as a non-root user on a read-only root filesystem, logging with a retention', () => {
    const [container] = apiTaskDefinition(production).Properties.ContainerDefinitions;
    expect(container.User).toBe('1000:1000');
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
  });

  it('gives the container its port, queue and release', () => {
    const [container] = apiTaskDefinition(production).Properties.ContainerDefinitions;
    const env = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
    expect(env).toMatchObject({ PORT: '8080', APP_VERSION: 'test-version' });
    expect(env.QUEUE_URL.Ref).toMatch(/^workersskbsaupQueue/);
  });

  it('may only send to the job queue, put and get job records, and read snapshots', () => {
    const taskRole = apiTaskDefinition(production).Properties.TaskRoleArn['Fn::GetAtt'][0];
    const policies = Object.values(production.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(taskRole));
    expect(policies).toHaveLength(1);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    expect(statements.map((s: { Action: unknown }) => s.Action)).toEqual([
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      ['dynamodb:GetItem', 'dynamodb:PutItem'],
      's3:ListBucket',
      's3:GetObject',
    ]);
    // It may list only the pointer's key (to tell a missing pointer from a denied read).
    expect(statements[2].Condition).toEqual({ StringLike: { 's3:prefix': ['snapshots/current.json'] } });
    expect(statements[0].Resource['Fn::GetAtt'][0]).toMatch(/^workersskbsaupQueue/);
    expect(JSON.stringify(statements[1].Resource)).toMatch(/JobsTable/);
    expect(JSON.stringify(statements[3].Resource)).toMatch(/DataBucket.*\/snapshots\/\*/);
  });

  it('turns on Container Insights for the cluster', () => {
    staging.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });
});
