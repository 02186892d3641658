// Reading an assembly that may be hostile: every entry is inspected (lstat) before it is
// opened, only regular files are opened, and never in a way that can block (O_NONBLOCK:
// a FIFO swapped in after the lstat fails the fstat check instead of hanging), symlinks
// that resolve outside the assembly are refused, and every read is capped.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  realpathSync,
  type Stats,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Limits of what the guardrail reads; exceeding one is unusable input (exit 2). */
export const LIMITS = {
  /** A JSON file (manifest, template, assets manifest, attestation, validation report, deployed template). */
  jsonBytes: 64 * 1024 * 1024,
  /** One asset file. */
  fileBytes: 2 * 1024 * 1024 * 1024,
  /** Everything hashed in one run. */
  totalBytes: 8 * 1024 * 1024 * 1024,
  /** Files, symlinks and directories hashed in one run (and entries of one directory listed). */
  entries: 200_000,
  /** Directory depth inside an asset. */
  depth: 64,
  /** Nested cloud assemblies. */
  assemblies: 64,
} as const;

/**
 * The input cannot be used safely: a FIFO, device or socket, a symlink leaving the
 * assembly, a file over a size limit, a cycle. The CLI exits 2 on it.
 */
export class UnusableInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnusableInputError';
  }
}

/** Running totals of one run, checked against LIMITS. */
export class ReadBudget {
  private bytes = 0;
  private count = 0;

  private readonly limits: { readonly entries: number; readonly totalBytes: number };

  /** @param limits the run's limits; LIMITS unless a test gives smaller ones. */
  constructor(limits: { readonly entries: number; readonly totalBytes: number } = LIMITS) {
    this.limits = limits;
  }

  charge(path: string, bytes: number): void {
    this.bytes += bytes;
    this.count += 1;
    if (this.count > this.limits.entries) {
      throw new UnusableInputError(`${path}: more than ${this.limits.entries} entries to hash: refusing (limit)`);
    }
    if (this.bytes > this.limits.totalBytes) {
      throw new UnusableInputError(`${path}: more than ${this.limits.totalBytes} bytes to hash: refusing (limit)`);
    }
  }
}

/** Names a file type for messages. */
export function typeName(stat: Stats): string {
  if (stat.isFile()) return 'regular file';
  if (stat.isDirectory()) return 'directory';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isBlockDevice()) return 'block device';
  return 'special file';
}

/** Whether `absolute` is `root` or below it (both already real paths). */
export function isInside(root: string, absolute: string): boolean {
  const rel = relative(root, absolute);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The real path of an existing assembly root; unusable if it is not a directory. */
export function realRoot(dir: string): string {
  let real: string;
  try {
    real = realpathSync(resolve(dir));
  } catch (error) {
    throw new UnusableInputError(`${dir}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const stat = lstatSync(real);
  if (!stat.isDirectory()) throw new UnusableInputError(`${dir}: not a directory`);
  return real;
}

/**
 * Resolves `rel` (relative to the real assembly root) through any symlinks and returns the
 * real path and its lstat, refusing a path that resolves outside the root. Returns
 * undefined when nothing exists there.
 */
export function resolveInside(root: string, rel: string): { real: string; stat: Stats } | undefined {
  const absolute = join(root, rel);
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A dangling symlink is not "missing": it points somewhere, check where.
      const dangling = lstatOrUndefined(absolute);
      if (dangling?.isSymbolicLink()) {
        throw new UnusableInputError(`${rel}: a symlink to ${JSON.stringify(readlinkSync(absolute, 'utf8'))} that does not resolve`);
      }
      return undefined;
    }
    if (code === 'ELOOP') throw new UnusableInputError(`${rel}: symlink loop`);
    throw new UnusableInputError(`${rel}: cannot be resolved (${code ?? 'error'})`);
  }
  if (!isInside(root, real)) {
    throw new UnusableInputError(`${rel}: resolves to ${real}, outside the assembly: refusing symlinks that leave it`);
  }
  return { real, stat: lstatSync(real) };
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Opens a regular file without following a final symlink and without blocking, checks that
 * what was opened is the regular file lstat saw, and hands its descriptor to `use`.
 */
export function withRegularFile<T>(path: string, label: string, maxBytes: number, use: (fd: number, size: number) => T): T {
  const before = lstatOrUndefined(path);
  if (!before) throw new UnusableInputError(`${label}: missing`);
  if (!before.isFile()) throw new UnusableInputError(`${label}: is a ${typeName(before)}, not a regular file: refusing to open it`);
  if (before.size > maxBytes) {
    throw new UnusableInputError(`${label}: ${before.size} bytes, over the limit of ${maxBytes} bytes`);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    throw new UnusableInputError(`${label}: cannot be opened (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const after = fstatSync(fd);
    if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
      throw new UnusableInputError(`${label}: changed while being opened: refusing it`);
    }
    return use(fd, after.size);
  } finally {
    closeSync(fd);
  }
}

const CHUNK = 1 << 20;

/** Calls `sink` with the file's bytes in chunks; fails if the file grows past `maxBytes`. */
export function readChunks(path: string, label: string, maxBytes: number, sink: (chunk: Buffer) => void): number {
  return withRegularFile(path, label, maxBytes, (fd) => {
    const buffer = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    let read: number;
    while ((read = readSync(fd, buffer, 0, CHUNK, null)) > 0) {
      total += read;
      if (total > maxBytes) throw new UnusableInputError(`${label}: grew past the limit of ${maxBytes} bytes while read`);
      sink(buffer.subarray(0, read));
    }
    return total;
  });
}

/** The whole file, capped at `maxBytes`. */
export function readCapped(path: string, label: string, maxBytes: number = LIMITS.jsonBytes): Buffer {
  const chunks: Buffer[] = [];
  readChunks(path, label, maxBytes, (chunk) => chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks);
}

/** Parses a JSON file read with readCapped; a syntax error is reported with `label`. */
export function readJson(path: string, label: string): unknown {
  const text = readCapped(path, label).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`${label}: not valid JSON (${(error as Error).message})`);
  }
}

/** Reads a JSON file at `rel` inside the real assembly `root`, with every check above. */
export function readJsonInside(root: string, rel: string): unknown {
  const found = resolveInside(root, rel);
  if (!found) throw new UnusableInputError(`${rel}: missing`);
  return readJson(found.real, rel);
}

/** Whether a symlink's text, read at `linkPath`, points inside `root` (resolved lexically and, if it exists, really). */
export function linkStaysInside(root: string, linkPath: string, target: string): boolean {
  const lexical = resolve(dirname(linkPath), target);
  if (!isInside(root, lexical)) return false;
  try {
    return isInside(root, realpathSync(linkPath));
  } catch {
    return true; // dangling inside the assembly: hashed as its text, follows nothing
  }
}
