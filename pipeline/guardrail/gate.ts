// The self-mutation gate: the pipeline stack a commit synthesized may differ from the
// deployed one only in asset hashes, unless its normalized digest was approved outside
// the commit.
import { z } from 'zod';
import { parseJsonFile, readCloudAssembly } from './assembly.ts';
import { canonicalDigest } from './canonical.ts';
import { readJson, realRoot, UnusableInputError } from './safe-fs.ts';
import { lines, newDifferences, note, show } from './structure.ts';

/** The pipeline stack's deployed name (its manifest `stackName`, else its artifact id). */
export const DEFAULT_PIPELINE_STACK = 'br-fagq2-pipeline';

export interface GateOptions {
  /** The deployed pipeline stack's template: the template JSON, or `aws cloudformation get-template` output. */
  readonly deployedFile: string;
  /** The synthesized cloud assembly (`cdk.out`) of the commit. */
  readonly synthesizedDir: string;
  /** The pipeline stack's deployed name. @default DEFAULT_PIPELINE_STACK */
  readonly stack?: string;
  /** SHA-256 digests (of the normalized synthesized template) approved outside the commit. */
  readonly approved?: readonly string[];
}

export interface GateResult {
  /** `unchanged`: equal up to asset hashes; `approved`: changed, digest approved; `refused`: changed, not approved. */
  readonly outcome: 'unchanged' | 'approved' | 'refused';
  /** SHA-256 of the normalized synthesized template: the value to approve. */
  readonly digest: string;
  /** The synthesized template file, relative to the assembly. */
  readonly template: string;
  /** What changed, bounded. */
  readonly changes: readonly string[];
}

/** A placeholder for every asset hash: 64 lowercase hex, not an image digest (`sha256:` before it). */
const ASSET_HASH = /(?<!sha256:)(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g;

/**
 * The template with asset hashes replaced, so a change in what the stages' assets
 * contain does not count as a change of the pipeline: every 64-hex string (S3 object
 * keys, image tags, `cdk-assets publish <hash>:<destination>` commands, the
 * `_PROJECT_CONFIG_HASH` CodePipeline passes to CodeBuild) becomes `<asset-hash>`, except
 * the hashes of the pipeline stack's OWN assets (a Lambda of the pipeline stack), which
 * are pipeline code and stay, and image digests (`sha256:<hex>`).
 */
export function normalizeTemplate(template: unknown, keep: ReadonlySet<string> = new Set()): unknown {
  return JSON.parse(JSON.stringify(template), (_key, value) =>
    typeof value === 'string' ? value.replace(ASSET_HASH, (hash) => (keep.has(hash) ? hash : '<asset-hash>')) : value,
  );
}

const templateSchema = z.record(z.string(), z.unknown());

/** Runs the gate. Throws UnusableInputError on unreadable input (the CLI exits 2). */
export function runGate(options: GateOptions): GateResult {
  const root = realRoot(options.synthesizedDir);
  const name = options.stack ?? DEFAULT_PIPELINE_STACK;
  const [rootAssembly] = readCloudAssembly(root);
  // By the name CloudFormation deploys it as: an artifact renamed or duplicated under that
  // name is not silently compared in place of the real pipeline stack.
  const matches = rootAssembly!.stacks.filter((s) => (s.stackName ?? s.id) === name);
  if (matches.length !== 1) {
    const known = rootAssembly!.stacks.map((s) => `${s.id} (${s.stackName ?? s.id})`).join(', ');
    throw new UnusableInputError(`${matches.length === 0 ? 'no' : 'more than one'} stack named "${name}" in ${options.synthesizedDir} (stacks: ${known})`);
  }
  const stack = matches[0]!;
  // The stack's own assets: those of its assets manifest (artifact `<stack id>.assets`), its template aside.
  const ownManifest = rootAssembly!.artifacts[`${stack.id}.assets`]?.properties?.file;
  const own = new Set(
    rootAssembly!.assets.filter((a) => a.manifest === ownManifest && a.path !== stack.template).map((a) => a.id),
  );
  const synthesized = normalizeTemplate(parseJsonFile(root, stack.template, templateSchema), own);
  const deployed = normalizeTemplate(readDeployed(options.deployedFile), own);
  const digest = canonicalDigest(synthesized);
  const changes = describeChanges(deployed, synthesized);
  if (changes.length === 0 && canonicalDigest(deployed) === digest) {
    return { outcome: 'unchanged', digest, template: stack.template, changes: [] };
  }
  const approved = new Set(options.approved ?? []);
  return { outcome: approved.has(digest) ? 'approved' : 'refused', digest, template: stack.template, changes };
}

/** The deployed template: a template object, get-template's `{ TemplateBody }`, or a TemplateBody that is a JSON string. */
function readDeployed(file: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = readJson(file, file);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UnusableInputError(error.message);
    throw error;
  }
  // `get-template` output, or its TemplateBody alone (`--query TemplateBody`): an object, or a JSON string.
  if (isRecord(data) && 'TemplateBody' in data) data = data.TemplateBody;
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      throw new UnusableInputError(`${file}: the template body is not JSON (the pipeline stack is synthesized as JSON)`);
    }
  }
  if (!isRecord(data) || !isRecord(data.Resources)) throw new UnusableInputError(`${file}: not a CloudFormation template (no Resources)`);
  return data;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resource ids added, removed and changed (with the top-level properties that changed), then other sections; bounded. */
export function describeChanges(deployed: unknown, synthesized: unknown): string[] {
  const d = newDifferences();
  const before = isRecord(deployed) ? deployed : {};
  const after = isRecord(synthesized) ? synthesized : {};
  const resBefore = isRecord(before.Resources) ? before.Resources : {};
  const resAfter = isRecord(after.Resources) ? after.Resources : {};
  const type = (r: unknown) => (isRecord(r) && typeof r.Type === 'string' ? r.Type : '?');
  for (const id of Object.keys(resAfter).sort()) {
    if (!(id in resBefore)) note(d, `added: ${id} (${type(resAfter[id])})`);
  }
  for (const id of Object.keys(resBefore).sort()) {
    if (!(id in resAfter)) note(d, `removed: ${id} (${type(resBefore[id])})`);
  }
  for (const id of Object.keys(resAfter).sort()) {
    if (!(id in resBefore)) continue;
    const [a, b] = [resBefore[id], resAfter[id]];
    if (canonicalDigest(a) === canonicalDigest(b)) continue;
    const keys = new Set([...Object.keys(isRecord(a) ? a : {}), ...Object.keys(isRecord(b) ? b : {})]);
    const changed: string[] = [];
    for (const key of [...keys].sort()) {
      const [x, y] = [isRecord(a) ? a[key] : undefined, isRecord(b) ? b[key] : undefined];
      if (key === 'Properties' && isRecord(x) && isRecord(y)) {
        for (const p of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
          if (canonicalDigest(x[p] ?? null) !== canonicalDigest(y[p] ?? null)) changed.push(`Properties.${p}`);
        }
      } else if (canonicalDigest(x ?? null) !== canonicalDigest(y ?? null)) changed.push(key);
    }
    note(d, `changed: ${id} (${type(b)}): ${changed.join(', ')}`);
  }
  for (const section of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (section === 'Resources') continue;
    if (canonicalDigest(before[section] ?? null) !== canonicalDigest(after[section] ?? null)) {
      note(d, `changed: section ${section} (was ${show(before[section])})`);
    }
  }
  return lines(d);
}
