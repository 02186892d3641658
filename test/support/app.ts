// Builds the real app (both stages) from cdk.json's context for assertions.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { inject } from 'vitest';
import { defineApp } from '../../lib/app';
import { appProps } from '../../lib/app-props';
import { DataProductStage } from '../../lib/stage';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The context shipped in cdk.json (feature flags and configuration). */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

/** A fresh deep copy of the shipped configuration sections, to edit in tests. */
export function shippedConfig(): Record<string, any> {
  const context = cdkJsonContext();
  return structuredClone({ pipeline: context.pipeline, staging: context.staging, production: context.production, enforcement: context.enforcement });
}

export interface BuiltStages {
  readonly app: App;
  readonly staging: DataProductStage;
  readonly production: DataProductStage;
}

/**
 * A fresh App as bin/app.ts makes it (its synth switches: no creation stack traces, no
 * tree.json), with cdk.json's context and `context` on top.
 */
export function newApp(context: Record<string, unknown> = {}, outdir?: string): App {
  const props = appProps();
  return new App({ ...props, outdir, context: { ...props.context, ...cdkJsonContext(), ...context } });
}

/** The context `cdk synth` adds for the app (aws-cdk 2.1148): its output, file for file. */
const CLI_CONTEXT = {
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': true,
};

/**
 * Synthesizes the whole app for `release` into `outdir`, in this process, as
 * `npx cdk synth -q '**'` does (the same files; only the source locations in metadata entries'
 * traces differ), and returns `outdir`. A full synth in a test worker that already loaded
 * aws-cdk-lib costs about a third of a CLI synth.
 */
export function synthApp(outdir: string, release = 'test-version', context: Record<string, unknown> = {}): string {
  const app = newApp({ ...CLI_CONTEXT, ...context }, outdir);
  defineApp(app, release);
  app.synth();
  return outdir;
}

// A test worker keeps this module from one file to the next (vitest.config.mts: isolate false),
// so the shipped stages are built once per worker, not once per file that reads them.
let sharedAssemblyDir: string | undefined;
let shippedStages: BuiltStages | undefined;
let shippedPipeline: Template | undefined;

/**
 * The whole app, as shipped, synthesized once per test run (`synthApp` with the default release)
 * into the run's scratch folder (test/support/global-setup.ts removes it). The first worker that
 * asks builds it, holding a lock folder; the others sleep until it appears, renamed into place
 * whole. Shared: read it, or copy it before changing anything.
 */
export function sharedAssembly(): string {
  if (sharedAssemblyDir) return sharedAssemblyDir;
  const dir = path.join(inject('scratchDir'), 'assembly');
  const failed = `${dir}.failed`;
  for (;;) {
    if (existsSync(dir)) return (sharedAssemblyDir = dir);
    if (existsSync(failed)) throw new Error(`the shared assembly failed to synthesize in another test worker: ${readFileSync(failed, 'utf8')}`);
    try {
      mkdirSync(`${dir}.lock`);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // another worker is building it
      continue;
    }
    try {
      const partial = synthApp(mkdtempSync(`${dir}-partial-`));
      renameSync(partial, dir);
    } catch (error) {
      writeFileSync(failed, error instanceof Error ? (error.stack ?? error.message) : String(error));
      throw error;
    }
  }
}

/**
 * The app's two stages, built as `-c sandbox=true` builds them (directly on a fresh App). Without
 * overrides, the shipped configuration's stages are built once per test worker and shared: read
 * them, never add to them.
 */
export function buildStages(contextOverrides: Record<string, unknown> = {}): BuiltStages {
  const shipped = Object.keys(contextOverrides).length === 0;
  if (shipped && shippedStages) return shippedStages;
  const app = newApp({ sandbox: 'true', ...contextOverrides });
  const { staging, production } = defineApp(app, 'test-version');
  const built = { app, staging, production };
  if (shipped) shippedStages = built;
  return built;
}

/**
 * The pipeline stack's template for the app as bin/app.ts builds it (cdk.json's context, on a
 * fresh App), or with `context` on top. Without it, built once per test worker and shared.
 */
export function pipelineTemplate(context: Record<string, unknown> = {}): Template {
  const shipped = Object.keys(context).length === 0;
  if (shipped && shippedPipeline) return shippedPipeline;
  const template = Template.fromStack(defineApp(newApp(context), 'test-version').pipelineStack!);
  if (shipped) shippedPipeline = template;
  return template;
}

/** The Tiers templates of both stages (`-c sandbox=true`, the shipped configuration). */
export function tiersTemplates(): { staging: Template; production: Template } {
  const { staging, production } = buildStages();
  return { staging: stageTemplates(staging).tiers, production: stageTemplates(production).tiers };
}

/** The templates of one stage's two stacks. */
export function stageTemplates(stage: DataProductStage): { tiers: Template; edgeWaf: Template } {
  return { tiers: Template.fromStack(stage.tiersStack), edgeWaf: Template.fromStack(stage.edgeWafStack) };
}
