import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { AppConfig, EnvironmentConfig } from './config';
import { DatasetFreshness } from './dataset-freshness';
import { ENFORCEMENT, validatorFunctionArn } from './enforcement-names';
import { DataProductStage } from './stage';
import { Construct } from 'constructs';

/**
 * Seconds a staging worker at zero tasks needs before it takes its first job:
 * SQS publishes its metrics to CloudWatch once a minute (Amazon SQS developer
 * guide, "Available CloudWatch metrics for Amazon SQS"), the scale-out alarm
 * evaluates one 1-minute period and may see the datapoint one period late, then
 * ECS places a Fargate task, pulls the image through the VPC endpoints and the
 * worker starts: 60 + 60 + 60 + 180 s. The post-deploy job check allows this on
 * top of `jobBudgetSeconds` when the stage may scale to zero.
 */
export const WORKER_COLD_START_SECONDS = 360;

/** The job-drain budget of a stage's post-deploy check: the configured budget, plus a cold start when idle workers scale to zero. */
export function jobBudgetSecondsFor(pipelineBudgetSeconds: number, stage: EnvironmentConfig): number {
  return pipelineBudgetSeconds + coldStartSecondsFor(stage);
}

/** The data-freshness check's budget: an on-demand pipeline run's, plus a cold start likewise. */
export function freshnessBudgetSecondsFor(stage: EnvironmentConfig): number {
  return new DatasetFreshness(stage).onDemandBudgetSeconds + coldStartSecondsFor(stage);
}

function coldStartSecondsFor(stage: EnvironmentConfig): number {
  return stage.worker.minTasks === 0 ? WORKER_COLD_START_SECONDS : 0;
}

/**
 * The bootstrap's lookup role of an environment: it exists from `cdk bootstrap`
 * on, carries the ReadOnlyAccess managed policy (with kms:Decrypt denied), and
 * trusts the accounts given with `--trust` or `--trust-for-lookup` (the
 * bootstrap template shipped with the aws-cdk CLI, resource LookupRole). The
 * pre-deployment health checks use it, so they can run before the stage's own
 * checks role exists (the first release).
 */
export function lookupRoleArn(account: string, region: string): string {
  return `arn:aws:iam::${account}:role/cdk-hnb659fds-lookup-role-${account}-${region}`;
}

/**
 * The execution's id, a pipeline-level variable (CodePipeline user guide, "Variables
 * reference": `#{codepipeline.PipelineExecutionId}`): the attestation names it.
 */
const PIPELINE_EXECUTION_ID_VARIABLE = '#{codepipeline.PipelineExecutionId}';

/** Where the GuardrailValidation step finds the Synth step's assembly. */
const ASSEMBLY_INPUT_DIR = 'assembly';

/** Where the Synth step packs GuardrailValidation's program (pipeline/guardrail/bundle.ts), an output of its own. */
export const GUARDRAIL_REQUEST_DIR = 'guardrail-request';

/**
 * The GuardrailValidation step: asks the production account's validator (a function the
 * enforcement deployed, not the commit) to validate and sign the release. The program that builds
 * the request (pipeline/guardrail/request.ts) is the commit's code, and that is fine: the
 * validator decides from what it reads itself. Its role has a fixed name, the one principal the
 * validator's resource policy admits, and may only invoke the validator. It takes no clone of the
 * source (so its role holds no use of the source connection): `program` is the Synth step's
 * bundle of the request program ({@link GUARDRAIL_REQUEST_DIR}), run by the bundle's own
 * package.json with nothing to install.
 */
export function guardrailValidationStep(
  scope: Construct,
  program: pipelines.IFileSetProducer,
  synth: pipelines.IFileSetProducer,
  commitId: string,
  config: AppConfig,
): pipelines.CodeBuildStep {
  const validator = validatorFunctionArn(config.production.account, config.production.region);
  const role = new iam.Role(scope, 'GuardrailValidationRole', {
    roleName: ENFORCEMENT.validationRoleName,
    assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
    description: 'GuardrailValidation: invokes the production account\'s guardrail validator, nothing else',
  });
  return new pipelines.CodeBuildStep('GuardrailValidation', {
    input: program,
    additionalInputs: { [ASSEMBLY_INPUT_DIR]: synth },
    role,
    commands: [
      `npm run --silent guardrail -- --assembly ${ASSEMBLY_INPUT_DIR} --stage Production --release "$RELEASE_COMMIT" --execution "$PIPELINE_EXECUTION_ID" --validator "$VALIDATOR_ARN"`,
    ],
    env: { RELEASE_COMMIT: commitId, PIPELINE_EXECUTION_ID: PIPELINE_EXECUTION_ID_VARIABLE, VALIDATOR_ARN: validator, AWS_REGION: config.production.region },
    rolePolicyStatements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [validator] })],
    // The validator may run up to Lambda's 15 minutes.
    timeout: Duration.minutes(20),
  });
}

/**
 * Builds the check steps that run against a stage. Each assumes a role in the
 * stage's account (an AWS profile with credential_source=EcsContainer, so the
 * SDK's own credential chain does the assuming) in the stage's region.
 */
export class CheckSteps {
  constructor(
    private readonly source: pipelines.IFileSetProducer,
    private readonly commitId: string,
    private readonly config: AppConfig,
  ) {}

  /** The post-deploy checks: health, what ECS did with the API's release, latency budget, fresh version through the edge, an authenticated job that drains. */
  deployChecks(id: string, stage: DataProductStage, settings: EnvironmentConfig): pipelines.CodeBuildStep {
    const o = stage.outputs;
    return this.step(id, stage, stage.checksRoleArn, 'npm run checks -- deploy', {
      EDGE_URL: o.edgeUrl,
      DISTRIBUTION_ID: o.distributionId,
      QUEUE_URL: o.queueUrl,
      DLQ_URL: o.deadLetterQueueUrl,
      DATA_BUCKET: o.dataBucketName,
      CLUSTER_NAME: o.clusterName,
      API_SERVICE_NAME: o.apiServiceName,
    }, {
      EXPECTED_VERSION: this.commitId,
      LATENCY_BUDGET_MS: String(this.config.pipeline.latencyBudgetMs),
      JOB_BUDGET_SECONDS: String(jobBudgetSecondsFor(this.config.pipeline.jobBudgetSeconds, settings)),
      FRESHNESS_BUDGET_SECONDS: String(freshnessBudgetSecondsFor(settings)),
      // One authenticated write through the edge: the jobs check gets a token of the stage's
      // issuer with the client credentials in this secret of the stage's account (the checks role
      // may read it; README, "The deploy checks' write credential"), after an anonymous write got 401.
      OIDC_CLIENT_SECRET_ID: stage.checksOidcClientSecretName,
      OIDC_ISSUER: settings.auth.oidcIssuer,
      OIDC_AUDIENCE: settings.auth.oidcAudience,
    });
  }

  /**
   * The pre-deployment health checks of a running stage (every target healthy,
   * every service at its desired count, the edge answering), read-only through
   * the bootstrap's lookup role. The endpoints come from the stage's stack
   * outputs, read at run time; with allowMissing a stage that does not exist
   * yet (the first release) is reported SKIP.
   */
  healthChecks(id: string, stage: DataProductStage, settings: EnvironmentConfig, allowMissing: boolean): pipelines.CodeBuildStep {
    const flags = `--stack ${stage.tiersStack.stackName}${allowMissing ? ' --allow-missing' : ''}`;
    return this.step(id, stage, lookupRoleArn(settings.account, settings.region), `npm run checks -- health ${flags}`, {}, {});
  }

  private step(
    id: string,
    stage: DataProductStage,
    roleArn: string,
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
      env: { ...env, CHECKS_ROLE_ARN: roleArn, AWS_REGION: stage.tiersStack.region },
      envFromCfnOutputs: outputs,
      // The step may only assume this one role; the role decides the rest.
      rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [roleArn] })],
    });
  }
}
