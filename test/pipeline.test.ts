import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { ENFORCEMENT, validatorFunctionArn } from '../lib/enforcement-names';
import { RELEASE_STAGES } from '../lib/pipeline-stack';
import { freshnessBudgetSecondsFor, WORKER_COLD_START_SECONDS } from '../lib/release-steps';
import { cdkJsonContext, newApp, pipelineTemplate } from './support/app';

interface Action {
  Name: string;
  RunOrder?: number;
  ActionTypeId: { Provider: string };
  Configuration?: Record<string, unknown>;
  InputArtifacts?: { Name: string }[];
  OutputArtifacts?: { Name: string }[];
}
interface PipelineStage {
  Name: string;
  Actions: Action[];
  OnFailure?: { Result: string };
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

  it('asks the production account\'s validator, as a role of fixed name that may only invoke it, with the Synth step\'s assembly, bound to the commit and execution', () => {
    const step = project(template, 'GuardrailValidation');
    const validator = validatorFunctionArn('333333333333', 'eu-west-1');
    // CDK Pipelines links the Synth step's output (the assembly) in; nothing is installed: the
    // primary input is the Synth step's bundle of the request program, not a clone of the source.
    expect(step.buildspec.phases.install.commands).toEqual([expect.stringContaining('ln -s -- "$CODEBUILD_SRC_DIR_Synth_Output" "assembly"')]);
    const validation = stages.find((s) => s.Name === 'Guardrail')!.Actions.find((a) => a.Name === 'GuardrailValidation')!;
    const sourceArtifact = stages.find((s) => s.Name === 'Source')!.Actions[0]!.OutputArtifacts![0]!.Name;
    expect(validation.InputArtifacts!.map((a) => a.Name)).not.toContain(sourceArtifact);
    expect(validation.InputArtifacts).toHaveLength(2); // the bundle and the assembly
    expect(step.buildspec.phases.build.commands).toEqual([
      'npm run --silent guardrail -- --assembly assembly --stage Production --release "$RELEASE_COMMIT" --execution "$PIPELINE_EXECUTION_ID" --validator "$VALIDATOR_ARN"',
    ]);
    const env = Object.fromEntries(step.environment.EnvironmentVariables.map((e: { Name: string; Value: string }) => [e.Name, e.Value]));
    expect(env).toMatchObject({ VALIDATOR_ARN: validator, AWS_REGION: 'eu-west-1' });
    expect(step.environment.EnvironmentVariables.filter((v: { Type: string }) => v.Type !== 'PLAINTEXT')).toEqual([]);
    // The validator's resource policy names this role by its fixed name.
    const [roleId, role] = Object.entries(template.findResources('AWS::IAM::Role')).find(([, r]) => r.Properties.RoleName === ENFORCEMENT.validationRoleName)!;
    expect(step.role).toBe(roleId);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({ Principal: { Service: 'codebuild.amazonaws.com' } })]);
    const actions = roleStatements(template, roleId).flatMap((st) => [st.Action].flat());
    expect(actions.filter((a) => a.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
    expect(roleStatements(template, roleId).filter((st) => [st.Action].flat().includes('lambda:InvokeFunction'))).toEqual([expect.objectContaining({ Resource: validator })]);
    expect(actions.filter((a) => /^(kms:Sign|secretsmanager:|ssm:|sts:AssumeRole)/.test(a))).toEqual([]);
    const action = stages.find((s) => s.Name === 'Guardrail')!.Actions.find((a) => a.Name === 'GuardrailValidation')!;
    expect(JSON.parse(String(action.Configuration!.EnvironmentVariables))).toEqual(expect.arrayContaining([
      { name: 'RELEASE_COMMIT', type: 'PLAINTEXT', value: '#{Source@example_br-fagq2.CommitId}' },
      { name: 'PIPELINE_EXECUTION_ID', type: 'PLAINTEXT', value: '#{codepipeline.PipelineExecutionId}' },
    ]));
  });

  it('stops before production for an approval when configured, after every pre-production check', () => {
    const approving = pipelineStages(pipelineTemplate({ 'pipeline.manualApproval': 'true' }));
    const guardrail = approving.find((s) => s.Name === 'Guardrail')!;
    const approval = guardrail.Actions.find((a) => a.ActionTypeId.Provider === 'Manual')!;
    expect(approval.Name).toBe('PromoteToProduction');
    for (const other of guardrail.Actions.filter((a) => a !== approval)) expect(approval.RunOrder).toBeGreaterThan(other.RunOrder!);
    expect(stages.find((s) => s.Name === 'Guardrail')!.Actions.map((a) => a.Name).sort()).toEqual(['GuardrailValidation', 'ProductionHealthChecks', 'StagingHealthChecks']);
  });

  it('synthesizes, tests and lints in the build without any secret; the assembly is its output; no signing material anywhere in the pipeline', () => {
    const synth = project(template, 'Synth');
    expect(synth.buildspec.phases.install.commands).toEqual(['npm ci', 'pip3 install --quiet cfn-lint==1.51.0']);
    expect(synth.buildspec.phases.build.commands).toEqual([
      'npm run typecheck',
      'npm test',
      "npx cdk synth -q '**'",
      'npm run lint:templates',
      'npm run compliance',
      'npm run --silent guardrail:bundle -- guardrail-request',
    ]);
    // Two outputs: the assembly, and GuardrailValidation's program.
    expect(Object.values<{ 'base-directory': string }>(synth.buildspec.artifacts['secondary-artifacts']).map((a) => a['base-directory']).sort()).toEqual(['cdk.out', 'guardrail-request']);
    expect(synth.buildspec.cache).toEqual({ paths: ['/root/.npm/**/*'] });
    expect((synth.environment.EnvironmentVariables ?? []).filter((v: { Type: string }) => v.Type !== 'PLAINTEXT')).toEqual([]);
    const build = stages.find((s) => s.Name === 'Build')!.Actions;
    expect(build.map((a) => a.Name)).toEqual(['Synth']);
    const variables = JSON.parse(String(build[0].Configuration!.EnvironmentVariables)) as Array<{ name: string; value: string }>;
    expect(variables).toContainEqual({ name: 'RELEASE_VERSION', type: 'PLAINTEXT', value: '#{Source@example_br-fagq2.CommitId}' });
    // The HMAC token, its secret and key, the approved-revision parameters and the Sign step are gone.
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::SSM::Parameter'))).toEqual([]);
    const allActions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement).flatMap((st: { Action: string | string[] }) => [st.Action].flat());
    expect(allActions.filter((a) => /^(secretsmanager|ssm):|^kms:Sign/.test(a))).toEqual([]);
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/GUARDRAIL_TOKEN|approved-revision|guardrail -- (sign|gate|verify)|git worktree/);
  });

  it('lets each role start and watch only its own CodeBuild projects (the asset roles no longer on "*")', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const starts = Object.entries(policies).flatMap(([id, p]) => (p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
      .filter((st) => [st.Action].flat().includes('codebuild:StartBuild')).map((st) => ({ id, roles: p.Properties.Roles, resource: st.Resource })));
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (const start of starts) expect(start.resource).not.toBe('*');
    const projects = template.findResources('AWS::CodeBuild::Project');
    const projectsOfRole = (roleId: string) => Object.entries(projects).filter(([, p]) => p.Properties.ServiceRole['Fn::GetAtt']?.[0] === roleId).map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    for (const kind of ['File', 'Docker']) {
      const start = starts.find((s) => s.id.startsWith(`PipelineAssets${kind}Role`))!;
      const roleId = start.roles[0].Ref;
      expect(start.resource).toEqual(projectsOfRole(roleId));
      expect(JSON.stringify(start.resource)).not.toMatch(/Synth|GuardrailValidation|SelfMutate|HealthChecks|DeployChecks/);
    }
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

  it('refuses a pipeline account that is also a stage account (a stage\'s stacks must not reach the pipeline\'s roles)', () => {
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
