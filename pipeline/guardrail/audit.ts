import { type CheckResult, fromProblems } from './check.js';
import { asList, type CfnResource, describe, isRecord, referencedLogicalId } from './templates.js';

/**
 * The compliance audit of the production templates. Each rule looks at the synthesized
 * CloudFormation (what will really be deployed), not at the CDK code that produced it.
 */
export function auditResources(resources: readonly CfnResource[]): CheckResult[] {
  return [
    checkLogRetention(resources),
    checkBucketPublicAccess(resources),
    checkBucketEncryption(resources),
    checkBucketSsl(resources),
    checkCloudFrontLogging(resources),
    checkAlbLogging(resources),
    checkVpcFlowLogs(resources),
    checkIamWildcards(resources),
  ];
}

/** "all 3 buckets are encrypted", or "no buckets in the production templates" when there is nothing to check. */
function everyOk(count: number, noun: string, claim: string): string {
  return count === 0 ? `no ${noun} in the production templates` : `all ${count} ${noun} ${claim}`;
}

const ofType = (resources: readonly CfnResource[], type: string) => resources.filter((r) => r.type === type);
const isTrue = (value: unknown) => value === true || value === 'true';

export function checkLogRetention(resources: readonly CfnResource[]): CheckResult {
  const groups = ofType(resources, 'AWS::Logs::LogGroup');
  const problems = groups
    .filter((g) => g.properties.RetentionInDays === undefined)
    .map((g) => `${describe(g)} has no RetentionInDays: its logs would be kept forever`);
  return fromProblems(
    'log-retention',
    problems,
    everyOk(groups.length, 'log groups', 'have a retention'),
    'log groups without a retention',
  );
}

const PUBLIC_ACCESS_FLAGS = [
  'BlockPublicAcls',
  'BlockPublicPolicy',
  'IgnorePublicAcls',
  'RestrictPublicBuckets',
] as const;

export function checkBucketPublicAccess(resources: readonly CfnResource[]): CheckResult {
  const buckets = ofType(resources, 'AWS::S3::Bucket');
  const problems: string[] = [];
  for (const bucket of buckets) {
    const config = bucket.properties.PublicAccessBlockConfiguration;
    const off = PUBLIC_ACCESS_FLAGS.filter((flag) => !(isRecord(config) && isTrue(config[flag])));
    if (off.length > 0)
      problems.push(`${describe(bucket)} does not set ${off.join(', ')} in PublicAccessBlockConfiguration`);
  }
  return fromProblems(
    's3-public-access',
    problems,
    everyOk(buckets.length, 'buckets', 'block public access'),
    'buckets not blocking public access',
  );
}

export function checkBucketEncryption(resources: readonly CfnResource[]): CheckResult {
  const buckets = ofType(resources, 'AWS::S3::Bucket');
  const problems = buckets
    .filter((bucket) => {
      const encryption = bucket.properties.BucketEncryption;
      const rules = isRecord(encryption) ? asList(encryption.ServerSideEncryptionConfiguration) : [];
      return !rules.some((rule) => isRecord(rule) && isRecord(rule.ServerSideEncryptionByDefault));
    })
    .map((bucket) => `${describe(bucket)} has no BucketEncryption.ServerSideEncryptionConfiguration`);
  return fromProblems(
    's3-encryption',
    problems,
    everyOk(buckets.length, 'buckets', 'are encrypted'),
    'buckets without encryption',
  );
}

export function checkBucketSsl(resources: readonly CfnResource[]): CheckResult {
  const buckets = ofType(resources, 'AWS::S3::Bucket');
  const enforced = new Set<string>();
  for (const policy of ofType(resources, 'AWS::S3::BucketPolicy')) {
    const target = referencedLogicalId(policy.properties.Bucket);
    if (target !== undefined && statementsOf(policy.properties.PolicyDocument).some(deniesInsecureTransport)) {
      enforced.add(`${policy.template}#${target}`);
    }
  }
  const problems = buckets
    .filter((bucket) => !enforced.has(`${bucket.template}#${bucket.logicalId}`))
    .map((bucket) => `${describe(bucket)} has no bucket policy denying requests with aws:SecureTransport=false`);
  return fromProblems(
    's3-ssl',
    problems,
    everyOk(buckets.length, 'buckets', 'enforce SSL'),
    'buckets not enforcing SSL',
  );
}

function deniesInsecureTransport(statement: Record<string, unknown>): boolean {
  if (statement.Effect !== 'Deny' || !isRecord(statement.Condition)) return false;
  const bool = statement.Condition.Bool;
  return isRecord(bool) && (bool['aws:SecureTransport'] === 'false' || bool['aws:SecureTransport'] === false);
}

export function checkCloudFrontLogging(resources: readonly CfnResource[]): CheckResult {
  const distributions = ofType(resources, 'AWS::CloudFront::Distribution');
  const problems = distributions
    .filter((d) => {
      const config = d.properties.DistributionConfig;
      return !(isRecord(config) && isRecord(config.Logging) && config.Logging.Bucket !== undefined);
    })
    .map((d) => `${describe(d)} has no DistributionConfig.Logging (access logs)`);
  return fromProblems(
    'cloudfront-logging',
    problems,
    everyOk(distributions.length, 'CloudFront distributions', 'write access logs'),
    'CloudFront distributions without access logs',
  );
}

export function checkAlbLogging(resources: readonly CfnResource[]): CheckResult {
  const albs = ofType(resources, 'AWS::ElasticLoadBalancingV2::LoadBalancer').filter(
    (lb) => lb.properties.Type === undefined || lb.properties.Type === 'application',
  );
  const problems = albs
    .filter(
      (lb) =>
        !asList(lb.properties.LoadBalancerAttributes).some(
          (attr) => isRecord(attr) && attr.Key === 'access_logs.s3.enabled' && isTrue(attr.Value),
        ),
    )
    .map((lb) => `${describe(lb)} does not set the attribute access_logs.s3.enabled=true`);
  return fromProblems(
    'alb-logging',
    problems,
    everyOk(albs.length, 'ALBs', 'write access logs'),
    'ALBs without access logs',
  );
}

export function checkVpcFlowLogs(resources: readonly CfnResource[]): CheckResult {
  const vpcs = ofType(resources, 'AWS::EC2::VPC');
  const logged = new Set(
    ofType(resources, 'AWS::EC2::FlowLog')
      .filter((f) => f.properties.ResourceType === 'VPC')
      .map((f) => `${f.template}#${referencedLogicalId(f.properties.ResourceId) ?? ''}`),
  );
  const problems = vpcs
    .filter((vpc) => !logged.has(`${vpc.template}#${vpc.logicalId}`))
    .map((vpc) => `${describe(vpc)} has no AWS::EC2::FlowLog`);
  return fromProblems(
    'vpc-flow-logs',
    problems,
    everyOk(vpcs.length, 'VPCs', 'have flow logs'),
    'VPCs without flow logs',
  );
}

export function checkIamWildcards(resources: readonly CfnResource[]): CheckResult {
  const problems: string[] = [];
  let statements = 0;
  for (const resource of resources) {
    for (const [where, document] of policyDocumentsOf(resource)) {
      for (const statement of statementsOf(document)) {
        statements++;
        if (
          statement.Effect === 'Allow' &&
          asList(statement.Action).includes('*') &&
          asList(statement.Resource).includes('*')
        ) {
          problems.push(`${describe(resource)}${where} allows Action "*" on Resource "*"`);
        }
      }
    }
  }
  return fromProblems(
    'iam-wildcard',
    problems,
    `none of ${statements} IAM statements allows "*" on "*"`,
    'IAM statements allowing "*" on "*"',
  );
}

/** The identity policy documents of an IAM resource, each with where it sits. */
function policyDocumentsOf(resource: CfnResource): Array<[string, unknown]> {
  switch (resource.type) {
    case 'AWS::IAM::Policy':
    case 'AWS::IAM::ManagedPolicy':
      return [['', resource.properties.PolicyDocument]];
    case 'AWS::IAM::Role':
    case 'AWS::IAM::User':
    case 'AWS::IAM::Group':
      return asList(resource.properties.Policies).map((policy, index) => {
        const name = isRecord(policy) && typeof policy.PolicyName === 'string' ? policy.PolicyName : `#${index}`;
        return [` inline policy ${name}`, isRecord(policy) ? policy.PolicyDocument : undefined];
      });
    default:
      return [];
  }
}

function statementsOf(document: unknown): Array<Record<string, unknown>> {
  return isRecord(document) ? asList(document.Statement).filter(isRecord) : [];
}
