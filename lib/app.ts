import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from './compliance';
import { loadConfig, SANDBOX_CONTEXT_KEY } from './config';
import { acknowledgePipelineFindings, hardenPipelineResources } from './pipeline-compliance';
import { GuardrailStack } from './guardrail-stack';
import { PIPELINE_STACK_NAME, ReleasePipelineStack } from './pipeline-stack';
import { DataProductStage } from './stage';

/** What {@link defineApp} built: the two stages, and the pipeline unless in sandbox mode. */
export interface DefinedApp {
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
  readonly pipelineStack?: ReleasePipelineStack;
  readonly guardrailStack?: GuardrailStack;
}

/**
 * Builds the whole app on `app`: configuration from its context, then the
 * release pipeline holding both stages and the separately deployed guardrail
 * stack (or, with `-c sandbox=true`, the two stages directly on the app), and
 * the compliance checks over every stack.
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
  // Deployed once, by hand, never by the pipeline: the key and roles a commit must not reach.
  const guardrailStack = new GuardrailStack(app, 'Guardrail', {
    env: { account: config.pipeline.account, region: config.pipeline.region },
    connectionArn: config.pipeline.connectionArn,
    pipelineStackName: PIPELINE_STACK_NAME,
    approverRoleArn: config.pipeline.guardrailApproverRoleArn,
  });
  // After the pipeline is built: its generated roles and the cross-region support stacks exist now.
  acknowledgePipelineFindings(app);
  hardenPipelineResources(app);
  return { staging: pipelineStack.staging, production: pipelineStack.production, pipelineStack, guardrailStack };
}
