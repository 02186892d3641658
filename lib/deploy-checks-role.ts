import { CfnResource, Stack } from 'aws-cdk-lib';
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
}

/**
 * The role the release pipeline's check steps assume in a stage's account: it
 * may read what the deploy and health checks read of this stage, invalidate
 * its edge cache, and nothing else.
 */
export class DeployChecksRole extends Construct {
  /** The role. */
  public readonly role: iam.Role;

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
