// Runs the Sign and GuardrailValidation actions' own commands offline, in a
// sandbox that stands in for CodeBuild: a clone of this repository as the
// source (the approved revision is its HEAD), the synthesized assembly as the
// Synth output, a fake `aws` that answers the gate's get-template with the
// synthesized pipeline template (as deployed), and a rehearsal token.
// Substitutions, printed with the result: the checkout directory is a temporary
// one, and `npm ci --prefix <checkout>` links this repository's node_modules
// (the approved revision is HEAD, so its lock file is this one).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandsOf } from './actions.ts';
import { type PipelineAction, type PipelineModel } from './model.ts';

/** A token for the rehearsal only (meets the guardrail's strength rule). */
const REHEARSAL_TOKEN = 'rehearsal-0f3a9c2e7b1d4e6f8a0b2c4d';

export interface GuardrailRun {
  readonly action: PipelineAction;
  readonly ok: boolean;
  readonly detail: string;
}

/** Runs the Sign action, then GuardrailValidation on its output. */
export function rehearseGuardrail(model: PipelineModel, repoRoot: string): GuardrailRun[] {
  const actions = model.stages.flatMap((s) => s.actions);
  const sign = actions.find((a) => a.name === 'Sign');
  const verify = actions.find((a) => a.name === 'GuardrailValidation');
  if (!sign || !verify) return [];
  const sandbox = mkdtempSync(join(tmpdir(), 'rehearsal-'));
  try {
    const head = git(repoRoot, ['rev-parse', 'HEAD']);
    const fakeBin = join(sandbox, 'bin');
    mkdirSync(fakeBin);
    const deployedTemplate = model.stacks.find((s) => s.displayName === 'Pipeline')!.templateFile;
    writeFileSync(join(fakeBin, 'aws'), `#!/usr/bin/env bash
# The rehearsal's stand-in for the AWS CLI: get-template answers the synthesized pipeline template.
case "$1 $2" in
  "cloudformation get-template") cat ${JSON.stringify(deployedTemplate)} ;;
  "configure set") ;;
  *) echo "rehearsal: aws $* is not available offline" >&2; exit 1 ;;
esac
`);
    chmodSync(join(fakeBin, 'aws'), 0o755);
    const signed = join(sandbox, 'Sign_Output');
    const env = {
      ...process.env,
      PATH: `${fakeBin}:${process.env.PATH}`,
      APPROVED_REVISION: head,
      RELEASE_COMMIT: head,
      GUARDRAIL_TOKEN: REHEARSAL_TOKEN,
      GUARDRAIL_PREVIOUS_TOKEN: '',
      APPROVED_PIPELINE_DIGESTS: 'none',
      CODEBUILD_SRC_DIR_Synth_Output: model.assemblyDir,
      CODEBUILD_SRC_DIR_Sign_Output: signed,
    };
    const results: GuardrailRun[] = [];
    const signRun = runAction(sign, sandbox, repoRoot, env);
    results.push(signRun);
    if (!signRun.ok) return results;
    cpSync(join(sandbox, 'Sign', 'src', sign.buildspec.artifacts?.['base-directory'] ?? 'signed-assembly'), signed, { recursive: true });
    results.push(runAction(verify, sandbox, repoRoot, env));
    return results;
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

function runAction(action: PipelineAction, sandbox: string, repoRoot: string, env: NodeJS.ProcessEnv): GuardrailRun {
  const dir = join(sandbox, action.name);
  const src = join(dir, 'src');
  const checkout = join(dir, 'guardrail');
  mkdirSync(dir);
  git(repoRoot, ['clone', '--quiet', '--no-hardlinks', repoRoot, src]);
  const script = commandsOf(action)
    .map((c) => c.replace(/\/tmp\/guardrail|\/tmp\//g, (m) => (m === '/tmp/guardrail' ? checkout : `${dir}/`)))
    .map((c) => c.replace(new RegExp(`^npm ci --prefix ${escape(checkout)}.*$`), `ln -s ${JSON.stringify(join(repoRoot, 'node_modules'))} ${JSON.stringify(join(checkout, 'node_modules'))}`))
    .join('\n');
  const run = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: src, env, encoding: 'utf8', timeout: 300_000 });
  const output = `${run.stdout}${run.stderr}`.trim().split('\n');
  const last = String(run.stdout).trim().split('\n').filter((l) => l.trim()).slice(-2).join(' / ');
  return run.status === 0
    ? { action, ok: true, detail: `ran its commands (checkout in a temp dir, npm ci linked to this repo's node_modules): ${last}` }
    : { action, ok: false, detail: `its commands failed (exit ${run.status}): ${output.slice(-3).join(' / ').slice(0, 500)}` };
}

function git(cwd: string, args: string[]): string {
  const run = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`git ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
