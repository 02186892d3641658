// `ops releases [--last N] [--window DAYS]`: the pipeline's executions (commit, start and end, the
// outcome of each stage, what rolled back and why) and the delivery figures over the window, the
// same computation the delivery-metrics function publishes (pipeline/delivery-metrics/figures.ts).
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { deliveryFigures, type DeliveryFigures } from '../delivery-metrics/figures.ts';
import { production, readReleases, type Release } from '../delivery-metrics/releases.ts';
import { PIPELINE_NAME } from './context.ts';
import { duration, EXIT, short, time, type Io, type Result } from './output.ts';

/** Executions read for the figures' window (more than --last when the window needs them). */
const FIGURES_HISTORY = 100;

export async function releases(client: CodePipelineClient, last: number, windowDays: number, io: Io): Promise<Result> {
  io.progress(`reading the executions of ${PIPELINE_NAME}`);
  const history = await readReleases(client, PIPELINE_NAME, Math.max(last, FIGURES_HISTORY));
  const shown = history.slice(0, last);
  const figures = deliveryFigures(history, io.now(), windowDays);
  const text = [...shown.flatMap((release) => describe(release, history)), '', describeFigures(figures)].join('\n');
  return { data: { releases: shown, figures }, text, exitCode: EXIT.ok };
}

export function describe(release: Release, history: readonly Release[]): string[] {
  const took = release.start && release.end ? ` (${duration((release.end.getTime() - release.start.getTime()) / 1000)})` : '';
  const head = `${short(release.commit)}  ${release.status.padEnd(10)} ${release.type === 'ROLLBACK' ? 'ROLLBACK ' : ''}${time(release.start)} → ${release.end ? time(release.end) : 'running'}${took}  execution ${release.executionId}`;
  const lines = [head];
  if (release.commitMessage) lines.push(`         ${release.commitMessage.split('\n')[0]}`);
  lines.push(`         ${release.stages.map((stage) => `${stage.name} ${stage.status}`).join(', ') || 'no action ran'}`);
  for (const stage of release.stages.filter((s) => s.failure)) lines.push(`         ${stage.name} failed: ${stage.failure}`);
  if (release.type === 'ROLLBACK') {
    const target = history.find((r) => r.executionId === release.rollbackTarget);
    const cause = history.find((r) => r.type === 'STANDARD' && production(r)?.status === 'Failed' && r.start && release.start && r.start < release.start);
    const why =
      release.trigger === 'AutomatedRollback'
        ? `automatic: Production failed in ${cause ? `${short(cause.commit)} (execution ${cause.executionId})${production(cause)?.failure ? `: ${production(cause)?.failure}` : ''}` : 'an earlier execution'}`
        : `manual (${release.triggerDetail ?? release.trigger ?? 'RollbackStage'})`;
    lines.push(`         rolled Production back to ${short(target?.commit ?? release.commit)} (execution ${release.rollbackTarget ?? '?'}); ${why}`);
  }
  return lines;
}

export function describeFigures(f: DeliveryFigures): string {
  return [
    `delivery over the last ${f.windowDays} days (production):`,
    `  deployments          ${f.deployments} (${f.deploymentsPerDay} a day)`,
    `  change failure rate  ${f.changeFailureRate === undefined ? '-' : `${Math.round(f.changeFailureRate * 1000) / 10} %`} (${f.changeFailures} failed or rolled back)`,
    `  lead time (median)   ${duration(f.leadTimeMedianSeconds)} from the commit's author date to production success`,
    `  time to restore      ${duration(f.restoreMedianSeconds)} (median)`,
  ].join('\n');
}
