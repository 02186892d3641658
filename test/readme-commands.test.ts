// The README's commands that work offline run here exactly as written: every fenced block whose
// info string is `bash offline` (optionally `exit=N`, default 0) runs in bash, in a scratch view
// of the repository (its own cdk.out); its `# ` comment lines are output the run must print.
// The set-up commands (npm ci, npm test) are what .ci/run runs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';

const ROOT = join(__dirname, '..');

interface Block {
  readonly script: string;
  readonly exitCode: number;
  readonly expectedOutput: string[];
}

export function offlineBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^( *)```bash offline([^\n]*)\n([\s\S]*?)^\1```$/gm)].map(([, indent, options, body]) => {
    const script = body!
      .split('\n')
      .map((line) => line.slice(indent!.length))
      .join('\n');
    return {
      script,
      exitCode: Number(/exit=(\d+)/.exec(options!)?.[1] ?? 0),
      expectedOutput: script
        .split('\n')
        .filter((line) => line.startsWith('# '))
        .map((line) => line.slice(2)),
    };
  });
}

const blocks = offlineBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const scratches: string[] = [];
afterAll(() => {
  for (const scratch of scratches) rmSync(scratch, { recursive: true, force: true });
});

/** A view of the repository (its files linked) with a cdk.out of its own, one per block. */
function scratchCheckout(): string {
  const scratch = mkdtempSync(join(tmpdir(), 'readme-'));
  scratches.push(scratch);
  for (const entry of readdirSync(ROOT)) if (!['cdk.out', '.git'].includes(entry)) symlinkSync(join(ROOT, entry), join(scratch, entry));
  return scratch;
}

// The blocks run at once: each is mostly the CDK CLI and a synth, in its own scratch checkout.
describe.concurrent('README commands (offline)', () => {
  it('has offline blocks to run', ({ expect }) => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
  });

  it.for(blocks.map((block) => [block.script.split('\n')[0], block] as const))('%s', async ([, block], { expect }) => {
    const run = await runBash(block.script, scratchCheckout());
    const output = run.stdout + run.stderr;
    expect(run.status, output).toBe(block.exitCode);
    for (const line of block.expectedOutput) expect(output).toContain(line.trim());
    expect(output).not.toMatch(/reserved context key|NodeVersionSupportWarning|^\s+at /m);
  });
});

function runBash(script: string, cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-eo', 'pipefail', '-c', script], {
      cwd,
      // No AWS credentials or settings of the machine: offline means offline.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: 'true', TMPDIR: tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
