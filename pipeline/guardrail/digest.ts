import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  LIMITS,
  linkStaysInside,
  ReadBudget,
  readChunks,
  typeName,
  UnusableInputError,
} from './safe-fs.ts';

/** One file inside a hashed directory. */
export interface DirectoryMember {
  /** Path relative to the directory, `/`-separated (names are valid UTF-8, checked). */
  readonly path: string;
  /** A regular file (hash of its bytes) or a symbolic link (hash of its link text; never followed). */
  readonly type: 'file' | 'symlink';
  /** Lowercase hex SHA-256. */
  readonly sha256: string;
}

/** The digest of a file, symlink or directory on disk. */
export interface PathDigest {
  readonly type: 'file' | 'symlink' | 'directory';
  /** Lowercase hex SHA-256; for a directory, of its canonical member encoding (see hashDirectory). */
  readonly sha256: string;
  /** For a directory: every file and symlink below it, sorted by the UTF-8 bytes of the path. */
  readonly members?: readonly DirectoryMember[];
}

/** Where hashing happens: the real assembly root (symlinks must stay inside it) and the run's budget. */
export interface HashContext {
  readonly root: string;
  readonly budget: ReadBudget;
}

/** Domain separation of the directory encoding; bump it if the encoding changes. */
export const DIRECTORY_ENCODING = 'br-fagq2.guardrail.directory.v2';

/** SHA-256 of a regular file's bytes: inspected before it is opened, opened non-blocking, capped. */
export function sha256File(file: string, label: string = file, budget: ReadBudget = new ReadBudget()): string {
  const hash = createHash('sha256');
  const bytes = readChunks(file, label, LIMITS.fileBytes, (chunk) => hash.update(chunk));
  budget.charge(label, bytes);
  return hash.digest('hex');
}

/** SHA-256 of a string (UTF-8). */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Hashes a file, a symlink or a directory at the real path `path` (`label` names it in
 * messages). Symlinks are hashed as their link text and never followed; one that points
 * outside the assembly is refused. FIFOs, sockets and devices are refused.
 */
export function hashPath(path: string, label: string, context: HashContext): PathDigest {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return { type: 'symlink', sha256: hashLink(path, label, context) };
  if (stat.isFile()) return { type: 'file', sha256: sha256File(path, label, context.budget) };
  if (stat.isDirectory()) return hashDirectory(path, label, context);
  throw new UnusableInputError(`${label}: is a ${typeName(stat)}: the guardrail refuses to read it`);
}

/**
 * Hashes a directory: every file and symlink below it, sorted by the UTF-8 bytes of its
 * relative path. The digest is the SHA-256 of a length-prefixed binary encoding, so no
 * file name (a newline in it included) can make two listings encode alike:
 *
 *   "br-fagq2.guardrail.directory.v2" 0x00, then per member:
 *   type (1 byte: 'f' file, 'l' symlink) | path length (uint32 BE) | path (UTF-8) | SHA-256 (32 bytes)
 *
 * Empty directories contribute nothing (neither a zip nor a Docker COPY needs them).
 */
export function hashDirectory(directory: string, label: string, context: HashContext): PathDigest {
  const members: Array<DirectoryMember & { bytes: Buffer }> = [];
  walk(directory, label, [], 0, context, members);
  members.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  const hash = createHash('sha256').update(`${DIRECTORY_ENCODING}\0`, 'utf8');
  const length = Buffer.alloc(4);
  for (const m of members) {
    length.writeUInt32BE(m.bytes.length);
    hash.update(m.type === 'file' ? 'f' : 'l', 'utf8').update(length).update(m.bytes).update(Buffer.from(m.sha256, 'hex'));
  }
  return {
    type: 'directory',
    sha256: hash.digest('hex'),
    members: members.map(({ path, type, sha256 }) => ({ path, type, sha256 })),
  };
}

function walk(
  root: string,
  label: string,
  relative: readonly Buffer[],
  depth: number,
  context: HashContext,
  into: Array<DirectoryMember & { bytes: Buffer }>,
): void {
  if (depth > LIMITS.depth) throw new UnusableInputError(`${label}: directories nested deeper than ${LIMITS.depth}: refusing (limit)`);
  const absolute = join(root, ...relative.map((b) => b.toString('utf8')));
  for (const name of readdirSync(absolute, { encoding: 'buffer' })) {
    const text = name.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(name)) {
      throw new UnusableInputError(`${label}: a file name that is not valid UTF-8 (${name.toString('hex')} in hex): refusing it`);
    }
    const childParts = [...relative, name];
    const childBytes = Buffer.concat(childParts.flatMap((part, i) => (i === 0 ? [part] : [Buffer.from('/'), part])));
    const childPath = childBytes.toString('utf8');
    const childAbsolute = join(absolute, text);
    const childLabel = `${label}/${JSON.stringify(childPath).slice(1, -1)}`;
    const stat = lstatSync(childAbsolute);
    if (stat.isDirectory()) {
      context.budget.charge(childLabel, 0); // directories count toward the entry limit too
      walk(root, label, childParts, depth + 1, context, into);
    } else if (stat.isSymbolicLink()) {
      into.push({ path: childPath, bytes: childBytes, type: 'symlink', sha256: hashLink(childAbsolute, childLabel, context) });
    } else if (stat.isFile()) {
      into.push({ path: childPath, bytes: childBytes, type: 'file', sha256: sha256File(childAbsolute, childLabel, context.budget) });
    } else {
      throw new UnusableInputError(`${childLabel}: is a ${typeName(stat)}: the guardrail refuses to read it`);
    }
  }
}

function hashLink(path: string, label: string, context: HashContext): string {
  const target = readlinkSync(path, { encoding: 'buffer' });
  if (!linkStaysInside(context.root, path, target.toString('utf8'))) {
    throw new UnusableInputError(`${label}: a symlink to ${JSON.stringify(target.toString('utf8'))}, outside the assembly: refusing it`);
  }
  context.budget.charge(label, target.length);
  return createHash('sha256').update(target).digest('hex');
}

/** Code-unit order: the same on every machine and in every locale (unlike localeCompare). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
