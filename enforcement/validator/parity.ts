// Structural parity of production's templates with staging's, as the validator asks for it:
// the contract's `compareStages` (enforcement/parity, issue 19's C4), injected into validate().
// Until that module is merged, `guardrailCompareStages` adapts today's template parity of
// pipeline/guardrail/parity.ts: stage names, the stages' accounts and regions, and the
// per-stage settings its PER_STAGE_SETTINGS table lists may differ, each setting only where it
// lands, with the settings' values taken from the allowances the validator was deployed with
// (never from the commit's cdk.json).
import type { AssemblyInfo } from '../../pipeline/guardrail/assembly.ts';
import { stageRules, withoutCdkMetadata } from '../../pipeline/guardrail/parity.ts';
import { compareJson, lines, newDifferences } from '../../pipeline/guardrail/structure.ts';

/** One stage's templates by stack id, with where they live. */
export interface StageTemplates {
  readonly account: string;
  readonly region: string;
  readonly templates: Readonly<Record<string, object>>;
}

/** The input of compareStages (the contract's, enforcement/parity/index.ts). */
export interface CompareStagesInput {
  readonly staging: StageTemplates;
  readonly production: StageTemplates;
  readonly allowances: unknown;
}

/** One difference beyond what the allowances allow. */
export interface StageDifference {
  readonly stackId: string;
  readonly path: string;
  readonly staging: unknown;
  readonly production: unknown;
  readonly why: string;
}

export interface CompareStagesResult {
  readonly ok: boolean;
  readonly differences: readonly StageDifference[];
}

/** The contract's compareStages. */
export type CompareStages = (input: CompareStagesInput) => CompareStagesResult;

/**
 * What the adapter reads in the allowances: the two stages' settings (the `staging` and
 * `production` sections of the deployed configuration); a setting may differ where
 * PER_STAGE_SETTINGS says it lands.
 */
export interface GuardrailAllowances {
  readonly staging: Record<string, unknown>;
  readonly production: Record<string, unknown>;
}

function isAllowances(value: unknown): value is GuardrailAllowances {
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return isObject(value) && isObject((value as GuardrailAllowances).staging) && isObject((value as GuardrailAllowances).production);
}

/** compareStages over pipeline/guardrail's template parity (see the file comment). */
export const guardrailCompareStages: CompareStages = (input) => {
  if (!isAllowances(input.allowances)) {
    return { ok: false, differences: [{ stackId: '-', path: 'allowances', staging: undefined, production: undefined, why: 'the allowances must hold the staging and production settings' }] };
  }
  const info = (name: string, stage: StageTemplates) =>
    ({ displayName: name, stacks: Object.keys(stage.templates).map((id) => ({ id, environment: `aws://${stage.account}/${stage.region}` })) }) as unknown as AssemblyInfo;
  const rules = stageRules({ staging: info('Staging', input.staging), production: info('Production', input.production), stageConfig: input.allowances });
  const differences: StageDifference[] = [];
  const ids = [...new Set([...Object.keys(input.staging.templates), ...Object.keys(input.production.templates)])].sort();
  for (const stackId of ids) {
    const [a, b] = [input.staging.templates[stackId], input.production.templates[stackId]];
    if (!a || !b) {
      differences.push({ stackId, path: '', staging: a ? 'present' : undefined, production: b ? 'present' : undefined, why: `stack ${stackId} is in one stage only` });
      continue;
    }
    const d = newDifferences();
    compareJson(withoutCdkMetadata(a as Record<string, unknown>), withoutCdkMetadata(b as Record<string, unknown>), stackId, rules, d);
    for (const line of lines(d)) differences.push({ stackId, path: line.split(':')[0], staging: undefined, production: undefined, why: line });
  }
  return { ok: differences.length === 0, differences };
};
