// cdk-nag acknowledgements for the resources CDK Pipelines generates. Its roles
// raise dozens of IAM5 (wildcard) findings whose ids carry logical ids, so the
// ids are derived here from the synthesized policies, the way cdk-nag derives
// them, and each is acknowledged only when it has one of the known, reviewed
// shapes below. A wildcard of any other shape stays unacknowledged and fails
// the synth.
import { Stack, Stage } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { grantsOnlyForAwsServices } from '../constructs/log-key';
import { acknowledgeFinding, acknowledgeRoleGrantPolicies, acknowledgeSameFindings } from './compliance';

/** A reviewed wildcard: the finding's shape, and the actions its statement may hold. */
interface AcceptedWildcard {
  /** Matches the finding id ("Action::…" or "Resource::…"). */
  readonly finding: RegExp;
  /** Every action of the statement must match this. */
  readonly actions: RegExp;
  /** Why it is acceptable. */
  readonly reason: string;
}

const ACCEPTED: AcceptedWildcard[] = [
  {
    finding: /^Action::s3:(Abort\*|DeleteObject\*|GetBucket\*|GetObject\*|List\*)$/,
    actions: /^s3:/,
    reason: "aws-cdk-lib's bucket grant action groups, scoped to the pipeline's own artifact, build-cache or replication bucket.",
  },
  {
    finding: /^Action::kms:(GenerateDataKey\*|ReEncrypt\*)$/,
    actions: /^kms:/,
    reason: "aws-cdk-lib's key grant action groups, scoped to the pipeline's artifact key.",
  },
  {
    finding: /^Resource::(<(PipelineArtifactsBucket|BuildCache)[0-9A-F]+\.Arn>|arn:aws:s3:::[a-z0-9.-]+)\/\*$/,
    actions: /^s3:/,
    reason: "The objects of the pipeline's own artifact, build-cache or cross-region replication bucket; object keys are per execution.",
  },
  {
    finding: /^Resource::arn:aws:codebuild:[a-z0-9-]+:\d{12}:report-group\/(<[A-Za-z0-9]+>-)?\*$/,
    actions: /^codebuild:(CreateReportGroup|CreateReport|UpdateReport|BatchPutTestCases|BatchPutCodeCoverages)$/,
    reason: "CodeBuild report groups of the pipeline's projects (named after the project; the asset projects are named at deploy time).",
  },
  {
    finding: /^Resource::arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:\/aws\/codebuild\/(<[A-Za-z0-9]+>:)?\*$/,
    actions: /^logs:(CreateLogGroup|CreateLogStream|PutLogEvents)$/,
    reason: "CodeBuild log groups of the pipeline's projects (the asset projects are named at deploy time).",
  },
  {
    finding: /^Resource::\*$/,
    actions: /^kms:(Decrypt|DescribeKey|Encrypt|GenerateDataKey\*|ReEncrypt\*)$/,
    reason: "The pipeline role uses the cross-region replication buckets' keys, which live in other regions' support stacks and cannot be referenced by ARN.",
  },
  {
    finding: /^Resource::\*$/,
    actions: /^(cloudformation:DescribeStacks|s3:ListBucket)$/,
    reason: 'Self-mutation runs `cdk deploy` of the pipeline stack, which reads stack state and lists the bootstrap bucket.',
  },
  {
    finding: /^Resource::arn:\*:iam::\d{12}:role\/\*$/,
    actions: /^sts:AssumeRole$/,
    reason: 'Self-mutation assumes the CDK bootstrap roles only: the statement is conditioned on the aws-cdk:bootstrap-role tag.',
  },
];

const REPLICATION_REASON =
  'Pipeline artifacts are rebuilt from the source repository by any execution; a cross-region replica would add cost and no recoverable data.';
const CACHE_ENCRYPTION_REASON =
  'The build cache holds npm and Docker layer caches only (public packages, no data, no secrets); SSE-S3 encrypts it at rest.';

function usesKms(bucket: s3.CfnBucket): boolean {
  const encryption = Stack.of(bucket).resolve(bucket.bucketEncryption) as { serverSideEncryptionConfiguration?: Array<{ serverSideEncryptionByDefault?: { sseAlgorithm?: string } }> } | undefined;
  return (encryption?.serverSideEncryptionConfiguration ?? []).some((r) => r.serverSideEncryptionByDefault?.sseAlgorithm?.startsWith('aws:kms'));
}

const BUCKET_REASON =
  'A pipeline-internal bucket (artifacts, build cache or cross-region replication), written and read only by the pipeline roles; CloudTrail records its access.';

interface PolicyStatementJson {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

/** The IAM5 finding ids of one statement, as cdk-nag computes them. */
function wildcardFindings(statement: PolicyStatementJson): string[] {
  if (statement.Effect !== 'Allow') return [];
  const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
  return [
    ...list(statement.Action).filter((a) => a.includes('*')).map((a) => `Action::${a}`),
    ...list(statement.Resource).map(flattenCfnReference).filter((r) => r.includes('*')).map((r) => `Resource::${r}`),
  ];
}

/**
 * Acknowledges the reviewed findings of the pipeline's generated resources: every
 * construct of the app that does not belong to a deployed stage (the stages
 * acknowledge their own).
 */
export function acknowledgePipelineFindings(app: Stage): void {
  for (const construct of app.node.findAll()) {
    if (Stage.of(construct) !== app) continue;
    if (construct instanceof iam.CfnPolicy) acknowledgePolicy(construct);
    if (construct instanceof s3.CfnBucket) {
      acknowledgeFinding(construct, 'AwsSolutions-S1', BUCKET_REASON);
      acknowledgeFinding(construct, 'NIST.800.53.R5-S3BucketLoggingEnabled', BUCKET_REASON);
      acknowledgeFinding(construct, 'NIST.800.53.R5-S3BucketReplicationEnabled', REPLICATION_REASON);
      if (!usesKms(construct)) acknowledgeFinding(construct, 'NIST.800.53.R5-S3DefaultEncryptionKMS', CACHE_ENCRYPTION_REASON);
    }
  }
  for (const child of app.node.children) {
    if (child instanceof Stage) continue;
    acknowledgeRoleGrantPolicies(child);
    acknowledgeSameFindings(child);
  }
}

function acknowledgePolicy(policy: iam.CfnPolicy): void {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: PolicyStatementJson[] };
  const acknowledged = new Set<string>();
  for (const statement of document.Statement ?? []) {
    const actions = [statement.Action ?? []].flat();
    for (const finding of wildcardFindings(statement)) {
      const accepted = ACCEPTED.find((a) => a.finding.test(finding) && actions.every((action) => a.actions.test(action)));
      if (!accepted || acknowledged.has(finding)) continue;
      acknowledged.add(finding);
      acknowledgeFinding(policy, `AwsSolutions-IAM5[${finding}]`, accepted.reason);
    }
  }
}

/**
 * Hardens what CDK Pipelines generates (the pipeline stack and its cross-region
 * support stacks, not the deployed stages), where its props reach no further:
 * - every CodeBuild project logs to CloudWatch Logs (its default group
 *   /aws/codebuild/<project>, which the generated roles may write);
 * - every bucket is versioned, and a lifecycle rule expires noncurrent versions
 *   after 30 days and incomplete uploads after 7 (current objects are kept: a stage
 *   rollback re-runs an earlier execution with its artifacts);
 * - every KMS key refuses grants that are not for an AWS resource (Control Tower CT.KMS.PR.3).
 */
export function hardenPipelineResources(app: Stage): void {
  for (const construct of app.node.findAll()) {
    if (Stage.of(construct) !== app) continue;
    if (construct instanceof codebuild.CfnProject && construct.logsConfig === undefined) {
      construct.logsConfig = { cloudWatchLogs: { status: 'ENABLED' } };
    }
    if (construct instanceof s3.CfnBucket) {
      construct.versioningConfiguration = { status: 'Enabled' };
      const existing = Stack.of(construct).resolve(construct.lifecycleConfiguration) as { rules?: unknown[] } | undefined;
      construct.lifecycleConfiguration = {
        rules: [
          ...((existing?.rules ?? []) as s3.CfnBucket.RuleProperty[]),
          { id: 'ExpireOldVersions', status: 'Enabled', noncurrentVersionExpiration: { noncurrentDays: 30 }, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ],
      };
    }
    if (construct instanceof kms.Key) construct.addToResourcePolicy(grantsOnlyForAwsServices());
  }
}
