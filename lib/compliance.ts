import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { ApiService } from '../constructs/api-service';
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
  readonly customDomain: boolean;
}

/**
 * The cdk-nag findings of a stage that are accepted, each on one construct with
 * its reason. Everything else fails the synth.
 */
export function acknowledgeStageFindings(s: StageFindings): void {
  acknowledgeFinding(
    s.accessLogs.bucket,
    'S1',
    'This bucket is the access-log destination itself; logging its own access would write logs about logs without end.',
  );
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
}
