import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';

/** A CloudFormation stack of one (nested) cloud assembly. */
export interface StackArtifact {
  /** The artifact id (e.g. `ProductionMainB9E3E070`). */
  readonly id: string;
  /** The construct path shown by the CLI (e.g. `Production/Main`). */
  readonly displayName: string;
  /** The template file, relative to the assembly root, `/`-separated. */
  readonly template: string;
}

/** An asset that an assets manifest says to publish. */
export interface AssetSource {
  /** The asset id in its manifest (the source hash CDK computed). */
  readonly id: string;
  /** A file asset (a file, or a directory to zip) or a Docker image build context. */
  readonly kind: 'file-asset' | 'docker-context';
  /** The assets manifest naming it, relative to the assembly root. */
  readonly manifest: string;
  /** The file or directory on disk, relative to the assembly root; undefined for assets built by an `executable`. */
  readonly path: string | undefined;
}

/** One cloud assembly: the root or a nested one (a Stage). */
export interface AssemblyInfo {
  /** `(root)` for the top-level assembly, else the Stage's path (e.g. `Production`). */
  readonly displayName: string;
  /** Its directory relative to the assembly root (`''` for the root). */
  readonly directory: string;
  /** Its manifest.json, relative to the assembly root. */
  readonly manifest: string;
  readonly stacks: readonly StackArtifact[];
  /** Its assets manifests (`*.assets.json`), relative to the assembly root. */
  readonly assetManifests: readonly string[];
  /** Every asset its assets manifests name, templates included (CDK publishes templates as file assets). */
  readonly assets: readonly AssetSource[];
}

/** The cloud assembly on disk is not what the guardrail expects; the message names the file. */
export class AssemblyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyFormatError';
  }
}

export const ROOT_DISPLAY_NAME = '(root)';

const artifactSchema = z.object({
  type: z.string(),
  displayName: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});
const manifestSchema = z.object({ artifacts: z.record(z.string(), artifactSchema).optional() });
const assetsManifestSchema = z.object({
  files: z
    .record(
      z.string(),
      z.object({ source: z.object({ path: z.string().optional(), executable: z.array(z.string()).optional() }) }),
    )
    .optional(),
  dockerImages: z
    .record(
      z.string(),
      z.object({ source: z.object({ directory: z.string().optional(), executable: z.array(z.string()).optional() }) }),
    )
    .optional(),
});

/** Reads the root assembly at `root` and every nested assembly below it, root first. */
export function readCloudAssembly(root: string): AssemblyInfo[] {
  const absoluteRoot = resolve(root);
  const found: AssemblyInfo[] = [];
  readAssembly(absoluteRoot, '', ROOT_DISPLAY_NAME, found);
  return found;
}

function readAssembly(root: string, directory: string, displayName: string, found: AssemblyInfo[]): void {
  const manifest = joinRelative(directory, 'manifest.json');
  const parsed = parseJsonFile(root, manifest, manifestSchema);
  const stacks: StackArtifact[] = [];
  const assetManifests: string[] = [];
  const nested: Array<{ directory: string; displayName: string }> = [];
  for (const [id, artifact] of Object.entries(parsed.artifacts ?? {})) {
    const props = artifact.properties ?? {};
    if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = requireString(props.templateFile, `${manifest}: stack ${id} has no properties.templateFile`);
      stacks.push({
        id,
        displayName: artifact.displayName ?? id,
        template: inside(root, directory, templateFile, manifest),
      });
    } else if (artifact.type === 'cdk:asset-manifest') {
      const file = requireString(props.file, `${manifest}: asset manifest ${id} has no properties.file`);
      assetManifests.push(inside(root, directory, file, manifest));
    } else if (artifact.type === 'cdk:cloud-assembly') {
      const dir = requireString(
        props.directoryName,
        `${manifest}: nested assembly ${id} has no properties.directoryName`,
      );
      const name = typeof props.displayName === 'string' ? props.displayName : id;
      nested.push({ directory: inside(root, directory, dir, manifest), displayName: name });
    }
  }
  const assets = assetManifests.flatMap((file) => readAssetsManifest(root, file));
  found.push({ displayName, directory, manifest, stacks, assetManifests, assets });
  for (const child of nested) readAssembly(root, child.directory, child.displayName, found);
}

function readAssetsManifest(root: string, file: string): AssetSource[] {
  const parsed = parseJsonFile(root, file, assetsManifestSchema);
  // Asset source paths are relative to the directory of the assets manifest.
  const base = dirname(file) === '.' ? '' : dirname(file);
  const assets: AssetSource[] = [];
  for (const [id, asset] of Object.entries(parsed.files ?? {})) {
    const path = asset.source.path === undefined ? undefined : inside(root, base, asset.source.path, file);
    assets.push({ id, kind: 'file-asset', manifest: file, path });
  }
  for (const [id, asset] of Object.entries(parsed.dockerImages ?? {})) {
    const path = asset.source.directory === undefined ? undefined : inside(root, base, asset.source.directory, file);
    assets.push({ id, kind: 'docker-context', manifest: file, path });
  }
  return assets;
}

/** Reads and validates a JSON file of the assembly; errors name the file. */
export function parseJsonFile<T>(root: string, file: string, schema: z.ZodType<T>): T {
  const absolute = join(root, file);
  if (!existsSync(absolute)) throw new AssemblyFormatError(`${file}: missing`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(absolute, 'utf8'));
  } catch (error) {
    throw new AssemblyFormatError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new AssemblyFormatError(`${file}: unexpected shape: ${z.prettifyError(result.error).replace(/\n/g, '; ')}`);
  }
  return result.data;
}

/**
 * Resolves `target` (relative to the assembly directory `base`) to a root-relative,
 * `/`-separated path, refusing anything outside the assembly root: the guardrail
 * attests the assembly, and a manifest pointing elsewhere could ship unattested files.
 */
function inside(root: string, base: string, target: string, namedIn: string): string {
  const absolute = isAbsolute(target) ? target : resolve(root, base, target);
  const rel = relative(root, absolute);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new AssemblyFormatError(`${namedIn}: path "${target}" points outside the assembly directory`);
  }
  return rel.split(sep).join('/');
}

function joinRelative(directory: string, name: string): string {
  return directory === '' ? name : `${directory}/${name}`;
}

function requireString(value: unknown, message: string): string {
  if (typeof value !== 'string' || value === '') throw new AssemblyFormatError(message);
  return value;
}

/**
 * Finds the nested assembly of the Stage named `name`: its display name is `name`, or
 * ends in `/name` (a Stage inside a pipeline stack is displayed as `Pipeline/Production`).
 */
export function findStage(assemblies: readonly AssemblyInfo[], name: string): AssemblyInfo {
  const matches = assemblies.filter(
    (a) => a.directory !== '' && (a.displayName === name || a.displayName.endsWith(`/${name}`)),
  );
  if (matches.length === 1) return matches[0]!;
  const known = assemblies.filter((a) => a.directory !== '').map((a) => a.displayName);
  if (matches.length === 0) {
    throw new AssemblyFormatError(`no stage named "${name}" in the assembly (stages: ${known.join(', ') || 'none'})`);
  }
  throw new AssemblyFormatError(`stage name "${name}" is ambiguous: ${matches.map((a) => a.displayName).join(', ')}`);
}
