// The deploy checks' authenticated write, end to end on 127.0.0.1: `checks deploy` as a real process
// reads the client credentials from (a stand-in of) Secrets Manager, gets a token at a local OIDC
// issuer with the client-credentials grant, and posts its job through the local edge to the real
// API process, which verifies the token against the same issuer's keys; the real worker runs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEdgeProxy, type EdgeProxy } from '../../services/edge/proxy';
import { isEvent, startApi, startSqsEmulator, startWorker, stopAllServices, type ServiceProcess, type SqsEmulator } from '../services/helpers';
import { startFakeAws, type FakeAws } from './fake-aws';
import { startLocalIssuer, type LocalIssuer } from './local-issuer';
import { runChecksCli } from './run-cli';

const AUDIENCE = 'br-fagq2-api';
const SECRET_ID = 'br-fagq2-staging/deploy-checks/oidc-client';
const CLIENT = { clientId: 'deploy-checks', clientSecret: 'local-client-secret' };

let aws: FakeAws;
let issuer: LocalIssuer;
let emulator: SqsEmulator;
let edge: EdgeProxy;
let worker: ServiceProcess;
let stackEnv: Record<string, string>;
let queueUrl: string;

beforeAll(async () => {
  aws = await startFakeAws();
  issuer = await startLocalIssuer(CLIENT);
  emulator = await startSqsEmulator();
  const queues = await emulator.createQueueWithDlq('authenticated-write');
  queueUrl = queues.queueUrl;
  const { baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl, OIDC_ISSUER: issuer.url, OIDC_AUDIENCE: AUDIENCE });
  worker = await startWorker(emulator, { QUEUE_URL: queueUrl, DLQ_URL: queues.dlqUrl, RECEIVE_WAIT_SECONDS: '1' });
  edge = await startEdgeProxy({ origin: baseUrl });
  stackEnv = {
    ...emulator.sdkEnv,
    ...aws.sdkEnv,
    EDGE_URL: edge.url,
    QUEUE_URL: queueUrl,
    DLQ_URL: queues.dlqUrl,
    EXPECTED_VERSION: 'test-1.2.3',
    LATENCY_REQUESTS: '5',
    LATENCY_BUDGET_MS: '5000',
    JOB_BUDGET_SECONDS: '30',
    // What the pipeline's deploy-checks step sets (lib/release-steps.ts).
    OIDC_CLIENT_SECRET_ID: SECRET_ID,
    OIDC_ISSUER: issuer.url,
    OIDC_AUDIENCE: AUDIENCE,
  };
});

afterAll(async () => {
  await stopAllServices();
  await edge?.stop();
  await emulator?.stop();
  await issuer?.stop();
  await aws?.stop();
});

describe('the deploy checks write with a token of the stage issuer', () => {
  it('posts the job through the edge with a client-credentials token after an anonymous write got 401, and the worker runs it', async () => {
    aws.state.secrets[SECRET_ID] = JSON.stringify({ ...CLIENT, scope: 'jobs:write' });
    const run = await runChecksCli(['deploy'], stackEnv);

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.line('jobs')).toMatch(/^PASS .*job [\w-]+ posted with a token of the issuer \(anonymous POST refused with 401\); queue empty after/);
    const jobId = /job ([\w-]+) posted/.exec(run.line('jobs') ?? '')?.[1];
    expect(worker.logs.some(isEvent('job.completed', { jobId }))).toBe(true);
    expect(JSON.parse(aws.calls.find((c) => c.operation === 'secretsmanager:GetSecretValue')!.body)).toEqual({ SecretId: SECRET_ID });
    expect(issuer.tokenRequests.at(-1)).toEqual({ clientId: 'deploy-checks', form: { grant_type: 'client_credentials', audience: AUDIENCE, scope: 'jobs:write' } });
    // Neither the token nor the client secret is printed.
    expect(run.stdout + run.stderr).not.toMatch(/eyJ|local-client-secret/);
  });

  it('fails the jobs check, naming the token endpoint\'s answer, when the issuer refuses the client', async () => {
    aws.state.secrets[SECRET_ID] = JSON.stringify({ ...CLIENT, clientSecret: 'rotated-away' });
    const run = await runChecksCli(['deploy'], stackEnv);

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('jobs')).toMatch(/^FAIL .*no token for the authenticated write: POST http:\/\/127\.0\.0\.1:\d+\/oauth\/token \(client credentials of deploy-checks\) → 401/);
    expect(run.stdout + run.stderr).not.toContain('rotated-away');
  });

  it('fails the jobs check when the secret does not exist in the stage account', async () => {
    delete aws.state.secrets[SECRET_ID];
    const run = await runChecksCli(['deploy'], stackEnv);

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('jobs')).toMatch(/^FAIL .*no token for the authenticated write: Secrets Manager can't find the specified secret/);
  });

  it('fails with the 503 users would get when the API cannot reach its issuer (defect 3: no route out)', async () => {
    aws.state.secrets[SECRET_ID] = JSON.stringify(CLIENT);
    // An API whose issuer is unreachable from where it runs; the checks still get a valid token.
    const { baseUrl } = await startApi(emulator, { QUEUE_URL: queueUrl, OIDC_ISSUER: 'http://127.0.0.1:9', OIDC_AUDIENCE: AUDIENCE });
    const run = await runChecksCli(['deploy'], { ...stackEnv, EDGE_URL: baseUrl, JOB_BUDGET_SECONDS: '2' });

    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.line('jobs')).toMatch(/^FAIL .*POST http:\/\/127\.0\.0\.1:\d+\/v1\/jobs with a token of the issuer → 503, expected 202/);
  });
});
