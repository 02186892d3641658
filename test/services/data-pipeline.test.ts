// The data product end to end on the emulated stage: a record added under raw/ becomes searchable
// through the local edge after an on-demand pipeline run; probe records stay out of user queries.
// Short intervals are injected; the assertions are on the served snapshot, never on wall time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeProxy, type EdgeProxy } from '../../services/edge/proxy';
import { addRecords } from '../../services/records';
import { DataBucket, PROBE_PREFIX } from '../../services/shared/dataset';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SearchIndex } from '../../services/api/src/search-index';
import { JobStore } from '../../services/shared/job-store';
import { readJobRecord, SAFETY_NET_MS, startApi, startLocalAws, startWorker, stopAllServices, waitFor, type LocalAws } from './helpers';

const TOKEN = 'pipeline-test-token';
let aws: LocalAws;
let edge: EdgeProxy;
let apiUrl: string;
let data: DataBucket;

const record = (id: string, text: string) => ({ id, name: text, category: 'test', region: 'nowhere', year: 2026, tags: [], description: text });

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} → ${response.status}`);
  return (await response.json()) as T;
}

interface Served {
  snapshot: string;
  records: number;
}

/** Posts a rebuild job (authenticated) and waits for its record to say succeeded. */
async function runPipeline(): Promise<string> {
  const { id } = await json<{ id: string }>(`${apiUrl}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ type: 'rebuild-dataset', payload: { reason: 'test' } }),
  });
  await waitFor(async () => (await json<{ status: string }>(`${apiUrl}/v1/jobs/${id}`)).status === 'succeeded', SAFETY_NET_MS, `rebuild ${id}`);
  return id;
}

beforeAll(async () => {
  aws = await startLocalAws();
  const { queueUrl, dlqUrl } = await aws.createQueueWithDlq('pipeline-test');
  ({ baseUrl: apiUrl } = await startApi(aws, {
    QUEUE_URL: queueUrl,
    API_TOKENS: TOKEN,
    DATASET_RELOAD_SECONDS: '1',
    SEARCH_MAX_AGE_SECONDS: '1',
    SEARCH_STALE_SECONDS: '0',
  }));
  await startWorker(aws, { QUEUE_URL: queueUrl, DLQ_URL: dlqUrl, RECEIVE_WAIT_SECONDS: '1' });
  edge = await startEdgeProxy({ origin: apiUrl });
  data = new DataBucket(aws.serviceEnv.DATA_BUCKET!, new S3Client({ endpoint: aws.sdkEnv.AWS_ENDPOINT_URL_S3, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }));
});
afterAll(async () => {
  await stopAllServices();
  await edge?.stop();
  data?.destroy();
  await aws?.stop();
});

describe('the data pipeline', { timeout: SAFETY_NET_MS }, () => {
  it('serves a record added under raw/ through the edge after an on-demand run, and reports the snapshot it serves', async () => {
    const before = await json<Served>(`${apiUrl}/v1/dataset`);
    expect(before.snapshot).toBe('seed');
    const search = `${edge.url}/v1/search?q=axolotl%20breeding`;
    // Cached at the edge before the record exists.
    expect(await json<{ total: number }>(search)).toMatchObject({ total: 0 });

    await addRecords(data, JSON.stringify([record('added-axolotl-1', 'axolotl breeding survey')]), 'axolotl.json');
    const jobId = await runPipeline();

    // The API swaps the new snapshot in without a restart: the served snapshot advanced to this run's.
    const served = await waitFor(async () => {
      const now = await json<Served>(`${apiUrl}/v1/dataset`);
      return now.snapshot === jobId && now;
    }, SAFETY_NET_MS, 'the API to serve the new snapshot');
    expect(served.records).toBe(before.records + 1);
    const found = await waitFor(async () => {
      const answer = await json<{ total: number; results: Array<{ id: string }> }>(search);
      return answer.total > 0 && answer;
    }, SAFETY_NET_MS, 'the edge to serve the record');
    expect(found.results.map((r) => r.id)).toEqual(['added-axolotl-1']);
  });

  it('keeps probe records out of every user query: they are found by their exact id only', async () => {
    await data.putJson(`${PROBE_PREFIX}probe7f3a9c.json`, [record('probe7f3a9c', 'rainfall probe record')]);
    const jobId = await runPipeline();
    await waitFor(async () => (await json<Served>(`${apiUrl}/v1/dataset`)).snapshot === jobId, SAFETY_NET_MS, 'the new snapshot');

    const byId = await json<{ results: Array<{ id: string }> }>(`${apiUrl}/v1/search?q=probe7f3a9c`);
    expect(byId.results.map((r) => r.id)).toEqual(['probe7f3a9c']);
    const userQuery = await json<{ results: Array<{ id: string }> }>(`${apiUrl}/v1/search?q=rainfall&limit=100`);
    expect(userQuery.results.length).toBeGreaterThan(0);
    expect(userQuery.results.map((r) => r.id)).not.toContain('probe7f3a9c');
  });
});

// Rollback: the release before this one (N-1) must read what this one (N) writes. These fixtures
// are records of a newer format (v: 2, with fields this code does not know), read by this code.
describe('reading a newer release’s formats (rollback safety)', () => {
  it('shows and takes over a job record of a newer format, keeping the fields it does not know', async () => {
    const table = aws.serviceEnv.JOBS_TABLE!;
    const newer = {
      v: 2,
      id: 'job-from-release-n',
      type: 'checksum',
      status: 'queued',
      submittedAt: '2026-11-27T00:00:00.000Z',
      updatedAt: '2026-11-27T00:00:01.000Z',
      priority: 'high',
      progress: { percent: 0 },
    };
    const doc = DynamoDBDocumentClient.from(aws.dynamodb);
    await doc.send(new PutCommand({ TableName: table, Item: newer }));
    const store = new JobStore({ tableName: table, client: aws.dynamodb });
    expect(await store.view(newer.id)).toEqual({
      id: newer.id,
      type: 'checksum',
      status: 'queued',
      submittedAt: newer.submittedAt,
      updatedAt: newer.updatedAt,
    });
    const claim = await store.claim({ id: newer.id, type: 'checksum', payload: { data: 'x', rounds: 1 }, submittedAt: newer.submittedAt }, 5);
    expect(claim).toEqual({ claimed: true, attempt: 1 });
    expect(await store.succeed(newer.id, 1, { digest: 'd' })).toBe(true);
    expect(await readJobRecord(aws, newer.id)).toMatchObject({ v: 2, status: 'succeeded', priority: 'high', progress: { percent: 0 }, result: { digest: 'd' } });
  });

  it('serves a snapshot of a newer format, ignoring the fields it does not know', async () => {
    const key = 'snapshots/built/from-release-n.json';
    await data.putJson(key, {
      v: 2,
      id: 'from-release-n',
      builtAt: '2026-11-27T00:00:00.000Z',
      lineage: { sources: 3 },
      records: [{ ...record('newer-1', 'walrus census'), license: 'CC-BY-4.0', quality: 0.9 }],
    });
    const snapshot = await data.snapshot({ v: 2, id: 'from-release-n', key, builtAt: '2026-11-27T00:00:00.000Z', recordCount: 1 });
    expect(new SearchIndex(snapshot.records).search('walrus', 10).results.map((r) => r.id)).toEqual(['newer-1']);
  });
});
