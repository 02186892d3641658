import { Duration, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { fargateTaskDefinition, hardenedContainer, SAFE_DEPLOYMENT } from './fargate-defaults';

/** A batch job put on the queue on a schedule. */
export interface JobSchedule {
  /** Name of the schedule (letters, digits, dashes). */
  readonly name: string;
  /** An EventBridge Scheduler expression, "cron(...)" or "rate(...)". */
  readonly expression: string;
  /** The job type. */
  readonly jobType: string;
  /** The job payload. */
  readonly payload: Record<string, unknown>;
}

/** Properties of a {@link QueueWorker}. */
export interface QueueWorkerProps {
  /** The cluster the workers run in. */
  readonly cluster: ecs.ICluster;
  /** The subnets of the tasks. */
  readonly subnets: ec2.SubnetSelection;
  /** The worker's container image. */
  readonly image: ecs.ContainerImage;
  /** Fewest running tasks (0 lets an idle queue cost nothing). */
  readonly minTasks: number;
  /** Most running tasks. */
  readonly maxTasks: number;
  /**
   * Visible messages per running task that the service scales to hold.
   * @default 20
   */
  readonly backlogPerTaskTarget?: number;
  /**
   * Jobs one task runs at once.
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * The longest a job may run; the queue's visibility timeout is derived from it.
   * @default Duration.seconds(60)
   */
  readonly jobTimeout?: Duration;
  /**
   * Deliveries of a message before it moves to the dead-letter queue.
   * @default 3
   */
  readonly maxReceiveCount?: number;
  /**
   * Task CPU units.
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Task memory in MiB.
   * @default 1024
   */
  readonly memoryMiB?: number;
  /**
   * How long a stopping task has to finish its in-flight jobs after SIGTERM
   * (Fargate allows at most 120 s).
   * @default Duration.seconds(120)
   */
  readonly stopTimeout?: Duration;
  /**
   * How long the container logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The key encrypting the container log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Age of the oldest message over which the "jobs delayed" alarm fires.
   * @default Duration.minutes(5)
   */
  readonly maxOldestMessageAge?: Duration;
  /**
   * Batch jobs put on the queue on a schedule.
   * @default - none
   */
  readonly schedules?: JobSchedule[];
  /**
   * More environment of the container (non-secret configuration, e.g. the job table).
   * @default - the queue settings only
   */
  readonly environment?: Record<string, string>;
}

/**
 * The background-worker tier: an encrypted SQS queue with a dead-letter queue,
 * and a Fargate service that consumes it, scaled on backlog per task (visible
 * messages ÷ running tasks), with an extra step that scales out from zero
 * tasks. Workers protect themselves from scale-in while jobs run (ECS task
 * protection) and get a stop timeout long enough to finish in-flight jobs.
 */
export class QueueWorker extends Construct {
  /** The job queue. */
  public readonly queue: sqs.Queue;
  /** The dead-letter queue. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** Alarm: the oldest job has waited too long (jobs delayed). */
  public readonly oldestMessageAlarm: cloudwatch.Alarm;
  /** Alarm: the dead-letter queue holds messages. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /**
   * Alarm: a worker could not switch its task's scale-in protection, so a
   * scale-in or deployment may stop it mid-job (the job is then retried).
   */
  public readonly taskProtectionAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    if (props.minTasks < 0 || props.minTasks > props.maxTasks || props.maxTasks < 1) {
      throw new Error(`QueueWorker: expected 0 ≤ minTasks ≤ maxTasks and maxTasks ≥ 1, got ${props.minTasks}..${props.maxTasks}`);
    }
    const jobTimeout = props.jobTimeout ?? Duration.seconds(60);
    const stopTimeout = props.stopTimeout ?? Duration.seconds(120);
    // Twice the job timeout: a job that hits its timeout is abandoned before its
    // message becomes visible again (the worker also extends visibility while
    // a job runs, so this is a floor, not a limit).
    const visibilityTimeout = Duration.seconds(Math.min(jobTimeout.toSeconds() * 2, 43_200));

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 3 },
    });

    const memoryMiB = props.memoryMiB ?? 1024;
    this.taskDefinition = fargateTaskDefinition(this, props.cpu ?? 512, memoryMiB);
    this.taskDefinition.addContainer('worker', {
      ...hardenedContainer(this, {
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        logEncryptionKey: props.logEncryptionKey,
        memoryLimitMiB: memoryMiB,
      }),
      image: props.image,
      stopTimeout,
      environment: {
        ...props.environment,
        // The worker records a failure on the last receive the redrive allows as dead-lettered.
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount ?? 3),
        QUEUE_URL: this.queue.queueUrl,
        DLQ_URL: this.deadLetterQueue.queueUrl,
        CONCURRENCY: String(props.concurrency ?? 4),
        JOB_TIMEOUT_SECONDS: String(jobTimeout.toSeconds()),
        VISIBILITY_TIMEOUT_SECONDS: String(visibilityTimeout.toSeconds()),
      },
    });
    // Least privilege: consume its own queue, send poison messages to its own DLQ.
    this.queue.grantConsumeMessages(this.taskDefinition.taskRole);
    this.deadLetterQueue.grantSendMessages(this.taskDefinition.taskRole);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      vpcSubnets: props.subnets,
      ...SAFE_DEPLOYMENT,
    });
    // Scale-in protection through the ECS agent endpoint, for this cluster's tasks only.
    this.taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
        resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${props.cluster.clusterName}/*` })],
      }),
    );

    this.addBacklogScaling(props);
    ({ oldest: this.oldestMessageAlarm, dead: this.deadLetterAlarm } = this.addAlarms(props.maxOldestMessageAge ?? Duration.minutes(5)));
    this.taskProtectionAlarm = this.addTaskProtectionAlarm();
    for (const schedule of props.schedules ?? []) this.addSchedule(schedule);
  }

  private addBacklogScaling(props: QueueWorkerProps): void {
    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    const serviceDimensions = [
      { name: 'ClusterName', value: props.cluster.clusterName },
      { name: 'ServiceName', value: this.service.serviceName },
    ];

    // Backlog per task, AWS's recommended metric for queue workers. The L2
    // scaleToTrackCustomMetric refuses metric math, hence the L1 policy. With no
    // task running, Container Insights reports nothing: FILL makes that a 0 and
    // the IF divides by one task instead of by zero, so the metric never goes empty.
    new appscaling.CfnScalingPolicy(this, 'BacklogPerTaskScaling', {
      policyName: `${this.node.path.replace(/\//g, '-')}-backlog-per-task`.slice(-256),
      policyType: 'TargetTrackingScaling',
      // The L2 keeps its scalable target as the child 'Target'.
      scalingTargetId: (scaling.node.findChild('Target') as appscaling.ScalableTarget).scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: props.backlogPerTaskTarget ?? 20,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            {
              id: 'visible',
              returnData: false,
              metricStat: {
                metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: [{ name: 'QueueName', value: this.queue.queueName }] },
                stat: 'Sum',
              },
            },
            {
              id: 'running',
              returnData: false,
              metricStat: {
                metric: { namespace: 'ECS/ContainerInsights', metricName: 'RunningTaskCount', dimensions: serviceDimensions },
                stat: 'Average',
              },
            },
            {
              id: 'backlogPerTask',
              label: 'Visible messages per running task',
              returnData: true,
              expression: 'IF(FILL(running, 0) > 0, visible / FILL(running, 0), visible)',
            },
          ],
        },
      },
    });

    // Target tracking computes new capacity as a multiple of the current one,
    // which stays 0 at 0: this step policy starts the first task when jobs wait
    // and the desired count is zero.
    scaling.scaleOnMetric('ScaleOutFromZero', {
      metric: new cloudwatch.MathExpression({
        label: 'Jobs waiting with no task desired',
        expression: 'IF(FILL(desired, 0) == 0 AND FILL(visible, 0) > 0, 1, 0)',
        usingMetrics: {
          visible: this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          desired: new cloudwatch.Metric({
            namespace: 'ECS/ContainerInsights',
            metricName: 'DesiredTaskCount',
            dimensionsMap: { ClusterName: props.cluster.clusterName, ServiceName: this.service.serviceName },
            period: Duration.minutes(1),
            statistic: 'Maximum',
          }),
        },
        period: Duration.minutes(1),
      }),
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      scalingSteps: [
        { upper: 0, change: 0 },
        { lower: 1, change: 1 },
      ],
      evaluationPeriods: 1,
      cooldown: Duration.seconds(60),
    });
  }

  private addAlarms(maxAge: Duration): { oldest: cloudwatch.Alarm; dead: cloudwatch.Alarm } {
    const period = Duration.minutes(1);
    const oldest = this.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }).createAlarm(this, 'JobsDelayedAlarm', {
      alarmDescription: 'The oldest job has waited longer than its budget: workers are not keeping up',
      threshold: maxAge.toSeconds(),
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const dead = this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }).createAlarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'Jobs reached the dead-letter queue',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return { oldest, dead };
  }

  /** The worker logs `task_protection.failed` when the ECS agent refuses or cannot reach the ECS API. */
  private addTaskProtectionAlarm(): cloudwatch.Alarm {
    const failures = new logs.MetricFilter(this, 'TaskProtectionFailures', {
      logGroup: this.node.findChild('Logs') as logs.LogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', 'task_protection.failed'),
      metricNamespace: 'br-fagq2/worker',
      metricName: 'TaskProtectionFailures',
      metricValue: '1',
    });
    return failures.metric({ statistic: 'Sum', period: Duration.minutes(1) }).createAlarm(this, 'TaskProtectionAlarm', {
      alarmDescription: 'A worker could not set its task scale-in protection: a scale-in may stop jobs mid-way (they are retried)',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private addSchedule(schedule: JobSchedule): void {
    new scheduler.Schedule(this, `Schedule-${schedule.name}`, {
      description: `Puts a ${schedule.jobType} job on the queue`,
      schedule: scheduler.ScheduleExpression.expression(schedule.expression),
      target: new schedulerTargets.SqsSendMessage(this.queue, {
        // The same message shape as the API's: one id per scheduled run.
        input: scheduler.ScheduleTargetInput.fromObject({
          id: scheduler.ContextAttribute.executionId,
          type: schedule.jobType,
          payload: schedule.payload,
          submittedAt: scheduler.ContextAttribute.scheduledTime,
        }),
      }),
    });
  }
}
