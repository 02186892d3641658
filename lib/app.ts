import { App, Stack } from 'aws-cdk-lib';
import { addComplianceChecks } from './compliance';
import { AppConfig, loadConfig, SANDBOX_CONTEXT_KEY } from './config';
import { acknowledgePipelineFindings, hardenPipelineResources } from './pipeline-compliance';
import { EnforcedStage, GuardrailEnforcementStack, GuardrailHooksStack } from './enforcement-stack';
import { PIPELINE_STACK_NAME, ReleasePipelineStack } from './pipeline-stack';
import { lookupRoleArn } from './release-steps';
import { DataProductStage } from './stage';

/** What {@link defineApp} built: the two stages, and the pipeline and the enforcement unless in sandbox mode. */
export interface DefinedApp {
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
  readonly pipelineStack?: ReleasePipelineStack;
  /** The enforcement in production's region. */
  readonly enforcementStack?: GuardrailEnforcementStack;
  /** The enforcement's hooks in production's other regions. */
  readonly hooksStacks?: readonly GuardrailHooksStack[];
}

/**
 * Builds the whole app on `app`: configuration from its context, then the
 * release pipeline holding both stages and the production account's enforcement,
 * deployed by its administrator by hand (or, with `-c sandbox=true`, the two stages
 * directly on the app), and the compliance checks over every stack.
 */
export function defineApp(app: App, appVersion: string): DefinedApp {
  const config = loadConfig(app.node.getAllContext());
  addComplianceChecks(app, config.compliance.packs);
  const sandbox = String(app.node.tryGetContext(SANDBOX_CONTEXT_KEY) ?? 'false') === 'true';
  if (sandbox) {
    const common = { appVersion, pipelineAccount: config.pipeline.account, imageBuildArgs: { NODE_IMAGE: config.pipeline.baseImage }, latencyBudgetMs: config.pipeline.latencyBudgetMs };
    return {
      staging: new DataProductStage(app, 'Staging', { ...common, settings: config.staging }),
      production: new DataProductStage(app, 'Production', { ...common, settings: config.production }),
    };
  }
  const pipelineStack = new ReleasePipelineStack(app, 'Pipeline', { config, appVersion, stackName: PIPELINE_STACK_NAME });
  // After the pipeline is built: its generated roles and the cross-region support stacks exist now.
  // Before the enforcement: these reviewed shapes are the pipeline's, not the enforcement's.
  acknowledgePipelineFindings(app);
  hardenPipelineResources(app);
  const enforcement = defineEnforcement(app, config, pipelineStack);
  return { staging: pipelineStack.staging, production: pipelineStack.production, pipelineStack, ...enforcement };
}

/**
 * The production account's enforcement (docs/enforcement.md): never deployed by the pipeline (it
 * is no stage of it), by production's administrator with `npx cdk deploy 'Enforcement*'`.
 */
function defineEnforcement(app: App, config: AppConfig, pipelineStack: ReleasePipelineStack) {
  const stageOf = (stage: DataProductStage): EnforcedStage => ({
    account: stage.tiersStack.account,
    region: stage.tiersStack.region,
    stacks: Object.fromEntries(stacksOf(stage).map((s) => [s.node.id, { stackName: s.stackName, region: s.region }])),
  });
  const production = stageOf(pipelineStack.production);
  const regions = [...new Set([production.region, ...stacksOf(pipelineStack.production).map((s) => s.region)])];
  const common = { enforcement: config.enforcement, production, regions, minLogRetentionDays: config.compliance.minLogRetentionDays };
  const enforcementStack = new GuardrailEnforcementStack(app, 'Enforcement', {
    ...common,
    pipelineAccount: config.pipeline.account,
    staging: stageOf(pipelineStack.staging),
    // Staging is bootstrapped with --trust-for-lookup <production account> (docs/enforcement.md).
    stagingReadRoleArn: lookupRoleArn(config.staging.account, config.staging.region),
  });
  const hooksStacks = regions
    .filter((r) => r !== production.region)
    .map((region) => new GuardrailHooksStack(app, `Enforcement-${region}`, { ...common, region }));
  return { enforcementStack, hooksStacks };
}

function stacksOf(stage: DataProductStage): Stack[] {
  return stage.node.children.filter((c): c is Stack => c instanceof Stack);
}
