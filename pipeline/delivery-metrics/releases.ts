// The pipeline's history as releases: one per execution, with its commit, start and end, the
// outcome of each stage and, for a rollback, what it rolled back to. Read from the CodePipeline
// API (ListPipelineExecutions, ListActionExecutions); `ops releases`, `ops rollback` and the
// delivery-metrics function share it.
//
// API shapes: CodePipeline API Reference, "PipelineExecutionSummary" (executionType STANDARD |
// ROLLBACK, rollbackMetadata.rollbackTargetPipelineExecutionId, sourceRevisions, trigger), "ExecutionTrigger"
// (triggerType ... ManualRollback | AutomatedRollback) and "ActionExecutionDetail"
// (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PipelineExecutionSummary.html).
import {
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  type ActionExecutionDetail,
  type CodePipelineClient,
  type PipelineExecutionSummary,
} from '@aws-sdk/client-codepipeline';

/** The stage whose outcome is a release's outcome. */
export const PRODUCTION_STAGE = 'Production';

export interface StageOutcome {
  readonly name: string;
  /** Succeeded | Failed | InProgress | Abandoned | ... (the worst of its actions') */
  readonly status: string;
  readonly end?: Date;
  /** The first failed action and what it said. */
  readonly failure?: string;
}

export interface Release {
  readonly executionId: string;
  /** The pipeline execution's status (Succeeded, Failed, InProgress, Superseded, Stopped, ...). */
  readonly status: string;
  readonly type: 'STANDARD' | 'ROLLBACK';
  /** What started it: Webhook / WebhookV2 (a push), StartPipelineExecution, AutomatedRollback, ManualRollback, ... */
  readonly trigger?: string;
  readonly triggerDetail?: string;
  /** A rollback's target execution. */
  readonly rollbackTarget?: string;
  readonly commit?: string;
  readonly commitMessage?: string;
  /**
   * The commit's time as the source gives it: the CodeConnections source action's `AuthorDate`
   * output variable (the commit's author date; the source gives no committer date).
   */
  readonly commitTime?: Date;
  readonly start?: Date;
  readonly end?: Date;
  readonly stages: readonly StageOutcome[];
}

/** The production stage's outcome of a release, if it reached production. */
export function production(release: Release): StageOutcome | undefined {
  return release.stages.find((stage) => stage.name === PRODUCTION_STAGE);
}

/**
 * The newest `limit` executions of the pipeline, newest first, with their actions. One
 * ListActionExecutions per execution (filtered on it): the actions carry the stage outcomes and
 * the source's output variables.
 */
export async function readReleases(client: CodePipelineClient, pipelineName: string, limit: number): Promise<Release[]> {
  const summaries: PipelineExecutionSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: Math.min(100, limit), nextToken }));
    summaries.push(...(page.pipelineExecutionSummaries ?? []));
    nextToken = page.nextToken;
  } while (nextToken && summaries.length < limit);
  const releases: Release[] = [];
  for (const summary of summaries.slice(0, limit)) {
    const actions: ActionExecutionDetail[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: summary.pipelineExecutionId }, maxResults: 100, nextToken: token }),
      );
      actions.push(...(page.actionExecutionDetails ?? []));
      token = page.nextToken;
    } while (token);
    releases.push(toRelease(summary, actions));
  }
  return releases;
}

/** One release from its execution summary and action executions (pure: tested on recorded shapes). */
export function toRelease(summary: PipelineExecutionSummary, actions: readonly ActionExecutionDetail[]): Release {
  const source = actions.find((action) => action.stageName === 'Source');
  const variables = source?.output?.outputVariables ?? {};
  const revision = summary.sourceRevisions?.[0];
  const commitTime = variables.AuthorDate ? new Date(variables.AuthorDate) : undefined;
  const stageNames = [...new Set(actions.map((action) => action.stageName ?? ''))];
  const stages = stageNames.map((name) => stageOutcome(name, actions.filter((action) => action.stageName === name)));
  return {
    executionId: summary.pipelineExecutionId ?? '',
    status: summary.status ?? 'Unknown',
    type: summary.executionType === 'ROLLBACK' ? 'ROLLBACK' : 'STANDARD',
    trigger: summary.trigger?.triggerType,
    triggerDetail: summary.trigger?.triggerDetail,
    rollbackTarget: summary.rollbackMetadata?.rollbackTargetPipelineExecutionId,
    commit: variables.CommitId ?? revision?.revisionId,
    commitMessage: variables.CommitMessage ?? commitMessageOf(revision?.revisionSummary),
    commitTime: commitTime && !Number.isNaN(commitTime.getTime()) ? commitTime : undefined,
    start: summary.startTime,
    end: summary.status === 'InProgress' ? undefined : summary.lastUpdateTime,
    stages,
  };
}

function stageOutcome(name: string, actions: readonly ActionExecutionDetail[]): StageOutcome {
  const statuses: string[] = actions.map((action) => action.status ?? 'Unknown');
  const status = ['Failed', 'InProgress', 'Abandoned'].find((s) => statuses.includes(s)) ?? (statuses.every((s) => s === 'Succeeded') ? 'Succeeded' : statuses[0]);
  const ends = actions.map((action) => action.lastUpdateTime?.getTime() ?? 0).filter((t) => t > 0);
  const failed = actions.find((action) => action.status === 'Failed');
  const summary = failed?.output?.executionResult?.externalExecutionSummary;
  return {
    name,
    status,
    ...(status !== 'InProgress' && ends.length > 0 && { end: new Date(Math.max(...ends)) }),
    ...(failed && { failure: `${failed.actionName}${summary ? `: ${summary}` : ''}` }),
  };
}

/** A CodeConnections revision summary is JSON with the commit message (`{"ProviderType":..,"CommitMessage":..}`). */
function commitMessageOf(summary: string | undefined): string | undefined {
  if (!summary) return undefined;
  try {
    const parsed = JSON.parse(summary) as { CommitMessage?: string };
    return parsed.CommitMessage ?? summary;
  } catch {
    return summary;
  }
}
