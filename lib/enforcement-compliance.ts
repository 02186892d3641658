// cdk-nag acknowledgements of the enforcement stacks, each on one construct with its reason. The
// wildcards are acknowledged finding by finding, and only in the reviewed shapes below: a new
// wildcard of another shape stays a finding and fails the synth.
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { IConstruct } from 'constructs';
import { acknowledgeFinding, acknowledgeRoleGrantPolicies } from './compliance';

/** Reviewed wildcard findings (IAM5) of the enforcement's roles: where, which, why. */
const WILDCARDS: ReadonlyArray<{ readonly path: RegExp; readonly finding: RegExp; readonly reason: string }> = [
  {
    path: /\/ValidatorRole\//,
    finding: /^Resource::<Attestations[0-9A-F]+\.Arn>\/(attestations|releases|revoked)\/\*$/,
    reason: 'The validator writes one attestation per template under attestations/ and one envelope per release under releases/ (keys named by what they attest), and reads revocations under revoked/ (named by commit); the bucket policy denies every other writer.',
  },
  {
    path: /\/ValidatorRole\//,
    finding: /^Resource::arn:aws:s3:::cdk-hnb659fds-assets-\d{12}-[a-z0-9-]+\/\*$/,
    reason: "s3:GetObject of the file assets the production templates name by key in production's asset bucket (keys are asset hashes): the validator attests their content digests.",
  },
  {
    path: /\/HookRole\//,
    finding: /^Resource::arn:aws:s3:::br-fagq2-attestations-\d{12}-[a-z0-9-]+\/(attestations|revoked)\/\*$/,
    reason: 'The hook reads the attestation of the template it receives (keyed by account, region, stack and digest) and the revocation of its release (keyed by commit): s3:GetObject only.',
  },
  {
    path: /\/HookRole\//,
    finding: /^Resource::arn:aws:s3:::cdk-hnb659fds-assets-\d{12}-[a-z0-9-]+\/\*$/,
    reason: "s3:GetObject of the file assets a template names by key in the pipeline's asset bucket (keys are asset hashes): the hook compares their digests with the attested ones, since the pipeline's file-publishing role may overwrite them.",
  },
  {
    path: /\/HookRole\//,
    finding: /^Resource::arn:aws:kms:[a-z0-9-]+:\d{12}:key\/\*$/,
    reason: "kms:GetPublicKey and DescribeKey of the guardrail signing keys only: conditioned on kms:ResourceAliases naming the configured aliases (the keys' ids are not known when the hook stacks of other regions are synthesized).",
  },
  {
    path: /\/GuardHookExecutionRole\//,
    finding: /^Resource::<(HooksRulesBucket[0-9A-F]+\.Arn>\/(rules|params)|LogsBucket[0-9A-F]+\.Arn>\/guard-hook)\/\*$/,
    reason: "What the Hooks user guide ('Prepare to create a Guard Hook') requires: read the rules and their parameters (object keys are the deployment's asset hashes), write reports under guard-hook/ of the log bucket.",
  },
  {
    path: /\/Custom::CDKBucketDeployment[0-9A-Za-z]+\/ServiceRole\//,
    finding: /^(Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*|Resource::(<HooksRulesBucket[0-9A-F]+\.Arn>|arn:aws:s3:::cdk-grdenf-assets-\d{12}-[a-z0-9-]+)\/\*)$/,
    reason: "aws-cdk-lib's BucketDeployment: reads the rules' asset from the enforcement's own bootstrap bucket (grdenf) and writes them to the rules bucket, which denies every other writer.",
  },
];

const FUNCTION_REASONS: Record<string, string> = {
  'AwsSolutions-L1': 'Node.js 22, the major of .nvmrc that the project and its tests use (lib/node-version.ts); for the BucketDeployment handler, the runtime aws-cdk-lib ships it for.',
  'NIST.800.53.R5-LambdaConcurrency': 'Invoked once per release (validator), per stack operation (hook) or per enforcement deploy (rules deployment); reserving concurrency would take capacity from the account and can fail the deploy in an account with a low limit.',
  'NIST.800.53.R5-LambdaDLQ': 'Invoked synchronously only (the pipeline waits for the validator, CloudFormation for the hook, for the rules deployment): the caller sees the failure; there is no asynchronous invocation to dead-letter.',
  'NIST.800.53.R5-LambdaInsideVPC': 'Reaches only AWS APIs (KMS, S3, STS, ECR, CloudFormation in staging) and the presigned template URL CloudFormation gives the hook; a VPC would add endpoints or a NAT and no control the IAM policies do not give.',
};

const BUCKET_REASONS: Record<string, Record<string, string>> = {
  'NIST.800.53.R5-S3BucketReplicationEnabled': {
    default: 'Versioned and retained in the production account; a cross-region replica would be one more copy for the enforcement to protect, and attestations are re-created by validating the release again.',
  },
  'NIST.800.53.R5-S3DefaultEncryptionKMS': {
    Logs: 'The destination of S3 server access logs, which support SSE-S3 destinations only (Amazon S3 user guide, "Enabling Amazon S3 server access logging"), and of the Guard hook reports.',
    Attestations: 'Signed public statements, not secrets: their integrity is the DSSE signature, their access the bucket policy; SSE-S3 encrypts them at rest.',
    RulesBucket: 'Public Guard rule files (the project\'s and AWS Control Tower\'s); integrity is the bucket policy (one writer) and the pinned object version; SSE-S3 encrypts them at rest.',
  },
};

/** Acknowledges the enforcement's reviewed findings on `stack`. */
export function acknowledgeEnforcementFindings(stack: Stack): void {
  acknowledgeRoleGrantPolicies(stack);
  for (const construct of stack.node.findAll()) {
    if (construct instanceof lambda.CfnFunction) {
      for (const [rule, reason] of Object.entries(FUNCTION_REASONS)) acknowledgeFinding(construct, rule, reason);
    } else if (construct instanceof s3.CfnBucket) {
      const name = construct.node.scope!.node.id === 'Bucket' ? construct.node.scope!.node.scope!.node.id : construct.node.scope!.node.id;
      for (const [rule, reasons] of Object.entries(BUCKET_REASONS)) {
        const reason = reasons[name] ?? reasons.default;
        if (reason) acknowledgeFinding(construct, rule, reason);
      }
    } else if (construct instanceof iam.CfnRole && /\/Custom::CDKBucketDeployment[0-9A-Za-z]+\/ServiceRole\/Resource$/.test(construct.node.path)) {
      acknowledgeFinding(construct, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', "aws-cdk-lib's BucketDeployment handler role: its own logs (the AWS-managed basic execution policy).");
    } else if (construct instanceof iam.CfnPolicy) {
      acknowledgeWildcards(construct);
    }
  }
}

interface StatementJson {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

function acknowledgeWildcards(policy: iam.CfnPolicy): void {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: StatementJson[] };
  const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
  const findings = new Set(
    (document.Statement ?? [])
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => [
        ...list(s.Action).filter((a) => a.includes('*')).map((a) => `Action::${a}`),
        ...list(s.Resource).map(flattenCfnReference).filter((r) => r.includes('*')).map((r) => `Resource::${r}`),
      ]),
  );
  for (const finding of findings) {
    const reviewed = WILDCARDS.find((w) => w.path.test(policy.node.path) && w.finding.test(finding));
    if (reviewed) acknowledgeFinding(policy as IConstruct, `IAM5[${finding}]`, reviewed.reason);
  }
}
