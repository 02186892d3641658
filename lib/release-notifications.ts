import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link ReleaseNotifications}. */
export interface ReleaseNotificationsProps {
  /** The release pipeline. */
  readonly pipeline: codepipeline.IPipeline;
  /**
   * An e-mail address subscribed to the notifications.
   * @default - no subscription (subscribe to the topic yourself)
   */
  readonly email?: string;
}

/**
 * An encrypted SNS topic told of every failed pipeline execution and of every
 * automatic rollback of a stage.
 */
export class ReleaseNotifications extends Construct {
  /** The topic. */
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: ReleaseNotificationsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'Release notifications topic' });
    // The services that publish must be able to use the key.
    for (const service of ['codestar-notifications.amazonaws.com', 'events.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          principals: [new iam.ServicePrincipal(service)],
          resources: ['*'], // in a key policy, "*" is this key
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'br-fagq2 releases' });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    props.pipeline.notifyOn('Failures', this.topic, {
      events: [
        codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
        codepipeline.PipelineNotificationEvents.STAGE_EXECUTION_FAILED,
      ],
    });
    // A V2 pipeline's automatic stage rollback starts an execution whose trigger
    // type is "AutomatedRollback".
    props.pipeline.onEvent('Rollbacks', {
      description: 'A stage of the release pipeline rolled back automatically',
      eventPattern: {
        detailType: ['CodePipeline Pipeline Execution State Change'],
        detail: { state: ['STARTED'], 'execution-trigger': { 'trigger-type': ['AutomatedRollback'] } },
      },
      target: new targets.SnsTopic(this.topic, {
        message: events.RuleTargetInput.fromText(
          `Release pipeline ${events.EventField.fromPath('$.detail.pipeline')} is rolling back (execution ${events.EventField.fromPath('$.detail.execution-id')}).`,
        ),
      }),
    });
  }
}
