// Delivery metrics (issue 21): the construct in the pipeline stack, the figures computed from
// recorded-shape CodePipeline data, and the function's handler against a local fake of the
// CodePipeline and CloudWatch APIs.
//
// The stage event below has the shape of "CodePipeline Stage Execution State Change" in the
// CodePipeline User Guide, "Monitoring CodePipeline events"
// (https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html);
// the executions and actions those of ListPipelineExecutions / ListActionExecutions (CodePipeline
// API Reference, PipelineExecutionSummary, ActionExecutionDetail), with CodeConnections' source
// output variables (CommitId, CommitMessage, AuthorDate, BranchName, FullRepositoryName).
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryFigures } from '../pipeline/delivery-metrics/figures';
import { datumsForEvent, handleEvent, METRIC_NAMESPACE, type StageEvent } from '../pipeline/delivery-metrics/handler';
import { toRelease, type Release } from '../pipeline/delivery-metrics/releases';
import { emptyState, startFakeAws, type FakeAws } from './ops/fake-aws';
import { EXECUTIONS, pipelineHistory } from './ops/scenario';
import { pipelineTemplate } from './support/app';

const NOW = Date.parse('2026-12-03T12:00:00Z') / 1000;

/** The recorded-shape history as the SDK hands it over (dates as Date). */
function history(): Release[] {
  const state = emptyState();
  pipelineHistory(state, NOW);
  const dates = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(dates);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /Time$/.test(k) && typeof v === 'number' ? new Date(v * 1000) : dates(v)]));
    return value;
  };
  return state.executions.map((summary) => toRelease(dates(summary) as never, dates(state.actions[summary.pipelineExecutionId as string] ?? []) as never));
}

function stageEvent(executionId: string, state: string, time: string, stage = 'Production'): StageEvent {
  return {
    version: '0',
    id: '01234567-0123-0123-0123-012345678901',
    'detail-type': 'CodePipeline Stage Execution State Change',
    source: 'aws.codepipeline',
    account: '111111111111',
    time,
    region: 'eu-west-1',
    resources: ['arn:aws:codepipeline:eu-west-1:111111111111:br-fagq2'],
    detail: { pipeline: 'br-fagq2', 'execution-id': executionId, 'start-time': time, stage, state, version: 7, 'pipeline-execution-attempt': 1 },
  } as StageEvent;
}

const endOfProduction = (release: Release) => release.stages.find((s) => s.name === 'Production')!.end!.toISOString();

describe('delivery figures from the pipeline history', () => {
  const releases = history();
  const byId = (id: string) => releases.find((r) => r.executionId === id)!;

  it('reads the commit, its author date (the lead time start) and each stage outcome from the recorded shapes', () => {
    const e5 = byId(EXECUTIONS.e5);
    expect(e5).toMatchObject({ commit: '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e', commitMessage: 'Rank exact id matches first in search', type: 'STANDARD', trigger: 'WebhookV2' });
    expect(e5.commitTime?.toISOString()).toBe(new Date((NOW - 5 * 3600 - 1800) * 1000).toISOString());
    const e4 = byId(EXECUTIONS.e4);
    // A stage rollback runs no Source action: the commit comes from the execution's source revisions.
    expect(e4).toMatchObject({ type: 'ROLLBACK', trigger: 'AutomatedRollback', rollbackTarget: EXECUTIONS.e2, commit: '2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b', commitMessage: 'Raise worker concurrency to 4' });
    expect(byId(EXECUTIONS.e3).stages.find((s) => s.name === 'Production')).toMatchObject({ status: 'Failed', failure: 'ProductionDeployChecks: FAIL  latency  p95 912 ms > budget 800 ms' });
  });

  it('a production success of a commit: one deployment and its lead time (author date → end of Production)', () => {
    const e5 = byId(EXECUTIONS.e5);
    const data = datumsForEvent(stageEvent(EXECUTIONS.e5, 'SUCCEEDED', endOfProduction(e5)), releases);
    expect(data.map((d) => [d.name, d.value, d.unit])).toEqual([
      ['Deployments', 1, 'Count'],
      ['LeadTimeSeconds', 1800 + 2900, 'Seconds'],
    ]);
  });

  it('a failed production stage: a change failure; the rollback that follows: the time to restore, no deployment', () => {
    const e3 = byId(EXECUTIONS.e3);
    expect(datumsForEvent(stageEvent(EXECUTIONS.e3, 'FAILED', endOfProduction(e3)), releases).map((d) => [d.name, d.value])).toEqual([['ChangeFailures', 1]]);
    const e4 = byId(EXECUTIONS.e4);
    // Failed at t3 + 2950, restored at t4 + 700 = t3 + 3700.
    expect(datumsForEvent(stageEvent(EXECUTIONS.e4, 'SUCCEEDED', endOfProduction(e4)), releases).map((d) => [d.name, d.value])).toEqual([['TimeToRestoreSeconds', 750]]);
  });

  it('takes the outcome and its time from the event when the API does not show the stage ended yet', () => {
    const inProgress = releases.map((r) => (r.executionId === EXECUTIONS.e5 ? { ...r, status: 'InProgress', stages: r.stages.map((s) => (s.name === 'Production' ? { name: s.name, status: 'InProgress' } : s)) } : r));
    const at = new Date((NOW - 5 * 3600 + 3000) * 1000).toISOString();
    expect(datumsForEvent(stageEvent(EXECUTIONS.e5, 'SUCCEEDED', at), inProgress).find((d) => d.name === 'LeadTimeSeconds')?.value).toBe(1800 + 3000);
  });

  it('ignores other stages and non-final states', () => {
    expect(datumsForEvent(stageEvent(EXECUTIONS.e5, 'SUCCEEDED', '2026-12-03T07:00:00Z', 'Staging'), releases)).toEqual([]);
    expect(datumsForEvent(stageEvent(EXECUTIONS.e5, 'STARTED', '2026-12-03T07:00:00Z'), releases)).toEqual([]);
  });

  it('a manual rollback counts as a change failure of the release it replaced, restored when it succeeds', () => {
    const start = new Date((NOW - 3600) * 1000);
    const end = new Date((NOW - 3000) * 1000);
    const manual: Release = { executionId: 'manual-1', status: 'Succeeded', type: 'ROLLBACK', trigger: 'ManualRollback', rollbackTarget: EXECUTIONS.e2, start, end, stages: [{ name: 'Production', status: 'Succeeded', end }] };
    expect(datumsForEvent(stageEvent('manual-1', 'SUCCEEDED', end.toISOString()), [manual, ...releases]).map((d) => [d.name, d.value])).toEqual([
      ['ChangeFailures', 1],
      ['TimeToRestoreSeconds', 600],
    ]);
  });

  it('over a window: deployment frequency, change failure rate, median lead time and time to restore', () => {
    expect(deliveryFigures(releases, new Date(NOW * 1000), 30)).toEqual({
      windowDays: 30,
      deployments: 3,
      deploymentsPerDay: 0.1,
      changeFailures: 1,
      changeFailureRate: 0.25,
      leadTimeMedianSeconds: 4700,
      restoreMedianSeconds: 750,
    });
    // A window that holds only the newest release.
    expect(deliveryFigures(releases, new Date(NOW * 1000), 0.25)).toMatchObject({ deployments: 1, changeFailures: 0, leadTimeMedianSeconds: 4700 });
  });
});

describe('the delivery-metrics function', () => {
  let aws: FakeAws;
  beforeAll(async () => {
    aws = await startFakeAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('reads the history from CodePipeline and publishes the datums under the pipeline dimension', async () => {
    pipelineHistory(aws.state, NOW);
    const config = { region: 'eu-west-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const clients = { codePipeline: new CodePipelineClient({ ...config, endpoint: aws.url }), cloudWatch: new CloudWatchClient({ ...config, endpoint: aws.url }) };
    const e5End = new Date((NOW - 5 * 3600 + 2900) * 1000).toISOString();
    await handleEvent(stageEvent(EXECUTIONS.e5, 'SUCCEEDED', e5End), clients);
    expect(aws.state.putMetricData).toHaveLength(1);
    const put = aws.state.putMetricData[0] as { Namespace: string; MetricData: { MetricName: string; Value: number; Unit: string; Dimensions: unknown; Timestamp: number }[] };
    expect(put.Namespace).toBe(METRIC_NAMESPACE);
    expect(put.MetricData.map((d) => [d.MetricName, d.Value, d.Unit, d.Dimensions])).toEqual([
      ['Deployments', 1, 'Count', [{ Name: 'Pipeline', Value: 'br-fagq2' }]],
      ['LeadTimeSeconds', 4700, 'Seconds', [{ Name: 'Pipeline', Value: 'br-fagq2' }]],
    ]);
    expect(new Date(put.MetricData[0].Timestamp * 1000).toISOString()).toBe(e5End);
    clients.codePipeline.destroy();
    clients.cloudWatch.destroy();
  });
});

describe('the DeliveryMetrics construct in the pipeline stack', () => {
  let template: Template;
  beforeAll(() => {
    template = pipelineTemplate();
  });

  it('an EventBridge rule on the Production stage outcomes of this pipeline invokes the function', () => {
    const rules = template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': ['CodePipeline Stage Execution State Change'] } } });
    expect(Object.keys(rules)).toHaveLength(1);
    const [rule] = Object.values(rules);
    expect(rule.Properties.EventPattern).toMatchObject({ source: ['aws.codepipeline'], detail: { stage: ['Production'], state: ['SUCCEEDED', 'FAILED'] } });
    expect(JSON.stringify(rule.Properties.EventPattern.resources)).toMatch(/Pipeline9850B417/);
    const [fnId] = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Delivery metrics') } }));
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 } })]);
  });

  it('the function may read the pipeline history and put metrics in its namespace only', () => {
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^Delivery metrics') } }));
    expect(fn.Properties.Runtime).toMatch(/^nodejs\d+\.x$/);
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }));
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
    expect(statements.find((s) => s.Action === 'cloudwatch:PutMetricData')).toMatchObject({ Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'br-fagq2/Delivery' } } });
    expect(statements.find((s) => Array.isArray(s.Action) && s.Action.includes('codepipeline:ListActionExecutions'))?.Action).toEqual(['codepipeline:ListActionExecutions', 'codepipeline:ListPipelineExecutions']);
    expect(statements.flatMap((s) => [s.Action].flat())).not.toContain('codepipeline:*');
  });

  it('a dashboard shows the four metrics, the change failure rate as metric math', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard', { Properties: { DashboardName: 'br-fagq2-delivery' } }));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const name of ['Deployments', 'ChangeFailures', 'LeadTimeSeconds', 'TimeToRestoreSeconds']) expect(body).toContain(name);
    expect(body).toContain('IF(d + f > 0, 100 * f / (d + f), 0)');
  });
});
