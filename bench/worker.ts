// npm run bench:worker — drains N cheap jobs from a local SQS (fauxqs) three ways, in one run:
//   raw           ReceiveMessage(10) + run the batch + DeleteMessageBatch, in a loop: the ceiling
//   sqs-consumer  the sqs-consumer package, batchSize = CONCURRENCY (its unit of concurrency)
//   worker        this repo's worker loop (startConsumer, the code main.ts runs)
// Every contender runs the same job code (parse + checksum handler, 1 round). A contender is done
// when SQS has acknowledged the deletion of all N messages. BENCH_MESSAGES, BENCH_CONCURRENCY and
// BENCH_ROUNDS override the defaults; the best and the median round of each contender are reported
// (the emulator's speed varies from run to run).
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Consumer } from 'sqs-consumer';
import { startConsumer, type RunningConsumer } from '../services/worker/src/consumer.ts';
import { parseJobMessage } from '../services/shared/jobs.ts';
import { createHandlers, handlerFor } from '../services/worker/src/handlers/registry.ts';
import { silentLogger } from '../services/worker/src/log.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const handlers = createHandlers();

type Contender = 'raw' | 'sqs-consumer' | 'worker';

/** The job every contender runs: what the worker does with a message, minus the SQS calls. */
async function runJob(body: string | undefined): Promise<void> {
  const parsed = parseJobMessage(body);
  if (!parsed.ok) throw new Error(`bad benchmark message: ${parsed.message}`);
  await handlerFor(handlers, parsed.value.type)(parsed.value.payload, new AbortController().signal, parsed.value);
}

async function startEmulator() {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'worker-emulator.ts')], {
    env: { ...process.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
  return { endpoint: (JSON.parse(line!) as { endpoint: string }).endpoint, stop: () => child.kill('SIGTERM') };
}

/** A client whose acknowledged deletes are counted, so every contender is timed the same way. */
function countingClient(endpoint: string, onDeleted: (count: number) => void): SQSClient {
  const client = new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    useQueueUrlAsEndpoint: false,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const output = result.output as { Successful?: unknown[] };
      if (context.commandName === 'DeleteMessageBatchCommand') onDeleted(output.Successful?.length ?? 0);
      if (context.commandName === 'DeleteMessageCommand') onDeleted(1);
      return result;
    },
    { step: 'initialize', name: 'countDeletes' },
  );
  return client;
}

async function fillQueue(client: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '30' } }));
  const batches = Array.from({ length: Math.ceil(MESSAGES / 10) }, (_, batch) => batch);
  const sendBatch = (batch: number) =>
    client.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: Array.from({ length: Math.min(10, MESSAGES - batch * 10) }, (_, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({ id: randomUUID(), type: 'checksum', payload: { data: `job ${batch}/${i}`, rounds: 1 }, submittedAt: new Date().toISOString() }),
        })),
      }),
    );
  for (let start = 0; start < batches.length; start += 20) await Promise.all(batches.slice(start, start + 20).map(sendBatch));
  return QueueUrl!;
}

const lingering: Promise<void>[] = [];

async function drain(contender: Contender, endpoint: string, round: number): Promise<number> {
  let deleted = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const client = countingClient(endpoint, (count) => {
    deleted += count;
    if (deleted >= MESSAGES) finish();
  });
  const queueUrl = await fillQueue(client, `bench-${contender}-${round}`);
  const started = performance.now();

  if (contender === 'raw') {
    void (async () => {
      while (deleted < MESSAGES) {
        const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }));
        await Promise.all(Messages.map((message: Message) => runJob(message.Body)));
        if (Messages.length === 0) continue;
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    })();
    await done;
  } else if (contender === 'sqs-consumer') {
    const consumer = Consumer.create({
      queueUrl,
      sqs: client,
      batchSize: CONCURRENCY,
      waitTimeSeconds: 20,
      handleMessage: async (message) => {
        await runJob(message.Body);
        return message;
      },
    });
    consumer.start();
    await done;
    consumer.stop({ abort: true });
  } else {
    const consumer: RunningConsumer = startConsumer({
      client,
      config: { queueUrl, dlqUrl: queueUrl, concurrency: CONCURRENCY, jobTimeoutSeconds: 60, visibilityTimeoutSeconds: 30, shutdownTimeoutSeconds: 30 },
      logger: silentLogger,
    });
    await done;
    // stop() lets the open long poll run out (up to 20 s): not part of the measurement.
    lingering.push(consumer.stop());
  }
  return MESSAGES / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const emulator = await startEmulator();
  const rates: Record<Contender, number[]> = { raw: [], 'sqs-consumer': [], worker: [] };
  console.log(`bench:worker  ${MESSAGES} messages per run, concurrency ${CONCURRENCY}, ${ROUNDS} rounds, fauxqs ${emulator.endpoint}`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contender of ['raw', 'sqs-consumer', 'worker'] as const) {
      const rate = await drain(contender, emulator.endpoint, round);
      rates[contender].push(rate);
      console.log(`  round ${round}  ${contender.padEnd(12)} ${rate.toFixed(0).padStart(7)} msg/s`);
    }
  }
  for (const [label, pick] of [['best', (r: number[]) => Math.max(...r)], ['median', median]] as const) {
    const value = (contender: Contender) => pick(rates[contender]);
    console.log(`${label} of ${ROUNDS} rounds:`);
    for (const contender of Object.keys(rates) as Contender[]) console.log(`  ${contender.padEnd(12)} ${value(contender).toFixed(0).padStart(7)} msg/s`);
    console.log(`  worker / sqs-consumer = ${(value('worker') / value('sqs-consumer')).toFixed(2)}x  (target >= 1.0)`);
    console.log(`  worker / raw          = ${(value('worker') / value('raw')).toFixed(2)}x  (target >= 0.8)`);
  }
  await Promise.all(lingering);
  emulator.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
