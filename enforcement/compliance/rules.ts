// The project's Guard rules, the checks Guard cannot express and the AWS Control Tower
// proactive controls, run by the validator on the templates it received, with cfn-guard as
// @cdklabs/cdk-validator-cfnguard ships it. The runner and the rules are those of
// pipeline/compliance (the commit's early feedback runs the same profile); the validator runs
// the copy deployed with the enforcement stack, on the exact bytes it will attest.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackTemplate } from '../../pipeline/compliance/assembly.ts';
import { checkTemplates, type Finding, formatFinding } from '../../pipeline/compliance/profile.ts';

/**
 * A template as received, with what the rules need to know of its stack: the assembly's
 * StackTemplate fields, from the validator's reading of the template rather than an assets
 * manifest. `images` are those it names in production's own CDK asset repository (the Guard rule
 * `container_images_from_stage_assets` takes them as `Compliance.ContainerImages`; the validator
 * then checks each one's digest against staging); `fileAssetKeys` the S3 keys of the files it
 * names (nested templates must be among them).
 */
export interface RulesInput extends Pick<StackTemplate, 'account' | 'region' | 'images' | 'fileAssetKeys'> {
  readonly stackId: string;
  readonly stackName: string;
  /** The exact bytes received: cfn-guard reads these. */
  readonly bytes: Buffer;
}

/** Options of a run. */
export interface RulesOptions {
  readonly minLogRetentionDays: number;
}

/** One line per finding (project rules, hand-written checks, Control Tower controls), split by kind. */
export interface RulesResult {
  readonly project: string[];
  readonly controlTower: string[];
}

// A template's findings are a function of its bytes, its parameters and the deployed rule
// files: remembered per process (a warm function validating the same templates again, and the
// tests, which validate the same templates under other staging states).
const remembered = new Map<string, Finding[]>();

/** Runs the profile over the templates (cfn-guard processes in parallel, one per CPU). */
export async function checkRules(inputs: readonly RulesInput[], options: RulesOptions): Promise<RulesResult> {
  const keyOf = (input: RulesInput) =>
    createHash('sha256').update(input.bytes).update(JSON.stringify([input.stackId, input.stackName, input.account, input.region, input.images, input.fileAssetKeys, options])).digest('hex');
  const todo = inputs.filter((input) => !remembered.has(keyOf(input)));
  const dir = mkdtempSync(join(tmpdir(), 'validator-guard-'));
  try {
    const templates: StackTemplate[] = todo.map((input) => {
      const file = join(dir, `${input.stackId}.template.json`);
      writeFileSync(file, input.bytes);
      return {
        file,
        path: input.stackName,
        // Control Tower exemptions limited to some stacks name them by construct path; none of them is a stage's.
        displayName: `Production/${input.stackId}`,
        account: input.account,
        region: input.region,
        images: input.images,
        fileAssetKeys: input.fileAssetKeys,
      };
    });
    const findings = templates.length === 0 ? [] : await checkTemplates(templates, { minLogRetentionDays: options.minLogRetentionDays, controlTower: true, parallel: availableParallelism() });
    for (const input of todo) remembered.set(keyOf(input), findings.filter((f) => f.template === input.stackName));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const all = inputs.flatMap((input) => remembered.get(keyOf(input)) ?? []);
  return {
    project: all.filter((f) => !f.rule.startsWith('control-tower:')).map(formatFinding),
    controlTower: all.filter((f) => f.rule.startsWith('control-tower:')).map(formatFinding),
  };
}
