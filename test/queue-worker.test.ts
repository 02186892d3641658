import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { QueueWorker } from '../constructs/queue-worker';
import { tiersTemplates } from './support/app';

let staging: Template;
let production: Template;

beforeAll(() => {
  ({ staging, production } = tiersTemplates());
});

const workerContainer = (t: Template) =>
  Object.values(t.findResources('AWS::ECS::TaskDefinition'))
    .map((r) => r.Properties.ContainerDefinitions[0])
    .find((c) => c.Name === 'worker')!;

describe('QueueWorker', () => {
  it('encrypts both queues, derives the visibility timeout from the job timeout, redrives to the DLQ', () => {
    production.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 120,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] }, maxReceiveCount: 3 },
    });
    production.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('refuses non-TLS access to both queues', () => {
    const policies = Object.values(production.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(
        expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      );
    }
  });

  it('scales on backlog per task with metric math that never divides by zero tasks', () => {
    const [policy] = Object.values(production.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', { Properties: { PolicyType: 'TargetTrackingScaling', PolicyName: Match.stringLikeRegexp('backlog-per-task') } }));
    const config = policy.Properties.TargetTrackingScalingPolicyConfiguration;
    expect(config.TargetValue).toBe(20);
    const metrics = config.CustomizedMetricSpecification.Metrics;
    expect(metrics.find((m: any) => m.Id === 'visible').MetricStat.Metric.MetricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(metrics.find((m: any) => m.Id === 'running').MetricStat.Metric.MetricName).toBe('RunningTaskCount');
    const expression = metrics.find((m: any) => m.ReturnData).Expression;
    expect(expression).toBe('IF(FILL(running, 0) > 0, visible / FILL(running, 0), visible)');
  });

  it('scales staging to zero and starts the first task when jobs arrive', () => {
    staging.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0 });
    staging.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: { AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] },
    });
    staging.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(FILL(desired, 0) == 0 AND FILL(visible, 0) > 0, 1, 0)' })]),
    });
  });

  it('gives in-flight jobs the longest stop timeout Fargate allows, and the worker its configuration', () => {
    const container = workerContainer(production);
    expect(container.StopTimeout).toBe(120);
    expect(container.User).toBe('1000:1000');
    expect(container.ReadonlyRootFilesystem).toBe(true);
    const names = container.Environment.map((e: { Name: string }) => e.Name).sort();
    expect(names).toEqual([
      'CONCURRENCY',
      'DATA_BUCKET',
      'DLQ_URL',
      'JOBS_TABLE',
      'JOB_TIMEOUT_SECONDS',
      'MAX_RECEIVE_COUNT',
      'QUEUE_URL',
      'RESULT_RETENTION_DAYS',
      'VISIBILITY_TIMEOUT_SECONDS',
    ]);
    expect(container.Environment).toContainEqual({ Name: 'MAX_RECEIVE_COUNT', Value: '3' });
  });

  it('may consume only its own queue, send only to its own DLQ, protect only its cluster’s tasks, update job records, read raw records and write snapshots', () => {
    const taskRole = Object.values(production.findResources('AWS::ECS::TaskDefinition')).find((r) => r.Properties.ContainerDefinitions[0].Name === 'worker')!
      .Properties.TaskRoleArn['Fn::GetAtt'][0];
    const [policy] = Object.values(production.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(taskRole));
    const statements = policy.Properties.PolicyDocument.Statement as Array<{ Action: string[]; Resource: unknown }>;
    expect(statements.map((s) => s.Action)).toEqual([
      ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
      ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      's3:ListBucket',
      's3:GetObject',
      ['s3:GetObject', 's3:PutObject'],
    ]);
    expect(JSON.stringify(statements[4])).toContain('"s3:prefix":["raw/*","snapshots/current.json"]');
    expect(JSON.stringify(statements[5].Resource)).toMatch(/\/raw\/\*/);
    expect(JSON.stringify(statements[6].Resource)).toMatch(/\/snapshots\/\*/);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/workersskbsaupQueue/);
    expect(JSON.stringify(statements[1].Resource)).toMatch(/workersskbsaupDeadLetterQueue/);
    expect(JSON.stringify(statements[2].Resource)).toMatch(/:task\/.*ClusterEB0386A7.*\/\*/);
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);
  });

  it('alarms on delayed jobs and on any dead letter', () => {
    production.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 300 });
    production.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'QueueName'] } }],
    });
  });

  it('alarms when a worker cannot set its task scale-in protection (from its task_protection.failed log line)', () => {
    production.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.event = "task_protection.failed" }',
      MetricTransformations: [{ MetricNamespace: 'br-fagq2/worker', MetricName: 'TaskProtectionFailures', MetricValue: '1' }],
    });
    production.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'br-fagq2/worker',
      MetricName: 'TaskProtectionFailures',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('puts scheduled batch jobs on its queue in the API’s message shape', () => {
    production.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Target: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('workersskbsaupQueue'), 'Arn'] },
        Input: Match.serializedJson({ id: '<aws.scheduler.execution-id>', type: 'checksum', payload: { data: 'nightly', rounds: 1000 }, submittedAt: '<aws.scheduler.scheduled-time>' }),
      },
    });
  });

  it('rejects bounds that make no sense', () => {
    const stack = new Stack(new App(), 'Bounds', { env: { account: '123456789012', region: 'eu-west-1' } });
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['eu-west-1a', 'eu-west-1b'] }) });
    const props = { cluster, subnets: {}, image: ecs.ContainerImage.fromRegistry('example'), jobTimeout: Duration.seconds(5) };
    expect(() => new QueueWorker(stack, 'W', { ...props, minTasks: 3, maxTasks: 1 })).toThrow(/minTasks ≤ maxTasks/);
  });
});
