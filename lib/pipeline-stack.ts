import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { AppConfig } from './config';
import { grantMatchingUseConnection } from './connection-grants';
import { DeliveryMetrics } from './delivery-metrics';
import { ReleaseNotifications } from './release-notifications';
import { scopeBuildStartsToOwnProjects } from './pipeline-hardening';
import { CheckSteps, GUARDRAIL_REQUEST_DIR, guardrailValidationStep } from './release-steps';
import { DataProductStage } from './stage';
import { PROJECT } from './tiers';
import { TOOLCHAIN } from './toolchain';

/** The pipeline stack's name. */
export const PIPELINE_STACK_NAME = `${PROJECT}-pipeline`;

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
 * main through Build (synth and tests), self-mutation, asset publishing, staging
 * (then deploy checks), the Guardrail stage (the production account's validator,
 * invoked by GuardrailValidation, and the pre-deployment health checks of both
 * stages) and production (deploy, admitted by production's hooks only with the
 * validator's attestation; deploy checks; an automatic rollback of the stage on
 * failure).
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

    const cacheBucket = new s3.Bucket(this, 'BuildCache', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Stale cache entries expire; the bucket itself is kept if the stack goes.
      lifecycleRules: [{ expiration: Duration.days(30) }],
    });

    // pipeline.account differs from both stages' accounts: lib/config.ts checks it with the configuration.

    const source = pipelines.CodePipelineSource.connection(settings.repository, settings.branch, {
      connectionArn: settings.connectionArn,
      triggerOnPush: true,
      codeBuildCloneOutput: true,
    });
    const commitId = source.sourceAttribute('CommitId');

    // Build: runs the commit's code and holds no secret. Its output is the assembly itself: the
    // pipeline trusts nothing in it; production's hooks admit only what the validator signed.
    const synth = new pipelines.CodeBuildStep('Synth', {
      input: source,
      installCommands: ['npm ci', `pip3 install --quiet cfn-lint==${TOOLCHAIN.cfnLint}`],
      // Early feedback on every template; the validator in production runs its own compliance.
      commands: [
        'npm run typecheck',
        'npm test',
        "npx cdk synth -q '**'",
        'npm run lint:templates',
        'npm run compliance',
        // GuardrailValidation's program, packed with what it imports: that step needs no clone of the source.
        `npm run --silent guardrail:bundle -- ${GUARDRAIL_REQUEST_DIR}`,
      ],
      primaryOutputDirectory: 'cdk.out',
      // The commit being released: the API reports it at /v1/version.
      env: { RELEASE_VERSION: commitId },
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
        partialBuildSpec: codebuild.BuildSpec.fromObject({ phases: { install: { 'runtime-versions': { nodejs: TOOLCHAIN.nodeMajor } } } }),
      },
    });

    const stageProps = { appVersion: props.appVersion, pipelineAccount: settings.account, imageBuildArgs: { NODE_IMAGE: settings.baseImage }, latencyBudgetMs: settings.latencyBudgetMs };
    this.staging = new DataProductStage(this, 'Staging', { ...stageProps, settings: config.staging });
    this.production = new DataProductStage(this, 'Production', { ...stageProps, settings: config.production });

    const checks = new CheckSteps(source, commitId, config);
    this.pipeline.addStage(this.staging, { post: [checks.deployChecks('StagingDeployChecks', this.staging, config.staging)] });

    // Guardrail: everything that must pass before production, in a stage of its
    // own. The Production stage rolls back; a rollback re-runs that stage's
    // actions, so nothing there may fail for reasons other than the release.
    this.guardrailStep = guardrailValidationStep(this, synth.addOutputDirectory(GUARDRAIL_REQUEST_DIR), synth, commitId, config);
    const preProduction: pipelines.Step[] = [
      this.guardrailStep,
      checks.healthChecks('StagingHealthChecks', this.staging, config.staging, false),
      checks.healthChecks('ProductionHealthChecks', this.production, config.production, true),
    ];
    if (settings.manualApproval) {
      const approval = new pipelines.ManualApprovalStep('PromoteToProduction');
      preProduction.forEach((step) => approval.addStepDependency(step));
      preProduction.push(approval);
    }
    this.pipeline.addWave('Guardrail', { post: preProduction });

    this.pipeline.addStage(this.production, { post: [checks.deployChecks('ProductionDeployChecks', this.production, config.production)] });

    this.pipeline.buildPipeline();
    // CDK grants codestar-connections:UseConnection only; a codeconnections ARN needs its own prefix.
    grantMatchingUseConnection(this, settings.connectionArn);
    this.rollBackProductionOnFailure();
    scopeBuildStartsToOwnProjects(this);
    new ReleaseNotifications(this, 'Notifications', { pipeline: this.pipeline.pipeline, email: settings.notificationEmail });
    new DeliveryMetrics(this, 'DeliveryMetrics', { pipeline: this.pipeline.pipeline, pipelineName: PROJECT, productionStageName: 'Production' });
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
