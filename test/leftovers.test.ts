// The suite leaves nothing behind: a part of it, run as `npm test` runs it but with TMPDIR set to
// a fresh folder, leaves that folder as it found it. The part is chosen for what it writes: App
// synths without an outdir (cdk.out* folders), a test's own mkdtemp, the service processes and the
// emulated S3 bucket's folder.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { REPO_ROOT, SAFETY_NET_MS } from './services/helpers';
import { leftovers } from './support/leftovers';

const PART = ['test/queue-worker.test.ts', 'test/enforcement/attestation-openssl.test.ts', 'test/services/helpers.test.ts', 'test/services/data-pipeline.test.ts'];

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the suite leaves nothing behind', { timeout: SAFETY_NET_MS }, () => {
  it('leaves an empty TMPDIR after a part of the suite', async () => {
    const tmp = mkdtempSync(join(inject('scratchDir'), 'fresh-tmp-'));
    dirs.push(tmp);
    const run = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'vitest'), ['run', ...PART], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: tmp, CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(run.code, run.output.slice(-3000)).toBe(0);
    expect(run.output).toMatch(new RegExp(`Test Files\\s+.*${PART.length} passed`));
    expect(leftovers(tmp)).toEqual([]);
  });
});
