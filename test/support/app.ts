// Builds the real app (both stages) from cdk.json's context for assertions.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defineApp } from '../../lib/app';
import { DataProductStage } from '../../lib/stage';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The context shipped in cdk.json (feature flags and configuration). */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/** A fresh deep copy of the shipped configuration sections, to edit in tests. */
export function shippedConfig(): Record<string, any> {
  const context = cdkJsonContext();
  return structuredClone({ pipeline: context.pipeline, staging: context.staging, production: context.production });
}

export interface BuiltStages {
  readonly app: App;
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
}

/** The app's two stages, built as `-c sandbox=true` builds them (directly on a fresh App). */
export function buildStages(contextOverrides: Record<string, unknown> = {}): BuiltStages {
  const app = new App({ context: { ...cdkJsonContext(), sandbox: 'true', ...contextOverrides } });
  const { staging, production } = defineApp(app, 'test-version');
  return { app, staging, production };
}

/** The Tiers templates of both stages, built once (`-c sandbox=true`), for a test file's assertions. */
export function tiersTemplates(): { staging: Template; production: Template } {
  const { staging, production } = buildStages();
  return { staging: stageTemplates(staging).tiers, production: stageTemplates(production).tiers };
}

/** The templates of one stage's two stacks. */
export function stageTemplates(stage: DataProductStage): { tiers: Template; edgeWaf: Template } {
  return { tiers: Template.fromStack(stage.tiersStack), edgeWaf: Template.fromStack(stage.edgeWafStack) };
}
