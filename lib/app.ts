import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from './compliance';
import { loadConfig, SANDBOX_CONTEXT_KEY } from './config';
import { acknowledgePipelineFindings } from './pipeline-compliance';
import { ReleasePipelineStack } from './pipeline-stack';
import { DataProductStage } from './stage';

/** What {@link defineApp} built: the two stages, and the pipeline unless in sandbox mode. */
export interface DefinedApp {
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
  readonly pipelineStack?: ReleasePipelineStack;
}

/**
 * Builds the whole app on `app`: configuration from its context, then the
 * release pipeline holding both stages (or, with `-c sandbox=true`, the two
 * stages directly on the app), and the compliance checks over every stack.
 */
export function defineApp(app: App, appVersion: string): DefinedApp {
  const config = loadConfig(app.node.getAllContext());
  addComplianceChecks(app);
  const sandbox = String(app.node.tryGetContext(SANDBOX_CONTEXT_KEY) ?? 'false') === 'true';
  if (sandbox) {
    const common = { appVersion, pipelineAccount: config.pipeline.account, imageBuildArgs: { NODE_IMAGE: config.pipeline.baseImage } };
    return {
      staging: new DataProductStage(app, 'Staging', { ...common, settings: config.staging }),
      production: new DataProductStage(app, 'Production', { ...common, settings: config.production }),
    };
  }
  const pipelineStack = new ReleasePipelineStack(app, 'Pipeline', { config, appVersion, stackName: 'br-fagq2-pipeline' });
  // After the pipeline is built: its generated roles and the cross-region support stacks exist now.
  acknowledgePipelineFindings(app);
  return { staging: pipelineStack.staging, production: pipelineStack.production, pipelineStack };
}
