import { Annotations, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { fargateTaskDefinition, hardenedContainer, SAFE_DEPLOYMENT } from './fargate-defaults';
import { TestTrafficHook } from './test-traffic-hook';

/**
 * How a release of the API reaches users. ROLLING replaces tasks in place. BLUE_GREEN, CANARY and
 * LINEAR start the new (green) tasks behind a second target group, check them on the test listener
 * (the {@link ApiReleaseChecks} hook), then shift production traffic to them: all at once
 * (BLUE_GREEN), a share first (CANARY), or in steps (LINEAR). During the shift and the bake time
 * the deployment alarms of both target groups roll back by moving traffic back.
 */
export interface ApiDeployment {
  /** The ECS deployment strategy. */
  readonly strategy: ecs.DeploymentStrategy;
  /**
   * How long the old tasks are kept, ready to take the traffic back, after all traffic has moved.
   * Not for ROLLING.
   * @default - none (ROLLING); required for the other strategies
   */
  readonly bakeTime?: Duration;
  /**
   * CANARY: the share first sent to the new version and how long it serves it before the rest
   * moves. LINEAR: the share added at each step and the wait between steps. Required for those two,
   * not allowed for the others.
   * @default - none
   */
  readonly trafficShift?: ecs.TrafficShiftConfig;
  /**
   * The checks the green tasks pass on test traffic before any user reaches them. Required for all
   * strategies but ROLLING.
   * @default - none
   */
  readonly releaseChecks?: ApiReleaseChecks;
  /**
   * The load balancer port of the test listener: reachable from inside the VPC only.
   * @default 9080
   */
  readonly testListenerPort?: number;
}

/** The release checks on test traffic (pipeline/checks/test-traffic). */
export interface ApiReleaseChecks {
  /** The release the green tasks must serve at /v1/version. */
  readonly expectedVersion: string;
  /** The p95 latency budget of sequential searches. */
  readonly latencyBudget: Duration;
  /**
   * The runtime of the hook's function.
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;
}

/** The lifecycle stage of the release checks: the green tasks have all the test traffic, and no production traffic yet. */
export const RELEASE_CHECK_STAGE = ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT;

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
   * The key encrypting the container log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Whether the load balancer is protected from deletion (true in production).
   * @default false
   */
  readonly deletionProtection?: boolean;
  /**
   * The 5xx share of requests (percent) over which a deployment is rolled back.
   * @default 5
   */
  readonly rollback5xxPercent?: number;
  /**
   * Fewest requests in a minute for that minute's 5xx share to count: below it a share says
   * nothing (one stray 502 of 3 requests is 33 %), and the minute is not breaching.
   * @default 20
   */
  readonly rollbackMinRequests?: number;
  /**
   * The p99 target response time over which a deployment is rolled back.
   * @default Duration.millis(1500)
   */
  readonly rollbackP99Latency?: Duration;
  /**
   * The VPC's address range, literal: the test listener is open to it (and to nothing else).
   * @default - the VPC's CidrBlock attribute (a token, which rule checkers such as cdk-nag cannot read)
   */
  readonly vpcCidr?: string;
  /**
   * How a release reaches users.
   * @default - ROLLING (with the circuit breaker and the deployment alarms)
   */
  readonly deployment?: ApiDeployment;
}

/**
 * The API tier: an internal Application Load Balancer, open only to CloudFront,
 * in front of an ECS Fargate service. Scales on CPU and on requests per target;
 * a failing deployment is rolled back by its deployment alarms (each target
 * group's 5xx share and p99 latency, the load balancer's own 5xx share, and for
 * CANARY and LINEAR tasks failing their health checks) and, where ECS documents
 * it (ROLLING, BLUE_GREEN), by the circuit breaker. With a progressive {@link ApiDeployment} a release runs
 * blue/green between two target groups, is checked on a test listener first, and
 * each target group has its own alarms.
 */
export class ApiService extends Construct {
  /** The internal load balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** The target group of the service's tasks (ROLLING), or the first of the two (the others). */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The second target group, of the green tasks of a release (all strategies but ROLLING). */
  public readonly alternateTargetGroup?: elbv2.ApplicationTargetGroup;
  /** The test listener, through which the release checks reach the green tasks (all strategies but ROLLING). */
  public readonly testListener?: elbv2.ApplicationListener;
  /** The release checks' lifecycle hook (all strategies but ROLLING). */
  public readonly testTrafficHook?: TestTrafficHook;
  /** The deployment strategy. */
  public readonly deploymentStrategy: ecs.DeploymentStrategy;
  /** The Fargate service. */
  public readonly service: ecs.FargateService;
  /** The task definition. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** Alarm on the 5xx share of the (first) target group's requests; rolls back deployments. */
  public readonly errorRateAlarm: cloudwatch.Alarm;
  /** Alarm on the p99 target response time; rolls back deployments. */
  public readonly latencyAlarm: cloudwatch.Alarm;
  /** The deployment alarms of each target group (the first one's are errorRateAlarm and latencyAlarm). */
  public readonly deploymentAlarms: cloudwatch.Alarm[];
  /** Their names, as the service refers to them. */
  private readonly deploymentAlarmNames: string[] = [];

  constructor(scope: Construct, id: string, props: ApiServiceProps) {
    super(scope, id);
    if (props.minTasks < 1 || props.minTasks > props.maxTasks) {
      throw new Error(`ApiService: expected 1 ≤ minTasks ≤ maxTasks, got ${props.minTasks}..${props.maxTasks}`);
    }
    const deployment = props.deployment ?? { strategy: ecs.DeploymentStrategy.ROLLING };
    validateDeployment(deployment);
    const progressive = deployment.strategy !== ecs.DeploymentStrategy.ROLLING;
    this.deploymentStrategy = deployment.strategy;
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
      deletionProtection: props.deletionProtection ?? false,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, 'alb');
    const listener = this.loadBalancer.addListener('Http', { port: 80, open: false });

    const memoryMiB = props.memoryMiB ?? 512;
    this.taskDefinition = fargateTaskDefinition(this, props.cpu ?? 256, memoryMiB);
    this.taskDefinition.addContainer('api', {
      ...hardenedContainer(this, {
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        logEncryptionKey: props.logEncryptionKey,
        memoryLimitMiB: memoryMiB,
      }),
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
      // The circuit breaker only where ECS documents it: "can only be used for services using the
      // rolling update (ECS) deployment type" (ECS API reference, DeploymentCircuitBreaker,
      // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html), and
      // "Both methods only support rolling update deployment and blue/green deployment types"
      // (ECS developer guide, "Amazon ECS deployment failure detection",
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-failure-detection.html).
      // CANARY and LINEAR rely instead on the deployment alarms, which the canary guide lists
      // ("CloudWatch alarms for automatic rollback", "Required resources for Amazon ECS canary
      // deployments"): one of them fires on green tasks that fail their health checks.
      circuitBreaker: circuitBreakerDocumented(deployment.strategy) ? SAFE_DEPLOYMENT.circuitBreaker : undefined,
      availabilityZoneRebalancing: ecs.AvailabilityZoneRebalancing.ENABLED,
      deploymentStrategy: deployment.strategy,
      bakeTime: deployment.bakeTime,
      canaryConfiguration: deployment.strategy === ecs.DeploymentStrategy.CANARY ? deployment.trafficShift : undefined,
      linearConfiguration: deployment.strategy === ecs.DeploymentStrategy.LINEAR ? deployment.trafficShift : undefined,
    });

    if (!circuitBreakerDocumented(deployment.strategy)) {
      // aws-cdk-lib warns of any service without a circuit breaker; here it is left out on purpose.
      Annotations.of(this.service).acknowledgeWarning(
        '@aws-cdk/aws-ecs:shouldUseCircuitBreaker',
        `ECS documents the circuit breaker for ROLLING and BLUE_GREEN only, not ${deployment.strategy}: green tasks that fail their health checks roll back through the unhealthy-tasks deployment alarms instead`,
      );
    }

    const targetGroupProps: elbv2.ApplicationTargetGroupProps = {
      vpc,
      port,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
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
    };
    // The first target group keeps the id (and so the logical id) listener.addTargets('Tasks') gives it.
    this.targetGroup = new elbv2.ApplicationTargetGroup(listener, 'TasksGroup', targetGroupProps);
    if (!progressive) {
      listener.addTargetGroups('Tasks', { targetGroups: [this.targetGroup] });
      this.service.attachToApplicationTargetGroup(this.targetGroup);
    } else {
      const testPort = deployment.testListenerPort ?? 9080;
      this.alternateTargetGroup = new elbv2.ApplicationTargetGroup(listener, 'AlternateTasksGroup', targetGroupProps);
      // ECS moves the weights of these two rules between the target groups during a release.
      const forward = () =>
        elbv2.ListenerAction.weightedForward([
          { targetGroup: this.targetGroup, weight: 100 },
          { targetGroup: this.alternateTargetGroup!, weight: 0 },
        ]);
      const everyPath = [elbv2.ListenerCondition.pathPatterns(['/*'])];
      // Every action of both listeners forwards: ECS does not support blue/green, linear or canary
      // deployments on listeners that mix forward and non-forward actions such as a fixed response
      // (ECS developer guide, "Application Load Balancer resources for blue/green, linear, and canary
      // deployments", Limitations,
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html).
      // The default actions answer nothing in practice (the rules match every path); they forward
      // to the first group; ECS is given the rules, not the listeners.
      listener.addAction('Default', { action: elbv2.ListenerAction.forward([this.targetGroup]) });
      // ECS's "production listener rule"; its id avoids the word "Production", which the
      // guardrail's parity check reads as the stage name.
      const productionRule = new elbv2.ApplicationListenerRule(this, 'UserTrafficRule', { listener, priority: 1, conditions: everyPath, action: forward() });
      // The test listener: only the release checks use it. Open to the VPC's own addresses (where
      // the hook's function runs), never to CloudFront's prefix list (its port is not the origin's).
      const vpcCidr = props.vpcCidr ?? vpc.vpcCidrBlock;
      albSecurityGroup.addIngressRule(ec2.Peer.ipv4(vpcCidr), ec2.Port.tcp(testPort), 'Test listener: release checks from inside the VPC');
      this.testListener = this.loadBalancer.addListener('Test', {
        port: testPort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.forward([this.targetGroup]),
      });
      const testRule = new elbv2.ApplicationListenerRule(this, 'TestRule', { listener: this.testListener, priority: 1, conditions: everyPath, action: forward() });

      // The role ECS uses to change the listener rules (AlternateTarget creates it with the AWS
      // managed AmazonECSInfrastructureRolePolicyForLoadBalancers; ECS developer guide,
      // "Amazon ECS infrastructure IAM role for load balancers").
      this.service
        .loadBalancerTarget({
          containerName: 'api',
          containerPort: port,
          alternateTarget: new ecs.AlternateTarget('AlternateTarget', {
            alternateTargetGroup: this.alternateTargetGroup,
            productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(productionRule),
            testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(testRule),
          }),
        })
        .attachToApplicationTargetGroup(this.targetGroup);
      // The green tasks take the same traffic from the load balancer.
      this.alternateTargetGroup.registerConnectable(this.service, ec2.Port.tcp(port));
      const checks = deployment.releaseChecks!;
      this.testTrafficHook = new TestTrafficHook(this, 'ReleaseChecks', {
        vpc,
        vpcCidr,
        subnets: props.subnets,
        testUrl: `http://${this.loadBalancer.loadBalancerDnsName}:${testPort}`,
        testPort,
        expectedVersion: checks.expectedVersion,
        latencyBudget: checks.latencyBudget,
        logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        logEncryptionKey: props.logEncryptionKey,
        runtime: checks.runtime,
      });
      // ECS's role for the hook may invoke this function (its unqualified ARN) and nothing else:
      // the default role would be granted every version and alias too (`<arn>:*`).
      const hookRole = new iam.Role(this, 'ReleaseChecksHookRole', {
        assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
        description: 'ECS invokes the API release checks (deployment lifecycle hook)',
      });
      hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.testTrafficHook.function.functionArn] }));
      this.service.addLifecycleHook(
        new ecs.DeploymentLifecycleLambdaTarget(this.testTrafficHook.function, 'ReleaseChecksHook', { lifecycleStages: [RELEASE_CHECK_STAGE], role: hookRole }),
      );
    }

    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: props.cpuTargetPercent ?? 60 });
    const requestsPerTarget = props.requestsPerTargetPerMinute ?? 3000;
    scaling.scaleOnRequestCount('Requests', { requestsPerTarget, targetGroup: this.targetGroup });

    const alarmPrefix = `${Stack.of(this).stackName}-${id}`;
    const thresholds: AlarmThresholds = {
      rollback5xxPercent: props.rollback5xxPercent ?? 5,
      rollbackP99Latency: props.rollbackP99Latency ?? Duration.millis(1500),
      minRequests: props.rollbackMinRequests ?? 20,
    };
    if (!Number.isInteger(thresholds.minRequests) || thresholds.minRequests < 1) {
      throw new Error(`ApiService: rollbackMinRequests must be a positive integer, got ${thresholds.minRequests}`);
    }
    const [errorRateAlarm, latencyAlarm] = this.trafficAlarms('', this.targetGroup, alarmPrefix, thresholds);
    this.errorRateAlarm = errorRateAlarm;
    this.latencyAlarm = latencyAlarm;
    this.deploymentAlarms = [errorRateAlarm, latencyAlarm];
    if (this.alternateTargetGroup) {
      // Which group serves production alternates from release to release: scale on both (target
      // tracking scales in only when every policy agrees, and the idle group reports no data).
      scaling.scaleOnRequestCount('AlternateRequests', { requestsPerTarget, targetGroup: this.alternateTargetGroup });
      // Each group's own share: a 10 % canary's errors are not diluted by the other 90 %.
      this.deploymentAlarms.push(...this.trafficAlarms('Alternate', this.alternateTargetGroup, `${alarmPrefix}-alternate`, thresholds));
    }
    // The load balancer's own 5xx (502/503/504: a task that crashes or hangs, no healthy target)
    // are published per load balancer only, with no TargetGroup dimension (Elastic Load Balancing
    // guide, "CloudWatch metrics for your Application Load Balancer",
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html):
    // their share is of all the load balancer's requests, never of one group's, so one stray 502
    // while a canary serves 10 % is not a 50 % share of the canary.
    this.deploymentAlarms.push(this.loadBalancerErrorAlarm(alarmPrefix, thresholds));
    if (progressive) {
      // No circuit breaker on CANARY or LINEAR (above): green tasks that fail their health checks
      // roll the deployment back through this alarm of each group instead (BLUE_GREEN has both).
      this.deploymentAlarms.push(
        this.unhealthyTasksAlarm('', this.targetGroup, alarmPrefix),
        this.unhealthyTasksAlarm('Alternate', this.alternateTargetGroup!, `${alarmPrefix}-alternate`),
      );
    }

    // Named explicitly: the service refers to its deployment alarms by name.
    this.service.enableDeploymentAlarms(this.deploymentAlarmNames, { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM });
    // The names are literal (a Ref would make CDK warn of a possible cycle), so
    // the ordering that a Ref would have implied is stated here.
    this.service.node.addDependency(...this.deploymentAlarms);
    this.node.addValidation({ validate: () => (progressive ? this.progressiveDeliveryProblems() : []) });
  }

  /**
   * The 5xx share and p99 latency of one target group's requests, as deployment alarms. The share
   * is the group's own: its targets' 5xx (HTTPCode_Target_5XX_Count per TargetGroup) over its
   * requests, and only in minutes with at least `minRequests` of them.
   */
  private trafficAlarms(idPrefix: string, targetGroup: elbv2.ApplicationTargetGroup, namePrefix: string, thresholds: AlarmThresholds): [cloudwatch.Alarm, cloudwatch.Alarm] {
    const period = Duration.minutes(1);
    const errorRate = new cloudwatch.MathExpression({
      label: '5xx share of requests (%)',
      expression: `IF(FILL(requests, 0) >= ${thresholds.minRequests}, 100 * FILL(target5xx, 0) / requests, 0)`,
      usingMetrics: {
        requests: targetGroup.metrics.requestCount({ period }),
        target5xx: targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period }),
      },
      period,
    });
    const which = idPrefix ? ' (alternate target group)' : '';
    this.deploymentAlarmNames.push(`${namePrefix}-5xx-rate`, `${namePrefix}-p99-latency`);
    const errorRateAlarm = errorRate.createAlarm(this, `${idPrefix}ErrorRateAlarm`, {
      alarmName: `${namePrefix}-5xx-rate`,
      alarmDescription: `API 5xx share of requests too high${which}: rolls back a deployment in progress`,
      threshold: thresholds.rollback5xxPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latencyAlarm = targetGroup.metrics.targetResponseTime({ period, statistic: 'p99' }).createAlarm(this, `${idPrefix}LatencyAlarm`, {
      alarmName: `${namePrefix}-p99-latency`,
      alarmDescription: `API p99 latency too high${which}: rolls back a deployment in progress`,
      threshold: thresholds.rollbackP99Latency.toMilliseconds() / 1000,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    return [errorRateAlarm, latencyAlarm];
  }

  /** The load balancer's own 5xx share of all its requests (minutes with at least `minRequests`). */
  private loadBalancerErrorAlarm(namePrefix: string, thresholds: AlarmThresholds): cloudwatch.Alarm {
    const period = Duration.minutes(1);
    const name = `${namePrefix}-elb-5xx-rate`;
    this.deploymentAlarmNames.push(name);
    return new cloudwatch.MathExpression({
      label: 'load balancer 5xx share of requests (%)',
      expression: `IF(FILL(requests, 0) >= ${thresholds.minRequests}, 100 * FILL(elb5xx, 0) / requests, 0)`,
      usingMetrics: {
        requests: this.loadBalancer.metrics.requestCount({ period }),
        elb5xx: this.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period }),
      },
      period,
    }).createAlarm(this, 'LoadBalancerErrorRateAlarm', {
      alarmName: name,
      alarmDescription: 'API load balancer 5xx (502/503/504) share of all requests too high: rolls back a deployment in progress',
      threshold: thresholds.rollback5xxPercent,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Tasks of one target group failing their health checks (UnHealthyHostCount, Maximum) in 3
   * minutes running: well past the two 10 s checks a starting task needs to become healthy.
   */
  private unhealthyTasksAlarm(idPrefix: string, targetGroup: elbv2.ApplicationTargetGroup, namePrefix: string): cloudwatch.Alarm {
    const name = `${namePrefix}-unhealthy-tasks`;
    this.deploymentAlarmNames.push(name);
    return targetGroup.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }).createAlarm(this, `${idPrefix}UnhealthyTasksAlarm`, {
      alarmName: name,
      alarmDescription: `API tasks failing their health checks${idPrefix ? ' (alternate target group)' : ''}: rolls back a deployment in progress`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * What the synthesized service of a progressive deployment must hold, read from the rendered
   * resource (escape hatches included): rollback alarms on both target groups, the release-check
   * hook at the test-traffic stage, and the test listener rule. Each missing part fails the synth.
   */
  private progressiveDeliveryProblems(): string[] {
    const cfn = this.service.node.defaultChild as ecs.CfnService;
    const stack = Stack.of(this);
    const rendered = stack.resolve((cfn as unknown as { _toCloudFormation(): object })._toCloudFormation()) as {
      Resources: Record<string, { Properties?: CfnServiceProperties }>;
    };
    const properties = Object.values(rendered.Resources)[0]?.Properties ?? {};
    // aws-cdk-lib renders the hooks inside DeploymentConfiguration (CloudFormation's place for them).
    return progressiveDeliveryProblems(properties, {
      alarmNames: this.deploymentAlarmNames,
      strategy: this.deploymentStrategy,
    });
  }
}

/** What the deployment alarms compare against. */
interface AlarmThresholds {
  readonly rollback5xxPercent: number;
  readonly rollbackP99Latency: Duration;
  readonly minRequests: number;
}

/** The strategies for which ECS documents the deployment circuit breaker (see the service above). */
function circuitBreakerDocumented(strategy: ecs.DeploymentStrategy): boolean {
  return strategy === ecs.DeploymentStrategy.ROLLING || strategy === ecs.DeploymentStrategy.BLUE_GREEN;
}

/** The parts of an AWS::ECS::Service's properties the progressive-delivery check reads. */
interface CfnServiceProperties {
  readonly DeploymentConfiguration?: {
    readonly Strategy?: string;
    readonly Alarms?: { readonly AlarmNames?: string[]; readonly Enable?: boolean; readonly Rollback?: boolean };
    readonly CanaryConfiguration?: unknown;
    readonly LinearConfiguration?: unknown;
    readonly LifecycleHooks?: { readonly HookTargetArn?: unknown; readonly LifecycleStages?: string[] }[];
  };
  readonly LoadBalancers?: { readonly AdvancedConfiguration?: { readonly AlternateTargetGroupArn?: unknown; readonly TestListenerRule?: unknown } }[];
}

/** Every missing part of a progressive deployment, one message each. */
export function progressiveDeliveryProblems(
  properties: CfnServiceProperties,
  expected: { readonly alarmNames: readonly string[]; readonly strategy: ecs.DeploymentStrategy },
): string[] {
  const config = properties.DeploymentConfiguration ?? {};
  const problems: string[] = [];
  const what = `a ${expected.strategy} deployment of the API`;
  if (config.Strategy !== expected.strategy) problems.push(`${what} synthesized with strategy ${config.Strategy ?? '(none: ROLLING)'}`);
  const alarms = config.Alarms;
  if (!alarms?.Enable || !alarms.Rollback) {
    problems.push(`${what} has no deployment alarms that roll back: ECS would shift all traffic to a failing release`);
  } else {
    const missingAlarms = expected.alarmNames.filter((name) => !(alarms.AlarmNames ?? []).includes(name));
    if (missingAlarms.length > 0) problems.push(`${what} lacks the deployment alarm(s) ${missingAlarms.join(', ')} (each target group needs its 5xx-share and p99 alarm)`);
  }
  const hooked = (config.LifecycleHooks ?? []).some((hook) => hook.HookTargetArn && (hook.LifecycleStages ?? []).includes(RELEASE_CHECK_STAGE));
  if (!hooked) problems.push(`${what} has no ${RELEASE_CHECK_STAGE} lifecycle hook: the release would reach users unchecked`);
  const advanced = properties.LoadBalancers?.[0]?.AdvancedConfiguration;
  if (!advanced?.AlternateTargetGroupArn || !advanced.TestListenerRule) problems.push(`${what} has no alternate target group with a test listener rule`);
  if (expected.strategy === ecs.DeploymentStrategy.CANARY && !config.CanaryConfiguration) problems.push(`${what} has no canary configuration`);
  if (expected.strategy === ecs.DeploymentStrategy.LINEAR && !config.LinearConfiguration) problems.push(`${what} has no linear configuration`);
  return problems;
}

/** Settings that contradict the strategy fail at once, naming the setting. */
function validateDeployment(deployment: ApiDeployment): void {
  const { strategy } = deployment;
  const fail = (message: string) => {
    throw new Error(`ApiService: ${message}`);
  };
  const shifts = strategy === ecs.DeploymentStrategy.CANARY || strategy === ecs.DeploymentStrategy.LINEAR;
  if (strategy === ecs.DeploymentStrategy.ROLLING) {
    if (deployment.bakeTime) fail('bakeTime applies to BLUE_GREEN, CANARY and LINEAR deployments, not ROLLING');
    if (deployment.releaseChecks) fail('releaseChecks run on test traffic, which only BLUE_GREEN, CANARY and LINEAR deployments have');
  } else {
    if (!deployment.bakeTime) fail(`a ${strategy} deployment needs a bakeTime (how long the old tasks stay ready to take the traffic back)`);
    if (!deployment.releaseChecks) fail(`a ${strategy} deployment needs releaseChecks (the hook that checks the green tasks on test traffic)`);
  }
  if (shifts && !deployment.trafficShift) fail(`a ${strategy} deployment needs trafficShift (stepPercent and stepBakeTime)`);
  if (shifts && (deployment.trafficShift?.stepPercent === undefined || deployment.trafficShift.stepBakeTime === undefined)) {
    fail(`a ${strategy} deployment needs both trafficShift.stepPercent and trafficShift.stepBakeTime (ECS's defaults are not this project's choice)`);
  }
  if (!shifts && deployment.trafficShift) fail(`trafficShift applies to CANARY and LINEAR deployments, not ${strategy}`);
  const testPort = deployment.testListenerPort;
  if (testPort !== undefined && (testPort === 80 || testPort < 1 || testPort > 65535)) fail(`testListenerPort must be a port other than 80 (production), got ${testPort}`);
}
