import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** One file inside a hashed directory. */
export interface DirectoryMember {
  /** Path relative to the directory, `/`-separated. */
  readonly path: string;
  /** A regular file (hash of its bytes) or a symbolic link (hash of its link text; never followed). */
  readonly type: 'file' | 'symlink';
  /** Lowercase hex SHA-256. */
  readonly sha256: string;
}

/** The digest of a file, symlink or directory on disk. */
export interface PathDigest {
  readonly type: 'file' | 'symlink' | 'directory';
  /** Lowercase hex SHA-256; for a directory, of its canonical member listing (see hashDirectory). */
  readonly sha256: string;
  /** For a directory: every file and symlink below it, sorted by path. */
  readonly members?: readonly DirectoryMember[];
}

const CHUNK_BYTES = 1 << 20;

/** SHA-256 of a file's bytes, read in chunks so large assets don't have to fit in memory twice. */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  const fd = openSync(file, 'r');
  try {
    let read: number;
    while ((read = readSync(fd, buffer, 0, CHUNK_BYTES, null)) > 0) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** SHA-256 of a string (UTF-8). */
export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Hashes a file, a symlink or a directory. Symlinks are hashed as their link text and
 * never followed: following one could pull in content from outside the assembly, and
 * the link itself is what ships in a Docker build context or a zip.
 */
export function hashPath(path: string): PathDigest {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return { type: 'symlink', sha256: sha256Text(readlinkSync(path)) };
  if (stat.isFile()) return { type: 'file', sha256: sha256File(path) };
  if (stat.isDirectory()) return hashDirectory(path);
  throw new Error(`${path}: not a regular file, directory or symlink; the guardrail cannot hash it`);
}

/**
 * Hashes a directory by a deterministic walk: every file and symlink below it, sorted by
 * relative path (code-unit order, independent of locale and of readdir order), each as
 * the line `<type> <sha256> <path>\n`; the directory digest is the SHA-256 of those lines.
 * Empty directories contribute nothing (neither a zip nor a Docker COPY needs them to
 * reproduce the files).
 */
export function hashDirectory(directory: string): PathDigest {
  const members: DirectoryMember[] = [];
  walk(directory, '', members);
  members.sort((a, b) => compareStrings(a.path, b.path));
  const listing = members.map((m) => `${m.type} ${m.sha256} ${m.path}\n`).join('');
  return { type: 'directory', sha256: sha256Text(listing), members };
}

function walk(root: string, relative: string, into: DirectoryMember[]): void {
  const absolute = relative === '' ? root : join(root, relative);
  for (const name of readdirSync(absolute)) {
    const childRelative = relative === '' ? name : `${relative}/${name}`;
    const childAbsolute = join(root, childRelative);
    const stat = lstatSync(childAbsolute);
    if (stat.isDirectory()) {
      walk(root, childRelative, into);
    } else if (stat.isSymbolicLink()) {
      into.push({ path: childRelative, type: 'symlink', sha256: sha256Text(readlinkSync(childAbsolute)) });
    } else if (stat.isFile()) {
      into.push({ path: childRelative, type: 'file', sha256: sha256File(childAbsolute) });
    } else {
      throw new Error(`${childAbsolute}: not a regular file, directory or symlink; the guardrail cannot hash it`);
    }
  }
}

/** Code-unit order: the same on every machine and in every locale (unlike localeCompare). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
