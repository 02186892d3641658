// The pipeline rehearsal: reads the synthesized pipeline and walks its stages and
// actions in order, running here what can run offline, checking the ordering
// facts a first release depends on, and printing one line per action.
//   node pipeline/rehearsal/cli.ts [assembly-dir] [--synth-ran] [--rollback-to=<assembly-dir>] [--no-iam]
// IAM (iam/): every call a release makes, evaluated offline by a policy engine; a denied call
// fails its action (an `IAM` line per action; `hand/<stack>` lines for the stacks deployed by hand).
// --rollback-to: also report what the Production stage's rollback from this release to the one
// synthesized in <assembly-dir> changes (rollback.ts); a stateful resource it replaces or removes fails.
// Exit 0 when nothing failed, 1 on any failure, 2 when an assembly cannot be read.
import { resolve } from 'node:path';
import { type ActionResult, rehearseAction } from './actions.ts';
import { type GuardrailRehearsal, rehearseGuardrail } from './guardrail.ts';
import type { ValidationRun } from './guardrail-flow.ts';
import { formatDenial, handlerGaps, type IamActionResult, rehearseIam } from './iam/index.ts';
import { type PipelineModel, readPipeline } from './model.ts';
import { rehearseNetwork } from './network.ts';
import { orderingProblems } from './ordering.ts';
import { formatRollback, stageRollback, statefulChanges } from './rollback.ts';

export interface RehearsalOptions {
  readonly assemblyDir: string;
  readonly repoRoot: string;
  /** The guardrail's validation runs by the digest of their inputs (shared across rehearsals of copies). */
  readonly validations?: Map<string, ValidationRun>;
  /** Decide the production hooks on this validation run instead of running the validator (guardrail.ts). */
  readonly validation?: ValidationRun;
  /** The Synth action's commands ran in this CI run. */
  readonly synthRan?: boolean;
  /** Answers of the tools, by the digest of what they read (shared across rehearsals of copies). */
  readonly cache?: Map<string, string>;
}

/** Rehearses every action; the results in release order, the guardrail's own report, and the pipeline read. */
export async function rehearseAll(options: RehearsalOptions): Promise<{ results: ActionResult[]; guardrail: GuardrailRehearsal; model: PipelineModel }> {
  const model = readPipeline(resolve(options.assemblyDir));
  const cache = options.cache ?? new Map<string, string>();
  const tools = { repoRoot: options.repoRoot, synthRan: options.synthRan ?? false };
  const problems = orderingProblems(model);
  const guardrail = await rehearseGuardrail(model, { validations: options.validations, validation: options.validation });
  const results = model.stages.flatMap((stage) => stage.actions).map((action) => {
    const ordering = problems.filter((p) => p.action === action).map((p) => p.problem);
    if (ordering.length) return { action, status: 'FAIL' as const, detail: ordering.join('; ') };
    const run = guardrail.runs.find((r) => r.action === action);
    if (run?.status === 'FAIL') return { action, status: 'FAIL' as const, detail: run.detail };
    const own = rehearseAction(action, model, tools, cache);
    if (!run || own.status === 'FAIL') return own;
    // The guardrail ran something here (the validator, the hook): the action's line says so.
    return { ...own, status: run.status === 'RAN' ? ('RAN' as const) : own.status, detail: `${own.detail}; ${run.detail}` };
  });
  return { results, guardrail, model };
}

/** Rehearses every action; the results in release order. */
export async function rehearse(options: RehearsalOptions): Promise<ActionResult[]> {
  return (await rehearseAll(options)).results;
}

export function formatResult(r: ActionResult): string {
  return `${r.status.padEnd(7)} ${r.action.stage}/${r.action.name}: ${r.detail}`;
}

/**
 * The Production stage's rollback from the release in `assemblyDir` to the one in `previousDir`:
 * its report line, and whether it fails (it would replace or remove a stateful resource).
 */
export function rehearseRollback(assemblyDir: string, previousDir: string): { line: string; failed: boolean } {
  const rollback = stageRollback(resolve(assemblyDir), resolve(previousDir), 'Production');
  const lost = rollback.flatMap((s) => statefulChanges(s.changes)).filter((c) => c.replaced || c.action === 'Remove');
  return { line: formatRollback('Production', rollback), failed: lost.length > 0 };
}

/** The IAM step's line for one action (or stack deployed by hand), and whether it fails. */
export function formatIam(r: IamActionResult): { line: string; failed: boolean } {
  const failed = r.denied.length > 0;
  const head = `${failed ? 'FAIL   ' : 'CHECKED'} IAM ${r.action}: ${r.evaluated} permissions evaluated, ${r.denied.length} denied`;
  const skipped = r.notActions.length ? ` (handler-listed names that are not IAM actions, skipped: ${r.notActions.join(', ')})` : '';
  return { line: [head + skipped, ...r.denied.map((d) => `          ${formatDenial(d)}`)].join('\n'), failed };
}

async function main(argv: string[]): Promise<number> {
  const positional = argv.filter((a) => !a.startsWith('--'));
  const assemblyDir = positional[0] ?? 'cdk.out';
  const previousDir = argv.find((a) => a.startsWith('--rollback-to='))?.slice('--rollback-to='.length);
  let results: ActionResult[];
  let guardrailLines: string[];
  let rollback: { line: string; failed: boolean } | undefined;
  let iam: IamActionResult[] = [];
  let gaps: Array<{ type: string; covered: string }> = [];
  let network: { lines: string[]; failed: number };
  try {
    let model: PipelineModel;
    ({ results, guardrail: { lines: guardrailLines }, model } = await rehearseAll({ assemblyDir, repoRoot: process.cwd(), synthRan: argv.includes('--synth-ran') }));
    // Every endpoint each task and VPC function calls is reachable from its subnets (network.ts).
    network = rehearseNetwork(model.stacks, process.cwd());
    if (previousDir) rollback = rehearseRollback(assemblyDir, previousDir);
    if (!argv.includes('--no-iam')) {
      iam = await rehearseIam(model, { repoRoot: process.cwd() });
      gaps = handlerGaps(model, process.cwd());
    }
  } catch (error) {
    console.error(`rehearsal: cannot read the pipeline: ${(error as Error).message}`);
    return 2;
  }
  for (const r of results) console.log(formatResult(r));
  for (const line of guardrailLines) console.log(line);
  if (rollback) console.log(`${rollback.failed ? 'FAIL   ' : 'CHECKED'} ${rollback.line}`);
  const iamLines = iam.map(formatIam);
  for (const l of iamLines) console.log(l.line);
  const uncovered = gaps.filter((g) => g.covered === 'NOT COVERED');
  if (gaps.length) console.log(`${uncovered.length ? 'FAIL   ' : 'CHECKED'} IAM handler permissions: registry schemas, except ${gaps.map((g) => `${g.type} (${g.covered})`).join('; ')}`);
  for (const line of network.lines) console.log(line);
  const failed = results.filter((r) => r.status === 'FAIL').length + guardrailLines.filter((l) => l.startsWith('FAIL')).length + (rollback?.failed ? 1 : 0) + iamLines.filter((l) => l.failed).length + (uncovered.length ? 1 : 0) + network.failed;
  const permissions = iam.reduce((n, r) => n + r.evaluated, 0);
  console.log(`rehearsal: ${results.length} actions, ${iam.length ? `${permissions} permissions evaluated (IAM), ` : ''}${failed} failed`);
  return failed ? 1 : 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
