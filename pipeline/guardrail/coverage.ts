import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { AssemblyInfo } from './assembly.ts';
import { compareStrings } from './digest.ts';

/** What a covered path is, for messages and for the checks that care (templates, assets). */
export type CoveredKind =
  'manifest' | 'assets-manifest' | 'template' | 'file-asset' | 'docker-context' | 'validation-report';

/** A path of the assembly that the attestation covers. */
export interface CoveredPath {
  /** Relative to the assembly root, `/`-separated. */
  readonly path: string;
  readonly kind: CoveredKind;
  /** Display names of the assemblies whose manifests name this path (sorted). */
  readonly usedBy: readonly string[];
}

/** The cdk-nag (validation plugin) results at the assembly root. */
export const VALIDATION_REPORT_FILE = 'validation-report.json';

// When one path is named twice (a template is also published as a file asset),
// the more specific kind wins.
const KIND_PRIORITY: Record<CoveredKind, number> = {
  template: 0,
  'docker-context': 1,
  'file-asset': 2,
  'assets-manifest': 3,
  manifest: 4,
  'validation-report': 5,
};

/**
 * Lists what the attestation covers: every manifest.json, every stack template, every
 * assets manifest and every asset on disk they name, plus validation-report.json when
 * present (it is the input of the nag audit). Not covered, because nothing deploys or
 * audits them: tree.json, `*.metadata.json`, the `cdk.out` markers, asset folders that no
 * manifest names (left over from earlier synths), and the guardrail's own files.
 * Sorted by path.
 */
export function coveredPaths(root: string, assemblies: readonly AssemblyInfo[]): CoveredPath[] {
  const byPath = new Map<string, { kind: CoveredKind; usedBy: Set<string> }>();
  const add = (path: string, kind: CoveredKind, user: string | undefined): void => {
    const existing = byPath.get(path);
    if (!existing) {
      byPath.set(path, { kind, usedBy: new Set(user === undefined ? [] : [user]) });
      return;
    }
    if (KIND_PRIORITY[kind] < KIND_PRIORITY[existing.kind]) existing.kind = kind;
    if (user !== undefined) existing.usedBy.add(user);
  };
  for (const assembly of assemblies) {
    add(assembly.manifest, 'manifest', assembly.displayName);
    for (const stack of assembly.stacks) add(stack.template, 'template', assembly.displayName);
    for (const file of assembly.assetManifests) add(file, 'assets-manifest', assembly.displayName);
    for (const asset of assembly.assets) {
      if (asset.path !== undefined) add(asset.path, asset.kind, assembly.displayName);
    }
  }
  // lstat, not exists: whatever sits there (a FIFO, a dangling link) is covered, and refused when hashed.
  if (lstatOrUndefined(join(root, VALIDATION_REPORT_FILE))) add(VALIDATION_REPORT_FILE, 'validation-report', undefined);
  return [...byPath.entries()]
    .map(([path, { kind, usedBy }]) => ({ path, kind, usedBy: [...usedBy].sort() }))
    .sort((a, b) => compareStrings(a.path, b.path));
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
