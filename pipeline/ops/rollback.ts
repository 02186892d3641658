// `ops rollback --to <commit>`: production back to an earlier release through CodePipeline's stage
// rollback (RollbackStage). Refused, with the reason, unless the target is a successful
// Production execution, not itself a rollback, started in the current pipeline structure version,
// and its guardrail attestation is still valid. CodePipeline User Guide, "Configuring stage
// rollback" (https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html):
// "The pipeline can only roll back to a previous execution if the previous execution was started
// in the current pipeline structure version"; "You cannot roll back to a target execution ID that
// is a rollback execution type"; the rollback uses the target execution's artifacts and variables.
import { GetPipelineCommand, GetPipelineExecutionCommand, RollbackStageCommand, type CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { sleep } from '../checks/poll.ts';
import { production, readReleases, type Release } from '../delivery-metrics/releases.ts';
import type { AttestationVerifier } from './attestation.ts';
import { PIPELINE_NAME, PRODUCTION_STAGE, UsageError } from './context.ts';
import { duration, EXIT, short, time, type Io, type Result } from './output.ts';

/** How far back a target is looked for. */
const HISTORY = 100;

export interface RollbackInput {
  readonly to: string | undefined;
  readonly yes: boolean;
  readonly codePipeline: CodePipelineClient;
  /** Made only when a target passed the pipeline's own conditions (it needs the production account). */
  readonly attestations: () => Promise<AttestationVerifier>;
  readonly budgetMs: number;
}

const refuse = (reason: string, data: Record<string, unknown> = {}): Result => ({ data: { refused: true, reason, ...data }, text: `rollback REFUSED: ${reason}`, exitCode: EXIT.failed });

export async function rollback(input: RollbackInput, io: Io): Promise<Result> {
  const to = input.to;
  if (!to || !/^[0-9a-f]{7,40}$/.test(to)) throw new UsageError('rollback: --to <commit> (7 to 40 hex characters) names the release to go back to');
  io.progress(`reading the executions of ${PIPELINE_NAME}`);
  const history = await readReleases(input.codePipeline, PIPELINE_NAME, HISTORY);
  const current = history.find((r) => production(r)?.status === 'Succeeded');
  const ofCommit = history.filter((r) => r.commit?.startsWith(to));
  if (ofCommit.length === 0) return refuse(`no execution of commit ${to} among the last ${history.length} executions of ${PIPELINE_NAME}`);
  const target = ofCommit.find((r) => r.type === 'STANDARD' && production(r)?.status === 'Succeeded');
  if (!target) {
    const seen = ofCommit.map((r) => `${r.executionId}: ${r.type === 'ROLLBACK' ? 'a rollback execution (CodePipeline cannot roll back to one)' : `Production ${production(r)?.status ?? 'not reached'}`}`);
    return refuse(`commit ${short(to)} has no successful Production execution that is not itself a rollback (${seen.join('; ')})`);
  }
  const commit = target.commit!;
  if (current && current.commit === commit) return refuse(`production already runs ${short(commit)} (execution ${current.executionId}, ${time(production(current)?.end)})`);

  const [{ pipeline }, { pipelineExecution }] = await Promise.all([
    input.codePipeline.send(new GetPipelineCommand({ name: PIPELINE_NAME })),
    input.codePipeline.send(new GetPipelineExecutionCommand({ pipelineName: PIPELINE_NAME, pipelineExecutionId: target.executionId })),
  ]);
  if (pipeline?.version !== undefined && pipelineExecution?.pipelineVersion !== pipeline.version) {
    return refuse(
      `execution ${target.executionId} of ${short(commit)} started in pipeline structure version ${pipelineExecution?.pipelineVersion ?? '?'}, the pipeline is now at version ${pipeline.version}: CodePipeline rolls back only to an execution started in the current pipeline structure version`,
      { target: target.executionId },
    );
  }
  const verdict = await (await input.attestations()).verify(commit, target.executionId, io.now());
  if (!verdict.valid) return refuse(`${short(commit)} (execution ${target.executionId}): ${verdict.reason}`, { target: target.executionId });

  const plan =
    `roll the ${PRODUCTION_STAGE} stage of ${PIPELINE_NAME} back to execution ${target.executionId}: production changes from ` +
    `${current ? `${short(current.commit)} (${firstLine(current)})` : 'its current release'} to ${short(commit)} (${firstLine(target)}, released ${time(production(target)?.end)}); ` +
    `CodePipeline re-runs the ${PRODUCTION_STAGE} stage's actions with that execution's artifacts and variables (${verdict.reason})`;
  if (!input.yes) return { data: { plan, target: target.executionId, commit, confirmed: false }, text: `would ${plan}.\nnothing changed: add --yes to roll back`, exitCode: EXIT.notConfirmed };

  const { pipelineExecutionId } = await input.codePipeline.send(
    new RollbackStageCommand({ pipelineName: PIPELINE_NAME, stageName: PRODUCTION_STAGE, targetPipelineExecutionId: target.executionId }),
  );
  io.progress(`rollback execution ${pipelineExecutionId} started`);
  const started = Date.now();
  for (;;) {
    const { pipelineExecution: execution } = await input.codePipeline.send(new GetPipelineExecutionCommand({ pipelineName: PIPELINE_NAME, pipelineExecutionId }));
    const status = execution?.status ?? 'InProgress';
    if (status !== 'InProgress' && status !== 'Stopping') {
      const ok = status === 'Succeeded';
      return {
        data: { rollbackExecution: pipelineExecutionId, status, target: target.executionId, commit },
        text: `rollback ${status}: production ${ok ? 'runs' : 'did not return to'} ${short(commit)} (rollback execution ${pipelineExecutionId}, ${duration((Date.now() - started) / 1000)})`,
        exitCode: ok ? EXIT.ok : EXIT.failed,
      };
    }
    if (Date.now() - started > input.budgetMs) {
      return { data: { rollbackExecution: pipelineExecutionId, status }, text: `rollback execution ${pipelineExecutionId} still ${status}: follow it with \`ops releases --last 1\``, exitCode: EXIT.ok };
    }
    io.progress(`rollback ${pipelineExecutionId} ${status}`);
    await sleep(io.pollMs);
  }
}

function firstLine(release: Release): string {
  return release.commitMessage?.split('\n')[0] ?? release.executionId;
}
