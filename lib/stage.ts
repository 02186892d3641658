import * as path from 'node:path';
import { CfnOutput, Duration, Stack, StackProps, Stage, StageProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApiDeployment, ApiReleaseChecks, ApiService } from '../constructs/api-service';
import { AlarmTopic } from '../constructs/alarm-topic';
import { DataBucket } from '../constructs/data-bucket';
import { DeploymentEvents } from '../constructs/deployment-events';
import { JobStore } from '../constructs/job-store';
import { EdgeCache } from '../constructs/edge-cache';
import { EdgeWebAcl } from '../constructs/edge-web-acl';
import { LogKey } from '../constructs/log-key';
import { Network } from '../constructs/network';
import { QueueWorker } from '../constructs/queue-worker';
import { ApiDeploymentSettings, EnvironmentConfig } from './config';
import { NODE_MAJOR } from './node-version';
import { DatasetFreshness } from './dataset-freshness';
import { acknowledgeProgressiveDeliveryFindings, acknowledgeStageFindings } from './compliance';
import { TiersDashboard } from './dashboard';
import { DeployChecksRole } from './deploy-checks-role';
import { PROJECT, tag, TIER_IDS } from './tiers';

/** The repository root: the services' Docker build contexts live under it. */
const REPO_ROOT = path.resolve(__dirname, '..');

/**
 * A stack whose availability zones come from configuration: the default getter
 * looks them up in the account at synth, which needs credentials.
 */
class ConfiguredAzStack extends Stack {
  private readonly configuredAzs: string[];

  constructor(scope: Construct, id: string, props: StackProps & { readonly availabilityZones: string[] }) {
    super(scope, id, props);
    this.configuredAzs = props.availabilityZones;
  }

  override get availabilityZones(): string[] {
    return this.configuredAzs;
  }
}

/** Properties of a {@link DataProductStage}. */
export interface DataProductStageProps extends StageProps {
  /** The environment's settings: account, region, sizing, thresholds. */
  readonly settings: EnvironmentConfig;
  /** The release being deployed (a commit id); the API reports it at /v1/version. */
  readonly appVersion: string;
  /** The account whose release pipeline checks this stage (it may assume the stage's checks role). */
  readonly pipelineAccount: string;
  /**
   * Build arguments of the service images (e.g. NODE_IMAGE, the base image).
   * @default - the Dockerfiles' defaults
   */
  readonly imageBuildArgs?: Record<string, string>;
  /** The p95 search latency budget of the release checks (configuration's pipeline.latencyBudgetMs). */
  readonly latencyBudgetMs: number;
}

/** The CfnOutputs of a stage that the release pipeline's checks read. */
export interface DataProductOutputs {
  readonly edgeUrl: CfnOutput;
  readonly distributionId: CfnOutput;
  readonly queueUrl: CfnOutput;
  readonly deadLetterQueueUrl: CfnOutput;
  readonly clusterName: CfnOutput;
  readonly apiServiceName: CfnOutput;
  readonly workerServiceName: CfnOutput;
  readonly apiTargetGroupArn: CfnOutput;
  /** The second target group of a progressive (blue/green, canary, linear) API deployment. */
  readonly apiAlternateTargetGroupArn?: CfnOutput;
  readonly dataBucketName: CfnOutput;
  readonly jobsTableName: CfnOutput;
  readonly freshnessBudgetSeconds: CfnOutput;
  /** The oldest the served snapshot may be while every run succeeds (`ops status`). */
  readonly snapshotAgeBudgetSeconds: CfnOutput;
  /** Log groups `ops logs` reads: the API's, the worker's and (progressive API) the release checks'. */
  readonly apiLogGroupName: CfnOutput;
  readonly workerLogGroupName: CfnOutput;
  readonly releaseChecksLogGroupName?: CfnOutput;
}

/**
 * The whole data product in one environment: the edge cache, the API tier and
 * the background workers, wired together, plus a dashboard. Staging and
 * production are both this class; they differ only in their settings.
 *
 * Two stacks: the edge's WAF web ACL, which CloudFront requires in us-east-1,
 * and everything else in the environment's region.
 */
export class DataProductStage extends Stage {
  /** The stack holding the tiers. */
  public readonly tiersStack: Stack;
  /** The us-east-1 stack holding the edge's web ACL. */
  public readonly edgeWafStack: Stack;
  /** What the pipeline's checks need to find the deployed stage. */
  public readonly outputs: DataProductOutputs;
  /** The role the pipeline's check steps assume in this stage's account. */
  public readonly checksRoleArn: string;
  /** The secret (in this stage's account) of the issuer client the deploy checks write with. */
  public readonly checksOidcClientSecretName: string;
  /** Fires when the served dataset snapshot is older than the data pipeline's schedule allows. */
  public readonly freshnessAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DataProductStageProps) {
    const { settings } = props;
    super(scope, id, { ...props, env: { account: settings.account, region: settings.region } });
    const label = `${PROJECT}-${id.toLowerCase()}`;
    tag(this, 'project', PROJECT);
    tag(this, 'stage', id.toLowerCase());

    this.edgeWafStack = new Stack(this, 'EdgeWaf', {
      env: { account: settings.account, region: 'us-east-1' },
      crossRegionReferences: true,
      description: `${label}: WAF web ACL of the ${TIER_IDS.edge} edge cache (CloudFront requires us-east-1)`,
    });
    const retention = settings.logRetentionDays;
    // One log key per stage and region: the WAF's request logs live in us-east-1.
    const edgeLogKey = new LogKey(this.edgeWafStack, 'LogKey', { description: `${label}: CloudWatch Logs in us-east-1 (WAF request logs)` });
    const webAcl = new EdgeWebAcl(this.edgeWafStack, `${TIER_IDS.edge}-waf`, {
      rateLimitPer5Minutes: settings.edge.rateLimitPer5Minutes,
      metricPrefix: `${label}-${TIER_IDS.edge}`,
      logGroupNamePrefix: `aws-waf-logs-${label}`,
      logRetention: retention,
      logEncryptionKey: edgeLogKey.key,
    });
    tag(this.edgeWafStack, 'tier', TIER_IDS.edge);

    const stack = (this.tiersStack = new ConfiguredAzStack(this, 'Tiers', {
      availabilityZones: settings.availabilityZones,
      env: { account: settings.account, region: settings.region },
      crossRegionReferences: true,
      description: `${label}: ${TIER_IDS.edge} edge cache, ${TIER_IDS.api} API, ${TIER_IDS.worker} workers`,
    }));
    // Cost per tier: what no one tier owns (network, VPC endpoints, cluster, buckets, table, log key,
    // alarm topic, dashboard) is `shared`; each tier's own construct overrides it below.
    tag(stack, 'tier', 'shared');
    const logKey = new LogKey(stack, 'LogKey', { description: `${label}: CloudWatch Logs and the alarm topic in ${settings.region}` }).key;
    const network = new Network(stack, 'Network', {
      availabilityZones: settings.availabilityZones,
      flowLogRetention: retention,
      flowLogEncryptionKey: logKey,
      // The API fetches its OIDC issuer's discovery document and keys at run time (services/api/src/auth.ts):
      // its subnets route out through a NAT gateway; the worker's stay isolated.
      natGateways: settings.network.natGatewayPerAz ? settings.availabilityZones.length : 1,
    });
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: network.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    const accessLogs = new AccessLogBucket(stack, 'AccessLogs');
    // Each image builds from services/ (the shared job contract and data formats are in
    // services/shared), leaving out the other service and the development-only files, so an
    // image changes only when its service or shared/ does.
    const image = (service: 'api' | 'worker') =>
      ecs.ContainerImage.fromAsset(path.join(REPO_ROOT, 'services'), {
        file: `${service}/Dockerfile`,
        exclude: ['*', `!${service}`, '!shared', '**/node_modules', '**/dist', 'shared/make-seed.ts'],
        buildArgs: props.imageBuildArgs,
      });
    // Point-in-time recovery in every stage: staging must deploy what production deploys (the
    // guardrail's template parity), and on a table this small it costs cents.
    const jobStore = new JobStore(stack, 'Jobs');
    const data = new DataBucket(stack, 'Data', { accessLogBucket: accessLogs.bucket });
    const freshness = new DatasetFreshness(settings);

    const worker = new QueueWorker(stack, TIER_IDS.worker, {
      cluster,
      subnets: network.workloadSubnets,
      image: image('worker'),
      minTasks: settings.worker.minTasks,
      maxTasks: settings.worker.maxTasks,
      cpu: settings.worker.cpu,
      memoryMiB: settings.worker.memoryMiB,
      concurrency: settings.worker.concurrency,
      backlogPerTaskTarget: settings.worker.backlogPerTaskTarget,
      jobTimeout: Duration.seconds(settings.worker.jobTimeoutSeconds),
      maxReceiveCount: settings.worker.maxReceiveCount,
      logRetention: retention,
      logEncryptionKey: logKey,
      maxOldestMessageAge: Duration.seconds(settings.alarms.oldestMessageAgeSeconds),
      schedules: [
        // The data pipeline: rebuild the searchable dataset on a fixed rate (the freshness budget's first part).
        { name: 'dataset-refresh', expression: freshness.scheduleExpression, jobType: 'rebuild-dataset', payload: { reason: 'schedule' } },
        ...settings.worker.schedules.map((s) => ({ name: s.name, expression: s.cron, jobType: s.jobType, payload: s.payload })),
      ],
      environment: {
        JOBS_TABLE: jobStore.table.tableName,
        DATA_BUCKET: data.bucket.bucketName,
        RESULT_RETENTION_DAYS: String(settings.data.resultRetentionDays),
      },
    });
    jobStore.grantProcess(worker.taskDefinition.taskRole);
    data.grantRebuild(worker.taskDefinition.taskRole);

    const api = new ApiService(stack, TIER_IDS.api, {
      cluster,
      // The only tier with a way out of the VPC: it fetches its OIDC issuer's keys (auth.ts).
      subnets: network.egressSubnets,
      image: image('api'),
      ingressPrefixListId: settings.cloudFrontPrefixListId,
      accessLogBucket: accessLogs.bucket,
      vpcCidr: network.cidr,
      minTasks: settings.api.minTasks,
      maxTasks: settings.api.maxTasks,
      cpu: settings.api.cpu,
      memoryMiB: settings.api.memoryMiB,
      cpuTargetPercent: settings.api.cpuTargetPercent,
      requestsPerTargetPerMinute: settings.api.requestsPerTargetPerMinute,
      logRetention: retention,
      logEncryptionKey: logKey,
      deletionProtection: settings.deletionProtection,
      rollback5xxPercent: settings.alarms.api5xxPercent,
      rollbackP99Latency: Duration.millis(settings.alarms.apiP99LatencyMs),
      deployment: apiDeployment(settings.api.deployment, {
        expectedVersion: props.appVersion,
        latencyBudget: Duration.millis(props.latencyBudgetMs),
        runtime: new lambda.Runtime(`nodejs${NODE_MAJOR}.x`, lambda.RuntimeFamily.NODEJS),
      }),
      environment: {
        QUEUE_URL: worker.queue.queueUrl,
        APP_VERSION: props.appVersion,
        JOBS_TABLE: jobStore.table.tableName,
        DATA_BUCKET: data.bucket.bucketName,
        DATASET_RELOAD_SECONDS: String(settings.data.reloadSeconds),
        SEARCH_MAX_AGE_SECONDS: String(settings.data.searchMaxAgeSeconds),
        SEARCH_STALE_SECONDS: String(settings.data.searchStaleSeconds),
        OIDC_ISSUER: settings.auth.oidcIssuer,
        OIDC_AUDIENCE: settings.auth.oidcAudience,
      },
    });
    // Tasks start as soon as a service is created: the first ones pull their image (ECR, S3), write
    // logs and reach SQS through the VPC endpoints, so the services wait for every endpoint.
    const endpoints = network.vpc.node.children.filter((child) => child instanceof ec2.InterfaceVpcEndpoint || child instanceof ec2.GatewayVpcEndpoint);
    for (const service of [api.service, worker.service]) service.node.addDependency(...endpoints);
    worker.queue.grantSendMessages(api.taskDefinition.taskRole);
    jobStore.grantSubmit(api.taskDefinition.taskRole);
    data.grantReadSnapshots(api.taskDefinition.taskRole);
    this.freshnessAlarm = freshness.addAlarm(api);
    // Alarms reach someone: the stage's topic, subscribed from configuration (alarms.email).
    const alarmTopic = new AlarmTopic(stack, 'Alarms', { key: logKey, email: settings.alarms.email });
    // And so does what ECS did with each release: completed, failed, rolling back, with ECS's reason.
    new DeploymentEvents(stack, 'DeploymentEvents', {
      topic: alarmTopic,
      stageLabel: label,
      services: [
        { service: api.service, name: `API (${TIER_IDS.api})` },
        { service: worker.service, name: `worker (${TIER_IDS.worker})` },
      ],
    });

    const { domainName, certificateArn } = settings.edge;
    const edge = new EdgeCache(stack, TIER_IDS.edge, {
      loadBalancer: api.loadBalancer,
      vpcInternetConnectivity: network.internetGatewayAttachment,
      webAclArn: webAcl.webAcl.attrArn,
      logBucket: accessLogs.bucket,
      priceClass: settings.edge.priceClass as cloudfront.PriceClass,
      domain:
        domainName && certificateArn
          ? { domainName, certificate: acm.Certificate.fromCertificateArn(stack, 'EdgeCertificate', certificateArn) }
          : undefined,
    });

    tag(edge, 'tier', TIER_IDS.edge);
    tag(api, 'tier', TIER_IDS.api);
    tag(worker, 'tier', TIER_IDS.worker);
    new TiersDashboard(stack, 'Dashboard', { dashboardName: label, edge, api, worker });

    const output = (name: string, value: string, description: string) => new CfnOutput(stack, name, { value, description });
    this.outputs = {
      edgeUrl: output('EdgeUrl', `https://${domainName ?? edge.distribution.distributionDomainName}`, 'Public URL of the edge cache'),
      distributionId: output('DistributionId', edge.distribution.distributionId, 'CloudFront distribution id (for invalidations)'),
      queueUrl: output('QueueUrl', worker.queue.queueUrl, 'Job queue URL'),
      deadLetterQueueUrl: output('DeadLetterQueueUrl', worker.deadLetterQueue.queueUrl, 'Dead-letter queue URL'),
      clusterName: output('ClusterName', cluster.clusterName, 'ECS cluster name'),
      apiServiceName: output('ApiServiceName', api.service.serviceName, 'ECS service of the API tier'),
      workerServiceName: output('WorkerServiceName', worker.service.serviceName, 'ECS service of the worker tier'),
      apiTargetGroupArn: output('ApiTargetGroupArn', api.targetGroup.targetGroupArn, 'Target group of the API tasks'),
      // Absent for a rolling API: then only one group ever holds tasks.
      ...(api.alternateTargetGroup && {
        apiAlternateTargetGroupArn: output('ApiAlternateTargetGroupArn', api.alternateTargetGroup.targetGroupArn, 'Second target group of the API tasks (blue/green)'),
      }),
      dataBucketName: output('DataBucketName', data.bucket.bucketName, 'Data bucket: raw records (raw/), snapshots (snapshots/)'),
      jobsTableName: output('JobsTableName', jobStore.table.tableName, 'DynamoDB table of job records'),
      freshnessBudgetSeconds: output('FreshnessBudgetSeconds', String(freshness.budgetSeconds), 'A record added is searchable through the edge within this'),
      snapshotAgeBudgetSeconds: output('SnapshotAgeBudgetSeconds', String(freshness.maxSnapshotAgeSeconds), 'The oldest the served snapshot may be while every run succeeds'),
      apiLogGroupName: output('ApiLogGroupName', (api.node.findChild('Logs') as logs.ILogGroup).logGroupName, 'Log group of the API tasks'),
      workerLogGroupName: output('WorkerLogGroupName', (worker.node.findChild('Logs') as logs.ILogGroup).logGroupName, 'Log group of the worker tasks'),
      ...(api.testTrafficHook && {
        releaseChecksLogGroupName: output('ReleaseChecksLogGroupName', api.testTrafficHook.function.logGroup.logGroupName, "Log group of the API's release checks (test traffic hook)"),
      }),
    };

    const checksRoleName = `${label}-deploy-checks`;
    this.checksOidcClientSecretName = DeployChecksRole.oidcClientSecretName(label);
    new DeployChecksRole(stack, 'DeployChecks', { roleName: checksRoleName, trustedAccount: props.pipelineAccount, edge, api, worker, data, oidcClientSecretName: this.checksOidcClientSecretName });
    this.checksRoleArn = DeployChecksRole.arnFor(settings.account, checksRoleName);

    acknowledgeProgressiveDeliveryFindings(api);
    // Every alarm of the stage notifies its topic (those added later by a construct too).
    alarmTopic.notify(...stack.node.findAll().filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm));

    acknowledgeStageFindings({
      accessLogs,
      edge,
      api,
      worker,
      cluster,
      network,
      webAcl,
      jobStore,
      data,
      customDomain: domainName !== undefined,
    });
  }
}

/** The API's deployment from its configuration: the traffic step is read by CANARY and LINEAR only. */
export function apiDeployment(settings: ApiDeploymentSettings, releaseChecks: ApiReleaseChecks): ApiDeployment {
  const strategy = ecs.DeploymentStrategy[settings.strategy];
  if (strategy === ecs.DeploymentStrategy.ROLLING) return { strategy };
  const shifts = strategy === ecs.DeploymentStrategy.CANARY || strategy === ecs.DeploymentStrategy.LINEAR;
  return {
    strategy,
    bakeTime: Duration.minutes(settings.bakeMinutes),
    trafficShift: shifts ? { stepPercent: settings.trafficStepPercent, stepBakeTime: Duration.minutes(settings.trafficStepMinutes) } : undefined,
    releaseChecks,
  };
}
