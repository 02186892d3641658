// The production account's CloudFormation hooks of one region: the Lambda hook that admits a
// stack operation only with a valid guardrail attestation, and the Guard hook that runs the
// project's Guard rules and the Control Tower controls itself.
import { basename, join } from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { AssetHashType, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cfn from 'aws-cdk-lib/aws-cloudformation';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { localBundling } from '../constructs/local-bundling';
import { bundledCode, CONTROL_TOWER_RULES_DIR, type ExtraFile, hashExtraFiles, PROJECT_RULES_DIR, REPO_ROOT, writeExtraFiles } from './enforcement-code';
import { ENFORCEMENT } from './enforcement-names';

/** Project rule files the Guard hook does not run, and why. */
const NOT_IN_HOOK: Record<string, string> = {
  // It needs the images the release's assembly publishes (a per-release parameter); the
  // validator checks them, and the template digest the Lambda hook matches binds them.
  'images.guard': 'per-release parameter',
};

/** Properties of {@link ProductionHooks}. */
export interface ProductionHooksProps {
  /** The attestation bucket's name (fixed: the hooks of every region read it). */
  readonly attestationBucketName: string;
  /** The KMS aliases of the trusted signing keys (in `keyRegion`), two during a rotation. */
  readonly trustedKeyAliases: readonly string[];
  /** The region of the signing keys. */
  readonly keyRegion: string;
  /** The stack names whose delete the hook refuses (a delete carries no template). */
  readonly protectedStacks: readonly string[];
  /** The stacks the hooks do not see: the enforcement's own (deployed by its administrator). */
  readonly excludedStacks: readonly string[];
  /** ENABLED, or DISABLED (break glass). */
  readonly hookStatus: 'ENABLED' | 'DISABLED';
  /** The bucket the Guard hook writes its reports to (and the buckets' access logs go to). */
  readonly logBucket: s3.IBucket;
  /** The shortest log retention the Guard rules accept (compliance.minLogRetentionDays). */
  readonly minLogRetentionDays: number;
  /** The Control Tower controls disabled for every stack (control-tower-disabled.json entries without `stacks`). */
  readonly disabledControls: readonly string[];
  /** How long the functions' logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** The key encrypting the functions' log groups. */
  readonly logKey: kms.IKey;
}

/**
 * The hooks of one region. Both FAIL: a refused operation fails and CloudFormation rolls it back.
 * Both evaluate every stack of the account except the enforcement's own (StackFilters), the
 * bootstrap stack CDKToolkit included. Targets (AWS CloudFormation Hooks user guide, "Hooks
 * concepts", https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/hooks-concepts.html):
 * STACK runs before CloudFormation creates, updates or deletes a stack (CDK Pipelines'
 * CHANGE_SET_EXECUTE), CHANGE_SET "during a create change set operation" (CHANGE_SET_REPLACE).
 */
export class ProductionHooks extends Construct {
  /** The Lambda hook's function. */
  public readonly hookFunction: lambda.Function;
  /** The Lambda hook. */
  public readonly lambdaHook: cfn.CfnLambdaHook;
  /** The Guard hook. */
  public readonly guardHook: cfn.CfnGuardHook;
  /** The bucket the Guard hook reads its rules from; only this stack's deployment writes it. */
  public readonly rulesBucket: s3.Bucket;
  /** The role the hook function runs as. */
  public readonly hookRole: iam.Role;

  constructor(scope: Construct, id: string, props: ProductionHooksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const stackFilters = { filteringCriteria: 'ALL', stackNames: { exclude: [...props.excludedStacks] } };
    const hooksService = new iam.ServicePrincipal('hooks.cloudformation.amazonaws.com');

    // --- The Lambda hook: attestations.
    const logGroup = new logs.LogGroup(this, 'HookLogs', { retention: props.logRetention, encryptionKey: props.logKey, removalPolicy: RemovalPolicy.RETAIN });
    this.hookRole = new iam.Role(this, 'HookRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The guardrail hook function: reads attestations and revocations, and the guardrail keys\' public halves',
    });
    this.hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const bucketArn = `arn:${stack.partition}:s3:::${props.attestationBucketName}`;
    this.hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`${bucketArn}/attestations/*`, `${bucketArn}/revoked/*`] }));
    // ListBucket turns a missing attestation into 404 rather than 403: a clear "no attestation".
    this.hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn], conditions: { StringLike: { 's3:prefix': ['attestations/*', 'revoked/*'] } } }));
    // The file assets the template names by key (CDK's asset bucket, which the pipeline's
    // file-publishing role may overwrite): the hook may read them to compare their digests with
    // the attested ones.
    this.hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [`arn:${stack.partition}:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*`] }));
    // The public keys, read at cold start (kms:GetPublicKey): the keys are created by the
    // enforcement stack, so their public halves are not known when it is synthesized. Only keys
    // behind the configured aliases (AWS KMS developer guide, "kms:ResourceAliases").
    this.hookRole.addToPolicy(new iam.PolicyStatement({
      actions: ['kms:GetPublicKey', 'kms:DescribeKey'],
      resources: [`arn:${stack.partition}:kms:${props.keyRegion}:${stack.account}:key/*`],
      conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [...props.trustedKeyAliases] } },
    }));
    const runtime = lambda.Runtime.NODEJS_22_X;
    this.hookFunction = new lambda.Function(this, 'HookFunction', {
      functionName: ENFORCEMENT.hookFunctionName,
      description: 'Guardrail hook: admits a stack operation only with a valid guardrail attestation of its template',
      runtime,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: bundledCode('hook/handler.ts', runtime),
      role: this.hookRole,
      logGroup,
      // CloudFormation waits up to 30 s for a Lambda hook's answer (Hooks user guide, "Create
      // Lambda functions to evaluate resources for Lambda Hooks").
      timeout: Duration.seconds(25),
      memorySize: 512,
      environment: {
        ATTESTATION_BUCKET: props.attestationBucketName,
        // kms:GetPublicKey on each at cold start; the keyid of an envelope is the key ARN KMS returns.
        TRUSTED_KEY_ARNS: JSON.stringify(props.trustedKeyAliases.map((alias) => `arn:${stack.partition}:kms:${props.keyRegion}:${stack.account}:${alias}`)),
        PROTECTED_STACKS: JSON.stringify([...props.protectedStacks]),
      },
    });
    // The role CloudFormation assumes to invoke the function (Hooks user guide, "Prepare to
    // create a Lambda Hook": trust hooks.cloudformation.amazonaws.com, lambda:InvokeFunction).
    const invokeRole = new iam.Role(this, 'LambdaHookExecutionRole', {
      assumedBy: hooksService,
      description: 'CloudFormation Hooks: invokes the guardrail hook function',
    });
    invokeRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.hookFunction.functionArn] }));
    this.lambdaHook = new cfn.CfnLambdaHook(this, 'AttestationHook', {
      alias: 'Private::Guardrail::Attestation',
      executionRole: invokeRole.roleArn,
      lambdaFunction: this.hookFunction.functionArn,
      failureMode: 'FAIL',
      hookStatus: props.hookStatus,
      targetOperations: ['STACK', 'CHANGE_SET'],
      stackFilters,
    });
    this.lambdaHook.node.addDependency(invokeRole);

    // --- The Guard hook: the project's rules and Control Tower's, from a bucket of its own.
    this.rulesBucket = new s3.Bucket(this, 'RulesBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: props.logBucket,
      serverAccessLogsPrefix: 'rules-bucket/',
      // Each deploy writes a new version; the hook reads the pinned current one.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // One log group for the deployments' shared handler.
    const deploymentLogs = new logs.LogGroup(this, 'RulesDeploymentLogs', { retention: props.logRetention, encryptionKey: props.logKey, removalPolicy: RemovalPolicy.DESTROY });
    const rules = new s3deploy.BucketDeployment(this, 'Rules', {
      sources: [rulesSource(props.disabledControls)],
      destinationBucket: this.rulesBucket,
      destinationKeyPrefix: 'rules/',
      extract: false,
      memoryLimit: 256,
      logGroup: deploymentLogs,
    });
    const params = new s3deploy.BucketDeployment(this, 'Params', {
      sources: [s3deploy.Source.jsonData('params.json', { Compliance: { MinLogRetentionDays: props.minLogRetentionDays } })],
      destinationBucket: this.rulesBucket,
      destinationKeyPrefix: 'params/',
      memoryLimit: 256,
      logGroup: deploymentLogs,
    });
    // Only that deployment writes the rules (explicit deny: no identity policy can grant it).
    this.rulesBucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyTheEnforcementWritesRules',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutObjectAcl', 's3:RestoreObject'],
      resources: [this.rulesBucket.arnForObjects('*')],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': rules.handlerRole.roleArn } },
    }));
    const guardRole = new iam.Role(this, 'GuardHookExecutionRole', {
      assumedBy: hooksService,
      description: 'CloudFormation Hooks: the Guard hook reads its rules and writes its reports',
    });
    // Hooks user guide, "Prepare to create a Guard Hook": ListBucket, GetObject, GetObjectVersion on the rules; PutObject on the log bucket.
    guardRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.rulesBucket.bucketArn] }));
    guardRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [this.rulesBucket.arnForObjects('rules/*'), this.rulesBucket.arnForObjects('params/*')] }));
    guardRole.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [props.logBucket.arnForObjects('guard-hook/*')] }));
    const objectUri = (key: string) => `s3://${this.rulesBucket.bucketName}/${key}`;
    this.guardHook = new cfn.CfnGuardHook(this, 'RulesHook', {
      alias: 'Private::Guardrail::Rules',
      executionRole: guardRole.roleArn,
      failureMode: 'FAIL',
      hookStatus: props.hookStatus,
      // The Guard hook downloads its rules at every invocation: pinned to the version deployed
      // (CloudFormation template reference, "AWS::CloudFormation::GuardHook S3Location").
      ruleLocation: { uri: objectUri(Fn.select(0, rules.objectKeys)), versionId: Fn.select(0, rules.objectVersionIds) },
      options: { inputParams: { uri: objectUri('params/params.json') } },
      logBucket: props.logBucket.bucketName,
      // Stack operations: the Guard rules read the template (Hooks user guide, "Write Guard rules
      // to evaluate resources for Guard Hooks", stack operations).
      targetOperations: ['STACK'],
      stackFilters,
    });
    this.guardHook.node.addDependency(guardRole, rules, params);
  }
}

/**
 * The Guard hook's rules as one zip: the project's rule files (but those in NOT_IN_HOOK) under
 * project/, the Control Tower controls (but the disabled ones) under control-tower/.
 */
function rulesSource(disabledControls: readonly string[]): s3deploy.ISource {
  const off = new Set(disabledControls);
  const files: ExtraFile[] = [
    ...guardFiles(PROJECT_RULES_DIR).filter((f) => !NOT_IN_HOOK[basename(f)]).map((f) => ({ to: join('project', basename(f)), from: f })),
    ...guardFiles(CONTROL_TOWER_RULES_DIR).filter((f) => !off.has(basename(f, '.guard'))).map((f) => ({ to: join('control-tower', basename(f)), from: f })),
  ];
  const hash = createHash('sha256');
  hashExtraFiles(hash, files);
  return s3deploy.Source.asset(REPO_ROOT, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: hash.digest('hex'),
    bundling: localBundling((outputDir) => writeExtraFiles(outputDir, files)),
  });
}

function guardFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = join(dir, name);
    if (statSync(file).isDirectory()) return guardFiles(file);
    return name.endsWith('.guard') ? [file] : [];
  }).sort();
}

/** The Control Tower controls control-tower-disabled.json turns off for every stack. */
export function globallyDisabledControls(): string[] {
  const file = join(REPO_ROOT, 'pipeline', 'compliance', 'control-tower-disabled.json');
  const entries = JSON.parse(readFileSync(file, 'utf8')).disabled as Array<{ control: string; stacks?: string[] }>;
  return entries.filter((e) => !e.stacks).map((e) => e.control);
}
