import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { GUARDRAIL } from '../lib/guardrail-stack';
import { RELEASE_STAGES } from '../lib/pipeline-stack';
import { approvedGuardrailInstall, freshnessBudgetSecondsFor, GUARDRAIL_CHECKOUT, WORKER_COLD_START_SECONDS } from '../lib/release-steps';
import { cdkJsonContext, newApp } from './support/app';

interface Action {
  Name: string;
  RunOrder?: number;
  ActionTypeId: { Provider: string };
  Configuration?: Record<string, unknown>;
}
interface PipelineStage {
  Name: string;
  Actions: Action[];
  OnFailure?: { Result: string };
}

/** The synthesized pipeline stack's template, for the app as bin/app.ts builds it. */
function pipelineTemplate(context: Record<string, unknown> = {}): Template {
  const app = newApp(context);
  const { pipelineStack } = defineApp(app, 'test-version');
  return Template.fromStack(pipelineStack!);
}

function pipelineStages(template: Template): PipelineStage[] {
  const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
  return pipeline.Properties.Stages;
}

/** A CodeBuild project by the pipeline step it runs, with its parsed buildspec. */
function project(template: Template, step: string): { environment: Record<string, any>; buildspec: Record<string, any>; role: string; roleArn: string } {
  const projects = Object.values(template.findResources('AWS::CodeBuild::Project'));
  const found = projects.find((p) => String(p.Properties.Description).endsWith(`/${step}`));
  if (!found) throw new Error(`no CodeBuild project for step ${step}`);
  const serviceRole = found.Properties.ServiceRole;
  return {
    environment: found.Properties.Environment,
    buildspec: JSON.parse(found.Properties.Source.BuildSpec),
    role: serviceRole['Fn::GetAtt']?.[0] ?? '',
    roleArn: typeof serviceRole === 'string' ? serviceRole : JSON.stringify(serviceRole).replace(/.*iam::/, 'arn:aws:iam::').replace(/".*/, ''),
  };
}

/** The statements of the default policy of a role (by logical id). */
function roleStatements(template: Template, role: string): Array<{ Action: string | string[]; Resource: unknown }> {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

let template: Template;
let stages: PipelineStage[];
beforeAll(() => {
  template = pipelineTemplate();
  stages = pipelineStages(template);
});

describe('the release pipeline', () => {
  it('takes each commit through Source, Build, UpdatePipeline, Assets, Staging, Guardrail and Production, in that order', () => {
    expect(stages.map((s) => s.Name)).toEqual([...RELEASE_STAGES]);
    expect(RELEASE_STAGES).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'Staging', 'Guardrail', 'Production']);
  });

  it('starts on a commit to main of example/br-fagq2 through the configured connection', () => {
    const [source] = stages[0].Actions;
    expect(source.ActionTypeId.Provider).toBe('CodeStarSourceConnection');
    expect(source.Configuration).toMatchObject({ FullRepositoryId: 'example/br-fagq2', BranchName: 'main', ConnectionArn: expect.stringMatching(/^arn:aws:codeconnections:/) });
  });

  it('validates the guardrail after staging and before anything of production runs', () => {
    const guardrail = stages.findIndex((s) => s.Actions.some((a) => a.Name === 'GuardrailValidation'));
    expect(guardrail).toBeGreaterThan(stages.findIndex((s) => s.Name === 'Staging'));
    expect(guardrail).toBeLessThan(stages.findIndex((s) => s.Name === 'Production'));
    expect(stages.filter((s) => s.Actions.some((a) => a.Name === 'GuardrailValidation'))).toHaveLength(1);
  });

  it('verifies with the approved guardrail revision, not the commit\'s code, as the verify role, bound to the commit', () => {
    const step = project(template, 'GuardrailValidation');
    expect(step.buildspec.phases.install.commands.slice(-3)).toEqual(approvedGuardrailInstall());
    expect(step.buildspec.phases.build.commands).toEqual([
      `npm --prefix ${GUARDRAIL_CHECKOUT} run --silent guardrail -- verify "$(readlink -f signed-assembly)" --release "$RELEASE_COMMIT" --report /tmp/guardrail-report.json`,
    ]);
    expect(JSON.stringify(step.buildspec)).not.toMatch(/npm (ci|run)(?! --prefix)(?!.*--prefix)/);
    expect(step.environment.EnvironmentVariables).toEqual(expect.arrayContaining([
      { Name: 'APPROVED_REVISION', Type: 'PARAMETER_STORE', Value: GUARDRAIL.approvedRevisionParameter },
      { Name: 'GUARDRAIL_TOKEN', Type: 'SECRETS_MANAGER', Value: `${GUARDRAIL.tokenSecretName}:current` },
      { Name: 'GUARDRAIL_PREVIOUS_TOKEN', Type: 'SECRETS_MANAGER', Value: `${GUARDRAIL.tokenSecretName}:previous` },
    ]));
    expect(step.roleArn).toBe(`arn:aws:iam::111111111111:role/${GUARDRAIL.verifyRoleName}`);
  });

  it('stops before production for an approval when configured, after every pre-production check', () => {
    const approving = pipelineStages(pipelineTemplate({ 'pipeline.manualApproval': 'true' }));
    const guardrail = approving.find((s) => s.Name === 'Guardrail')!;
    const approval = guardrail.Actions.find((a) => a.ActionTypeId.Provider === 'Manual')!;
    expect(approval.Name).toBe('PromoteToProduction');
    for (const other of guardrail.Actions.filter((a) => a !== approval)) expect(approval.RunOrder).toBeGreaterThan(other.RunOrder!);
    expect(stages.find((s) => s.Name === 'Guardrail')!.Actions.map((a) => a.Name).sort()).toEqual(['GuardrailValidation', 'ProductionHealthChecks', 'StagingHealthChecks']);
  });

  it('synthesizes, tests and lints in the build without any secret, then signs in an action of its own', () => {
    const synth = project(template, 'Synth');
    expect(synth.buildspec.phases.install.commands).toEqual(['npm ci', 'pip3 install --quiet cfn-lint==1.51.0']);
    expect(synth.buildspec.phases.build.commands).toEqual(['npm run typecheck', 'npm test', "npx cdk synth -q '**'", 'npm run lint:templates', 'npm run compliance']);
    expect(synth.buildspec.cache).toEqual({ paths: ['/root/.npm/**/*'] });
    expect((synth.environment.EnvironmentVariables ?? []).filter((v: { Type: string }) => v.Type !== 'PLAINTEXT')).toEqual([]);
    const synthActions = roleStatements(template, synth.role).flatMap((s) => [s.Action].flat());
    expect(synthActions.filter((a) => /^(ssm|secretsmanager):/.test(a))).toEqual([]);
    const build = stages.find((s) => s.Name === 'Build')!.Actions;
    expect(build.map((a) => [a.Name, a.RunOrder])).toEqual([['Synth', 1], ['Sign', 2]]);
    const variables = JSON.parse(String(build[0].Configuration!.EnvironmentVariables)) as Array<{ name: string; value: string }>;
    expect(variables).toContainEqual({ name: 'RELEASE_VERSION', type: 'PLAINTEXT', value: '#{Source@example_br-fagq2.CommitId}' });

    const sign = project(template, 'Sign');
    expect(sign.roleArn).toBe(`arn:aws:iam::111111111111:role/${GUARDRAIL.signRoleName}`);
    expect(sign.buildspec.phases.install.commands.slice(-3)).toEqual(approvedGuardrailInstall());
    const commands: string[] = sign.buildspec.phases.build.commands;
    expect(commands[0]).toMatch(/^git diff --quiet "\$APPROVED_REVISION" HEAD -- pipeline\/guardrail pipeline\/compliance \|\|/);
    expect(commands.findIndex((c) => c.includes('guardrail -- gate'))).toBeLessThan(commands.findIndex((c) => c.includes('guardrail -- sign')));
    expect(commands.at(-1)).toContain('--release "$RELEASE_COMMIT"');
    // Sign and verify bind the same commit and execution.
    for (const name of ['Sign']) {
      const action = build.find((a) => a.Name === name)!;
      const vars = JSON.parse(String(action.Configuration!.EnvironmentVariables));
      expect(vars).toEqual(expect.arrayContaining([
        { name: 'RELEASE_COMMIT', type: 'PLAINTEXT', value: '#{Source@example_br-fagq2.CommitId}' },
        { name: 'PIPELINE_EXECUTION_ID', type: 'PLAINTEXT', value: '#{codepipeline.PipelineExecutionId}' },
      ]));
    }
    const verifyAction = stages.find((s) => s.Name === 'Guardrail')!.Actions.find((a) => a.Name === 'GuardrailValidation')!;
    expect(JSON.parse(String(verifyAction.Configuration!.EnvironmentVariables))).toContainEqual({ name: 'PIPELINE_EXECUTION_ID', type: 'PLAINTEXT', value: '#{codepipeline.PipelineExecutionId}' });
  });

  it('updates itself, with the CLI versions pinned, and publishes assets in parallel', () => {
    expect(JSON.stringify(project(template, 'SelfMutate').buildspec)).toContain('aws-cdk@2.1148.1');
    const assets = stages.find((s) => s.Name === 'Assets')!.Actions;
    expect(assets.length).toBeGreaterThanOrEqual(2);
    const assetProjects = Object.values(template.findResources('AWS::CodeBuild::Project')).filter((p) => String(p.Properties.Description).includes('/Assets/'));
    for (const p of assetProjects) expect(p.Properties.Source.BuildSpec).toContain('cdk-assets@4.7.3');
  });

  it('checks staging after it deploys; both stages\' health in the Guardrail stage; the rolling-back Production stage holds only deploys and what follows them', () => {
    const actions = (name: string) => stages.find((s) => s.Name === name)!.Actions;
    const runOrder = (name: string, action: string) => actions(name).find((a) => a.Name === action)!.RunOrder!;
    const deployOrders = (name: string) => actions(name).filter((a) => a.ActionTypeId.Provider === 'CloudFormation').map((a) => a.RunOrder!);
    expect(runOrder('Staging', 'StagingDeployChecks')).toBeGreaterThan(Math.max(...deployOrders('Staging')));
    expect(actions('Guardrail').map((a) => a.Name)).toEqual(expect.arrayContaining(['StagingHealthChecks', 'ProductionHealthChecks']));
    const production = stages.find((s) => s.Name === 'Production')!;
    expect(production.OnFailure).toEqual({ Result: 'ROLLBACK' });
    const firstDeploy = Math.min(...deployOrders('Production'));
    expect(production.Actions.filter((a) => a.RunOrder! <= firstDeploy && a.ActionTypeId.Provider !== 'CloudFormation')).toEqual([]);
    expect(runOrder('Production', 'ProductionDeployChecks')).toBeGreaterThan(Math.max(...deployOrders('Production')));
  });

  it('runs the pre-deployment health checks through the bootstrap lookup role, which exists before the first release', () => {
    for (const [step, account] of [['StagingHealthChecks', '222222222222'], ['ProductionHealthChecks', '333333333333']]) {
      const p = project(template, step);
      const role = `arn:aws:iam::${account}:role/cdk-hnb659fds-lookup-role-${account}-eu-west-1`;
      expect(p.environment.EnvironmentVariables).toContainEqual({ Name: 'CHECKS_ROLE_ARN', Type: 'PLAINTEXT', Value: role });
      const assume = roleStatements(template, p.role).filter((s) => JSON.stringify(s.Action).includes('sts:'));
      expect(assume).toEqual([expect.objectContaining({ Action: 'sts:AssumeRole', Resource: role })]);
    }
  });

  it('gives the staging job check the time a worker needs to start from zero, and production none extra', () => {
    const budget = (step: string) => project(template, step).environment.EnvironmentVariables.find((e: { Name: string }) => e.Name === 'JOB_BUDGET_SECONDS').Value;
    const context = cdkJsonContext() as any;
    expect(context.staging.worker.minTasks).toBe(0);
    expect(budget('StagingDeployChecks')).toBe(String(context.pipeline.jobBudgetSeconds + WORKER_COLD_START_SECONDS));
    expect(budget('ProductionDeployChecks')).toBe(String(context.pipeline.jobBudgetSeconds));
  });

  it('checks data freshness with an on-demand run\'s budget, and jobs with one authenticated write (the client credentials of the stage\'s secret)', () => {
    const env = (step: string) => Object.fromEntries(project(template, step).environment.EnvironmentVariables.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
    const context = cdkJsonContext() as any;
    for (const [step, stage, name] of [['StagingDeployChecks', context.staging, 'staging'], ['ProductionDeployChecks', context.production, 'production']]) {
      expect(env(step)).toMatchObject({
        OIDC_CLIENT_SECRET_ID: `br-fagq2-${name}/deploy-checks/oidc-client`,
        OIDC_ISSUER: stage.auth.oidcIssuer,
        OIDC_AUDIENCE: stage.auth.oidcAudience,
        FRESHNESS_BUDGET_SECONDS: String(freshnessBudgetSecondsFor(stage)),
      });
      expect(env(step)).not.toHaveProperty('JOBS_VIA_QUEUE');
      const action = stages.flatMap((s) => s.Actions).find((a) => a.Name === step)!;
      expect(String(action.Configuration!.EnvironmentVariables)).toContain('"name":"DATA_BUCKET"');
    }
    const onDemand = (stage: any) => stage.worker.jobTimeoutSeconds + stage.data.reloadSeconds + stage.data.searchMaxAgeSeconds + stage.data.searchStaleSeconds;
    expect(freshnessBudgetSecondsFor(context.production)).toBe(onDemand(context.production));
    expect(freshnessBudgetSecondsFor(context.staging)).toBe(onDemand(context.staging) + WORKER_COLD_START_SECONDS);
  });

  it('refuses a pipeline account that is also a stage account (the guardrail key and roles live there)', () => {
    expect(() => pipelineTemplate({ 'staging.account': '111111111111' })).toThrow(/pipeline\.account: must differ from staging\.account and production\.account, got '111111111111'/);
  });

  it('gives each check step only the assumption of its stage’s checks role, and the endpoints from the stage outputs', () => {
    const step = project(template, 'ProductionDeployChecks');
    const env = Object.fromEntries(step.environment.EnvironmentVariables.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
    expect(env).toMatchObject({ CHECKS_ROLE_ARN: 'arn:aws:iam::333333333333:role/br-fagq2-production-deploy-checks', AWS_REGION: 'eu-west-1', LATENCY_BUDGET_MS: '800' });
    expect(step.buildspec.phases.build.commands.at(-1)).toBe('AWS_PROFILE=stage-checks npm run checks -- deploy');
    const assume = roleStatements(template, step.role).filter((s) => JSON.stringify(s.Action).includes('sts:'));
    expect(assume).toEqual([expect.objectContaining({ Action: 'sts:AssumeRole', Resource: 'arn:aws:iam::333333333333:role/br-fagq2-production-deploy-checks' })]);
    const action = stages.find((s) => s.Name === 'Production')!.Actions.find((a) => a.Name === 'ProductionDeployChecks')!;
    const variables = JSON.stringify(action.Configuration);
    for (const name of ['EDGE_URL', 'DISTRIBUTION_ID', 'QUEUE_URL', 'DLQ_URL', 'EXPECTED_VERSION', 'CLUSTER_NAME', 'API_SERVICE_NAME']) expect(variables).toContain(name);
    expect(project(template, 'ProductionHealthChecks').buildspec.phases.build.commands.at(-1)).toBe(
      'AWS_PROFILE=stage-checks npm run checks -- health --stack Production-Tiers --allow-missing',
    );
  });

  it('rolls the production stage back automatically when it fails, in a V2 pipeline', () => {
    const [pipeline] = Object.values(template.findResources('AWS::CodePipeline::Pipeline'));
    expect(pipeline.Properties.PipelineType).toBe('V2');
    expect(stages.find((s) => s.Name === 'Production')!.OnFailure).toEqual({ Result: 'ROLLBACK' });
    expect(stages.filter((s) => s.OnFailure).map((s) => s.Name)).toEqual(['Production']);
  });

  it('uses cross-account keys, rotated', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('tells an encrypted topic of failures and automatic rollbacks', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('NotificationsKey'), 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'platform-team@example.com' });
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: ['codepipeline-pipeline-pipeline-execution-failed', 'codepipeline-pipeline-stage-execution-failed'],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { detail: { 'execution-trigger': { 'trigger-type': ['AutomatedRollback'] } } },
    });
  });

  it('builds the service images from the configured base image', () => {
    const app = newApp({ 'pipeline.baseImage': '123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecr-public/docker/library/node:22-alpine' });
    const { pipelineStack } = defineApp(app, 'test-version');
    const manifest = app.synth().getNestedAssembly('assembly-Pipeline-Staging');
    const tiers = manifest.stacks.find((s) => s.stackName === 'Staging-Tiers')!;
    const assets = JSON.parse(readFileSync(path.join(manifest.directory, `${tiers.id}.assets.json`), 'utf8'));
    for (const image of Object.values(assets.dockerImages as Record<string, { source: { dockerBuildArgs: Record<string, string> } }>)) {
      expect(image.source.dockerBuildArgs).toEqual({ NODE_IMAGE: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecr-public/docker/library/node:22-alpine' });
    }
    expect(pipelineStack).toBeDefined();
  });

  it('builds the two stages directly on the app, without a pipeline, in sandbox mode', () => {
    const app = newApp({ sandbox: 'true' });
    const built = defineApp(app, 'test-version');
    expect(built.pipelineStack).toBeUndefined();
    expect(app.node.children.map((c) => c.node.id)).toEqual(['Staging', 'Production']);
  });
});
