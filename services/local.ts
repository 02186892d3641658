// `npm run local`: a local SQS (fauxqs), its queue + DLQ with redrive, the API and a worker,
// wired together as on AWS. Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startSqsEmulator } from './sqs-emulator';

const API_PORT = process.env.PORT ?? '8080';
const SQS_PORT = Number(process.env.LOCAL_SQS_PORT ?? 4566);

async function main(): Promise<void> {
  const emulator = await startSqsEmulator(SQS_PORT);
  const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('br-fagq2-jobs', { maxReceiveCount: 3 });
  const shared = { ...process.env, ...emulator.sdkEnv, QUEUE_URL: queueUrl, NODE_NO_WARNINGS: '1' };

  const children: ChildProcess[] = [];
  const start = (service: 'api' | 'worker', env: NodeJS.ProcessEnv) => {
    // One node process per service (no npm/tsx wrapper), so Ctrl-C's SIGTERM reaches the service.
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, service, 'src', 'main.ts')], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    child.on('exit', (code) => console.log(`[local] ${service} exited (${code})`));
  };
  start('api', { ...shared, PORT: API_PORT, HOST: '127.0.0.1', APP_VERSION: process.env.APP_VERSION ?? 'local' });
  start('worker', { ...shared, DLQ_URL: dlqUrl });

  console.log(`[local] SQS emulator   ${emulator.endpoint}`);
  console.log(`[local] queue          ${queueUrl}`);
  console.log(`[local] dead letters   ${dlqUrl}`);
  console.log(`[local] API            http://127.0.0.1:${API_PORT}  (try /v1/search?q=rainfall)`);
  console.log('[local] Ctrl-C stops everything');

  let stopping = false;
  const stop = async () => {
    if (stopping) {
      for (const child of children) child.kill('SIGKILL');
      return;
    }
    stopping = true;
    console.log('[local] stopping: the worker first lets its open long poll return (up to 20 s); Ctrl-C again to kill');
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM')),
      ),
    );
    await emulator.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error('[local] failed to start:', error);
  process.exit(1);
});
