// `npm run ops` as a real process against a local fake of every AWS API it calls
// (test/ops/fake-aws.ts): credentials from profiles, endpoints from AWS_ENDPOINT_URL_<SERVICE>.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emptyState, startFakeAws, type FakeAws } from './fake-aws';
import { LocalSigner } from '../../enforcement/attestation/index';
import { ATTESTATION_BUCKET, attestation, COMMITS, DLQ_URL, EXECUTIONS, healthyStage, opsEnv, pipelineHistory, profiles, runOps, SIGNING_KEY, SIGNING_KEY_ALIAS_ARN, signingKeyInKms, STACK } from './scenario';

let aws: FakeAws;
let env: Record<string, string>;

beforeAll(async () => {
  aws = await startFakeAws();
  env = opsEnv(aws);
});
beforeEach(() => {
  Object.assign(aws.state, emptyState());
  aws.calls.length = 0;
  healthyStage(aws.state);
  pipelineHistory(aws.state);
  signingKeyInKms(aws.state);
});
afterAll(async () => {
  await aws?.stop();
});

const operations = () => aws.calls.map((call) => call.operation);

describe('ops status', () => {
  it('shows every tier of a healthy stage and exits 0', async () => {
    const run = await runOps(['status', '--stage', 'production'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^production \(Production-Tiers, eu-west-1\): HEALTHY/);
    expect(run.stdout).toMatch(/ok {3}distribution E2QWRUHAPOMQZL Deployed at d111111abcdef8\.cloudfront\.net/);
    expect(run.stdout).toMatch(/ok {3}invalidation last I2J0I21PCUYOIK Completed/);
    expect(run.stdout).toMatch(/ok {3}tasks +desired 2, running 2, pending 0/);
    expect(run.stdout).toMatch(/ok {3}deployment +last release \(service revision 17\) completed \(CANARY\)/);
    expect(run.stdout).toMatch(/ok {3}targets +Produc-apiid-1A2B3C4D5E6F: 2 of 2 target\(s\) healthy/);
    expect(run.stdout).toMatch(/ok {3}protection +1 of 1 task\(s\) scale-in protected/);
    expect(run.stdout).toMatch(/ok {3}queue +3 visible, 4 in flight, oldest 12 s/);
    expect(run.stdout).toMatch(/ok {3}dead letters 0 in the DLQ/);
    expect(run.stdout).toMatch(/ok {3}snapshot +f0e1d2c3-rebuild: 1200 records, .* age 7 min ≤ budget 17 min/);
    expect(run.stdout).toMatch(/ok {3}in ALARM +none/);
    // It asked about exactly this stage's resources.
    const describeAlarms = aws.calls.find((c) => c.operation === 'cloudwatch:DescribeAlarms')!;
    expect(JSON.parse(describeAlarms.body)).toMatchObject({ StateValue: 'ALARM', AlarmNamePrefix: STACK });
  });

  it('exits 1 naming what is unhealthy: an unhealthy target, dead letters, an alarm, a stale snapshot', async () => {
    aws.state.targets[Object.keys(aws.state.targets)[0]][1] = { id: '10.0.2.41', state: 'unhealthy', reason: 'Target.FailedHealthChecks' };
    aws.state.queues[DLQ_URL].ApproximateNumberOfMessages = '2';
    aws.state.serviceDeployments[0] = { ...aws.state.serviceDeployments[0], status: 'IN_PROGRESS', lifecycleStage: 'BAKE_TIME' };
    aws.state.alarms = [{ AlarmName: `${STACK}-workersskbsaupDeadLetterAlarm-1X2Y3Z`, StateValue: 'ALARM', StateReason: 'Threshold Crossed: 1 datapoint [2.0] was greater than the threshold (0.0).', StateUpdatedTimestamp: Date.now() / 1000 - 600 }];
    aws.state.objects[`production-tiers-databucket-1q2w3e4r5t6y/snapshots/current.json`] = JSON.stringify({ v: 1, id: 'old', key: 'k', builtAt: new Date(Date.now() - 3 * 3600_000).toISOString(), recordCount: 10 });
    const run = await runOps(['status', '--stage', 'production', '--json'], env);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { healthy: boolean; tiers: { tier: string; lines: { what: string; ok: boolean; detail: string }[] }[] };
    expect(result.healthy).toBe(false);
    const bad = result.tiers.flatMap((t) => t.lines.filter((l) => !l.ok).map((l) => `${t.tier}/${l.what}: ${l.detail}`));
    // A deployment in progress is no problem of itself: its strategy and step are shown.
    expect(result.tiers.find((t) => t.tier === 'api')!.lines.find((l) => l.what === 'deployment')).toMatchObject({ ok: true, detail: expect.stringMatching(/^IN_PROGRESS \(CANARY\), step BAKE_TIME, started /) });
    expect(bad).toEqual([
      expect.stringMatching(/^api\/targets: Produc-apiid-1A2B3C4D5E6F: 1 of 2 target\(s\) not healthy: 10\.0\.2\.41:8080 unhealthy \(Target\.FailedHealthChecks\)/),
      'worker/dead letters: 2 in the DLQ: fix the cause, then `ops redrive`',
      expect.stringMatching(/^data\/snapshot: old: 10 records, .* age 3 h 00 min > budget 17 min/),
      expect.stringMatching(/^alarms\/in ALARM: Production-Tiers-workersskbsaupDeadLetterAlarm-1X2Y3Z since .*: Threshold Crossed/),
    ]);
  });

  it('a missing stage, missing credentials or a missing stack is one line and exit 1', async () => {
    const noStage = await runOps(['status'], env);
    expect([noStage.code, noStage.stderr]).toEqual([1, 'ops: no stage: pass --stage staging|production (or set OPS_STAGE)\n']);
    const wrongStage = await runOps(['status', '--stage', 'prod'], env);
    expect([wrongStage.code, wrongStage.stderr]).toEqual([1, 'ops: no stage "prod": the stages are staging, production\n']);

    const noProfile = await runOps(['status', '--stage', 'production'], { ...env, ...profiles(['pipeline']) });
    expect(noProfile.code).toBe(1);
    expect(noProfile.stderr).toMatch(/^ops: no credentials for the production account \(333333333333\): profile "stage": .*; pass --profile \(or OPS_PROFILE\)\n$/);
    const noPipelineProfile = await runOps(['releases'], { ...env, ...profiles(['stage']) });
    expect(noPipelineProfile.stderr).toMatch(/^ops: no credentials for the pipeline account \(111111111111\): profile "pipeline": .*; pass --pipeline-profile \(or OPS_PIPELINE_PROFILE\)\n$/);

    const noStack = await runOps(['status', '--stage', 'staging'], env);
    expect([noStack.code, noStack.stderr]).toEqual([1, 'ops: stack Staging-Tiers does not exist in the staging account (222222222222), region eu-west-1: is the stage deployed?\n']);
    expect(operations().every((op) => op === 'cloudformation:DescribeStacks')).toBe(true);
  });
});

describe('ops logs', () => {
  it('reads a tier log group since a time, for one task, with a filter; follows by polling a local endpoint until interrupted', async () => {
    const now = Date.now();
    const event = (n: number, task: string, message: string, ago: number) => ({ logGroupName: 'Production-Tiers-workersskbsaupLogs-EfGh', logStreamName: `worker/worker/${task}`, timestamp: now - ago, message, eventId: `e${n}` });
    aws.state.logEvents = [
      event(1, 'aaa111', '{"event":"job.completed","jobId":"j1"}', 120_000),
      event(2, 'bbb222', '{"event":"job.failed","jobId":"j2","reason":"timed out after 60 s"}', 60_000),
      event(3, 'aaa111', '{"event":"job.failed","jobId":"j3","reason":"NoSuchBucket"}', 30_000),
      event(4, 'aaa111', '{"event":"job.failed","jobId":"old"}', 3_600_000),
    ];
    const run = await runOps(['logs', 'worker', '--stage', 'production', '--since', '10m', '--task', 'aaa111', '--filter', 'job.failed'], env);
    const after = Date.now();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual([expect.stringMatching(/Z aaa111 \{"event":"job.failed","jobId":"j3","reason":"NoSuchBucket"\}$/)]);
    const request = JSON.parse(aws.calls.find((c) => c.operation === 'logs:FilterLogEvents')!.body) as { logGroupName: string; startTime: number; filterPattern: string };
    expect(request).toMatchObject({ logGroupName: 'Production-Tiers-workersskbsaupLogs-EfGh', filterPattern: '"job.failed"' });
    expect(request.startTime).toBeGreaterThanOrEqual(now - 600_000);
    expect(request.startTime).toBeLessThanOrEqual(after - 600_000);

    // --follow: a line written after the start appears; Ctrl-C ends it with exit 0.
    setTimeout(() => aws.state.logEvents.push(event(5, 'aaa111', '{"event":"job.failed","jobId":"j5"}', 0)), 300);
    const follow = await runOps(['logs', 'worker', '--stage', 'production', '--follow', '--filter', 'job.failed'], env, { untilStdout: /"j5"/ });
    expect(follow.code, follow.stderr).toBe(0);
    expect(follow.stdout).toMatch(/"j2"[\s\S]*"j3"[\s\S]*"j5"/);
    expect(follow.stdout.match(/"j3"/g)).toHaveLength(1);
    expect(follow.stderr).toMatch(/following Production-Tiers-workersskbsaupLogs-EfGh \(FilterLogEvents every 50 ms/);
  });

  it('refuses an unknown log source (exit 2)', async () => {
    const run = await runOps(['logs', 'database', '--stage', 'production'], env);
    expect([run.code, run.stderr]).toEqual([2, 'ops: logs: name the logs: api, worker, release-checks\n']);
  });
});

describe('ops redrive', () => {
  it('asks for --yes, then starts a message move task from the DLQ and follows it to COMPLETED', async () => {
    aws.state.queues[DLQ_URL].ApproximateNumberOfMessages = '3';
    const unconfirmed = await runOps(['redrive', '--stage', 'production'], env);
    expect(unconfirmed.code).toBe(3);
    expect(unconfirmed.stdout).toMatch(/^would move 3 dead-lettered message\(s\) from .*DeadLetters-GhIjKl back to .*Queue-AbCdEf \(SQS message move task\); the worker runs each job again\.\nnothing changed: add --yes to redrive\n$/);
    expect(operations()).not.toContain('sqs:StartMessageMoveTask');

    const run = await runOps(['redrive', '--stage', 'production', '--yes'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^redrive COMPLETED: 3 message\(s\) moved back to .*Queue-AbCdEf/);
    expect(run.stderr).toMatch(/started message move task for 3 message\(s\)[\s\S]*moved 1 of 3 \(RUNNING\)[\s\S]*moved 2 of 3/);
    const start = aws.calls.find((c) => c.operation === 'sqs:StartMessageMoveTask')!;
    // No DestinationArn: SQS returns each message to its source queue.
    expect(JSON.parse(start.body)).toEqual({ SourceArn: 'arn:aws:sqs:eu-west-1:333333333333:Production-Tiers-workersskbsaupDeadLetters-GhIjKl' });
  });

  it('an empty DLQ has nothing to redrive', async () => {
    const run = await runOps(['redrive', '--stage', 'production', '--yes'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^nothing to redrive: the DLQ .* is empty/);
  });
});

describe('ops run', () => {
  it('checks the payload against the job contract before anything is sent (exit 2, the field named)', async () => {
    const bad = await runOps(['run', 'checksum', '{"data":"x","rounds":"5"}', '--stage', 'production', '--yes'], env);
    expect([bad.code, bad.stderr]).toEqual([2, 'ops: run: payload.rounds must be integer (job types: checksum, rebuild-dataset)\n']);
    const unknown = await runOps(['run', 'reindex', '--stage', 'production', '--yes'], env);
    expect(unknown.stderr).toMatch(/^ops: run: type must be equal to one of the allowed values/);
    expect(operations().some((op) => op.startsWith('sqs:'))).toBe(false);
  });
});

describe('ops releases', () => {
  it('lists the executions with commit, times, stage outcomes and the rollback with its cause, then the delivery figures', async () => {
    const run = await runOps(['releases', '--last', '5'], env);
    expect(run.code, run.stderr).toBe(0);
    const text = run.stdout;
    expect(text).toMatch(/^5e5e5e5  Succeeded {2}.* execution 55555555-eeee-4eee-8eee-000000000005\n {9}Rank exact id matches first in search\n {9}Source Succeeded, Build Succeeded, UpdatePipeline Succeeded, Assets Succeeded, Staging Succeeded, Guardrail Succeeded, Production Succeeded/);
    expect(text).toMatch(/2b2b2b2  Succeeded  ROLLBACK .*execution 44444444-dddd-4ddd-8ddd-000000000004\n.*\n {9}Production Succeeded\n {9}rolled Production back to 2b2b2b2 \(execution 22222222-bbbb-4bbb-8bbb-000000000002\); automatic: Production failed in 3c3c3c3 \(execution 33333333-cccc-4ccc-8ccc-000000000003\): ProductionDeployChecks: FAIL {2}latency {2}p95 912 ms > budget 800 ms/);
    expect(text).toMatch(/3c3c3c3  Failed .*\n.*\n.*Production Failed\n {9}Production failed: ProductionDeployChecks: FAIL {2}latency/);
    expect(text).toMatch(/delivery over the last 30 days \(production\):\n {2}deployments {10}3 \(0\.1 a day\)\n {2}change failure rate {2}25 % \(1 failed or rolled back\)\n {2}lead time \(median\) {3}1 h 18 min from the commit's author date to production success\n {2}time to restore {6}13 min \(median\)/);
    expect(operations().filter((op) => op === 'codepipeline:ListActionExecutions')).toHaveLength(5);
  });

  it('--json gives the same releases and figures to scripts', async () => {
    const run = await runOps(['releases', '--json', '--last', '2'], env);
    const result = JSON.parse(run.stdout) as { releases: { executionId: string; commit: string; type: string }[]; figures: { deployments: number; changeFailureRate: number } };
    expect(result.releases.map((r) => [r.executionId, r.commit, r.type])).toEqual([
      [EXECUTIONS.e5, COMMITS.c5, 'STANDARD'],
      [EXECUTIONS.e4, COMMITS.c2, 'ROLLBACK'],
    ]);
    expect(result.figures).toMatchObject({ deployments: 3, changeFailures: 1, changeFailureRate: 0.25 });
  });
});

describe('ops rollback', () => {
  const releaseObject = (commit: string, executionId: string) => `${ATTESTATION_BUCKET}/releases/${commit}/${executionId}.dsse.json`;
  const validAttestation = async (commit: string, executionId: string, hours = 24) =>
    (aws.state.objects[releaseObject(commit, executionId)] = await attestation(commit, executionId, new Date(Date.now() + hours * 3600_000)));

  it('refuses a commit whose production execution failed', async () => {
    const run = await runOps(['rollback', '--to', '3c3c3c3'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`rollback REFUSED: commit 3c3c3c3 has no successful Production execution that is not itself a rollback (${EXECUTIONS.e3}: Production Failed)\n`);
    expect(operations()).not.toContain('codepipeline:RollbackStage');
  });

  it('refuses an execution started in an earlier pipeline structure version', async () => {
    const run = await runOps(['rollback', '--to', COMMITS.c1], env);
    expect(run.stdout).toBe(
      `rollback REFUSED: execution ${EXECUTIONS.e1} of 1a1a1a1 started in pipeline structure version 6, the pipeline is now at version 7: CodePipeline rolls back only to an execution started in the current pipeline structure version\n`,
    );
  });

  it('refuses a release whose guardrail attestation expired, is missing, or whose commit was revoked', async () => {
    aws.state.objects[releaseObject(COMMITS.c2, EXECUTIONS.e2)] = await attestation(COMMITS.c2, EXECUTIONS.e2, new Date(Date.now() - 3600_000));
    const expired = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(expired.code).toBe(1);
    expect(expired.stdout).toMatch(new RegExp(`^rollback REFUSED: 2b2b2b2 \\(execution ${EXECUTIONS.e2}\\): its guardrail attestation expired at 20`));
    await validAttestation(COMMITS.c2, EXECUTIONS.e2);
    aws.state.objects[`${ATTESTATION_BUCKET}/revoked/${COMMITS.c2}`] = 'revoked: leaked credentials in the image';
    const revoked = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(revoked.stdout).toBe(`rollback REFUSED: 2b2b2b2 (execution ${EXECUTIONS.e2}): commit ${COMMITS.c2} is revoked (s3://${ATTESTATION_BUCKET}/revoked/${COMMITS.c2})\n`);
    delete aws.state.objects[`${ATTESTATION_BUCKET}/releases/${COMMITS.c2}/${EXECUTIONS.e2}.dsse.json`];
    const missing = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(missing.stdout).toBe(`rollback REFUSED: 2b2b2b2 (execution ${EXECUTIONS.e2}): no guardrail attestation s3://${ATTESTATION_BUCKET}/releases/${COMMITS.c2}/${EXECUTIONS.e2}.dsse.json\n`);
    expect(operations()).not.toContain('codepipeline:RollbackStage');
  });

  it('refuses an attestation that is not signed by the guardrail key KMS holds, or that attests another release', async () => {
    // Signed by another key: the envelope's keyid is not the key behind the alias.
    aws.state.objects[releaseObject(COMMITS.c2, EXECUTIONS.e2)] = await attestation(COMMITS.c2, EXECUTIONS.e2, new Date(Date.now() + 3600_000), LocalSigner.generate('arn:aws:kms:eu-west-1:444444444444:key/attacker'));
    const forged = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/^rollback REFUSED: 2b2b2b2 \(execution [^)]+\): attestation s3:\/\/br-fagq2-attestations-333333333333-eu-west-1\/releases\/.* does not verify: signed by key arn:aws:kms:eu-west-1:444444444444:key\/attacker, which is not trusted/);
    // The same keyid, another private key: the signature does not verify.
    aws.state.objects[releaseObject(COMMITS.c2, EXECUTIONS.e2)] = await attestation(COMMITS.c2, EXECUTIONS.e2, new Date(Date.now() + 3600_000), LocalSigner.generate(SIGNING_KEY.keyId));
    expect((await runOps(['rollback', '--to', '2b2b2b2'], env)).stdout).toMatch(/does not verify: the signature by .* does not verify/);
    // A valid attestation of another release, copied under this one's key.
    aws.state.objects[releaseObject(COMMITS.c2, EXECUTIONS.e2)] = await attestation(COMMITS.c5, EXECUTIONS.e5, new Date(Date.now() + 3600_000));
    expect((await runOps(['rollback', '--to', '2b2b2b2'], env)).stdout).toMatch(new RegExp(`attests release ${COMMITS.c5} \\(execution ${EXECUTIONS.e5}\\), not this one`));
    // The key behind the alias is read with the production profile: GetPublicKey on the alias ARN.
    const getPublicKey = aws.calls.filter((c) => c.operation === 'kms:GetPublicKey');
    expect(getPublicKey.map((c) => JSON.parse(c.body))).toContainEqual({ KeyId: SIGNING_KEY_ALIAS_ARN });
    expect(SIGNING_KEY_ALIAS_ARN).toBe('arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k1');
    // A key KMS holds that is not P-256: nothing is trusted, the rollback fails.
    await validAttestation(COMMITS.c2, EXECUTIONS.e2);
    signingKeyInKms(aws.state, SIGNING_KEY, 'RSA_2048');
    const rsa = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(rsa.code).toBe(1);
    expect(rsa.stderr + rsa.stdout).toMatch(/is RSA_2048, not ECC_NIST_P256: not trusted/);
    expect(operations()).not.toContain('codepipeline:RollbackStage');
  });

  it('refuses the release production already runs', async () => {
    const run = await runOps(['rollback', '--to', '5e5e5e5'], env);
    expect(run.stdout).toMatch(/^rollback REFUSED: production already runs 5e5e5e5 \(execution 55555555-eeee-4eee-8eee-000000000005, /);
  });

  it('names what will change and asks for --yes; with it, calls RollbackStage on the target execution and waits for it', async () => {
    await validAttestation(COMMITS.c2, EXECUTIONS.e2);
    const plan = await runOps(['rollback', '--to', '2b2b2b2'], env);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      new RegExp(
        `^would roll the Production stage of br-fagq2 back to execution ${EXECUTIONS.e2}: production changes from 5e5e5e5 \\(Rank exact id matches first in search\\) to 2b2b2b2 \\(Raise worker concurrency to 4, released .*\\); CodePipeline re-runs the Production stage's actions with that execution's artifacts and variables \\(attestation valid until .*, signed by arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator, not revoked\\)\\.\\nnothing changed: add --yes to roll back\\n$`,
      ),
    );
    expect(operations()).not.toContain('codepipeline:RollbackStage');

    const run = await runOps(['rollback', '--to', '2b2b2b2', '--yes'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^rollback Succeeded: production runs 2b2b2b2 \(rollback execution ffffffff-0000-4000-8000-000000000009, /);
    const call = aws.calls.find((c) => c.operation === 'codepipeline:RollbackStage')!;
    expect(JSON.parse(call.body)).toEqual({ pipelineName: 'br-fagq2', stageName: 'Production', targetPipelineExecutionId: EXECUTIONS.e2 });
  });
});
