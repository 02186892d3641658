// `ops run` against the emulated stage `npm run local` runs (fauxqs, dynalite, s3rver) and the real
// worker process: the job goes through the queue as the API would submit it, and `ops` waits for its
// record to be final. Only the stack outputs come from the fake AWS (CloudFormation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEvent, readJobRecord, startLocalAws, startWorker, stopAllServices, type LocalAws } from '../services/helpers';
import { startFakeAws, type FakeAws } from './fake-aws';
import { opsEnv, runOps } from './scenario';

let local: LocalAws;
let aws: FakeAws;

beforeAll(async () => {
  [local, aws] = await Promise.all([startLocalAws(), startFakeAws()]);
});
afterAll(async () => {
  await stopAllServices();
  await Promise.all([local?.stop(), aws?.stop()]);
});

describe('ops run against the local stack', () => {
  it('runs a one-off job through the queue and waits until its record is final: succeeded (exit 0), dead-lettered (exit 1)', async () => {
    const queues = await local.createQueueWithDlq('ops-run', { maxReceiveCount: 1 });
    aws.state.stacks['Production-Tiers'] = { QueueUrl: queues.queueUrl, DeadLetterQueueUrl: queues.dlqUrl, JobsTableName: local.serviceEnv.JOBS_TABLE! };
    const worker = await startWorker(local, { QUEUE_URL: queues.queueUrl, DLQ_URL: queues.dlqUrl, MAX_RECEIVE_COUNT: '1', JOB_TIMEOUT_SECONDS: '1' });
    const env = opsEnv(aws, { AWS_ENDPOINT_URL_SQS: local.sdkEnv.AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB: local.sdkEnv.AWS_ENDPOINT_URL_DYNAMODB });

    const ok = await runOps(['run', 'checksum', '{"data":"ops","rounds":3}', '--stage', 'production', '--yes'], env);
    expect(ok.code, ok.stderr).toBe(0);
    const id = /^job ([0-9a-f-]{36}) \(checksum\) succeeded in /.exec(ok.stdout)?.[1];
    expect(id, ok.stdout).toBeDefined();
    expect(ok.stderr).toMatch(new RegExp(`job ${id} queued; waiting for its record to be final`));
    expect(await readJobRecord(local, id!)).toMatchObject({ status: 'succeeded', type: 'checksum', attempts: 1 });
    expect(worker.logs.some(isEvent('job.completed', { jobId: id }))).toBe(true);

    // Ten million rounds never finish within the 1 s job timeout: dead-lettered on the only receive allowed.
    const dead = await runOps(['run', 'checksum', '{"data":"ops","rounds":10000000}', '--stage', 'production', '--yes', '--json'], env);
    expect(dead.code, dead.stderr).toBe(1);
    expect(JSON.parse(dead.stdout)).toMatchObject({ type: 'checksum', status: 'dead-lettered', error: 'timed out after 1 s' });
  });
});
