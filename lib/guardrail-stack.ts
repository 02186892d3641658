import { Aws, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeFinding } from './compliance';
import { PROJECT } from './tiers';

/**
 * The fixed names the pipeline stack refers to. They are names, not
 * cross-stack references, so the two stacks deploy independently and the
 * pipeline stack has no handle on the guardrail's resources.
 */
export const GUARDRAIL = {
  stackName: `${PROJECT}-guardrail`,
  /** The CodeBuild service role of the Sign action (the only signer). */
  signRoleName: `${PROJECT}-guardrail-sign`,
  /** The CodeBuild service role of the GuardrailValidation action (the only verifier). */
  verifyRoleName: `${PROJECT}-guardrail-verify`,
  /** Secrets Manager secret: JSON `{ "current": "...", "previous": "" }`. */
  tokenSecretName: `${PROJECT}/guardrail-token`,
  /** SSM parameter: the git commit id whose pipeline/guardrail and pipeline/compliance sign and verify. */
  approvedRevisionParameter: `/${PROJECT}/guardrail/approved-revision`,
  /** SSM parameter: comma-separated sha256 digests of approved pipeline-stack templates ("none" when empty). */
  approvedPipelineDigestsParameter: `/${PROJECT}/guardrail/approved-pipeline-digests`,
} as const;

/** Properties of a {@link GuardrailStack}. */
export interface GuardrailStackProps extends StackProps {
  /** The CodeConnections connection the sign and verify actions clone the repository through. */
  readonly connectionArn: string;
  /** The name of the pipeline stack whose deployed template the gate reads. */
  readonly pipelineStackName: string;
  /**
   * The principal (role ARN) allowed to approve guardrail changes: it writes the approval
   * parameters and may change the key policy. The account's CloudFormation execution role
   * may too (it deploys this stack).
   */
  readonly approverRoleArn: string;
}

/**
 * The guardrail's key material and identities, deployed once, by hand, apart
 * from the self-mutating pipeline stack (`npx cdk deploy Guardrail`). The token
 * is readable only by the sign and verify roles: the key policy denies
 * kms:Decrypt to every other principal, so no IAM policy that a later
 * pipeline-stack change could create grants it.
 */
export class GuardrailStack extends Stack {
  /** The signer's role. */
  public readonly signRole: iam.Role;
  /** The verifier's role. */
  public readonly verifyRole: iam.Role;
  /** The token (JSON: current and previous). */
  public readonly tokenSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: GuardrailStackProps) {
    super(scope, id, { ...props, stackName: GUARDRAIL.stackName, terminationProtection: true });

    const codebuild = new iam.ServicePrincipal('codebuild.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } } });
    this.signRole = new iam.Role(this, 'SignRole', { roleName: GUARDRAIL.signRoleName, assumedBy: codebuild, description: 'Signs the synthesized assembly (CodeBuild Sign action)' });
    this.verifyRole = new iam.Role(this, 'VerifyRole', { roleName: GUARDRAIL.verifyRoleName, assumedBy: codebuild, description: 'Verifies the signed assembly before production (GuardrailValidation)' });
    const guardrailRoles = [this.signRole.roleArn, this.verifyRole.roleArn];
    // The CloudFormation execution role deploys (and so updates) this stack; it runs only as CloudFormation.
    const cfnExecRole = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-hnb659fds-cfn-exec-role-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
    const keyAdmins = [props.approverRoleArn, cfnExecRole];

    const key = new kms.Key(this, 'TokenKey', {
      alias: `alias/${PROJECT}-guardrail`,
      description: 'Encrypts the guardrail token; only the sign and verify roles may decrypt',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });
    // Explicit denies win over any allow in an IAM policy (IAM policy evaluation logic).
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyTheGuardrailRolesDecrypt',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:Decrypt', 'kms:ReEncryptFrom'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': guardrailRoles } },
    }));
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyTheApproversChangeAccess',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': keyAdmins } },
    }));

    this.tokenSecret = new secretsmanager.Secret(this, 'Token', {
      secretName: GUARDRAIL.tokenSecretName,
      description: 'The guardrail token: {"current": ..., "previous": ...} ("previous" is valid during a rotation window)',
      encryptionKey: key,
      // A random 40-character token nobody has to see: the signer and the verifier read it.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ previous: '' }),
        generateStringKey: 'current',
        passwordLength: 40,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeFinding(this.tokenSecret, 'SMG4', 'Rotated by the approver with a two-key window ("previous" stays valid until every release signed with it is out); an automatic rotation would invalidate releases in flight. README: rotating the guardrail token.');
    this.tokenSecret.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['*'],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': guardrailRoles } },
    }));
    this.tokenSecret.grantRead(this.signRole);
    this.tokenSecret.grantRead(this.verifyRole);

    const approvedRevision = new ssm.StringParameter(this, 'ApprovedRevision', {
      parameterName: GUARDRAIL.approvedRevisionParameter,
      description: 'The commit whose guardrail (pipeline/guardrail, pipeline/compliance) signs and verifies releases',
      // "none" until the approver writes a reviewed commit id (README: changing the guardrail).
      stringValue: 'none',
    });
    const approvedDigests = new ssm.StringParameter(this, 'ApprovedPipelineDigests', {
      parameterName: GUARDRAIL.approvedPipelineDigestsParameter,
      description: 'sha256 digests of pipeline-stack templates approved for self-mutation ("none" when empty)',
      stringValue: 'none',
    });
    for (const role of [this.signRole, this.verifyRole]) {
      approvedRevision.grantRead(role);
      this.grantBuildBasics(role, props.connectionArn);
    }
    approvedDigests.grantRead(this.signRole);
    // The gate compares the commit's pipeline template with the deployed one.
    this.signRole.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudformation:GetTemplate'],
      resources: [`arn:${Aws.PARTITION}:cloudformation:${Aws.REGION}:${Aws.ACCOUNT_ID}:stack/${props.pipelineStackName}/*`],
    }));
    acknowledgeFinding(this.signRole, `IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${props.pipelineStackName}/*]`,
      'The pipeline stack by name; the trailing * is the stack id CloudFormation assigns.');
  }

  /** What any CodeBuild action of the pipeline needs: its logs, the artifact bucket, the source clone. */
  private grantBuildBasics(role: iam.Role, connectionArn: string): void {
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [`arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/codebuild/*`],
    }));
    // The pipeline's artifact bucket is named by CloudFormation after the pipeline stack.
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:PutObject', 's3:Abort*'],
      resources: [`arn:${Aws.PARTITION}:s3:::${PROJECT}-pipeline-*`, `arn:${Aws.PARTITION}:s3:::${PROJECT}-pipeline-*/*`],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*', 'kms:DescribeKey'],
      resources: [`arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
    }));
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['codeconnections:UseConnection', 'codestar-connections:UseConnection', 'codeconnections:GetConnectionToken', 'codestar-connections:GetConnectionToken'],
      resources: [connectionArn],
    }));
    const reasons: Record<string, string> = {
      'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/*': 'CodeBuild log groups are named after projects the pipeline stack creates later; this stack is deployed first and apart.',
      [`Resource::arn:<AWS::Partition>:s3:::${PROJECT}-pipeline-*`]: 'The pipeline artifact bucket, named by CloudFormation after the pipeline stack (br-fagq2-pipeline-...), which this stack cannot reference.',
      [`Resource::arn:<AWS::Partition>:s3:::${PROJECT}-pipeline-*/*`]: 'The objects of the pipeline artifact bucket (see the bucket finding).',
      'Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*': 'The artifact bucket key, created by the pipeline stack; usable only through S3 (kms:ViaService condition).',
    };
    for (const [finding, reason] of Object.entries(reasons)) acknowledgeFinding(role, `IAM5[${finding}]`, reason);
  }
}
