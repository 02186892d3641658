// A production stage and a pipeline history as the fake AWS serves them, for the ops tests and the
// transcripts in docs/operations.md: the shapes are those of the CodePipeline, ECS, ELBv2, SQS,
// CloudWatch, CloudFront and S3 APIs (dates in epoch seconds on the JSON wire).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { buildStatement, LocalSigner, serializeEnvelope, signEnvelope } from '../../enforcement/attestation/index';
import { attestationBucketName, signingKeyAlias } from '../../lib/enforcement-names';
import { REPO_ROOT } from '../services/helpers';
import type { FakeAws, FakeAwsState } from './fake-aws';

export const STACK = 'Production-Tiers';
const CLUSTER = 'Production-Tiers-ClusterEB0386A7-Xq3sVn2Kk1Lm';
const API_TG = 'arn:aws:elasticloadbalancing:eu-west-1:333333333333:targetgroup/Produc-apiid-1A2B3C4D5E6F/73e2d6bc24d8a067';
const API_TG_ALT = 'arn:aws:elasticloadbalancing:eu-west-1:333333333333:targetgroup/Produc-apiid-6F5E4D3C2B1A/9c1f2e3d4b5a6978';
export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/333333333333/Production-Tiers-workersskbsaupQueue-AbCdEf';
export const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/333333333333/Production-Tiers-workersskbsaupDeadLetters-GhIjKl';
export const DATA_BUCKET = 'production-tiers-databucket-1q2w3e4r5t6y';
/** The enforcement's attestation bucket in production (lib/enforcement-names.ts). */
export const ATTESTATION_BUCKET = attestationBucketName('333333333333', 'eu-west-1');
/** The guardrail's signing key (cdk.json enforcement.signingKeys: k1), as KMS holds it behind its alias. */
export const SIGNING_KEY = LocalSigner.generate('arn:aws:kms:eu-west-1:333333333333:key/0f0e0d0c-0b0a-4908-8706-050403020100');
export const SIGNING_KEY_ALIAS_ARN = `arn:aws:kms:eu-west-1:333333333333:${signingKeyAlias('k1')}`;

/** The production account's KMS: the signing key behind its alias (GetPublicKey's answer). */
export function signingKeyInKms(state: FakeAwsState, key = SIGNING_KEY, spec = 'ECC_NIST_P256'): void {
  state.kmsKeys[SIGNING_KEY_ALIAS_ARN] = {
    KeyId: key.keyId,
    PublicKey: createPublicKey(key.publicKeyPem).export({ type: 'spki', format: 'der' }).toString('base64'),
    KeySpec: spec,
    KeyUsage: 'SIGN_VERIFY',
  };
}

export const COMMITS = {
  c1: '1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a',
  c2: '2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b',
  c3: '3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c',
  c5: '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e',
};
export const EXECUTIONS = {
  e1: '11111111-aaaa-4aaa-8aaa-000000000001',
  e2: '22222222-bbbb-4bbb-8bbb-000000000002',
  e3: '33333333-cccc-4ccc-8ccc-000000000003',
  e4: '44444444-dddd-4ddd-8ddd-000000000004',
  e5: '55555555-eeee-4eee-8eee-000000000005',
};

const HOUR = 3600;

/** A healthy production stage. */
export function healthyStage(state: FakeAwsState, now = Date.now() / 1000): void {
  state.stacks[STACK] = {
    EdgeUrl: 'https://d111111abcdef8.cloudfront.net',
    DistributionId: 'E2QWRUHAPOMQZL',
    QueueUrl: QUEUE_URL,
    DeadLetterQueueUrl: DLQ_URL,
    ClusterName: CLUSTER,
    ApiServiceName: 'api-id6pe9zboa',
    WorkerServiceName: 'worker-sskbsaup',
    ApiTargetGroupArn: API_TG,
    ApiAlternateTargetGroupArn: API_TG_ALT,
    DataBucketName: DATA_BUCKET,
    JobsTableName: 'Production-Tiers-JobsTable1970BC16-1ABCDEF',
    SnapshotAgeBudgetSeconds: '990',
    ApiLogGroupName: 'Production-Tiers-apiid6pe9zboaLogs-AbCd',
    WorkerLogGroupName: 'Production-Tiers-workersskbsaupLogs-EfGh',
    ReleaseChecksLogGroupName: 'Production-Tiers-apiid6pe9zboaReleaseChecksLogs-IjKl',
  };
  const deployment = (id: string) => [{ id, status: 'PRIMARY', rolloutState: 'COMPLETED', createdAt: now - 5 * HOUR, desiredCount: 2, runningCount: 2 }];
  state.services['api-id6pe9zboa'] = { serviceName: 'api-id6pe9zboa', status: 'ACTIVE', desiredCount: 2, runningCount: 2, pendingCount: 0, deployments: deployment('ecs-svc/9012') };
  state.services['worker-sskbsaup'] = { serviceName: 'worker-sskbsaup', status: 'ACTIVE', desiredCount: 1, runningCount: 1, pendingCount: 0, deployments: deployment('ecs-svc/3456') };
  state.serviceDeployments = [
    {
      serviceDeploymentArn: `arn:aws:ecs:eu-west-1:333333333333:service-deployment/${CLUSTER}/api-id6pe9zboa/dep5`,
      status: 'SUCCESSFUL',
      deploymentConfiguration: { strategy: 'CANARY' },
      targetServiceRevision: { arn: `arn:aws:ecs:eu-west-1:333333333333:service-revision/${CLUSTER}/api-id6pe9zboa/17` },
      startedAt: now - 5 * HOUR,
      finishedAt: now - 5 * HOUR + 600,
    },
  ];
  state.tasks = [{ taskArn: `arn:aws:ecs:eu-west-1:333333333333:task/${CLUSTER}/4c1e2f9a0b7d4e3f8a6b5c4d3e2f1a0b`, protectionEnabled: true }];
  state.targets[API_TG] = [
    { id: '10.0.1.23', state: 'healthy' },
    { id: '10.0.2.41', state: 'healthy' },
  ];
  state.targets[API_TG_ALT] = [];
  state.invalidations = [{ id: 'I2J0I21PCUYOIK', status: 'Completed', createTime: new Date((now - 5 * HOUR + 900) * 1000).toISOString() }];
  state.queues[QUEUE_URL] = { QueueArn: 'arn:aws:sqs:eu-west-1:333333333333:Production-Tiers-workersskbsaupQueue-AbCdEf', ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '4' };
  state.queues[DLQ_URL] = { QueueArn: 'arn:aws:sqs:eu-west-1:333333333333:Production-Tiers-workersskbsaupDeadLetters-GhIjKl', ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' };
  state.oldestMessageAgeSeconds = 12;
  const builtAt = new Date((now - 420) * 1000).toISOString();
  state.objects[`${DATA_BUCKET}/snapshots/current.json`] = JSON.stringify({ v: 1, id: 'f0e1d2c3-rebuild', key: 'snapshots/built/f0e1d2c3-rebuild.json', builtAt, recordCount: 1200 });
}

const source = (commit: string, message: string, authoredAt: number) => ({
  stageName: 'Source',
  actionName: 'example_br-fagq2',
  status: 'Succeeded',
  startTime: authoredAt + 60,
  lastUpdateTime: authoredAt + 65,
  input: { actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeStarSourceConnection', version: '1' } },
  output: { outputVariables: { CommitId: commit, CommitMessage: message, AuthorDate: new Date(authoredAt * 1000).toISOString(), BranchName: 'main', FullRepositoryName: 'example/br-fagq2' } },
});
const action = (stageName: string, actionName: string, status: string, start: number, end: number, summary?: string) => ({
  stageName,
  actionName,
  status,
  startTime: start,
  lastUpdateTime: end,
  ...(summary && { output: { executionResult: { externalExecutionSummary: summary } } }),
});
/** The stages before production, all passing; times from `t`. */
const upToGuardrail = (t: number) => [
  action('Build', 'Synth', 'Succeeded', t, t + 600),
  action('UpdatePipeline', 'SelfMutate', 'Succeeded', t + 600, t + 720),
  action('Assets', 'DockerAsset1', 'Succeeded', t + 720, t + 1000),
  action('Staging', 'Tiers.Deploy', 'Succeeded', t + 1000, t + 1600),
  action('Staging', 'StagingDeployChecks', 'Succeeded', t + 1600, t + 1900),
  action('Guardrail', 'GuardrailValidation', 'Succeeded', t + 1900, t + 2100),
];
const revisions = (commit: string, message: string) => [{ actionName: 'example_br-fagq2', revisionId: commit, revisionSummary: JSON.stringify({ ProviderType: 'GitHub', CommitMessage: message }) }];

/**
 * Five executions, newest first: e5 (c5) released; e4 an automatic rollback to e2 after e3 (c3)
 * failed its production deploy checks; e2 (c2) released; e1 (c1) released under the previous
 * pipeline structure version.
 */
export function pipelineHistory(state: FakeAwsState, now = Date.now() / 1000): void {
  const t1 = now - 50 * HOUR;
  const t2 = now - 26 * HOUR;
  const t3 = now - 8 * HOUR;
  const t4 = t3 + 3000;
  const t5 = now - 5 * HOUR;
  state.pipeline.version = 7;
  state.executionVersions = { [EXECUTIONS.e1]: 6 };
  const summary = (id: string, status: string, start: number, end: number, commit: string, message: string, extra: Record<string, unknown> = {}) => ({
    pipelineExecutionId: id,
    status,
    startTime: start,
    lastUpdateTime: end,
    sourceRevisions: revisions(commit, message),
    trigger: { triggerType: 'WebhookV2', triggerDetail: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/00000000-0000-0000-0000-000000000000' },
    executionMode: 'SUPERSEDED',
    executionType: 'STANDARD',
    ...extra,
  });
  state.executions = [
    summary(EXECUTIONS.e5, 'Succeeded', t5, t5 + 2900, COMMITS.c5, 'Rank exact id matches first in search'),
    summary(EXECUTIONS.e4, 'Succeeded', t4, t4 + 700, COMMITS.c2, 'Raise worker concurrency to 4', {
      trigger: { triggerType: 'AutomatedRollback', triggerDetail: `{"FailedPipelineExecutionId":"${EXECUTIONS.e3}"}` },
      executionType: 'ROLLBACK',
      rollbackMetadata: { rollbackTargetPipelineExecutionId: EXECUTIONS.e2 },
    }),
    summary(EXECUTIONS.e3, 'Failed', t3, t3 + 2950, COMMITS.c3, 'Add a tags filter to search'),
    summary(EXECUTIONS.e2, 'Succeeded', t2, t2 + 2800, COMMITS.c2, 'Raise worker concurrency to 4'),
    summary(EXECUTIONS.e1, 'Succeeded', t1, t1 + 2700, COMMITS.c1, 'Cache /v1/version at the edge'),
  ];
  state.actions = {
    [EXECUTIONS.e5]: [source(COMMITS.c5, 'Rank exact id matches first in search', t5 - 1800), ...upToGuardrail(t5), action('Production', 'Tiers.Deploy', 'Succeeded', t5 + 2100, t5 + 2600), action('Production', 'ProductionDeployChecks', 'Succeeded', t5 + 2600, t5 + 2900)],
    [EXECUTIONS.e4]: [action('Production', 'Tiers.Deploy', 'Succeeded', t4, t4 + 500), action('Production', 'ProductionDeployChecks', 'Succeeded', t4 + 500, t4 + 700)],
    [EXECUTIONS.e3]: [
      source(COMMITS.c3, 'Add a tags filter to search', t3 - 3600),
      ...upToGuardrail(t3),
      action('Production', 'Tiers.Deploy', 'Succeeded', t3 + 2100, t3 + 2600),
      action('Production', 'ProductionDeployChecks', 'Failed', t3 + 2600, t3 + 2950, 'FAIL  latency  p95 912 ms > budget 800 ms'),
    ],
    [EXECUTIONS.e2]: [source(COMMITS.c2, 'Raise worker concurrency to 4', t2 - 7200), ...upToGuardrail(t2), action('Production', 'Tiers.Deploy', 'Succeeded', t2 + 2100, t2 + 2500), action('Production', 'ProductionDeployChecks', 'Succeeded', t2 + 2500, t2 + 2800)],
    [EXECUTIONS.e1]: [source(COMMITS.c1, 'Cache /v1/version at the edge', t1 - 900), ...upToGuardrail(t1), action('Production', 'Tiers.Deploy', 'Succeeded', t1 + 2100, t1 + 2400), action('Production', 'ProductionDeployChecks', 'Succeeded', t1 + 2400, t1 + 2700)],
  };
}

/** The guardrail's DSSE envelope for a release (as the validator signs it), expiring at `expiresAt`. */
export async function attestation(commit: string, executionId: string, expiresAt: Date, signer = SIGNING_KEY): Promise<string> {
  const statement = buildStatement({
    templates: [{ account: '333333333333', region: 'eu-west-1', stackName: STACK, body: '{"Resources":{}}' }],
    images: [],
    release: { commit, executionId },
    verifierId: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator',
    checks: [{ name: 'template-parity', status: 'PASS', detail: 'equal' }],
    timeVerified: new Date(expiresAt.getTime() - 86_400_000),
    validityDays: 1,
  });
  return serializeEnvelope(await signEnvelope(statement, signer));
}

/** A credentials file with the two profiles `ops` is given; the SDK reads no other. */
export function profiles(names: readonly string[] = ['stage', 'pipeline']): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'ops-profiles-'));
  const credentials = join(dir, 'credentials');
  writeFileSync(credentials, names.map((name) => `[${name}]\naws_access_key_id = local\naws_secret_access_key = local\n`).join('\n'));
  writeFileSync(join(dir, 'config'), '');
  return { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, 'config'), AWS_EC2_METADATA_DISABLED: 'true' };
}

export interface OpsRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run ops -- ...` as one node process (`node pipeline/ops/cli.ts`), with only the given environment. */
export function runOps(args: readonly string[], env: Record<string, string>, options: { untilStdout?: RegExp } = {}): Promise<OpsRun> {
  const child = spawn(process.execPath, [join('pipeline', 'ops', 'cli.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', OPS_POLL_MS: '50', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    // A follow runs until interrupted, as Ctrl-C does.
    if (options.untilStdout?.test(stdout)) child.kill('SIGINT');
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      // Nothing hides Node's warnings (no NODE_NO_WARNINGS): one that appears fails the run here.
      if (NODE_WARNING.test(stderr)) reject(new Error(`ops printed a Node warning: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** How Node prints a process warning on stderr: `(node:1234) ExperimentalWarning: ...`. */
const NODE_WARNING = /\(node:\d+\) \w*Warning:/;

export function opsEnv(aws: FakeAws, extra: Record<string, string> = {}): Record<string, string> {
  return { ...aws.endpoints, ...profiles(), OPS_PROFILE: 'stage', OPS_PIPELINE_PROFILE: 'pipeline', ...extra };
}
