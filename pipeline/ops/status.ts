// `ops status`: one screen per tier of a stage, and a non-zero exit when something is unhealthy.
// The evaluations of the pipeline's health checks (pipeline/checks/health) are reused as they are.
import { CloudFrontClient, GetDistributionCommand, ListInvalidationsCommand } from '@aws-sdk/client-cloudfront';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  ECSClient,
  GetTaskProtectionCommand,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { evaluateRelease } from '../checks/health/api-release.ts';
import { evaluateService } from '../checks/health/ecs-service.ts';
import { evaluateTargetHealth } from '../checks/health/target-health.ts';
import { describeError } from '../checks/check.ts';
import { DataBucket } from '../../services/shared/dataset.ts';
import { clientConfig, output, type Account } from './context.ts';
import { duration, EXIT, time, type Io, type Result } from './output.ts';

/** One line of a tier's screen; `ok: false` makes the exit non-zero. */
export interface StatusLine {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface TierStatus {
  readonly tier: string;
  readonly lines: StatusLine[];
}

export interface StatusInput {
  readonly stage: string;
  readonly stackName: string;
  readonly account: Account;
  readonly outputs: Record<string, string>;
}

const line = (what: string, ok: boolean, detail: string): StatusLine => ({ what, ok, detail });

export async function status(input: StatusInput, io: Io): Promise<Result> {
  const { account, outputs, stackName } = input;
  const config = clientConfig(account);
  const ecs = new ECSClient(config);
  const cluster = output(outputs, 'ClusterName', stackName);
  const tiers: TierStatus[] = [];
  // Each section on its own: one failing API call is that line's problem, not the screen's.
  const guarded = async (tier: string, what: string, read: () => Promise<StatusLine[]>) => {
    io.progress(`${tier}: ${what}`);
    try {
      return await read();
    } catch (error) {
      return [line(what, false, `could not read: ${describeError(error)}`)];
    }
  };

  // CloudFront is global: its API lives in us-east-1.
  const cloudFront = new CloudFrontClient({ ...config, region: 'us-east-1' });
  tiers.push({ tier: 'edge', lines: await guarded('edge', 'distribution', () => edgeStatus(cloudFront, output(outputs, 'DistributionId', stackName), io)) });

  const elbv2 = new ElasticLoadBalancingV2Client(config);
  const apiLines = [
    ...(await guarded('api', 'service', () => serviceStatus(ecs, cluster, output(outputs, 'ApiServiceName', stackName), io))),
    ...(await guarded('api', 'deployment', () => deploymentStatus(ecs, cluster, output(outputs, 'ApiServiceName', stackName)))),
    ...(await guarded('api', 'targets', () => targetStatus(elbv2, [outputs.ApiTargetGroupArn, outputs.ApiAlternateTargetGroupArn]))),
  ];
  tiers.push({ tier: 'api', lines: apiLines });

  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const cloudWatch = new CloudWatchClient(config);
  const workerService = output(outputs, 'WorkerServiceName', stackName);
  tiers.push({
    tier: 'worker',
    lines: [
      ...(await guarded('worker', 'service', () => serviceStatus(ecs, cluster, workerService, io))),
      ...(await guarded('worker', 'tasks', () => protectionStatus(ecs, cluster, workerService))),
      ...(await guarded('worker', 'queue', () => queueStatus(sqs, cloudWatch, output(outputs, 'QueueUrl', stackName), output(outputs, 'DeadLetterQueueUrl', stackName), io))),
    ],
  });

  const s3 = new S3Client(config);
  tiers.push({
    tier: 'data',
    lines: await guarded('data', 'snapshot', () => snapshotStatus(s3, output(outputs, 'DataBucketName', stackName), Number(outputs.SnapshotAgeBudgetSeconds), io)),
  });
  tiers.push({ tier: 'alarms', lines: await guarded('alarms', 'alarms', () => alarmStatus(cloudWatch, stackName)) });

  for (const client of [ecs, cloudFront, elbv2, sqs, cloudWatch, s3]) client.destroy();
  const healthy = tiers.every((tier) => tier.lines.every((l) => l.ok));
  const text = [
    `${input.stage} (${stackName}, ${account.region}): ${healthy ? 'HEALTHY' : 'UNHEALTHY'}`,
    ...tiers.flatMap((tier) => [``, tier.tier.toUpperCase(), ...tier.lines.map((l) => `  ${l.ok ? 'ok  ' : 'BAD '} ${l.what.padEnd(12)} ${l.detail}`)]),
  ].join('\n');
  return { data: { stage: input.stage, stackName, healthy, tiers }, text, exitCode: healthy ? EXIT.ok : EXIT.unhealthy };
}

async function edgeStatus(client: CloudFrontClient, distributionId: string, io: Io): Promise<StatusLine[]> {
  const { Distribution } = await client.send(new GetDistributionCommand({ Id: distributionId }));
  const enabled = Distribution?.DistributionConfig?.Enabled !== false;
  const state = Distribution?.Status ?? 'unknown';
  const { InvalidationList } = await client.send(new ListInvalidationsCommand({ DistributionId: distributionId, MaxItems: 1 }));
  const last = InvalidationList?.Items?.[0];
  const ago = last?.CreateTime ? ` (${duration((io.now().getTime() - last.CreateTime.getTime()) / 1000)} ago)` : '';
  return [
    // InProgress: a configuration change is propagating; the distribution serves meanwhile.
    line('distribution', enabled && ['Deployed', 'InProgress'].includes(state), `${distributionId} ${state}${enabled ? '' : ', DISABLED'}${Distribution?.DomainName ? ` at ${Distribution.DomainName}` : ''}`),
    line('invalidation', true, last ? `last ${last.Id} ${last.Status} at ${time(last.CreateTime)}${ago}` : 'none yet'),
  ];
}

async function serviceStatus(client: ECSClient, cluster: string, serviceName: string, io: Io): Promise<StatusLine[]> {
  const described = await client.send(new DescribeServicesCommand({ cluster, services: [serviceName] }));
  const service = described.services?.[0];
  const outcome = evaluateService(described, { serviceName, rolloutTimeoutMinutes: 30, now: io.now() });
  const counts = service ? `desired ${service.desiredCount ?? 0}, running ${service.runningCount ?? 0}, pending ${service.pendingCount ?? 0}` : '';
  return [line('tasks', outcome.status === 'PASS', counts ? `${counts} (${outcome.detail})` : outcome.detail)];
}

/** The API's newest service deployment: in progress (strategy, lifecycle step) or what became of it. */
async function deploymentStatus(client: ECSClient, cluster: string, service: string): Promise<StatusLine[]> {
  const { serviceDeployments = [] } = await client.send(new ListServiceDeploymentsCommand({ cluster, service, maxResults: 1 }));
  const arn = serviceDeployments[0]?.serviceDeploymentArn;
  if (!arn) return [line('deployment', true, 'no deployment recorded yet')];
  const { serviceDeployments: [deployment] = [] } = await client.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
  const strategy = deployment?.deploymentConfiguration?.strategy ?? 'ROLLING';
  if (deployment?.status === 'IN_PROGRESS' || deployment?.status === 'PENDING' || deployment?.status === 'ROLLBACK_IN_PROGRESS') {
    const step = deployment.lifecycleStage ?? 'starting';
    return [line('deployment', true, `${deployment.status} (${strategy}), step ${step}, started ${time(deployment.startedAt ?? deployment.createdAt)}`)];
  }
  const outcome = evaluateRelease(deployment);
  return [line('deployment', outcome.status === 'PASS', `${outcome.detail} (${strategy})`)];
}

async function targetStatus(client: ElasticLoadBalancingV2Client, arns: (string | undefined)[]): Promise<StatusLine[]> {
  const groups = arns.filter((arn): arn is string => Boolean(arn));
  const all = [];
  const lines: StatusLine[] = [];
  for (const arn of groups) {
    const { TargetHealthDescriptions = [] } = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
    all.push(...TargetHealthDescriptions);
    const name = arn.split(':').pop()?.split('/')[1] ?? arn;
    // With two groups one is normally empty (ECS moves the tasks at each release).
    const outcome = TargetHealthDescriptions.length === 0 ? { status: 'PASS', detail: 'no targets' } : evaluateTargetHealth({ TargetHealthDescriptions });
    lines.push(line('targets', outcome.status === 'PASS', `${name}: ${outcome.detail}`));
  }
  if (all.length === 0) lines.push(line('targets', false, 'no targets registered in any target group: the API serves nothing'));
  return lines;
}

async function protectionStatus(client: ECSClient, cluster: string, serviceName: string): Promise<StatusLine[]> {
  const { taskArns = [] } = await client.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: 'RUNNING' }));
  if (taskArns.length === 0) return [line('protection', true, 'no running task')];
  const { protectedTasks = [] } = await client.send(new GetTaskProtectionCommand({ cluster, tasks: taskArns }));
  const protectedCount = protectedTasks.filter((task) => task.protectionEnabled).length;
  return [line('protection', true, `${protectedCount} of ${taskArns.length} task(s) scale-in protected (running jobs)`)];
}

async function queueStatus(sqs: SQSClient, cloudWatch: CloudWatchClient, queueUrl: string, dlqUrl: string, io: Io): Promise<StatusLine[]> {
  const attributes = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes ?? {};
  const queue = await attributes(queueUrl);
  const dlq = await attributes(dlqUrl);
  const queueName = queueUrl.split('/').pop() ?? queueUrl;
  // The age of the oldest message is a CloudWatch metric of SQS, not a queue attribute.
  const end = io.now();
  const { MetricDataResults = [] } = await cloudWatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - 15 * 60_000),
      EndTime: end,
      MetricDataQueries: [
        { Id: 'age', MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Dimensions: [{ Name: 'QueueName', Value: queueName }] }, Period: 60, Stat: 'Maximum' } },
      ],
    }),
  );
  const age = MetricDataResults[0]?.Values?.[0];
  const dead = Number(dlq.ApproximateNumberOfMessages ?? 0) + Number(dlq.ApproximateNumberOfMessagesNotVisible ?? 0);
  return [
    line('queue', true, `${queue.ApproximateNumberOfMessages ?? '?'} visible, ${queue.ApproximateNumberOfMessagesNotVisible ?? '?'} in flight, oldest ${age === undefined ? 'no data' : duration(age)}`),
    line('dead letters', dead === 0, dead === 0 ? '0 in the DLQ' : `${dead} in the DLQ: fix the cause, then \`ops redrive\``),
  ];
}

async function snapshotStatus(s3: S3Client, bucket: string, budgetSeconds: number, io: Io): Promise<StatusLine[]> {
  const pointer = await new DataBucket(bucket, s3).pointer();
  if (!pointer) return [line('snapshot', false, `no snapshot yet in ${bucket} (the API serves the seed)`)];
  const age = (io.now().getTime() - new Date(pointer.builtAt).getTime()) / 1000;
  const budget = Number.isFinite(budgetSeconds) && budgetSeconds > 0 ? budgetSeconds : undefined;
  return [
    line(
      'snapshot',
      budget === undefined || age <= budget,
      `${pointer.id}: ${pointer.recordCount} records, built ${time(new Date(pointer.builtAt))}, age ${duration(age)}${budget ? ` ${age <= budget ? '≤' : '>'} budget ${duration(budget)}` : ''}`,
    ),
  ];
}

async function alarmStatus(client: CloudWatchClient, stackName: string): Promise<StatusLine[]> {
  // The stage's alarms are named after its stack (CloudFormation's generated names, and the named ones).
  const { MetricAlarms = [], CompositeAlarms = [] } = await client.send(new DescribeAlarmsCommand({ StateValue: 'ALARM', AlarmNamePrefix: stackName }));
  const firing = [...MetricAlarms, ...CompositeAlarms];
  if (firing.length === 0) return [line('in ALARM', true, 'none')];
  return firing.map((alarm) => line('in ALARM', false, `${alarm.AlarmName} since ${time(alarm.StateUpdatedTimestamp)}: ${alarm.StateReason ?? ''}`));
}
