// Copies of the shared assembly (test/support/app.ts) to seed an attack or a defect into: the
// shared one is read only. Each file's copies live in one scratch folder it removes afterwards.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AssemblyCopies {
  /** The scratch folder (removed by `dispose`), for the copies and any other file of the test. */
  readonly dir: string;
  /** A copy of `assembly` named `name`, with `edit` applied to its folder; returns the folder. */
  copyEdited(name: string, edit: (dir: string) => void): string;
  /** Removes every copy. */
  dispose(): void;
}

/** A scratch folder (prefix `prefix`) for copies of `assembly()`, read when a copy is made. */
export function assemblyCopies(prefix: string, assembly: () => string): AssemblyCopies {
  const workDir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir: workDir,
    copyEdited(name, edit) {
      const dir = join(workDir, name);
      cpSync(assembly(), dir, { recursive: true });
      edit(dir);
      return dir;
    },
    dispose: () => rmSync(workDir, { recursive: true, force: true }),
  };
}

/** Rewrites a JSON file with `edit` applied to its parsed content. */
export function editJson(file: string, edit: (json: any) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 1));
}
