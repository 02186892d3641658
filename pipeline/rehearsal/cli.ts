// The pipeline rehearsal: reads the synthesized pipeline and walks its stages and
// actions in order, running here what can run offline, checking the ordering
// facts a first release depends on, and printing one line per action.
//   node --import tsx pipeline/rehearsal/cli.ts [assembly-dir] [--guardrail] [--synth-ran]
// Exit 0 when nothing failed, 1 on any failure, 2 when the assembly cannot be read.
import { resolve } from 'node:path';
import { type ActionResult, rehearseAction } from './actions.js';
import { rehearseGuardrail } from './guardrail.js';
import { readPipeline } from './model.js';
import { orderingProblems } from './ordering.js';

export interface RehearsalOptions {
  readonly assemblyDir: string;
  readonly repoRoot: string;
  /** Run the Sign and GuardrailValidation commands in a sandbox (slower). */
  readonly guardrail?: boolean;
  /** The Synth action's commands ran in this CI run. */
  readonly synthRan?: boolean;
  /** Answers of the tools, by the digest of what they read (shared across rehearsals of copies). */
  readonly cache?: Map<string, string>;
}

/** Rehearses every action; the results in release order. */
export function rehearse(options: RehearsalOptions): ActionResult[] {
  const model = readPipeline(resolve(options.assemblyDir));
  const cache = options.cache ?? new Map<string, string>();
  const tools = { repoRoot: options.repoRoot, synthRan: options.synthRan ?? false };
  const problems = orderingProblems(model);
  const guardrailRuns = options.guardrail ? rehearseGuardrail(model, options.repoRoot) : [];
  return model.stages.flatMap((stage) => stage.actions).map((action) => {
    const ordering = problems.filter((p) => p.action === action).map((p) => p.problem);
    if (ordering.length) return { action, status: 'FAIL' as const, detail: ordering.join('; ') };
    const run = guardrailRuns.find((r) => r.action === action);
    if (run) return { action, status: run.ok ? ('RAN' as const) : ('FAIL' as const), detail: run.detail };
    return rehearseAction(action, model, tools, cache);
  });
}

export function formatResult(r: ActionResult): string {
  return `${r.status.padEnd(7)} ${r.action.stage}/${r.action.name}: ${r.detail}`;
}

function main(argv: string[]): number {
  const positional = argv.filter((a) => !a.startsWith('--'));
  let results: ActionResult[];
  try {
    results = rehearse({ assemblyDir: positional[0] ?? 'cdk.out', repoRoot: process.cwd(), guardrail: argv.includes('--guardrail'), synthRan: argv.includes('--synth-ran') });
  } catch (error) {
    console.error(`rehearsal: cannot read the pipeline: ${(error as Error).message}`);
    return 2;
  }
  for (const r of results) console.log(formatResult(r));
  const failed = results.filter((r) => r.status === 'FAIL').length;
  console.log(`rehearsal: ${results.length} actions, ${failed} failed`);
  return failed ? 1 : 0;
}

if (process.argv[1] && /rehearsal[\\/]cli\.ts$/.test(process.argv[1])) process.exitCode = main(process.argv.slice(2));
