import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { LIMITS, readJsonInside, realRoot, resolveInside, UnusableInputError } from './safe-fs.ts';

/** A CloudFormation stack of one (nested) cloud assembly. */
export interface StackArtifact {
  /** The artifact id (e.g. `ProductionMainB9E3E070`). */
  readonly id: string;
  /** The construct path shown by the CLI (e.g. `Production/Main`). */
  readonly displayName: string;
  /** The template file (the manifest's `templateFile`), relative to the assembly root, `/`-separated. */
  readonly template: string;
  /** `aws://account/region` from the manifest, when set. */
  readonly environment?: string;
  /** The deployed stack name (`properties.stackName`), when set. */
  readonly stackName?: string;
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
  /** The manifest's `source` object as written: every build input (build args, target, platform, command...). */
  readonly source: Readonly<Record<string, unknown>>;
  /** The manifest's `destinations`: where it is published. */
  readonly destinations: Readonly<Record<string, unknown>>;
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
  /** Other files its manifest names (metadata, tree), relative to the assembly root. */
  readonly otherFiles: readonly string[];
  /** Its nested assemblies' directories, relative to the assembly root. */
  readonly nested: readonly string[];
  /** The manifest's artifacts as written. */
  readonly artifacts: Readonly<Record<string, ArtifactJson>>;
}

/** The cloud assembly on disk is not what the guardrail expects; the message names the file. */
export class AssemblyFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyFormatError';
  }
}

export const ROOT_DISPLAY_NAME = '(root)';

const artifactSchema = z.looseObject({
  type: z.string(),
  environment: z.string().optional(),
  displayName: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  additionalMetadataFile: z.string().optional(),
});
export type ArtifactJson = z.infer<typeof artifactSchema>;
const manifestSchema = z.looseObject({ artifacts: z.record(z.string(), artifactSchema).optional() });
const assetSchema = z.looseObject({
  source: z.record(z.string(), z.unknown()),
  destinations: z.record(z.string(), z.unknown()).optional(),
});
const assetsManifestSchema = z.looseObject({
  files: z.record(z.string(), assetSchema).optional(),
  dockerImages: z.record(z.string(), assetSchema).optional(),
});

/**
 * Reads the root assembly at `root` (a real path, see realRoot) and every nested
 * assembly below it, root first. Every file read goes through safe-fs; two assemblies
 * naming each other (or themselves) are a cycle and refused.
 */
export function readCloudAssembly(root: string): AssemblyInfo[] {
  const found: AssemblyInfo[] = [];
  readAssembly(realRoot(root), '', ROOT_DISPLAY_NAME, found, []);
  return found;
}

function readAssembly(root: string, directory: string, displayName: string, found: AssemblyInfo[], chain: string[]): void {
  const real = directory === '' ? { real: root } : resolveInside(root, directory);
  if (!real) throw new AssemblyFormatError(`nested assembly ${directory}: missing`);
  if (chain.includes(real.real)) {
    throw new UnusableInputError(
      `nested assemblies form a cycle: ${[...chain, real.real].map((d) => relative(root, d) || '(root)').join(' -> ')}`,
    );
  }
  if (found.length >= LIMITS.assemblies) throw new UnusableInputError(`more than ${LIMITS.assemblies} nested assemblies: refusing (limit)`);
  const manifest = joinRelative(directory, 'manifest.json');
  const parsed = parseJsonFile(root, manifest, manifestSchema);
  const stacks: StackArtifact[] = [];
  const assetManifests: string[] = [];
  const otherFiles: string[] = [];
  const nested: Array<{ directory: string; displayName: string }> = [];
  const artifacts = parsed.artifacts ?? {};
  for (const [id, artifact] of Object.entries(artifacts)) {
    const props = artifact.properties ?? {};
    if (artifact.additionalMetadataFile) otherFiles.push(inside(root, directory, artifact.additionalMetadataFile, manifest));
    if (artifact.type === 'aws:cloudformation:stack') {
      const templateFile = requireString(props.templateFile, `${manifest}: stack ${id} has no properties.templateFile`);
      stacks.push({
        id,
        displayName: artifact.displayName ?? id,
        template: inside(root, directory, templateFile, manifest),
        ...(artifact.environment ? { environment: artifact.environment } : {}),
        ...(typeof props.stackName === 'string' ? { stackName: props.stackName } : {}),
      });
    } else if (artifact.type === 'cdk:asset-manifest') {
      const file = requireString(props.file, `${manifest}: asset manifest ${id} has no properties.file`);
      assetManifests.push(inside(root, directory, file, manifest));
    } else if (artifact.type === 'cdk:cloud-assembly') {
      const dir = requireString(props.directoryName, `${manifest}: nested assembly ${id} has no properties.directoryName`);
      const name = typeof props.displayName === 'string' ? props.displayName : id;
      nested.push({ directory: inside(root, directory, dir, manifest), displayName: name });
    } else if (artifact.type === 'cdk:tree' && typeof props.file === 'string') {
      otherFiles.push(inside(root, directory, props.file, manifest));
    }
  }
  const assets = assetManifests.flatMap((file) => readAssetsManifest(root, file));
  found.push({
    displayName,
    directory,
    manifest,
    stacks,
    assetManifests,
    assets,
    otherFiles,
    nested: nested.map((n) => n.directory),
    artifacts,
  });
  for (const child of nested) readAssembly(root, child.directory, child.displayName, found, [...chain, real.real]);
}

function readAssetsManifest(root: string, file: string): AssetSource[] {
  const parsed = parseJsonFile(root, file, assetsManifestSchema);
  // Asset source paths are relative to the directory of the assets manifest.
  const base = posix.dirname(file) === '.' ? '' : posix.dirname(file);
  const assets: AssetSource[] = [];
  const add = (kind: AssetSource['kind'], id: string, asset: z.infer<typeof assetSchema>, pathKey: string) => {
    const at = asset.source[pathKey];
    if (at !== undefined && typeof at !== 'string') throw new AssemblyFormatError(`${file}: ${id}: source.${pathKey} is not a string`);
    assets.push({
      id,
      kind,
      manifest: file,
      path: at === undefined ? undefined : inside(root, base, at, file),
      source: asset.source,
      destinations: asset.destinations ?? {},
    });
  };
  for (const [id, asset] of Object.entries(parsed.files ?? {})) add('file-asset', id, asset, 'path');
  for (const [id, asset] of Object.entries(parsed.dockerImages ?? {})) add('docker-context', id, asset, 'directory');
  return assets;
}

/** Reads and validates a JSON file of the assembly (safely, see safe-fs); errors name the file. */
export function parseJsonFile<T>(root: string, file: string, schema: z.ZodType<T>): T {
  let data: unknown;
  try {
    data = readJsonInside(realRoot(root), file);
  } catch (error) {
    if (error instanceof SyntaxError) throw new AssemblyFormatError(error.message);
    throw error;
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
 * (Symlinks along the path are checked when the file is read: resolveInside.)
 */
function inside(root: string, base: string, target: string, namedIn: string): string {
  const absolute = isAbsolute(target) ? target : resolve(root, base, target);
  const rel = relative(root, absolute);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new AssemblyFormatError(`${namedIn}: path ${JSON.stringify(target)} points outside the assembly directory`);
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

/** The template file assets of an assembly: file assets whose source is one of its stacks' `templateFile`. */
export function templateAssets(assembly: AssemblyInfo): Map<AssetSource, StackArtifact> {
  const byTemplate = new Map(assembly.stacks.map((s) => [s.template, s]));
  const found = new Map<AssetSource, StackArtifact>();
  for (const asset of assembly.assets) {
    const stack = asset.kind === 'file-asset' && asset.path !== undefined ? byTemplate.get(asset.path) : undefined;
    if (stack) found.set(asset, stack);
  }
  return found;
}
