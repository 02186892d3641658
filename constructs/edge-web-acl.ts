import { Aws, Fn } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

/** Properties of an {@link EdgeWebAcl}. */
export interface EdgeWebAclProps {
  /** Requests allowed from one IP address in any 5-minute window before it is blocked. */
  readonly rateLimitPer5Minutes: number;
  /** Prefix of the CloudWatch metric names of the ACL and its rules. */
  readonly metricPrefix: string;
  /**
   * Start of the request log group's name (WAF requires the prefix `aws-waf-logs-`); the group's
   * name is this, a dash and the id of the stack's creation (see {@link EdgeWebAcl.logGroup}).
   */
  readonly logGroupNamePrefix: string;
  /** How long request logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * The key encrypting the request logs (a key of this stack's region, us-east-1).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * A WAF web ACL for a CloudFront distribution: AWS managed common and
 * known-bad-inputs rule groups and a per-IP rate limit, its requests logged to
 * an encrypted log group with a retention. CloudFront web ACLs must be created
 * in us-east-1, so this construct (and its log group) belongs in a us-east-1 stack.
 */
export class EdgeWebAcl extends Construct {
  /** The web ACL. */
  public readonly webAcl: wafv2.CfnWebACL;
  /**
   * The request log group. It is retained when its stack is deleted (the logs outlive the stack),
   * so its name ends with the unique id of the stack's creation (the last part of AWS::StackId):
   * a stack created again, after a failed first create left ROLLBACK_COMPLETE and was deleted,
   * creates a group of a new name instead of failing on the retained one ("already exists").
   */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EdgeWebAclProps) {
    super(scope, id);
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${props.metricPrefix}-${name}`,
    });
    const managed = (name: string, priority: number, countOnly: string[] = []): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: countOnly.length ? countOnly.map((rule) => ({ name: rule, actionToUse: { count: {} } })) : undefined,
        },
      },
      visibilityConfig: visibility(name),
    });

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('web-acl'),
      rules: [
        // The common rule set blocks request bodies over 8 KiB; the API accepts
        // job bodies up to 256 KiB and enforces that limit itself.
        managed('AWSManagedRulesCommonRuleSet', 0, ['SizeRestrictions_BODY']),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 1),
        {
          name: 'RateLimitPerIp',
          priority: 2,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: props.rateLimitPer5Minutes, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('rate-limit'),
        },
      ],
    });

    if (!props.logGroupNamePrefix.startsWith('aws-waf-logs-')) {
      throw new Error(`EdgeWebAcl: the log group name must start with "aws-waf-logs-", got "${props.logGroupNamePrefix}"`);
    }
    // https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
    // AWS::StackId is arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>.
    const creationId = Fn.select(2, Fn.split('/', Aws.STACK_ID));
    this.logGroup = new logs.LogGroup(this, 'RequestLogs', {
      logGroupName: `${props.logGroupNamePrefix}-${creationId}`,
      retention: props.logRetention,
      encryptionKey: props.logEncryptionKey,
    });
    new wafv2.CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      logDestinationConfigs: [this.logGroup.logGroupArn],
    });
  }
}
