// Shared by the services' integration tests: the SQS emulator, the real service processes, waiting.
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalAws, type LocalAws } from '../../services/local-aws';

export { startLocalAws, type LocalAws };
/** The emulated stage (SQS, DynamoDB, S3) the services' tests run against. */
export type SqsEmulator = LocalAws;
export const startSqsEmulator = startLocalAws;

export const REPO_ROOT = join(__dirname, '..', '..');

/**
 * The one clock of these helpers: a safety net, far beyond what a loaded machine needs. Waits end
 * on what the process does (the awaited line, its exit) or on the state polled, never on a budget
 * guessed from an idle machine: with other CPU-heavy work beside it, a 60 s wait for a worker's
 * job once ran out while the worker was still working. Test files whose waits can be long give
 * their tests this timeout too (vitest's default here is 120 s).
 */
export const SAFETY_NET_MS = 10 * 60_000;

/** A parsed JSON log line (worker lines carry `event`, API lines pino's `msg`). */
export type LogLine = Record<string, unknown> & { event?: string; msg?: string };

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly logs: readonly LogLine[];
  /**
   * Resolves with the first log line (already printed or to come) that matches; rejects when the
   * process exits without it (or, as a safety net only, after `timeoutMs`).
   */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Every line the process printed on stderr (and stdout lines that are not JSON are in `logs`). */
  stderrLines(): string[];
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Where {@link spawnService} starts a service from. */
export interface ServiceEntry {
  /** The folder to run in. @default the repository */
  readonly cwd?: string;
  /** The script, relative to `cwd`. @default services/<name>/src/main.ts */
  readonly script?: string;
}

/**
 * Starts `services/<name>/src/main.ts` as `npm run <name>` does, but as one node process
 * (`node services/<name>/src/main.ts`), so that a signal reaches the service itself and not a wrapper.
 */
export function spawnService(name: 'api' | 'worker', env: Record<string, string>, entry: ServiceEntry = {}): ServiceProcess {
  const child = spawn(process.execPath, [entry.script ?? join('services', name, 'src', 'main.ts')], {
    cwd: entry.cwd ?? REPO_ROOT,
    // Only what the service needs: no AWS settings of the machine running the tests leak in.
    // TMPDIR: the test run's own (test/support/global-setup.ts), which goes when the run ends.
    env: { PATH: process.env.PATH ?? '', TMPDIR: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const text of lines) {
      try {
        logs.push(JSON.parse(text) as LogLine);
      } catch {
        logs.push({ event: 'non-json', text });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
      for (const wake of waiters) wake();
    }),
  );

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = SAFETY_NET_MS) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(match);
        if (found) return finish(() => resolve(found));
        if (child.exitCode !== null || child.signalCode !== null) {
          return finish(() => reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before the log line\n${stderr}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${name}: no matching log line in ${timeoutMs} ms\n${JSON.stringify(logs.slice(-10))}\n${stderr}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });

  const stderrLines = () => stderr.split('\n').filter((line) => line !== '');
  return { child, logs, waitForLog, exited, stderrLines };
}

/** Kills every service process still running (for afterAll/afterEach, also after a failure). */
export async function stopAllServices(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export function isEvent(event: string, fields: Record<string, unknown> = {}): (line: LogLine) => boolean {
  return (line) => (line.event === event || line.msg === event) && Object.entries(fields).every(([key, value]) => line[key] === value);
}

/** Starts the API on a random port and resolves with its base URL once it listens. */
export async function startApi(emulator: SqsEmulator, env: Record<string, string>) {
  const api = spawnService('api', { ...emulator.serviceEnv, HOST: '127.0.0.1', PORT: '0', APP_VERSION: 'test-1.2.3', ...env });
  const listening = await api.waitForLog(isEvent('api.listening'));
  return { api, baseUrl: String(listening.url) };
}

/** Starts a worker and resolves once its loop runs. */
export async function startWorker(emulator: SqsEmulator, env: Record<string, string>) {
  const worker = spawnService('worker', { ...emulator.serviceEnv, ...env });
  await worker.waitForLog(isEvent('worker.started'));
  return worker;
}

export async function queueDepth(client: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

export async function sendMessage(client: SQSClient, queueUrl: string, body: unknown): Promise<void> {
  const MessageBody = typeof body === 'string' ? body : JSON.stringify(body);
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody }));
}

/** Receives (and leaves in flight) up to 10 messages with their attributes. */
export async function receiveMessages(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const result = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 1,
      MessageAttributeNames: ['All'],
    }),
  );
  return result.Messages ?? [];
}

/**
 * Polls until `check` returns a truthy value: the state it reads decides, not a budget (the
 * timeout is the safety net only).
 */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = SAFETY_NET_MS, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A job message as the API enqueues it. */
export function checksumJob(id: string, rounds: number, data = `data-${id}`) {
  return { id, type: 'checksum', payload: { data, rounds }, submittedAt: new Date().toISOString() };
}

/** A job's stored record (strongly consistent read), or undefined. */
export async function readJobRecord(emulator: LocalAws, id: string, table = emulator.serviceEnv.JOBS_TABLE!): Promise<Record<string, unknown> | undefined> {
  const { Item } = await DynamoDBDocumentClient.from(emulator.dynamodb).send(new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }));
  return Item;
}
