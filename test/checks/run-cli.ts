// Runs the checks CLI as the pipeline does (`npm run checks` is `node pipeline/checks/cli.ts`), as a real process.
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../services/helpers';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The stdout line of one check (`PASS  jobs  ...`), undefined if there is none. */
  line(checkName: string): string | undefined;
}

export function runChecksCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(process.execPath, [join('pipeline', 'checks', 'cli.ts'), ...args], {
    cwd: REPO_ROOT,
    // Only what is given: no AWS settings of the machine running the tests leak in.
    env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        line: (checkName) => stdout.split('\n').find((text) => new RegExp(`^[A-Z]{4}  ${checkName} `).test(text)),
      }),
    );
  });
}
