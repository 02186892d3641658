// The validator's configuration: a JSON file bundled beside the handler by the enforcement
// stack (path in env VALIDATOR_CONFIG_FILE), written at the administrator's deploy from
// cdk.json and enforcement/allowances.json. The commit being released never supplies it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type Allowances, loadAllowances, parseAllowances } from '../allowances.ts';

const account = z.string().regex(/^\d{12}$/, 'an AWS account id (12 digits)');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as eu-west-1');
const stackName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a CloudFormation stack name');

/** One stack of a stage: its name, and its region when it is not the stage's (the WAF lives in us-east-1). */
const stackSchema = z.strictObject({
  stackName,
  /** @default the stage's region */
  region: region.optional(),
});

const stageSchema = z.strictObject({
  account,
  region,
  /** The stage's stacks by stack id (`Tiers`, `EdgeWaf`): the same ids in both stages. */
  stacks: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, 'a stack id'), stackSchema).refine((s) => Object.keys(s).length > 0, 'at least one stack'),
});

export const validatorConfigSchema = z
  .strictObject({
    staging: stageSchema.extend({
      /** The role the validator assumes in staging to read it (the staging bootstrap's lookup role, or a hand-deployed read role). */
      readRoleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'an IAM role ARN'),
    }),
    production: stageSchema,
    /** How long an attestation admits its templates (the rollback window). @default 30 */
    validityDays: z.number().int().min(1).max(400).default(30),
    /** The KMS key (ARN) that signs; the KmsSigner uses it, and it is the envelope's keyid. */
    keyId: z.string().min(1),
    /** The attestation bucket. @default env ATTESTATION_BUCKET */
    attestationBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).optional(),
    /** The pipeline's account (only it may invoke the validator; recorded in the checks). */
    pipelineAccount: account,
    /**
     * The stage differences the enforcement allows (enforcement/allowances.json's format).
     * @default the file at env ALLOWANCES_FILE (the enforcement stack bundles enforcement/allowances.json)
     */
    allowances: z.unknown().optional(),
    compliance: z
      .strictObject({
        /** The shortest log retention the Guard rules accept (days). @default 30 */
        minLogRetentionDays: z.number().int().min(1).default(30),
      })
      .default({ minLogRetentionDays: 30 }),
  })
  .superRefine((config, ctx) => {
    const [s, p] = [Object.keys(config.staging.stacks).sort(), Object.keys(config.production.stacks).sort()];
    if (s.join() !== p.join()) ctx.addIssue({ code: 'custom', path: ['production', 'stacks'], message: `the stages must have the same stack ids (staging: ${s.join(', ')}; production: ${p.join(', ')})` });
    if (config.staging.account === config.production.account) ctx.addIssue({ code: 'custom', path: ['production', 'account'], message: 'production must be another account than staging' });
  });

export type ValidatorConfig = z.infer<typeof validatorConfigSchema>;

/** A stage's stack as the validator addresses it. */
export interface StageStack {
  readonly id: string;
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
}

/** The stacks of a stage, each with its account and region, sorted by id. */
export function stageStacks(stage: ValidatorConfig['staging'] | ValidatorConfig['production']): StageStack[] {
  return Object.entries(stage.stacks)
    .map(([id, s]) => ({ id, stackName: s.stackName, account: stage.account, region: s.region ?? stage.region }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Parses a configuration object; throws with every problem, each naming its key. */
export function parseValidatorConfig(value: unknown): ValidatorConfig {
  const result = validatorConfigSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`validator configuration is invalid: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Reads the configuration file (env VALIDATOR_CONFIG_FILE in the function). */
export function loadValidatorConfig(file = process.env.VALIDATOR_CONFIG_FILE): ValidatorConfig {
  if (!file) throw new Error('VALIDATOR_CONFIG_FILE is not set: the validator has no configuration');
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`validator configuration ${file} is unreadable: ${(error as Error).message}`);
  }
  return parseValidatorConfig(parsed);
}

/**
 * The allowances the validator compares the stages under: the configuration's `allowances`, else
 * the file at `ALLOWANCES_FILE` (bundled beside the handler by the enforcement stack). Never the
 * commit's: the request carries none. Throws (the validator then fails closed) when neither is usable.
 */
export function validatorAllowances(config: ValidatorConfig, env: NodeJS.ProcessEnv = process.env): Allowances {
  if (config.allowances !== undefined) return parseAllowances(config.allowances, 'the validator configuration\'s allowances');
  if (!env.ALLOWANCES_FILE) throw new Error('no allowances: neither allowances in the configuration nor ALLOWANCES_FILE is set');
  return loadAllowances(env.ALLOWANCES_FILE);
}
