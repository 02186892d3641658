import { App } from 'aws-cdk-lib';
import { addComplianceChecks } from './compliance';
import { loadConfig } from './config';
import { DataProductStage } from './stage';

/** What {@link defineApp} built. */
export interface DefinedApp {
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
}

/**
 * Builds the whole app on `app`: configuration from its context, the stages,
 * and the compliance checks over every stack.
 */
export function defineApp(app: App, appVersion: string): DefinedApp {
  const config = loadConfig(app.node.getAllContext());
  const staging = new DataProductStage(app, 'Staging', { settings: config.staging, appVersion });
  const production = new DataProductStage(app, 'Production', { settings: config.production, appVersion });
  addComplianceChecks(app);
  return { staging, production };
}
