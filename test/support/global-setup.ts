// Runs once per `vitest run`, before any worker: one scratch folder for the whole run, removed at
// the end (the shared assembly of test/support/app.ts lives there). It is also the run's TMPDIR,
// which the workers inherit and pass on to the processes they start: every temporary folder of the
// run (the cdk.out* of an App without outdir, a test's mkdtemp, the local S3 emulator's folder)
// goes with it, even a test's that failed before its own clean-up.
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
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  project.provide('scratchDir', dir);
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
