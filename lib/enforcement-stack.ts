// The guardrail's enforcement in the production account (docs/enforcement.md): the signing key,
// the attestation bucket, the validator and the hooks. Deployed by production's administrator by
// hand, never by the pipeline.
import { Aws, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AccessLogBucket } from '../constructs/access-log-bucket';
import { grantsOnlyForAwsServices, LogKey } from '../constructs/log-key';
import { EnforcementConfig } from './config';
import { bundledCode, VALIDATOR_FILES, validatorFiles } from './enforcement-code';
import { globallyDisabledControls, ProductionHooks } from './enforcement-hooks';
import { attestationBucketName, ENFORCEMENT, enforcementStackName, signingKeyAlias, validationRoleArn } from './enforcement-names';
import { acknowledgeEnforcementFindings } from './enforcement-compliance';

/** A stack of a stage: its name and the region it deploys to. */
export interface EnforcedStack {
  readonly stackName: string;
  /** The stack's own region (EdgeWaf: us-east-1, whatever the stage's region). */
  readonly region: string;
}

/** A stage as the validator sees it: where it runs and its stacks (by construct id). */
export interface EnforcedStage {
  readonly account: string;
  readonly region: string;
  readonly stacks: Readonly<Record<string, EnforcedStack>>;
}

/** What every enforcement stack of the production account shares. */
interface EnforcementCommonProps extends StackProps {
  /** The enforcement's configuration (cdk.json `enforcement`). */
  readonly enforcement: EnforcementConfig;
  /** The production stage. */
  readonly production: EnforcedStage;
  /** Every region a production stack deploys to (a hook stack in each; the SCP denies the rest). */
  readonly regions: readonly string[];
  /** compliance.minLogRetentionDays, the Guard rules' parameter. */
  readonly minLogRetentionDays: number;
  /** How long the functions' logs are kept. @default RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of a {@link GuardrailEnforcementStack}. */
export interface GuardrailEnforcementStackProps extends EnforcementCommonProps {
  /** The pipeline account, whose GuardrailValidation role alone may invoke the validator. */
  readonly pipelineAccount: string;
  /** The staging stage, which the validator reads through `stagingReadRoleArn`. */
  readonly staging: EnforcedStage;
  /**
   * The role the validator assumes in staging to read what staging runs: by default the staging
   * bootstrap's lookup role (ReadOnlyAccess), once staging is bootstrapped with
   * `--trust-for-lookup <production account>`.
   */
  readonly stagingReadRoleArn: string;
}

/**
 * The enforcement's own bootstrap: qualifier `grdenf`, bootstrapped without `--trust`. Its asset
 * bucket (the functions' code) and its deploy roles are not the ones the pipeline account may use
 * (`hnb659fds`, bootstrapped with `--trust <pipeline account>`), whose file-publishing role may
 * put and delete any object of the standard asset bucket.
 */
function enforcementSynthesizer(): DefaultStackSynthesizer {
  return new DefaultStackSynthesizer({ qualifier: ENFORCEMENT.qualifier });
}

/** The role CloudFormation deploys the enforcement with (the `grdenf` bootstrap's execution role). */
function deployerRoleArn(): string {
  return `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/cdk-${ENFORCEMENT.qualifier}-cfn-exec-role-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
}

/** The key administrators' actions (AWS KMS developer guide, "Default key policy", key administrators): no use of the key. */
const KEY_ADMIN_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
];

/**
 * The production account's enforcement, in production's region: the guardrail's signing keys, the
 * attestation bucket, the validator function and this region's hooks. `npx cdk deploy
 * 'Enforcement*'` with the administrator's credentials (docs/enforcement.md).
 */
export class GuardrailEnforcementStack extends Stack {
  /** The signing keys, by configured name (the last signs). */
  public readonly signingKeys: Readonly<Record<string, kms.CfnKey>>;
  /** The attestation bucket. */
  public readonly attestationBucket: s3.Bucket;
  /** The validator. */
  public readonly validator: lambda.Function;
  /** The validator's role: the only principal that may sign. */
  public readonly validatorRole: iam.Role;
  /** This region's hooks. */
  public readonly hooks: ProductionHooks;

  constructor(scope: Construct, id: string, props: GuardrailEnforcementStackProps) {
    super(scope, id, {
      ...props,
      env: { account: props.production.account, region: props.production.region },
      stackName: ENFORCEMENT.stackName,
      synthesizer: enforcementSynthesizer(),
      terminationProtection: true,
      description: 'br-fagq2 guardrail enforcement: signing key, attestations, validator and hooks (deployed by the production administrator)',
    });
    const { enforcement, production } = props;
    const admin = enforcement.administratorArn;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const logs_ = new AccessLogBucket(this, 'Logs');
    const logKey = new LogKey(this, 'LogKey', { description: 'br-fagq2 guardrail enforcement: CloudWatch Logs of its functions' }).key;

    this.validatorRole = new iam.Role(this, 'ValidatorRole', {
      roleName: ENFORCEMENT.validatorRoleName,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The guardrail validator: reads staging and production, signs attestations',
    });

    const keys: Record<string, kms.CfnKey> = {};
    for (const name of enforcement.signingKeys) {
      const key = new kms.CfnKey(this, `SigningKey-${name}`, {
        description: `br-fagq2 guardrail signing key ${name}: only the validator signs with it`,
        keySpec: 'ECC_NIST_P256',
        keyUsage: 'SIGN_VERIFY',
        pendingWindowInDays: 30,
        keyPolicy: signingKeyPolicy(admin, this.validatorRole.roleArn),
      });
      key.applyRemovalPolicy(RemovalPolicy.RETAIN);
      // The key policy names the validator's role: it must exist first (KMS refuses a policy
      // naming a principal that does not exist).
      key.node.addDependency(this.validatorRole);
      new kms.CfnAlias(this, `SigningKeyAlias-${name}`, { aliasName: signingKeyAlias(name), targetKeyId: key.attrKeyId });
      keys[name] = key;
    }
    this.signingKeys = keys;
    const signingKey = keys[enforcement.signingKeys[enforcement.signingKeys.length - 1]];

    this.attestationBucket = new s3.Bucket(this, 'Attestations', {
      bucketName: attestationBucketName(production.account, production.region),
      // Attestations are signed statements, not secrets: their integrity is the signature's.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: logs_.bucket,
      serverAccessLogsPrefix: 'attestations-bucket/',
      // Current attestations are kept (the rollback window is theirs to decide); old versions go.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    protectAttestations(this.attestationBucket, this.validatorRole.roleArn, admin);

    const runtime = lambda.Runtime.NODEJS_22_X;
    const validatorLogs = new logs.LogGroup(this, 'ValidatorLogs', { retention: logRetention, encryptionKey: logKey, removalPolicy: RemovalPolicy.RETAIN });
    const config = validatorConfig(props);
    this.validator = new lambda.Function(this, 'Validator', {
      functionName: ENFORCEMENT.validatorFunctionName,
      description: 'Guardrail validator: decides from what it reads itself, then signs the release',
      runtime,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: bundledCode('validator/handler.ts', runtime, validatorFiles(JSON.stringify(config, null, 2))),
      role: this.validatorRole,
      logGroup: validatorLogs,
      timeout: Duration.minutes(15),
      memorySize: 3008,
      environment: {
        ...Object.fromEntries(Object.entries(VALIDATOR_FILES).map(([name, file]) => [name, `/var/task/${file}`])),
        ATTESTATION_BUCKET: this.attestationBucket.bucketName,
        // The key ARN (not known at synth, so not in the configuration file): the envelopes' keyid.
        SIGNING_KEY_ARN: signingKey.attrArn,
      },
    });
    this.validatorRole.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [validatorLogs.logGroupArn] }));
    this.validatorRole.addToPolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      resources: [this.attestationBucket.arnForObjects('attestations/*'), this.attestationBucket.arnForObjects('releases/*')],
    }));
    this.validatorRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.attestationBucket.arnForObjects('revoked/*')] }));
    this.validatorRole.addToPolicy(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [props.stagingReadRoleArn] }));
    // Production's image tags, resolved to digests in production's own registry.
    this.validatorRole.addToPolicy(new iam.PolicyStatement({
      actions: ['ecr:DescribeImages', 'ecr:BatchGetImage'],
      resources: [`arn:${Aws.PARTITION}:ecr:${production.region}:${production.account}:repository/cdk-hnb659fds-container-assets-${production.account}-${production.region}`],
    }));
    // The production stacks' file assets, re-read to attest their content digests
    // (enforcement/validator/aws-reads.ts, objectSha256): the bootstrap asset bucket of each
    // production region grants nothing itself, so the role's own policy must (found by the
    // rehearsal's IAM step: ImplicitlyDenied without it). The bucket uses the AWS managed key
    // aws/s3 (the pinned CLI's default bootstrap), whose policy admits the account's principals through S3.
    this.validatorRole.addToPolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: props.regions.map((region) => `arn:${this.partition}:s3:::cdk-hnb659fds-assets-${production.account}-${region}/*`),
    }));
    // The one caller: the pipeline's GuardrailValidation role, by its fixed name (a resource
    // policy names it exactly; no other principal of the pipeline account may invoke).
    this.validator.addPermission('PipelineGuardrailValidation', {
      principal: new iam.ArnPrincipal(validationRoleArn(props.pipelineAccount)),
      action: 'lambda:InvokeFunction',
    });

    this.hooks = productionHooks(this, props, logs_.bucket, logKey, logRetention);
    acknowledgeEnforcementFindings(this);
  }
}

/** Properties of a {@link GuardrailHooksStack}. */
export interface GuardrailHooksStackProps extends EnforcementCommonProps {
  /** The region of this stack's hooks. */
  readonly region: string;
}

/**
 * The hooks of another region a production stack deploys to (the stage's EdgeWaf stack is in
 * us-east-1, where CloudFront requires its web ACL): CloudFormation hooks are regional.
 */
export class GuardrailHooksStack extends Stack {
  /** This region's hooks. */
  public readonly hooks: ProductionHooks;

  constructor(scope: Construct, id: string, props: GuardrailHooksStackProps) {
    super(scope, id, {
      ...props,
      env: { account: props.production.account, region: props.region },
      stackName: enforcementStackName(props.region, props.production.region),
      synthesizer: enforcementSynthesizer(),
      terminationProtection: true,
      description: `br-fagq2 guardrail enforcement: the hooks of ${props.region} (deployed by the production administrator)`,
    });
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const logKey = new LogKey(this, 'LogKey', { description: `br-fagq2 guardrail enforcement: CloudWatch Logs of its ${props.region} hook` }).key;
    this.hooks = productionHooks(this, props, new AccessLogBucket(this, 'Logs').bucket, logKey, logRetention);
    acknowledgeEnforcementFindings(this);
  }
}

function productionHooks(stack: Stack, props: EnforcementCommonProps, logBucket: s3.IBucket, logKey: kms.IKey, logRetention: logs.RetentionDays): ProductionHooks {
  const hooks = new ProductionHooks(stack, 'Hooks', {
    attestationBucketName: attestationBucketName(props.production.account, props.production.region),
    trustedKeyAliases: props.enforcement.signingKeys.map(signingKeyAlias),
    keyRegion: props.production.region,
    // A delete carries no template: the production stacks, and the bootstrap, are never deleted through the pipeline.
    protectedStacks: [...Object.values(props.production.stacks).map((s) => s.stackName), 'CDKToolkit'],
    excludedStacks: [...props.regions.map((r) => enforcementStackName(r, props.production.region)), ENFORCEMENT.toolkitStackName],
    hookStatus: props.enforcement.hookStatus,
    logBucket,
    minLogRetentionDays: props.minLogRetentionDays,
    disabledControls: globallyDisabledControls(),
    logRetention,
    logKey,
  });
  hooks.hookFunction.addEnvironment('ATTESTATION_BUCKET_REGION', props.production.region);
  return hooks;
}

/**
 * The signing key's policy. No statement for the account as a whole beyond reading the public
 * key: IAM policies cannot grant its use (AWS KMS developer guide, "Key policies": without the
 * account principal, IAM policies do not apply), so the shared `hnb659fds` execution role, an
 * administrator, cannot sign. The administrator and the enforcement's own deployer manage it;
 * the deployer must, or CloudFormation could not create or update it (KMS refuses a key policy
 * that locks out the principal that sets it: the policy lockout safety check).
 */
function signingKeyPolicy(administratorArn: string, validatorRoleArn: string): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({
        sid: 'KeyAdministration',
        principals: [new iam.ArnPrincipal(administratorArn), new iam.ArnPrincipal(deployerRoleArn())],
        actions: KEY_ADMIN_ACTIONS,
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        sid: 'TheValidatorSigns',
        principals: [new iam.ArnPrincipal(validatorRoleArn)],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } },
      }),
      new iam.PolicyStatement({
        sid: 'AnyoneOfTheAccountMayReadThePublicKey',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
        resources: ['*'],
      }),
      // Explicit deny beats any allow, grants included (AWS KMS developer guide, "Grants").
      new iam.PolicyStatement({
        sid: 'NobodyElseSigns',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': validatorRoleArn } },
      }),
      grantsOnlyForAwsServices(),
    ],
  });
}

/**
 * Who writes what in the attestation bucket: the validator `attestations/` and `releases/`, the
 * administrator `revoked/`; nobody else anything, and only the administrator or the enforcement's
 * deployer changes the bucket's policy or versioning. Explicit denies: no identity policy of the
 * account (the pipeline's execution role is an administrator) can grant past them.
 */
function protectAttestations(bucket: s3.Bucket, validatorRoleArn: string, administratorArn: string): void {
  const deny = (sid: string, actions: string[], resources: string[], allowed: string[]) =>
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid,
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions,
      resources,
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': allowed } },
    }));
  const writes = ['s3:PutObject', 's3:PutObjectAcl', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:RestoreObject'];
  deny('OnlyTheValidatorAttests', writes, [bucket.arnForObjects('attestations/*'), bucket.arnForObjects('releases/*')], [validatorRoleArn]);
  deny('OnlyTheAdministratorRevokes', writes, [bucket.arnForObjects('revoked/*')], [administratorArn]);
  deny('OnlyTheAdministratorDeletes', ['s3:DeleteObject', 's3:DeleteObjectVersion'], [bucket.arnForObjects('*')], [administratorArn]);
  deny('OnlyTheAdministratorChangesTheBucket', ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration', 's3:PutBucketObjectLockConfiguration'], [bucket.bucketArn], [administratorArn, deployerRoleArn()]);
}

/**
 * The validator's configuration file (enforcement/validator/config.ts is its schema): written at
 * synth from cdk.json, bundled beside the handler (VALIDATOR_CONFIG_FILE). The key ARN is not
 * known at synth: `keyId` names the current key's alias, SIGNING_KEY_ARN its ARN.
 */
function validatorConfig(props: GuardrailEnforcementStackProps): Record<string, unknown> {
  const { staging, production, enforcement } = props;
  const current = enforcement.signingKeys[enforcement.signingKeys.length - 1];
  // Each stack with its own region when it is not the stage's: the validator attests the
  // template under that region, which the hook of that region (us-east-1 for EdgeWaf) matches.
  const stacks = (stage: EnforcedStage) =>
    Object.fromEntries(Object.entries(stage.stacks).map(([id, s]) => [id, s.region === stage.region ? { stackName: s.stackName } : { stackName: s.stackName, region: s.region }]));
  return {
    staging: { account: staging.account, region: staging.region, stacks: stacks(staging), readRoleArn: props.stagingReadRoleArn },
    production: { account: production.account, region: production.region, stacks: stacks(production) },
    validityDays: enforcement.validityDays,
    keyId: `arn:aws:kms:${production.region}:${production.account}:${signingKeyAlias(current)}`,
    attestationBucket: attestationBucketName(production.account, production.region),
    pipelineAccount: props.pipelineAccount,
  };
}
