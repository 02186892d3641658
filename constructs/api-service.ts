import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { fargateTaskDefinition, hardenedContainer, SAFE_DEPLOYMENT } from './fargate-defaults';

/** Properties of an {@link ApiService}. */
export interface ApiServiceProps {
  /** The cluster the service runs in (its VPC is used). */
  readonly cluster: ecs.ICluster;
  /** The subnets of the tasks and the internal load balancer. */
  readonly subnets: ec2.SubnetSelection;
  /** The API's container image. */
  readonly image: ecs.ContainerImage;
  /** Managed prefix list allowed to reach the load balancer (CloudFront's origin-facing list). */
  readonly ingressPrefixListId: string;
  /** Bucket receiving the load balancer's access logs. */
  readonly accessLogBucket: s3.IBucket;
  /** Fewest running tasks. */
  readonly minTasks: number;
  /** Most running tasks. */
  readonly maxTasks: number;
  /**
   * Task CPU units.
   * @default 256
   */
  readonly cpu?: number;
  /**
   * Task memory in MiB.
   * @default 512
   */
  readonly memoryMiB?: number;
  /**
   * Average CPU utilization the service scales to hold.
   * @default 60
   */
  readonly cpuTargetPercent?: number;
  /**
   * Requests per target per minute the service scales to hold.
   * @default 3000
   */
  readonly requestsPerTargetPerMinute?: number;
  /**
   * The port the container listens on.
   * @default 8080
   */
  readonly containerPort?: number;
  /**
   * The path of the service's health check.
   * @default '/healthz'
   */
  readonly healthCheckPath?: string;
  /**
   * Environment of the container (non-secret configuration).
   * @default - PORT only
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the container logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The 5xx share of requests (percent) over which a deployment is rolled back.
   * @default 5
   */
  readonly rollback5xxPercent?: number;
  /**
   * The p99 target response time over which a deployment is rolled back.
   * @default Duration.millis(1500)
   */
  readonly rollbackP99Latency?: Duration;
}

/**
 * The API tier: an internal Application Load Balancer, open only to CloudFront,
 * in front of an ECS Fargate service. Scales on CPU and on requests per target;
 * a failing deployment is rolled back by the circuit breaker or by its 5xx-rate
 * and p99-latency alarms.
 */
export class ApiService extends Construct {
  /** The internal load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The target group of the service's tasks. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** Alarm on the 5xx share of requests; rolls back deployments. */
  public readonly errorRateAlarm: cloudwatch.Alarm;
  /** Alarm on the p99 target response time; rolls back deployments. */
  public readonly latencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    if (props.minTasks < 1 || props.minTasks > props.maxTasks) {
      throw new Error(`ApiService: expected 1 ≤ minTasks ≤ maxTasks, got ${props.minTasks}..${props.maxTasks}`);
    }
    const port = props.containerPort ?? 8080;
    const vpc = props.cluster.vpc;

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc,
      description: 'API load balancer: HTTP from CloudFront origin-facing addresses only',
      allowAllOutbound: false,
    });
    albSecurityGroup.addIngressRule(ec2.Peer.prefixList(props.ingressPrefixListId), ec2.Port.tcp(80), 'CloudFront origin-facing');

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      vpcSubnets: props.subnets,
      internetFacing: false,
      securityGroup: albSecurityGroup,
      // Below the API's keep-alive timeout (65 s), so the ALB, not the task,
      // closes idle connections: otherwise requests race a closing socket (502s).
      idleTimeout: Duration.seconds(60),
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, 'alb');
    const listener = this.loadBalancer.addListener('Http', { port: 80, open: false });

    this.taskDefinition = fargateTaskDefinition(this, props.cpu ?? 256, props.memoryMiB ?? 512);
    this.taskDefinition.addContainer('api', {
      ...hardenedContainer(this, props.logRetention ?? logs.RetentionDays.ONE_MONTH),
      image: props.image,
      portMappings: [{ containerPort: port }],
      environment: { ...props.environment, PORT: String(port) },
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      vpcSubnets: props.subnets,
      // No desiredCount: autoscaling owns the task count, and a fixed value
      // would reset it on every deploy.
      ...SAFE_DEPLOYMENT,
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.ENABLED,
    });

    this.targetGroup = listener.addTargets('Tasks', {
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.service],
      // The defaults (300 s deregistration, a 30 s × 5 health check) add minutes
      // to every deploy. The API drains in-flight requests on SIGTERM within
      // seconds, and a task is healthy or not within two 10 s checks.
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: props.healthCheckPath ?? '/healthz',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
        healthyHttpCodes: '200',
      },
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: props.cpuTargetPercent ?? 60 });
    scaling.scaleOnRequestCount('Requests', {
      requestsPerTarget: props.requestsPerTargetPerMinute ?? 3000,
      targetGroup: this.targetGroup,
    });

    const period = Duration.minutes(1);
    const errorRate = new cloudwatch.MathExpression({
      label: '5xx share of requests (%)',
      expression: 'IF(requests > 0, 100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests, 0)',
      usingMetrics: {
        requests: this.targetGroup.metrics.requestCount({ period }),
        target5xx: this.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period }),
        elb5xx: this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period }),
      },
      period,
    });
    // Named explicitly: the service refers to its deployment alarms by name.
    const alarmPrefix = `${Stack.of(this).stackName}-${id}`;
    this.errorRateAlarm = errorRate.createAlarm(this, 'ErrorRateAlarm', {
      alarmName: `${alarmPrefix}-5xx-rate`,
      alarmDescription: 'API 5xx share of requests too high: rolls back a deployment in progress',
      threshold: props.rollback5xxPercent ?? 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = this.targetGroup.metrics.targetResponseTime({ period, statistic: 'p99' }).createAlarm(this, 'LatencyAlarm', {
      alarmName: `${alarmPrefix}-p99-latency`,
      alarmDescription: 'API p99 latency too high: rolls back a deployment in progress',
      threshold: (props.rollbackP99Latency ?? Duration.millis(1500)).toMilliseconds() / 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.service.enableDeploymentAlarms([`${alarmPrefix}-5xx-rate`, `${alarmPrefix}-p99-latency`], {
      behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
    });
    // The names are literal (a Ref would make CDK warn of a possible cycle), so
    // the ordering that a Ref would have implied is stated here.
    this.service.node.addDependency(this.errorRateAlarm, this.latencyAlarm);
  }
}
