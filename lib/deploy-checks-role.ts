import { ArnFormat, CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ApiService } from '../constructs/api-service';
import { DataBucket } from '../constructs/data-bucket';
import { EdgeCache } from '../constructs/edge-cache';
import { QueueWorker } from '../constructs/queue-worker';
import { acknowledgeFinding, acknowledgeProbeAccess } from './compliance';

/** Properties of a {@link DeployChecksRole}. */
export interface DeployChecksRoleProps {
  /** The role's name; fixed, so that the pipeline can name its ARN without a cross-account reference. */
  readonly roleName: string;
  /** The account whose pipeline steps assume the role. */
  readonly trustedAccount: string;
  /** The stage's tiers, which the checks read. */
  readonly edge: EdgeCache;
  readonly api: ApiService;
  readonly worker: QueueWorker;
  readonly data: DataBucket;
  /**
   * The name of the Secrets Manager secret (in this account and region, created by an operator)
   * holding the issuer client the jobs check gets its write token with; the role may read it.
   */
  readonly oidcClientSecretName: string;
}

/**
 * The role the release pipeline's check steps assume in a stage's account: it
 * may read what the deploy and health checks read of this stage, invalidate
 * its edge cache, and nothing else.
 */
export class DeployChecksRole extends Construct {
  /** The role. */
  public readonly role: iam.Role;

  /** The name of a stage's deploy-checks OIDC client secret (README, "The deploy checks' write credential"). */
  static oidcClientSecretName(stageLabel: string): string {
    return `${stageLabel}/deploy-checks/oidc-client`;
  }

  /** The ARN of the role named `roleName` in `account`. */
  static arnFor(account: string, roleName: string, partition = 'aws'): string {
    return `arn:${partition}:iam::${account}:role/${roleName}`;
  }

  constructor(scope: Construct, id: string, props: DeployChecksRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'Assumed by the release pipeline to check this stage before and after a deployment',
      assumedBy: new iam.AccountPrincipal(props.trustedAccount),
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'JobsDrain',
        actions: ['sqs:GetQueueAttributes'],
        resources: [props.worker.queue.queueArn, props.worker.deadLetterQueue.queueArn],
      }),
    );
    // "cached data updates correctly": add and remove probe records, run the pipeline on demand
    // (a rebuild job on the queue, as the schedule sends it).
    props.data.grantProbes(this.role);
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'RunPipeline', actions: ['sqs:SendMessage'], resources: [props.worker.queue.queueArn] }));
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EdgeInvalidation',
        actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
        resources: [stack.formatArn({ service: 'cloudfront', region: '', resource: 'distribution', resourceName: props.edge.distribution.distributionId })],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ServicesAtDesiredCount',
        actions: ['ecs:DescribeServices'],
        resources: [props.api.service.serviceArn, props.worker.service.serviceArn],
      }),
    );
    // "api release": the API's newest service deployment and what became of it
    // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment-permissions.html).
    const { cluster } = props.api.service;
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ApiReleaseOutcome',
        actions: ['ecs:ListServiceDeployments', 'ecs:DescribeServiceDeployments'],
        resources: [
          props.api.service.serviceArn,
          stack.formatArn({ service: 'ecs', resource: 'service-deployment', resourceName: `${cluster.clusterName}/${props.api.service.serviceName}/*` }),
        ],
      }),
    );
    // The authenticated write: the client credentials of the issuer client made for these checks.
    // Secrets Manager appends a hyphen and six random characters to a secret's name in its ARN
    // (Secrets Manager user guide, "Permissions policy examples", https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html).
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteCredential',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${props.oidcClientSecretName}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'StageOutputs', actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({ sid: 'TargetsHealthy', actions: ['elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] }),
    );
    acknowledgeProbeAccess(this.role.node.findChild('DefaultPolicy'), props.data);
    const logicalId = (c: Construct) => stack.getLogicalId(c.node.defaultChild as CfnResource);
    acknowledgeFinding(
      this.role.node.findChild('DefaultPolicy'),
      `AwsSolutions-IAM5[Resource::arn:aws:ecs:${stack.region}:${stack.account}:service-deployment/<${logicalId(cluster)}>/<${logicalId(props.api.service)}.Name>/*]`,
      "The API service's own deployments (read-only: list, describe); a deployment's id is made by ECS when it starts.",
    );
    acknowledgeFinding(
      this.role.node.findChild('DefaultPolicy'),
      'AwsSolutions-IAM5[Resource::*]',
      'elasticloadbalancing:DescribeTargetHealth supports no resource-level permission; it is read-only.',
    );
  }
}
