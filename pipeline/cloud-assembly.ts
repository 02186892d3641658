// A small reader of a synthesized cloud assembly (cdk.out) for the programs that
// run on the pipeline's own synth output: the template lint and the rehearsal.
// (The guardrail has its own, hardened reader: it reads an assembly it must not trust.)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One CloudFormation stack of the assembly, nested stage assemblies included. */
export interface AssemblyStack {
  /** The artifact id, e.g. `PipelineStagingTiersA5A72282`. */
  readonly artifactId: string;
  /** The stack name CloudFormation sees, e.g. `Staging-Tiers`. */
  readonly stackName: string;
  /** The construct path, e.g. `Pipeline/Staging/Tiers`. */
  readonly displayName: string;
  readonly account?: string;
  readonly region?: string;
  /** The template file, absolute. */
  readonly templateFile: string;
  /** The assembly directory that holds it, absolute. */
  readonly assemblyDir: string;
}

/** An asset manifest of the assembly (`*.assets.json`), absolute path. */
export interface AssemblyAssetManifest {
  readonly artifactId: string;
  readonly file: string;
}

interface Manifest {
  readonly version: string;
  readonly artifacts?: Record<string, { type: string; environment?: string; displayName?: string; properties?: Record<string, any> }>;
}

/** Reads manifest.json of an assembly directory. */
export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

/** Every stack of the assembly at `dir` and of its nested assemblies (each visited once). */
export function listStacks(dir: string, seen = new Set<string>()): AssemblyStack[] {
  if (seen.has(dir)) return [];
  seen.add(dir);
  const stacks: AssemblyStack[] = [];
  for (const [artifactId, artifact] of Object.entries(readManifest(dir).artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly') {
      stacks.push(...listStacks(join(dir, artifact.properties!.directoryName), seen));
    } else if (artifact.type === 'aws:cloudformation:stack') {
      const [, account, region] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
      stacks.push({
        artifactId,
        stackName: artifact.properties?.stackName ?? artifactId,
        displayName: artifact.displayName ?? artifactId,
        account: account === 'unknown-account' ? undefined : account,
        region: region === 'unknown-region' ? undefined : region,
        templateFile: join(dir, artifact.properties!.templateFile),
        assemblyDir: dir,
      });
    }
  }
  return stacks;
}

/** Every asset manifest of the assembly and its nested assemblies. */
export function listAssetManifests(dir: string, seen = new Set<string>()): AssemblyAssetManifest[] {
  if (seen.has(dir)) return [];
  seen.add(dir);
  const out: AssemblyAssetManifest[] = [];
  for (const [artifactId, artifact] of Object.entries(readManifest(dir).artifacts ?? {})) {
    if (artifact.type === 'cdk:cloud-assembly') out.push(...listAssetManifests(join(dir, artifact.properties!.directoryName), seen));
    else if (artifact.type === 'cdk:asset-manifest') out.push({ artifactId, file: join(dir, artifact.properties!.file) });
  }
  return out;
}
