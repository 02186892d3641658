// npm run bench:data — the data product's local figures on the emulated stage (fauxqs, dynalite,
// s3rver), the real API and worker processes and the local edge:
//   1. job POST → `succeeded` (client send time → the record's updatedAt) under a steady load:
//      BENCH_RATE jobs/s (default 20) for BENCH_SECONDS (default 20), one-round checksum jobs; p50, p99;
//   2. record added → visible in search through the edge, with an on-demand pipeline run:
//      BENCH_FRESHNESS_SAMPLES (default 5); intervals injected short (reload 1 s, edge max-age 1 s),
//      so the figure is the machine's part of the budget (pipeline + reload + edge); the configured
//      waits add to it as README "Freshness budget" states.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { startEdgeProxy } from '../services/edge/proxy.ts';
import { startLocalAws } from '../services/local-aws.ts';
import { addRecords } from '../services/records.ts';
import { DataBucket } from '../services/shared/dataset.ts';

const RATE = Number(process.env.BENCH_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SAMPLES = Number(process.env.BENCH_FRESHNESS_SAMPLES ?? 5);
const repo = join(import.meta.dirname, '..');

/** Worker events counted over the run (a busy or failed claim would show in the tail latency). */
const events = new Map<string, number>();

function startService(name: 'api' | 'worker', env: Record<string, string>, ready: string): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, [join(repo, 'services', name, 'src', 'main.ts')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (typeof line.event === 'string') events.set(line.event, (events.get(line.event) ?? 0) + 1);
      if (line.msg === ready || line.event === ready) resolve({ child, line });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<void> {
  const aws = await startLocalAws();
  const { queueUrl, dlqUrl } = await aws.createQueueWithDlq('bench-jobs');
  const api = await startService('api', { ...aws.serviceEnv, QUEUE_URL: queueUrl, PORT: '0', HOST: '127.0.0.1', DATASET_RELOAD_SECONDS: '1', SEARCH_MAX_AGE_SECONDS: '1', SEARCH_STALE_SECONDS: '0' }, 'api.listening');
  const worker = await startService('worker', { ...aws.serviceEnv, QUEUE_URL: queueUrl, DLQ_URL: dlqUrl, RECEIVE_WAIT_SECONDS: '1' }, 'worker.started');
  const apiUrl = String(api.line.url);
  const edge = await startEdgeProxy({ origin: apiUrl });
  const doc = DynamoDBDocumentClient.from(aws.dynamodb);
  const record = async (id: string) =>
    (await doc.send(new GetCommand({ TableName: aws.serviceEnv.JOBS_TABLE!, Key: { id }, ConsistentRead: true }))).Item;
  const post = async (type: string, payload: unknown) => {
    const response = await fetch(`${edge.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, payload }) });
    if (response.status !== 202) throw new Error(`POST /v1/jobs → ${response.status}`);
    return ((await response.json()) as { id: string }).id;
  };

  // 1. Steady load.
  const sent: Array<Promise<{ id: string; sentAt: number }>> = [];
  const started = Date.now();
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = started + (i * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const sentAt = Date.now();
    sent.push(post('checksum', { data: `bench-${i}`, rounds: 1 }).then((id) => ({ id, sentAt })));
  }
  const jobs = await Promise.all(sent);
  const latencies: number[] = [];
  for (const { id, sentAt } of jobs) {
    for (;;) {
      const item = await record(id);
      if (item?.status === 'succeeded') {
        latencies.push(Date.parse(String(item.updatedAt)) - sentAt);
        break;
      }
      await sleep(50);
    }
  }
  latencies.sort((a, b) => a - b);
  console.log(`bench:data  job POST → succeeded, ${RATE} jobs/s for ${SECONDS} s (${jobs.length} jobs, through the local edge)`);
  console.log(`  p50 ${percentile(latencies, 50)} ms   p99 ${percentile(latencies, 99)} ms   max ${latencies.at(-1)} ms`);
  console.log(`  worker events: ${[...events].map(([event, count]) => `${event} ${count}`).join(', ')}`);

  // 2. Record added → visible through the edge (on-demand pipeline run).
  const s3 = new S3Client({ region: 'us-east-1', endpoint: aws.sdkEnv.AWS_ENDPOINT_URL_S3, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const data = new DataBucket(aws.serviceEnv.DATA_BUCKET!, s3);
  const visible: number[] = [];
  for (let sample = 0; sample < SAMPLES; sample++) {
    const term = `benchterm${sample}x${Date.now().toString(36)}`;
    const url = `${edge.url}/v1/search?q=${term}`;
    await fetch(url); // cached at the edge before the record exists
    const addedAt = Date.now();
    await addRecords(data, JSON.stringify([{ id: `bench-${term}`, name: term, category: 'bench', region: 'none', year: 2026, tags: [], description: term }]), `${term}.json`);
    await post('rebuild-dataset', { reason: 'bench' });
    for (;;) {
      const answer = (await (await fetch(url)).json()) as { total: number };
      if (answer.total > 0) break;
      await sleep(50);
    }
    visible.push(Date.now() - addedAt);
  }
  visible.sort((a, b) => a - b);
  console.log(`bench:data  record added → visible through the edge (on-demand run; reload 1 s, edge max-age 1 s), ${SAMPLES} samples`);
  console.log(`  median ${percentile(visible, 50)} ms   max ${visible.at(-1)} ms`);

  for (const child of [api.child, worker.child]) child.kill('SIGKILL');
  await edge.stop();
  data.destroy();
  await aws.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
