import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** A stack template of the cloud assembly, with what the Guard rules need to know about its stack. */
export interface StackTemplate {
  /** The template file, absolute. */
  readonly file: string;
  /** The template, relative to the assembly root (`/`-separated). */
  readonly path: string;
  /** The stack's construct path, e.g. `Pipeline/Production/Tiers`. */
  readonly displayName: string;
  readonly account: string;
  readonly region: string;
  /**
   * The container images its assets manifest publishes, as the template names them:
   * `<account>.dkr.ecr.<region>.${AWS::URLSuffix}/<repository>:<tag>`.
   */
  readonly images: readonly string[];
  /** The S3 object keys of the files its assets manifest publishes (nested templates among them). */
  readonly fileAssetKeys: readonly string[];
}

interface Artifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: { templateFile?: string; directoryName?: string; file?: string };
  readonly dependencies?: string[];
}

/** Every stack template of the assembly at `root`, nested assemblies (stages) included. */
export function stackTemplates(root: string): StackTemplate[] {
  const found: StackTemplate[] = [];
  readAssembly(root, root, found);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

function readAssembly(root: string, dir: string, found: StackTemplate[]): void {
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new Error(`${relative(root, manifestFile) || manifestFile} is missing: not a cloud assembly`);
  const artifacts = (JSON.parse(readFileSync(manifestFile, 'utf8')).artifacts ?? {}) as Record<string, Artifact>;
  for (const [id, artifact] of Object.entries(artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly' && artifact.properties?.directoryName) {
      readAssembly(root, join(dir, artifact.properties.directoryName), found);
    }
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const [, account = '', region = ''] = /^aws:\/\/([^/]+)\/(.+)$/.exec(artifact.environment ?? '') ?? [];
    const file = join(dir, artifact.properties.templateFile);
    const assetManifests = (artifact.dependencies ?? [])
      .map((dep) => artifacts[dep])
      .filter((a) => a?.type === 'cdk:asset-manifest' && a.properties?.file)
      .map((a) => join(dir, a.properties!.file!));
    found.push({
      file,
      path: relative(root, file).split('\\').join('/'),
      displayName: artifact.displayName ?? id,
      account,
      region,
      ...publishedAssets(assetManifests),
    });
  }
}

interface AssetsManifest {
  readonly files?: Record<string, { destinations: Record<string, { objectKey: string }> }>;
  readonly dockerImages?: Record<string, { destinations: Record<string, { repositoryName: string; imageTag: string; region?: string }> }>;
}

function publishedAssets(manifests: readonly string[]): { images: string[]; fileAssetKeys: string[] } {
  const images = new Set<string>();
  const fileAssetKeys = new Set<string>();
  for (const file of manifests) {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as AssetsManifest;
    for (const asset of Object.values(manifest.dockerImages ?? {})) {
      for (const [destination, d] of Object.entries(asset.destinations)) {
        // Destination ids are "<account>-<region>-<hash>".
        const account = destination.split('-')[0];
        images.add(`${account}.dkr.ecr.${d.region}.\${AWS::URLSuffix}/${d.repositoryName}:${d.imageTag}`);
      }
    }
    for (const asset of Object.values(manifest.files ?? {})) {
      for (const d of Object.values(asset.destinations)) fileAssetKeys.add(d.objectKey);
    }
  }
  return { images: [...images].sort(), fileAssetKeys: [...fileAssetKeys].sort() };
}

/** The resource types a template declares. */
export function resourceTypes(template: string): Set<string> {
  const parsed = JSON.parse(readFileSync(template, 'utf8')) as { Resources?: Record<string, { Type?: unknown }> };
  return new Set(Object.values(parsed.Resources ?? {}).map((r) => String(r.Type)));
}

export const directoryOf = dirname;
