// Runs an npm script as a user's terminal does: npm in a process group of its own (the terminal's
// foreground group), so a test can signal the whole group (Ctrl-C) or only npm (kill PID).
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { REPO_ROOT, SAFETY_NET_MS } from './helpers';

export interface NpmRun {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once stdout has a line matching; rejects when npm exits first (or, as a safety net only, after `timeoutMs`). */
  waitForOutput(match: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code (or the signal that ended npm). */
  readonly exited: Promise<number | string>;
  /** Sends a signal to every process of the group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Whether any process of the group is still alive. */
  groupAlive(): boolean;
}

const started = new Set<NpmRun>();

export function npmRun(script: string, env: Record<string, string>): NpmRun {
  const child = spawn('npm', ['run', script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, like a terminal job
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const pgid = child.pid!;
  const run: NpmRun = {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitForOutput: (match, timeoutMs = SAFETY_NET_MS) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = stdout.split('\n').find((text) => match.test(text));
          if (line !== undefined) finish(() => resolve(line));
          else if (child.exitCode !== null) finish(() => reject(new Error(`npm run ${script} exited (${child.exitCode})\n${stdout}\n${stderr}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no output matching ${match} in ${timeoutMs} ms\n${stdout}\n${stderr}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        void exited.then(check);
        check();
      }),
    signalGroup: (signal) => process.kill(-pgid, signal),
    groupAlive: () => {
      try {
        process.kill(-pgid, 0);
        return true;
      } catch {
        return false;
      }
    },
  };
  // Kept after npm exits: its group may outlive it (a service npm's signal did not reach).
  started.add(run);
  return run;
}

/** SIGKILLs every group a test left running, npm gone or not (afterEach/afterAll). */
export function killAllNpmRuns(): void {
  for (const run of started) if (run.groupAlive()) run.signalGroup('SIGKILL');
}

const handedOut = new Set<number>();

/** A port that was free a moment ago, never the same twice in this process (tests run at once). */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = await listenOnFreePort();
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Listens on a free port of 127.0.0.1 and keeps it (close the server when done); not one handed out. */
export async function occupyPort(): Promise<Server> {
  for (;;) {
    const server = await listenOnFreePort();
    const { port } = server.address() as { port: number };
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return server;
    }
    server.close();
  }
}

function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
