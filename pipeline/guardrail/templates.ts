import { z } from 'zod';
import { type AssemblyInfo, parseJsonFile } from './assembly.js';
import { LIMITS, readJson, realRoot, resolveInside } from './safe-fs.js';

/** A resource of a synthesized CloudFormation template. */
export interface CfnResource {
  /** The template file, relative to the assembly root. */
  readonly template: string;
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Record<string, unknown>;
}

const templateSchema = z.object({
  Resources: z
    .record(z.string(), z.object({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional() }))
    .optional(),
});

/**
 * Every resource of every template the assembly deploys: its stacks' templates (the
 * manifest's `templateFile`) and any other file asset published as a single file whose
 * content is a CloudFormation template (a nested stack), whatever its name.
 */
export function loadResources(root: string, assembly: AssemblyInfo): CfnResource[] {
  const files = new Set(assembly.stacks.map((s) => s.template));
  for (const asset of assembly.assets) {
    if (asset.kind === 'file-asset' && asset.path !== undefined && (asset.source.packaging ?? 'file') === 'file') {
      if (isTemplateFile(root, asset.path)) files.add(asset.path);
    }
  }
  const resources: CfnResource[] = [];
  for (const template of [...files].sort()) {
    const parsed = parseJsonFile(root, template, templateSchema);
    for (const [logicalId, resource] of Object.entries(parsed.Resources ?? {})) {
      resources.push({ template, logicalId, type: resource.Type, properties: resource.Properties ?? {} });
    }
  }
  return resources;
}

/** Whether a file asset holds a JSON object with a Resources object (read safely, capped). */
function isTemplateFile(root: string, path: string): boolean {
  const found = resolveInside(realRoot(root), path);
  if (!found || !found.stat.isFile() || found.stat.size > LIMITS.jsonBytes) return false;
  try {
    const data = readJson(found.real, path);
    return isRecord(data) && isRecord(data.Resources);
  } catch (error) {
    if (error instanceof SyntaxError) return false;
    throw error;
  }
}

/** `template: LogicalId (Type)`, the way every audit finding names a resource. */
export function describe(resource: CfnResource): string {
  return `${resource.template}: ${resource.logicalId} (${resource.type})`;
}

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at, if `value` is one. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value that may be one item or a list, as a list. */
export function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
