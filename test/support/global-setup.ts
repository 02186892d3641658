// Runs once per `vitest run`, before any worker: one scratch folder for the whole run, removed at
// the end (the shared assembly of test/support/app.ts lives there).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder for this test run's shared files; removed when the run ends. */
    scratchDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'br-fagq2-tests-'));
  project.provide('scratchDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
