// The "cached data updates correctly" check (data freshness) against the local stack: the emulated
// stage (SQS, DynamoDB, S3), the real API and worker processes and the local edge cache in front.
// Short intervals are injected; the check's verdict is asserted, never wall time.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshnessCheck, PROBE_PREFIX } from '../../pipeline/checks/deploy/freshness';
import { awsFreshnessActions } from '../../pipeline/checks/deploy/freshness-aws';
import { startEdgeProxy, type EdgeProxy } from '../../services/edge/proxy';
import { startApi, startLocalAws, startWorker, stopAllServices, waitFor, type LocalAws } from '../services/helpers';

let aws: LocalAws;
let apiUrl: string;
let queueUrl: string;
let s3: S3Client;
let sqs: SQSClient;
const edges: EdgeProxy[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  let dlqUrl: string;
  ({ queueUrl, dlqUrl } = await aws.createQueueWithDlq('freshness-check'));
  ({ baseUrl: apiUrl } = await startApi(aws, { QUEUE_URL: queueUrl, DATASET_RELOAD_SECONDS: '1', SEARCH_MAX_AGE_SECONDS: '1', SEARCH_STALE_SECONDS: '1' }));
  await startWorker(aws, { QUEUE_URL: queueUrl, DLQ_URL: dlqUrl, RECEIVE_WAIT_SECONDS: '1' });
  const clientConfig = { region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
  s3 = new S3Client({ ...clientConfig, endpoint: aws.sdkEnv.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
  sqs = new SQSClient({ ...clientConfig, endpoint: aws.sdkEnv.AWS_ENDPOINT_URL_SQS, useQueueUrlAsEndpoint: false });
});
afterAll(async () => {
  await stopAllServices();
  for (const edge of edges) await edge.stop();
  s3?.destroy();
  sqs?.destroy();
  await aws?.stop();
});

async function probes(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: aws.serviceEnv.DATA_BUCKET!, Prefix: PROBE_PREFIX }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

function check(edge: EdgeProxy, budgetSeconds: number) {
  return freshnessCheck({
    edgeUrl: edge.url,
    dataBucket: aws.serviceEnv.DATA_BUCKET,
    budgetSeconds,
    pollIntervalMs: 200,
    actions: () => awsFreshnessActions(s3, sqs, aws.serviceEnv.DATA_BUCKET!, queueUrl),
  });
}

describe('the data freshness deploy check', () => {
  it('passes when a record added after its query was cached shows through the edge, and removes its probe', async () => {
    const edge = await startEdgeProxy({ origin: apiUrl });
    edges.push(edge);
    const outcome = await check(edge, 60).run();

    expect(outcome, outcome.detail).toMatchObject({ status: 'PASS' });
    expect(outcome.detail).toMatch(/^probe probe[0-9a-f]{16} visible through the edge [\d.]+ s after it was added \(pipeline run [\w-]+; \d+ reads; budget 60 s\)$/);
    expect(await probes()).toEqual([]);
    // The cleanup run drops the probe from the served snapshot too.
    const probeId = /probe (probe[0-9a-f]+)/.exec(outcome.detail)![1];
    await waitFor(async () => {
      const answer = (await (await fetch(`${apiUrl}/v1/search?q=${probeId}`)).json()) as { total: number };
      return answer.total === 0;
    }, 30_000, 'the probe to leave the served snapshot');
  });

  it('fails, naming the probe and the budget, when the edge keeps serving the cached answer', async () => {
    // An edge whose clock stands still: what it caches never expires.
    const frozen = Date.now();
    const edge = await startEdgeProxy({ origin: apiUrl, now: () => frozen });
    edges.push(edge);
    const outcome = await check(edge, 3).run();

    expect(outcome.status).toBe('FAIL');
    expect(outcome.detail).toMatch(/^probe probe[0-9a-f]{16} added and pipeline run [\w-]+ started, but the edge still answered without it after [\d.]+ s \(\d+ reads; budget 3 s; last: 0 result\(s\)\)$/);
    expect(await probes()).toEqual([]);
  });

  it('is skipped when the stage has no data bucket wired', async () => {
    const outcome = await freshnessCheck({ edgeUrl: apiUrl, dataBucket: undefined, budgetSeconds: 1, actions: () => { throw new Error('unused'); } }).run();
    expect(outcome).toEqual({ status: 'SKIP', detail: 'DATA_BUCKET is not set: no probe record can be added' });
  });
});
