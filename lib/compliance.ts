import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { ApiService } from '../constructs/api-service';
import { DataBucket } from '../constructs/data-bucket';
import { EdgeCache } from '../constructs/edge-cache';
import { QueueWorker } from '../constructs/queue-worker';

/** Registers cdk-nag's AWS Solutions checks on every stack of the app. */
export function addComplianceChecks(app: IConstruct): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}

/**
 * Acknowledges one cdk-nag finding on one construct, with its reason. The id is
 * a rule id, or a rule id with its finding in brackets (IAM5's granular form).
 */
export function acknowledgeFinding(construct: IConstruct, finding: string, reason: string): void {
  Validations.of(construct).acknowledge({ id: `AwsSolutions::AwsSolutions-${finding}`, reason });
}

/** The constructs of a stage whose findings are acknowledged. */
export interface StageFindings {
  readonly accessLogs: AccessLogBucket;
  readonly edge: EdgeCache;
  readonly api: ApiService;
  readonly worker: QueueWorker;
  readonly cluster: ecs.Cluster;
  readonly data: DataBucket;
  readonly customDomain: boolean;
}

/**
 * The cdk-nag findings of a stage that are accepted, each on one construct with
 * its reason. Everything else fails the synth.
 */
export function acknowledgeStageFindings(s: StageFindings): void {
  // No S1 on the access-log bucket: cdk-nag does not report a bucket that receives other buckets'
  // server access logs (the data bucket's), so there is nothing to acknowledge.
  acknowledgeFinding(
    s.edge.distribution,
    'CFR1',
    'A public data product served worldwide: no country is to be blocked; abuse is handled by WAF rate limiting.',
  );
  if (!s.customDomain) {
    acknowledgeFinding(
      s.edge.distribution,
      'CFR4',
      'No custom domain configured: the default *.cloudfront.net certificate cannot set a TLS policy. Configure edge.domainName and edge.certificateArn to get TLSv1.2_2021.',
    );
  }
  for (const tier of [s.api, s.worker]) {
    acknowledgeFinding(
      tier.taskDefinition,
      'ECS2',
      'The environment holds non-secret configuration only (queue URLs, port, release id, concurrency); there are no secrets to move to Secrets Manager.',
    );
    acknowledgeFinding(
      tier.taskDefinition.obtainExecutionRole(),
      'IAM5[Resource::*]',
      'ecr:GetAuthorizationToken, needed to pull the image, supports no resource-level permission (AWS documents Resource "*").',
    );
  }
  // The worker may protect its own tasks only: any task of its cluster, since a
  // task's id is not known before it starts.
  const stack = Stack.of(s.cluster);
  const clusterLogicalId = stack.getLogicalId(s.cluster.node.defaultChild as CfnResource);
  acknowledgeFinding(
    s.worker.taskDefinition.taskRole,
    `IAM5[Resource::arn:aws:ecs:${stack.region}:${stack.account}:task/<${clusterLogicalId}>/*]`,
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
}
