// `npm run local`: the three tiers on 127.0.0.1, wired together as on AWS: the stage's AWS services
// emulated (SQS: fauxqs, with the queue + DLQ and its redrive policy; DynamoDB: dynalite, with the job
// table; S3: s3rver, with the data bucket), the API and a worker (one node process each), and the edge
// (a caching proxy with the CloudFront cache policy's rules) in front of the API.
//
// Stopping: the first SIGINT, SIGTERM or SIGHUP stops everything (the worker drains its jobs) and
// exits 0. A terminal's Ctrl-C reaches every process of the foreground group (npm, this one, the
// services, and a `| tee` beside them), and npm forwards it once more: repeats are ignored, never
// taken as "kill". SIGHUP is a closed terminal. Output whose reader went away (`| tee` killed by
// the same Ctrl-C, `| head`) stops everything too, instead of crashing on EPIPE and leaving the
// services and the emulated bucket's folder behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startEdgeProxy, type EdgeProxy } from './edge/proxy.ts';
import { startLocalAws, type LocalAws } from './local-aws.ts';

/** A start-up failure the user can fix: printed as one line, no stack. */
class StartError extends Error {}

function portFrom(variable: string, fallback: number): number {
  const raw = process.env[variable]?.trim() || String(fallback);
  const port = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(port >= 0 && port <= 65_535)) throw new StartError(`${variable} must be a port number (0-65535), got "${raw}"`);
  return port;
}

/** Runs `listen`; a taken port becomes a StartError naming it and the variable that changes it. */
async function listenOn<T>(what: string, variable: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new StartError(`port ${port} (${what}) is already in use: set ${variable} to a free port`);
  }
}

interface Service {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
}

/** Every service process started, ready or not: a stop, and the exit, reach each of them. */
const spawned = new Set<Service>();

/**
 * One node process per service (no npm wrapper between), its JSON log lines passed through.
 * Resolves once the service logs `readyEvent`; rejects with the reason it logged if it exits first.
 */
function startService(name: 'api' | 'worker', env: NodeJS.ProcessEnv, readyEvent: string): Promise<Service> {
  const child = spawn(process.execPath, [join(import.meta.dirname, name, 'src', 'main.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  spawned.add({ child, exited });
  return new Promise((resolve, reject) => {
    let ready = false;
    let reason = `${name} exited before it was ready`;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let logged: { level?: string; event?: string; msg?: string; reason?: string } = {};
      try {
        logged = JSON.parse(line) as typeof logged;
      } catch {}
      // Why it did not start (e.g. its port is taken) becomes the one line local prints.
      if (!ready && logged.level === 'error' && logged.reason) {
        reason = logged.reason;
        return;
      }
      process.stdout.write(`${line}\n`);
      if (!ready && (logged.event === readyEvent || logged.msg === readyEvent)) {
        ready = true;
        resolve({ child, exited });
      }
    });
    void exited.then(() => {
      if (!ready) reject(new StartError(`${name}: ${reason}`));
    });
  });
}

async function main(): Promise<void> {
  const apiPort = portFrom('PORT', 8080);
  const sqsPort = portFrom('LOCAL_SQS_PORT', 4566);
  const edgePort = portFrom('LOCAL_EDGE_PORT', 8000);

  const services: Service[] = [];
  let emulator: LocalAws | undefined;
  let edge: EdgeProxy | undefined;
  let stopping: Promise<void> | undefined;
  let outputClosed = false;
  // Nothing is written once the output's reader is gone (each write would fail again).
  const say = (line: string) => {
    if (!outputClosed) console.log(line);
  };
  const stop = (code: number) =>
    (stopping ??= (async () => {
      await edge?.stop();
      await Promise.all(
        [...spawned].map(async ({ child, exited }) => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const exit = await exited;
          if (exit !== 0) code = 1;
        }),
      );
      await emulator?.stop();
      process.exit(code);
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      say(`[local] ${signal}: stopping (the worker finishes its jobs in flight)`);
      void stop(0);
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!outputClosed && error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      outputClosed = true;
      void stop(0);
    });
  }
  // Whatever ends this process, no service outlives it ('exit' runs on every exit but SIGKILL's).
  process.once('exit', () => {
    for (const { child } of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  try {
    emulator = await listenOn('the SQS emulator', 'LOCAL_SQS_PORT', sqsPort, () => startLocalAws({ sqs: sqsPort }));
    const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('br-fagq2-jobs', { maxReceiveCount: 3 });
    // The services reach the emulator through the SDK's standard environment, as they reach SQS on AWS.
    const shared = { ...process.env, ...emulator.serviceEnv, QUEUE_URL: queueUrl };

    // The edge listens before the API is up (it only forwards per request): a taken port fails fast.
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    edge = await listenOn('the edge cache', 'LOCAL_EDGE_PORT', edgePort, () => startEdgeProxy({ origin: apiUrl, port: edgePort }));
    const apiEnv = { ...shared, PORT: String(apiPort), HOST: '127.0.0.1', APP_VERSION: process.env.APP_VERSION ?? 'local' };
    services.push(await startService('api', apiEnv, 'api.listening'));
    if (stopping) return; // stopped while the API started: start nothing more
    // No DLQ_URL: the worker reads its DLQ from the queue's redrive policy, as it can on AWS. A short
    // long poll so that a stop does not wait for an open 20 s receive to return.
    const workerEnv = { ...shared, DLQ_URL: '', MAX_RECEIVE_COUNT: '3', RECEIVE_WAIT_SECONDS: process.env.RECEIVE_WAIT_SECONDS ?? '1' };
    services.push(await startService('worker', workerEnv, 'worker.started'));
    if (stopping) return;

    say(`[local] edge (cache)   ${edge.url}  (try ${edge.url}/v1/search?q=rainfall)`);
    say(`[local] API            ${apiUrl}`);
    say(`[local] SQS emulator   ${emulator.endpoint}`);
    say(`[local] queue          ${queueUrl}`);
    say(`[local] dead letters   ${dlqUrl}`);
    say(`[local] DynamoDB       ${emulator.sdkEnv.AWS_ENDPOINT_URL_DYNAMODB}  table ${emulator.serviceEnv.JOBS_TABLE}`);
    say(`[local] S3             ${emulator.sdkEnv.AWS_ENDPOINT_URL_S3}  bucket ${emulator.serviceEnv.DATA_BUCKET}`);
    say('[local] Ctrl-C stops everything');
  } catch (error) {
    if (!(error instanceof StartError)) throw error;
    console.error(`[local] cannot start: ${error.message}`);
    await stop(1);
  }

  // A service that stops on its own (a crash) stops the whole run, non-zero.
  for (const { exited } of services) {
    void exited.then((code) => {
      if (stopping) return;
      console.error(`[local] a service exited (${code}): stopping`);
      void stop(1);
    });
  }
}

main().catch((error: unknown) => {
  console.error(`[local] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
