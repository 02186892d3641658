import type { AttestedEntry, MissingPath } from './types.ts';
import type { DirectoryMember } from './digest.ts';

/**
 * Differences between what was signed and what is on disk now, one line each, every
 * line naming the file: changed, added or removed paths, and for directory assets the
 * file inside that was changed, added or removed.
 */
export function diffEntries(
  attested: readonly AttestedEntry[],
  current: readonly AttestedEntry[],
  missing: readonly MissingPath[],
): string[] {
  const problems: string[] = [];
  const signed = new Map(attested.map((e) => [e.path, e]));
  const now = new Map(current.map((e) => [e.path, e]));
  const missingNow = new Map(missing.map((m) => [m.path, m]));
  for (const entry of attested) {
    const present = now.get(entry.path);
    if (present) continue;
    problems.push(
      missingNow.has(entry.path)
        ? `removed: ${entry.path} (${entry.kind}) is named by a manifest but missing from the assembly`
        : `removed: ${entry.path} (${entry.kind}) was signed but no manifest names it any more`,
    );
  }
  for (const m of missing) {
    if (!signed.has(m.path))
      problems.push(`removed: ${m.path} (${m.kind}) is named by a manifest but missing and was never signed`);
  }
  for (const entry of current) {
    const before = signed.get(entry.path);
    if (!before) {
      problems.push(`added: ${entry.path} (${entry.kind}, used by ${describeUsers(entry)}) is not in the attestation`);
      continue;
    }
    if (before.type !== entry.type) {
      problems.push(`changed: ${entry.path} (${entry.kind}) was a ${before.type} when signed, is a ${entry.type} now`);
    } else if (before.sha256 !== entry.sha256) {
      const inside =
        entry.type === 'directory' ? diffMembers(entry.path, before.members ?? [], entry.members ?? []) : [];
      problems.push(
        ...(inside.length > 0 ? inside : [`changed: ${entry.path} (${entry.kind}) differs from the signed SHA-256`]),
      );
    }
    if (before.kind !== entry.kind || before.usedBy.join(',') !== entry.usedBy.join(',')) {
      problems.push(
        `changed: ${entry.path} was signed as ${before.kind} used by ${describeUsers(before)}, ` +
          `is now ${entry.kind} used by ${describeUsers(entry)}`,
      );
    }
  }
  return problems;
}

function diffMembers(
  directory: string,
  before: readonly DirectoryMember[],
  after: readonly DirectoryMember[],
): string[] {
  const problems: string[] = [];
  const old = new Map(before.map((m) => [m.path, m]));
  const now = new Map(after.map((m) => [m.path, m]));
  for (const m of before) {
    if (!now.has(m.path)) problems.push(`removed: ${directory}/${m.path} (file of asset ${directory})`);
  }
  for (const m of after) {
    const was = old.get(m.path);
    if (!was) problems.push(`added: ${directory}/${m.path} (file of asset ${directory}) is not in the attestation`);
    else if (was.type !== m.type || was.sha256 !== m.sha256) {
      problems.push(`changed: ${directory}/${m.path} (file of asset ${directory}) differs from the signed SHA-256`);
    }
  }
  return problems;
}

function describeUsers(entry: Pick<AttestedEntry, 'usedBy'>): string {
  return entry.usedBy.length > 0 ? entry.usedBy.join(', ') : 'the assembly root';
}
