// What a run may leave in its TMPDIR: nothing but the tools' own shared caches.
import { readdirSync } from 'node:fs';

/**
 * npm's and Node's compile cache: one folder that every later run reuses (npm enables it in
 * os.tmpdir() unless NODE_COMPILE_CACHE says elsewhere). Not this project's to remove.
 */
const TOOL_CACHES: readonly string[] = ['node-compile-cache'];

/** The entries of `dir` that are not a tool's shared cache. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((entry) => !TOOL_CACHES.includes(entry));
}
