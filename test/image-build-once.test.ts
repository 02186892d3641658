// The service images are built once per release and pushed to both stages' registries, so
// production runs the image staging ran (the validator requires equal digests). What makes it so
// (docs/enforcement.md, "Images: built once, pushed twice"): CDK Pipelines publishes each asset id
// in ONE CodeBuild action, one `cdk-assets publish` command per destination; cdk-assets builds a
// directory asset under the local tag `cdkasset-<asset id>` and skips the build when that tag
// exists, so the second command only re-tags and pushes the image the first one built.
// These tests check the premises in the synthesized pipeline.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { newApp } from './support/app';

const PINNED = `public.ecr.aws/docker/library/node:22-alpine@sha256:${'0123456789abcdef'.repeat(4)}`;

interface DockerImageAsset {
  readonly source: { readonly directory?: string; readonly executable?: string[]; readonly dockerBuildArgs?: Record<string, string> };
  readonly destinations: Record<string, { readonly repositoryName: string; readonly imageTag: string; readonly assumeRoleArn?: string }>;
}

let publishCommands: string[][];
let imagesByStage: Record<string, Record<string, DockerImageAsset>>;

beforeAll(() => {
  const app = newApp({ 'pipeline.baseImage': PINNED });
  const { pipelineStack } = defineApp(app, 'test-version');
  const template = Template.fromStack(pipelineStack!);
  publishCommands = Object.values(template.findResources('AWS::CodeBuild::Project'))
    .map((p) => p.Properties.Source.BuildSpec)
    .filter((spec): spec is string => typeof spec === 'string' && spec.includes('cdk-assets'))
    .map((spec) => JSON.parse(spec).phases.build.commands as string[])
    .filter((commands) => commands.some((c) => c.includes('.assets.json')));
  const assembly = app.synth();
  imagesByStage = {};
  for (const stage of ['Staging', 'Production']) {
    const nested = assembly.getNestedAssembly(`assembly-Pipeline-${stage}`);
    const tiers = nested.stacks.find((s) => s.stackName === `${stage}-Tiers`)!;
    const manifest = JSON.parse(readFileSync(path.join(nested.directory, `${tiers.id}.assets.json`), 'utf8'));
    imagesByStage[stage] = manifest.dockerImages ?? {};
  }
});

/** The asset id and destination id a publish command selects (`publish "<asset>:<destination>"`). */
function selection(command: string): { asset: string; destination: string; manifest: string } {
  const match = /--path "([^"]+)" .*publish "([0-9a-f]+):([^"]+)"$/.exec(command);
  if (!match) throw new Error(`not a cdk-assets publish command: ${command}`);
  return { manifest: match[1], asset: match[2], destination: match[3] };
}

describe('the service images: built once, pushed to both registries', () => {
  it('gives both stages the same image assets (same ids, directory builds from the pinned base image)', () => {
    const staging = imagesByStage.Staging;
    const production = imagesByStage.Production;
    expect(Object.keys(staging).length).toBe(2);
    expect(Object.keys(production).sort()).toEqual(Object.keys(staging).sort());
    for (const [id, image] of Object.entries(staging)) {
      // A directory build (cdk-assets caches it by asset id); an `executable` would run per destination.
      expect(image.source.executable).toBeUndefined();
      expect(image.source.directory).toBeDefined();
      expect(image.source.dockerBuildArgs).toEqual({ NODE_IMAGE: PINNED });
      expect(production[id].source).toEqual(image.source);
    }
  });

  it('publishes each image in one action whose commands push the same asset to staging and then production', () => {
    const images = new Set(Object.keys(imagesByStage.Staging));
    const imageActions = publishCommands.filter((commands) => images.has(selection(commands[0]).asset));
    expect(imageActions.length).toBe(images.size);
    for (const commands of imageActions) {
      const selected = commands.map(selection);
      expect(new Set(selected.map((s) => s.asset)).size).toBe(1);
      expect(selected.map((s) => s.manifest.split('/')[0])).toEqual(['assembly-Pipeline-Staging', 'assembly-Pipeline-Production']);
      const asset = selected[0].asset;
      const [staging, production] = selected.map((s, i) => (i === 0 ? imagesByStage.Staging : imagesByStage.Production)[asset].destinations[s.destination]);
      // The two destinations are the two stages' registries, under the same tag.
      expect(staging.assumeRoleArn).toContain('222222222222');
      expect(production.assumeRoleArn).toContain('333333333333');
      expect(production.imageTag).toBe(staging.imageTag);
    }
  });
});
