// The four delivery metrics (Deployment Pipeline Reference Architecture; DORA) from the releases of
// the pipeline. One computation for `ops releases` (over a window) and for the delivery-metrics
// function (the figures of one production outcome, published as it happens).
//
// - Deployment: a STANDARD execution whose Production stage succeeded.
// - Lead time: that success's end minus the commit time the source gives (AuthorDate).
// - Change failure: a STANDARD execution whose Production stage failed (its stage rollback then
//   restores the previous release), or a manual rollback of production (the release it replaced failed).
// - Time to restore: from a change failure to the next Production success (the rollback's or a fix's).
import { production, type Release } from './releases.ts';

/** One production outcome, in time order. */
export interface ProductionOutcome {
  readonly executionId: string;
  readonly commit?: string;
  readonly kind: 'deployment' | 'failure' | 'rollback';
  /** When the Production stage ended. */
  readonly at: Date;
  /** deployment: end minus the commit time. */
  readonly leadTimeSeconds?: number;
  /** deployment or rollback that ended a run of failures: seconds since the first of them. */
  readonly restoreSeconds?: number;
  /** A manual rollback counts as the failure of the release it replaced. */
  readonly manual?: boolean;
}

/** The production outcomes of the releases (any order in), oldest first. */
export function productionOutcomes(releases: readonly Release[]): ProductionOutcome[] {
  const finished = releases
    .map((release) => ({ release, stage: production(release) }))
    .filter((r): r is { release: Release; stage: NonNullable<ReturnType<typeof production>> } => r.stage?.end !== undefined && ['Succeeded', 'Failed'].includes(r.stage.status))
    .sort((a, b) => a.stage.end!.getTime() - b.stage.end!.getTime());
  const outcomes: ProductionOutcome[] = [];
  let failingSince: Date | undefined;
  for (const { release, stage } of finished) {
    const at = stage.end!;
    const base = { executionId: release.executionId, ...(release.commit && { commit: release.commit }), at };
    if (stage.status === 'Failed') {
      if (release.type === 'STANDARD') {
        outcomes.push({ ...base, kind: 'failure' });
        failingSince ??= at;
      }
      continue;
    }
    const manual = release.type === 'ROLLBACK' && release.trigger === 'ManualRollback';
    // A manual rollback: the release it replaced failed when the rollback started.
    const since = failingSince ?? (manual ? release.start : undefined);
    const restoreSeconds = since ? seconds(at.getTime() - since.getTime()) : undefined;
    failingSince = undefined;
    if (release.type === 'ROLLBACK') {
      outcomes.push({ ...base, kind: 'rollback', ...(manual && { manual }), ...(restoreSeconds !== undefined && { restoreSeconds }) });
    } else {
      const leadTimeSeconds = release.commitTime ? seconds(at.getTime() - release.commitTime.getTime()) : undefined;
      outcomes.push({ ...base, kind: 'deployment', ...(leadTimeSeconds !== undefined && { leadTimeSeconds }), ...(restoreSeconds !== undefined && { restoreSeconds }) });
    }
  }
  return outcomes;
}

export interface DeliveryFigures {
  readonly windowDays: number;
  readonly deployments: number;
  readonly deploymentsPerDay: number;
  /** STANDARD production failures plus manual rollbacks. */
  readonly changeFailures: number;
  /** changeFailures / (deployments + STANDARD production failures); undefined with no attempt. */
  readonly changeFailureRate?: number;
  readonly leadTimeMedianSeconds?: number;
  readonly restoreMedianSeconds?: number;
}

/** The figures over the `windowDays` before `now`. */
export function deliveryFigures(releases: readonly Release[], now: Date, windowDays: number): DeliveryFigures {
  const from = now.getTime() - windowDays * 86_400_000;
  const inWindow = productionOutcomes(releases).filter((o) => o.at.getTime() >= from && o.at.getTime() <= now.getTime());
  const deployments = inWindow.filter((o) => o.kind === 'deployment');
  const failures = inWindow.filter((o) => o.kind === 'failure');
  const manualRollbacks = inWindow.filter((o) => o.kind === 'rollback' && o.manual);
  const attempts = deployments.length + failures.length;
  const changeFailures = failures.length + manualRollbacks.length;
  return {
    windowDays,
    deployments: deployments.length,
    deploymentsPerDay: round(deployments.length / windowDays),
    changeFailures,
    ...(attempts > 0 && { changeFailureRate: round(Math.min(1, changeFailures / attempts)) }),
    ...optional('leadTimeMedianSeconds', median(deployments.map((o) => o.leadTimeSeconds))),
    ...optional('restoreMedianSeconds', median(inWindow.map((o) => o.restoreSeconds))),
  };
}

/** A CloudWatch datum: the function publishes these (namespace and dimension added there). */
export interface MetricDatum {
  readonly name: 'Deployments' | 'ChangeFailures' | 'LeadTimeSeconds' | 'TimeToRestoreSeconds';
  readonly value: number;
  readonly unit: 'Count' | 'Seconds';
  readonly at: Date;
}

/** The metrics of one execution's production outcome (the function runs this on each event). */
export function metricsFor(releases: readonly Release[], executionId: string): MetricDatum[] {
  const outcome = productionOutcomes(releases).find((o) => o.executionId === executionId);
  if (!outcome) return [];
  const { at } = outcome;
  const data: MetricDatum[] = [];
  if (outcome.kind === 'deployment') data.push({ name: 'Deployments', value: 1, unit: 'Count', at });
  if (outcome.kind === 'failure' || outcome.manual) data.push({ name: 'ChangeFailures', value: 1, unit: 'Count', at });
  if (outcome.leadTimeSeconds !== undefined) data.push({ name: 'LeadTimeSeconds', value: outcome.leadTimeSeconds, unit: 'Seconds', at });
  if (outcome.restoreSeconds !== undefined) data.push({ name: 'TimeToRestoreSeconds', value: outcome.restoreSeconds, unit: 'Seconds', at });
  return data;
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function median(values: readonly (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : Math.round((sorted[middle - 1] + sorted[middle]) / 2);
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
