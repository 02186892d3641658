import { Aspects, CfnResource, IPolicyValidationPlugin, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AwsSolutionsChecks,
  NagPackProps,
  NIST80053R5Checks,
  WriteNagSuppressionsToCloudFormationAspect,
} from 'cdk-nag';
import { IConstruct } from 'constructs';
import { CompliancePack } from './config';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { ApiService } from '../constructs/api-service';
import { DataBucket } from '../constructs/data-bucket';
import { EdgeWebAcl } from '../constructs/edge-web-acl';
import { JobStore } from '../constructs/job-store';
import { Network } from '../constructs/network';
import { EdgeCache } from '../constructs/edge-cache';
import { QueueWorker } from '../constructs/queue-worker';

/** The cdk-nag pack of each synth-time compliance pack (ControlTower runs apart: `npm run compliance`). */
const NAG_PACKS: Partial<Record<CompliancePack, (app: IConstruct, props: NagPackProps) => IPolicyValidationPlugin>> = {
  AwsSolutions: (app, props) => new AwsSolutionsChecks(app, props),
  NIST80053R5: (app, props) => new NIST80053R5Checks(app, props),
};

/**
 * Registers the cdk-nag packs of the profile on every stack of the app. Their
 * findings go to cdk.out/validation-report.json and fail the synth; the
 * acknowledgements are also written into the templates (`cdk_nag` metadata),
 * where the guardrail checks them against its allow-list.
 */
export function addComplianceChecks(app: IConstruct, packs: readonly CompliancePack[]): void {
  const plugins = packs.flatMap((pack) => NAG_PACKS[pack]?.(app, { verbose: true, writeSuppressionsToCloudFormation: true }) ?? []);
  Validations.of(app).addPlugins(...plugins);
}

/**
 * Acknowledges one cdk-nag finding on one construct, with its reason. The id is
 * a pack's rule id (`AwsSolutions-S1`, `NIST.800.53.R5-IAMNoInlinePolicy`), or
 * a rule id with its finding in brackets (IAM5's granular form).
 */
export function acknowledgeFinding(construct: IConstruct, ruleId: string, reason: string): void {
  // A bare id ('S1', 'IAM5[...]') is an AwsSolutions rule, as before the profile had other packs.
  const id = /^(AwsSolutions|NIST\.800\.53\.R[45]|HIPAA\.Security|PCI\.DSS\.321)-/.test(ruleId) ? ruleId : `AwsSolutions-${ruleId}`;
  const pack = id.slice(0, id.indexOf('-'));
  Validations.of(construct).acknowledge({ id: `${pack}::${id}`, reason });
}

/** NIST 800-53 R5 rules that check what an AwsSolutions rule checks: one reviewed reason answers both. */
const SAME_FINDING: Record<string, string> = {
  'AwsSolutions::AwsSolutions-SMG4': 'NIST.800.53.R5-SecretsManagerRotationEnabled',
};

/** Acknowledges, on each construct under `scope`, the NIST twin of an acknowledged AwsSolutions finding, with its reason. */
export function acknowledgeSameFindings(scope: IConstruct): void {
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        const twin = SAME_FINDING[key.replace(/^annotation::/i, '')];
        if (twin) acknowledgeFinding(construct, twin, reason);
      }
    }
  }
}

/** The constructs of a stage whose findings are acknowledged. */
export interface StageFindings {
  readonly accessLogs: AccessLogBucket;
  readonly edge: EdgeCache;
  readonly api: ApiService;
  readonly worker: QueueWorker;
  readonly cluster: ecs.Cluster;
  readonly data: DataBucket;
  readonly network: Network;
  readonly jobStore: JobStore;
  readonly webAcl: EdgeWebAcl;
  readonly customDomain: boolean;
}

const INLINE_POLICY_REASON =
  'A CDK grant policy (AWS::IAM::Policy) attached to this one role only: it is as scoped and as reviewable as a customer managed policy would be, and it is deleted with its role.';

/**
 * NIST 800-53 R5 IAMNoInlinePolicy flags every AWS::IAM::Policy; aws-cdk-lib writes
 * each grant as one. Acknowledged on each such policy under `scope` that is attached
 * to exactly one role and no user or group; any other inline policy stays a finding.
 */
export function acknowledgeRoleGrantPolicies(scope: IConstruct): void {
  for (const construct of scope.node.findAll()) {
    if (!(construct instanceof iam.CfnPolicy)) continue;
    const count = (list: unknown) => ((Stack.of(construct).resolve(list) as unknown[] | undefined) ?? []).length;
    if (count(construct.roles) === 1 && count(construct.users) === 0 && count(construct.groups) === 0) {
      acknowledgeFinding(construct, 'NIST.800.53.R5-IAMNoInlinePolicy', INLINE_POLICY_REASON);
    }
  }
}

/**
 * The cdk-nag findings of a stage that are accepted, each on one construct with
 * its reason. Everything else fails the synth.
 */
export function acknowledgeStageFindings(s: StageFindings): void {
  // No S1 on the access-log bucket: cdk-nag does not report a bucket that receives other buckets'
  // server access logs (the data bucket's), so there is nothing to acknowledge.
  // The packs write acknowledgements into the templates from the app's aspects,
  // which a nested stage's synthesis does not run: the stage gets its own.
  Aspects.of(Stage.of(s.api)!).add(new WriteNagSuppressionsToCloudFormationAspect());
  acknowledgeFinding(
    s.accessLogs.bucket,
    'NIST.800.53.R5-S3BucketLoggingEnabled',
    'This bucket is the access-log destination itself; logging its own access would write logs about logs without end.',
  );
  acknowledgeFinding(
    s.accessLogs.bucket,
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    'Access logs are kept versioned for a year in the stage region; a cross-region copy would double their cost for logs that can be re-derived from CloudTrail and CloudFront/ALB metrics.',
  );
  acknowledgeFinding(
    s.accessLogs.bucket,
    'NIST.800.53.R5-S3DefaultEncryptionKMS',
    'Application Load Balancer access logs can only be delivered to a bucket encrypted with SSE-S3 (Elastic Load Balancing documentation, "Access logs": "the only server-side encryption option that\'s supported is Amazon S3-managed keys").',
  );
  for (const subnet of s.network.vpc.publicSubnets) {
    acknowledgeFinding(
      subnet.node.findChild('DefaultRoute'),
      'NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW',
      'The public subnets hold only the NAT gateway(s); the internet gateway exists because CloudFront VPC origins and the NAT gateway require it. Tasks and the load balancer are in private subnets: the API subnets route out through the NAT gateway (outbound only), the worker subnets not at all; none routes to the internet gateway.',
    );
  }
  acknowledgeFinding(
    s.api.loadBalancer,
    'NIST.800.53.R5-ALBWAFEnabled',
    'The load balancer is internal and reachable only from CloudFront through a VPC origin; the web ACL is on the CloudFront distribution, in front of it.',
  );
  // Acknowledged in every stage alike (the guardrail requires staging and production
  // templates to differ only by configuration values); it suppresses a finding only
  // where configuration turns protection off.
  acknowledgeFinding(
    s.api.loadBalancer,
    'NIST.800.53.R5-ELBDeletionProtectionEnabled',
    'Deletion protection follows configuration (deletionProtection): on in production; off only in a stage whose load balancer is replaceable (staging).',
  );
  for (const listener of s.api.loadBalancer.listeners) {
    acknowledgeFinding(
      listener,
      'NIST.800.53.R5-ALBHttpToHttpsRedirection',
      'Internal listener reached only by CloudFront over its VPC origin (AWS private network); viewers are redirected to HTTPS at CloudFront.',
    );
    acknowledgeFinding(
      listener,
      'NIST.800.53.R5-ELBv2ACMCertificateRequired',
      'Internal listener reached only by CloudFront over its VPC origin (AWS private network); TLS terminates at CloudFront with its certificate.',
    );
  }
  acknowledgeRoleGrantPolicies(Stack.of(s.api));
  acknowledgeRoleGrantPolicies(Stack.of(s.webAcl));
  acknowledgeFinding(
    s.edge.distribution,
    'AwsSolutions-CFR1',
    'A public data product served worldwide: no country is to be blocked; abuse is handled by WAF rate limiting.',
  );
  if (!s.customDomain) {
    acknowledgeFinding(
      s.edge.distribution,
      'AwsSolutions-CFR4',
      'No custom domain configured: the default *.cloudfront.net certificate cannot set a TLS policy. Configure edge.domainName and edge.certificateArn to get TLSv1.2_2021.',
    );
  }
  for (const tier of [s.api, s.worker]) {
    acknowledgeFinding(
      tier.taskDefinition,
      'AwsSolutions-ECS2',
      'The environment holds non-secret configuration only (queue URLs, port, release id, concurrency); there are no secrets to move to Secrets Manager.',
    );
    acknowledgeFinding(
      tier.taskDefinition.obtainExecutionRole(),
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken, needed to pull the image, supports no resource-level permission (AWS documents Resource "*").',
    );
  }
  // The worker may protect its own tasks only: any task of its cluster, since a
  // task's id is not known before it starts.
  const stack = Stack.of(s.cluster);
  const clusterLogicalId = stack.getLogicalId(s.cluster.node.defaultChild as CfnResource);
  acknowledgeFinding(
    s.worker.taskDefinition.taskRole,
    `AwsSolutions-IAM5[Resource::arn:aws:ecs:${stack.region}:${stack.account}:task/<${clusterLogicalId}>/*]`,
    'ECS task protection (ecs:UpdateTaskProtection) of the tasks of this cluster only; task ids are not known at deploy time.',
  );

  // The data bucket's prefixes: each role reaches only the keys of its part of the data flow
  // (services/shared/dataset.ts); object keys are unknown until the data is written.
  const bucketLogicalId = stack.getLogicalId(s.data.bucket.node.defaultChild as CfnResource);
  const objects = (prefix: string) => `IAM5[Resource::<${bucketLogicalId}.Arn>/${prefix}*]`;
  acknowledgeFinding(
    s.api.taskDefinition.taskRole,
    objects(DataBucket.SNAPSHOT_PREFIX),
    'The API reads the snapshot pointer and the snapshot it names (s3:GetObject only); snapshot ids are made by each pipeline run.',
  );
  acknowledgeFinding(
    s.worker.taskDefinition.taskRole,
    objects(DataBucket.RAW_PREFIX),
    'The data pipeline reads every raw record file (s3:GetObject only); their names are chosen by whoever adds records.',
  );
  acknowledgeFinding(
    s.worker.taskDefinition.taskRole,
    objects(DataBucket.SNAPSHOT_PREFIX),
    'The data pipeline writes a new snapshot per run and moves the pointer (s3:GetObject, s3:PutObject); snapshot ids are made at run time.',
  );
  acknowledgeFinding(
    s.jobStore.table,
    'NIST.800.53.R5-DynamoDBInBackupPlan',
    'Job records live for days (TTL) and are re-creatable by resubmitting the job; the table keeps 35 days of point-in-time recovery, which an AWS Backup plan would only duplicate.',
  );
  acknowledgeFinding(
    s.data.bucket,
    'NIST.800.53.R5-S3BucketReplicationEnabled',
    'A single-region data product: the bucket is versioned (30 days of noncurrent versions) and its snapshots are rebuilt from the raw records by the data pipeline; a cross-region replica would double the storage for no second region that could serve it.',
  );
}

/**
 * The deploy checks' role adds and removes probe records under raw/_probe/ (the freshness check);
 * each probe has a fresh random name.
 */
export function acknowledgeProbeAccess(role: IConstruct, data: DataBucket): void {
  const bucketLogicalId = Stack.of(data).getLogicalId(data.bucket.node.defaultChild as CfnResource);
  acknowledgeFinding(
    role,
    `IAM5[Resource::<${bucketLogicalId}.Arn>/${DataBucket.PROBE_PREFIX}*]`,
    'The freshness deploy check puts and deletes probe records (fresh random names) under raw/_probe/ only, where no user query finds them.',
  );
}

/** The findings of the API's progressive delivery (constructs/api-service.ts), each with its reason. */
export function acknowledgeProgressiveDeliveryFindings(api: ApiService): void {
  const hook = api.testTrafficHook;
  if (!hook) return;
  acknowledgeFinding(
    api.service.node.findChild('AlternateTargetRole'),
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]',
    'The AWS-maintained policy ECS documents for its blue/green infrastructure role (moving listener rules between the two target groups); it follows the ECS feature as it changes, which a copy would not.',
  );
  acknowledgeFinding(
    hook.function.role!,
    'IAM5[Resource::*]',
    'A function in a VPC manages its network interfaces (ec2:CreateNetworkInterface, Describe*, Delete*, Assign/UnassignPrivateIpAddresses), which support no resource-level permission: what AWSLambdaVPCAccessExecutionRole grants, without its logs on every group.',
  );
  acknowledgeFinding(
    hook.function,
    'L1',
    'The release checks run on the Node.js major of .nvmrc, the runtime the project and its tests use (lib/node-version.ts); it moves with .nvmrc.',
  );
  acknowledgeFinding(
    hook.function,
    'NIST.800.53.R5-LambdaDLQ',
    'ECS invokes the release checks synchronously (deployment lifecycle hook) and acts on the answer itself; there is no asynchronous invocation whose failure could be dead-lettered.',
  );
  acknowledgeFinding(
    hook.function,
    'NIST.800.53.R5-LambdaConcurrency',
    'Invoked once per API deployment by ECS; reserving concurrency would take capacity from the account for a function that never runs twice at once.',
  );
}
