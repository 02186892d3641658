import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of an {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /** The key encrypting the topic (CloudWatch is allowed to use it). */
  readonly key: kms.IKey;
  /**
   * Who is notified: an email subscription (confirmed by its owner).
   * @default - no subscription (subscribe a pager or chat integration out of band)
   */
  readonly email?: string;
}

/**
 * The stage's alarm topic: an SNS topic encrypted with the stage's key, TLS only,
 * that every alarm of the stage notifies on ALARM and OK.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 */
export class AlarmTopic extends Construct {
  /** The topic. */
  public readonly topic: sns.Topic;

  private readonly key: kms.IKey;
  private readonly publishers = new Set<string>();

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.key = props.key;
    this.topic = new sns.Topic(this, 'Topic', { masterKey: props.key, enforceSSL: true });
    this.allowPublishing('cloudwatch.amazonaws.com', 'CloudWatchAlarmsPublish');
    this.allowAlarmsToPublish();
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /**
   * Lets an AWS service publish to the encrypted topic: a service publishes only if the key
   * policy lets it use the key (https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification).
   * The topic policy (publish) comes with the alarm action or the event target.
   */
  allowPublishing(servicePrincipal: string, sid: string): void {
    if (this.publishers.has(servicePrincipal)) return;
    this.publishers.add(servicePrincipal);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ServicePrincipal(servicePrincipal)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
  }

  /**
   * The topic policy statement that lets CloudWatch alarms of this account and region publish.
   * A topic policy replaces SNS's default policy (which lets the owning account publish) instead of
   * adding to it, and the event targets give the topic a policy; CloudWatch publishes as the
   * service principal `cloudwatch.amazonaws.com` on behalf of the alarm, so without this statement
   * every notification fails with "Resource: arn:aws:cloudwatch:…:alarm:… is not authorized to
   * perform: SNS:Publish" (AWS re:Post, "Why didn't I receive an SNS notification for my
   * CloudWatch alarm trigger?", https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
   * The conditions keep other accounts' alarms out (Amazon SNS developer guide, "Example cases for
   * Amazon SNS access control", aws:SourceAccount and aws:SourceArn,
   * https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html). The key side is
   * {@link allowPublishing}: kms:Decrypt and kms:GenerateDataKey* for the same principal (Amazon
   * SNS developer guide, "Key management", compatibility between event sources from AWS services
   * and encrypted topics, https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
   */
  private allowAlarmsToPublish(): void {
    const stack = Stack.of(this);
    const alarmArns = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': alarmArns },
        },
      }),
    );
  }

  /** Makes each alarm notify the topic when it fires and when it clears. */
  notify(...alarms: cloudwatch.Alarm[]): void {
    const action = new actions.SnsAction(this.topic);
    for (const alarm of alarms) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
