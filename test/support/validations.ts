// What the rehearsal computes on the shared assembly (test/support/app.ts) and its copies, shared
// by the test files of one worker (vitest.config.mts: isolate false) instead of once per file.
import { join } from 'node:path';
import { inject } from 'vitest';
import type { ActionResult } from '../../pipeline/rehearsal/actions';
import { rehearseAll } from '../../pipeline/rehearsal/cli';
import type { GuardrailRehearsal } from '../../pipeline/rehearsal/guardrail';
import type { ValidationRun } from '../../pipeline/rehearsal/guardrail-flow';
import { type IamActionResult, rehearseIam } from '../../pipeline/rehearsal/iam/index';
import { readPipeline } from '../../pipeline/rehearsal/model';
import { REPO_ROOT, sharedAssembly } from './app';

/**
 * The rehearsal's guardrail validation runs (pipeline/rehearsal/guardrail-flow.ts), by the digest
 * of their inputs: the validator's compliance takes seconds, and copies of the shared assembly
 * whose validator inputs are unchanged get the same answer.
 */
export const validations = new Map<string, ValidationRun>();

/**
 * The rehearsal's tool answers (the asset publisher's listing, `cdk ls`: pipeline/rehearsal/actions.ts),
 * by the digest of what each tool reads: each is a process run of seconds.
 */
export const toolAnswers = new Map<string, string>();

let shippedIamRun: Promise<IamActionResult[]> | undefined;

/**
 * The rehearsal's IAM step on the shared assembly with no SCP folder (the enforcement's SCP only),
 * evaluated once per worker: thousands of calls. Read only.
 */
export function shippedIam(): Promise<IamActionResult[]> {
  return (shippedIamRun ??= rehearseIam(readPipeline(sharedAssembly()), { repoRoot: REPO_ROOT, scpDir: join(inject('scratchDir'), 'no-scps') }));
}

let shippedRun: Promise<{ results: ActionResult[]; guardrail: GuardrailRehearsal }> | undefined;

/** The whole rehearsal (`rehearseAll`) of the shared assembly, run once per worker. Read only. */
export function shippedRehearsal(): Promise<{ results: ActionResult[]; guardrail: GuardrailRehearsal }> {
  return (shippedRun ??= rehearseAll({ assemblyDir: sharedAssembly(), repoRoot: REPO_ROOT, cache: toolAnswers, validations }));
}
