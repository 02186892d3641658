import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { AppConfig } from './config';
import { ReleaseNotifications } from './release-notifications';
import { DataProductStage } from './stage';
import { PROJECT } from './tiers';
import { TOOLCHAIN } from './toolchain';


/** The pipeline stage names, in release order (tests assert this order). */
export const RELEASE_STAGES = ['Source', 'Build', 'UpdatePipeline', 'Assets', 'Staging', 'Guardrail', 'Production'] as const;

/** Properties of a {@link ReleasePipelineStack}. */
export interface ReleasePipelineStackProps extends StackProps {
  /** The validated app configuration. */
  readonly config: AppConfig;
  /** The release being built (the commit id); the API reports it at /v1/version. */
  readonly appVersion: string;
}

/**
 * The release pipeline: a self-mutating CDK Pipeline that takes each commit to
 * main through synth and tests, staging (then deploy checks), the guardrail
 * validation, and production (health checks before, deploy checks after, and
 * an automatic rollback of the stage on failure).
 */
export class ReleasePipelineStack extends Stack {
  /** The CDK pipeline. */
  public readonly pipeline: pipelines.CodePipeline;
  /** The staging stage. */
  public readonly staging: DataProductStage;
  /** The production stage. */
  public readonly production: DataProductStage;
  /** The guardrail validation step that gates production. */
  public readonly guardrailStep: pipelines.CodeBuildStep;

  constructor(scope: Construct, id: string, props: ReleasePipelineStackProps) {
    const { config } = props;
    const settings = config.pipeline;
    super(scope, id, { ...props, env: { account: settings.account, region: settings.region } });

    // CodeBuild reads the SecureString itself (and its role gets ssm:GetParameters
    // on that one parameter); the value never enters a template or a log.
    const guardrailTokenEnv = {
      GUARDRAIL_TOKEN: { type: codebuild.BuildEnvironmentVariableType.PARAMETER_STORE, value: settings.guardrailTokenParameter },
    };

    const cacheBucket = new s3.Bucket(this, 'BuildCache', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Stale cache entries expire; the bucket itself is kept if the stack goes.
      lifecycleRules: [{ expiration: Duration.days(30) }],
    });

    const source = pipelines.CodePipelineSource.connection(settings.repository, settings.branch, {
      connectionArn: settings.connectionArn,
      triggerOnPush: true,
    });
    const synth = new pipelines.CodeBuildStep('Synth', {
      input: source,
      installCommands: ['npm ci', `pip3 install --quiet cfn-lint==${TOOLCHAIN.cfnLint}`],
      commands: ['npm run typecheck', 'npm test', "npx cdk synth -q '**'", 'npm run lint:templates'],
      primaryOutputDirectory: 'cdk.out',
      // The commit being released: the API reports it at /v1/version.
      env: { RELEASE_VERSION: source.sourceAttribute('CommitId') },
      buildEnvironment: { environmentVariables: guardrailTokenEnv },
      cache: codebuild.Cache.bucket(cacheBucket, { prefix: 'npm' }),
      partialBuildSpec: codebuild.BuildSpec.fromObject({ cache: { paths: ['/root/.npm/**/*'] } }),
    });

    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineName: PROJECT,
      pipelineType: codepipeline.PipelineType.V2,
      synth,
      selfMutation: true,
      crossAccountKeys: true,
      enableKeyRotation: true,
      publishAssetsInParallel: true,
      dockerEnabledForSynth: false,
      cliVersion: TOOLCHAIN.awsCdkCli,
      cdkAssetsCliVersion: TOOLCHAIN.cdkAssets,
      codeBuildDefaults: {
        buildEnvironment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL },
        partialBuildSpec: codebuild.BuildSpec.fromObject({ phases: { install: { 'runtime-versions': { nodejs: 20 } } } }),
      },
    });

    const stageProps = { appVersion: props.appVersion, pipelineAccount: settings.account, imageBuildArgs: { NODE_IMAGE: settings.baseImage } };
    this.staging = new DataProductStage(this, 'Staging', { ...stageProps, settings: config.staging });
    this.production = new DataProductStage(this, 'Production', { ...stageProps, settings: config.production });

    const checks = new CheckSteps(source, source.sourceAttribute('CommitId'), config);
    this.pipeline.addStage(this.staging, { post: [checks.deployChecks('StagingDeployChecks', this.staging)] });

    this.guardrailStep = new pipelines.CodeBuildStep('GuardrailValidation', {
      input: source,
      additionalInputs: { 'cdk.out': synth.primaryOutput! },
      installCommands: ['npm ci'],
      commands: ['npm run guardrail -- verify cdk.out --report guardrail-report.json'],
      // Reading the token parameter is all this step may do beyond its build.
      buildEnvironment: { environmentVariables: guardrailTokenEnv },
    });
    const approval = settings.manualApproval ? [new pipelines.ManualApprovalStep('PromoteToProduction')] : [];
    if (approval.length) approval[0].addStepDependency(this.guardrailStep);
    this.pipeline.addWave('Guardrail', { post: [this.guardrailStep, ...approval] });

    this.pipeline.addStage(this.production, {
      pre: [
        checks.healthChecks('StagingHealthChecks', this.staging, false),
        checks.healthChecks('ProductionHealthChecks', this.production, true),
      ],
      post: [checks.deployChecks('ProductionDeployChecks', this.production)],
    });

    this.pipeline.buildPipeline();
    this.rollBackProductionOnFailure();
    new ReleaseNotifications(this, 'Notifications', { pipeline: this.pipeline.pipeline, email: settings.notificationEmail });
  }

  /**
   * A failed production stage rolls back to the last successful pipeline
   * execution's artifacts. The pipelines API cannot set a stage's OnFailure,
   * hence the override on the L1 pipeline.
   */
  private rollBackProductionOnFailure(): void {
    const stageNames = this.pipeline.pipeline.stages.map((s) => s.stageName);
    const index = stageNames.indexOf('Production');
    if (index < 0) throw new Error(`no Production stage in the pipeline (stages: ${stageNames.join(', ')})`);
    const cfnPipeline = this.pipeline.pipeline.node.defaultChild as codepipeline.CfnPipeline;
    cfnPipeline.addPropertyOverride(`Stages.${index}.OnFailure`, { Result: 'ROLLBACK' });
  }
}

/**
 * Builds the check steps that run against a deployed stage. Each assumes the
 * stage's checks role (an AWS profile with credential_source=EcsContainer, so
 * the SDK's own credential chain does the assuming) in the stage's region.
 */
class CheckSteps {
  constructor(
    private readonly source: pipelines.IFileSetProducer,
    private readonly commitId: string,
    private readonly config: AppConfig,
  ) {}

  /** The post-deploy checks: health, latency budget, fresh version through the edge, jobs drain. */
  deployChecks(id: string, stage: DataProductStage): pipelines.CodeBuildStep {
    const o = stage.outputs;
    return this.step(id, stage, 'npm run checks -- deploy', {
      EDGE_URL: o.edgeUrl,
      DISTRIBUTION_ID: o.distributionId,
      QUEUE_URL: o.queueUrl,
      DLQ_URL: o.deadLetterQueueUrl,
    }, {
      EXPECTED_VERSION: this.commitId,
      LATENCY_BUDGET_MS: String(this.config.pipeline.latencyBudgetMs),
      JOB_BUDGET_SECONDS: String(this.config.pipeline.jobBudgetSeconds),
    });
  }

  /**
   * The pre-deployment health checks of a running stage: every target healthy,
   * every service at its desired count, the edge answering. The endpoints come
   * from the stage's stack outputs, read at run time: production's do not exist
   * as pipeline variables before it deploys, and not at all before the first
   * release (allowMissing).
   */
  healthChecks(id: string, stage: DataProductStage, allowMissing: boolean): pipelines.CodeBuildStep {
    const flags = `--stack ${stage.tiersStack.stackName}${allowMissing ? ' --allow-missing' : ''}`;
    return this.step(id, stage, `npm run checks -- health ${flags}`, {}, {});
  }

  private step(
    id: string,
    stage: DataProductStage,
    command: string,
    outputs: Record<string, CfnOutput>,
    env: Record<string, string>,
  ): pipelines.CodeBuildStep {
    return new pipelines.CodeBuildStep(id, {
      input: this.source,
      installCommands: ['npm ci'],
      commands: [
        'aws configure set profile.stage-checks.role_arn "$CHECKS_ROLE_ARN"',
        'aws configure set profile.stage-checks.credential_source EcsContainer',
        `AWS_PROFILE=stage-checks ${command}`,
      ],
      env: { ...env, CHECKS_ROLE_ARN: stage.checksRoleArn, AWS_REGION: stage.tiersStack.region },
      envFromCfnOutputs: outputs,
      // The step may only assume this stage's checks role; the role decides the rest.
      rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [stage.checksRoleArn] })],
    });
  }
}
