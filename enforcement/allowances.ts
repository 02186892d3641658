// The one statement of what may differ between staging and production (allowances.json): its
// schema, its loader, and the configuration-level check. The guardrail validator reads the copy
// the enforcement stack deployed; the synth reads the commit's copy as an early check, with the
// same message (docs/allowances.md).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

const regex = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a JavaScript regular expression' },
);

/** A stage-neutral path inside a resource's Properties (or an output): `a/b`, `*` for any one key or index, `[Key=v]` for the array item whose Key is v. */
const propertyPath = z.string().regex(/^[^/]+(\/[^/]+)*$/, 'expected a path such as "DistributionConfig/PriceClass"');

/** Where a setting lands in a template: a property of resources of one type (optionally one logical id pattern), or an output. */
const landSchema = z
  .object({
    type: z.string().regex(/^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$/, 'expected a CloudFormation resource type').optional(),
    output: z.string().min(1).optional(),
    logicalId: regex.optional(),
    path: propertyPath,
    /** The whole subtree at `path` may differ, shape included (a property present in one stage only). */
    subtree: z.boolean().default(false),
    /**
     * A logical-id pattern both values must match: the land holds a reference (`NatGatewayId/Ref`)
     * that may name another resource in each stage, but only one of these.
     */
    refersTo: regex.optional(),
  })
  .strict()
  .refine((l) => (l.type === undefined) !== (l.output === undefined), { message: 'expected exactly one of type and output' });

/** Resources that may be present in one stage and absent in the other. */
const resourceSetSchema = z
  .object({
    type: z.string().regex(/^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$/, 'expected a CloudFormation resource type'),
    logicalId: regex,
    /** At most this many such resources in one stage's template. */
    max: z.number().int().positive().optional(),
    /**
     * The Properties such a resource must have, apart from `free`. Without it, the resource must
     * equal another resource of its type (in either stage, stage names, accounts and regions set
     * aside), apart from `free` and its Metadata.
     */
    requires: z.record(z.string(), z.unknown()).optional(),
    /** Property paths (as in lands) that may hold anything. */
    free: z.array(propertyPath).default([]),
    /**
     * Paths from the resource's top (`Properties/SubnetId/Ref`, `DependsOn/*`) where it may name
     * another resource than the one it is shaped like does, of a logical id matching the pattern
     * (a zone's NAT gateway sits in its own zone's subnet).
     */
    refersTo: z.record(propertyPath, regex).default({}),
  })
  .strict();

const configKey = z.string().regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/, 'expected a configuration key such as "api.cpu"');

const differSchema = z
  .object({
    key: configKey,
    why: z.string().min(1),
    /** Set aside in every string by the comparison itself (accounts, regions). */
    normalized: z.boolean().default(false),
    lands: z.array(landSchema).default([]),
    resources: z.array(resourceSetSchema).default([]),
  })
  .strict();

const sameSchema = z.object({ key: configKey, why: z.string().min(1), lands: z.array(landSchema).default([]) }).strict();

export const allowancesSchema = z
  .object({
    $comment: z.string().optional(),
    version: z.literal(1),
    /** The stages' construct ids: set aside in every string, as Staging/staging/STAGING. */
    stages: z.object({ staging: z.string().min(1), production: z.string().min(1) }).strict(),
    /** Stacks deployed in a fixed region whatever the stage's region (stack id → region). */
    fixedRegionStacks: z.record(z.string(), z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a region name')).default({}),
    differ: z.array(differSchema),
    same: z.array(sameSchema),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    for (const [list, entries] of [['differ', a.differ], ['same', a.same]] as const) {
      entries.forEach((entry, i) => {
        if (seen.has(entry.key)) ctx.addIssue({ code: 'custom', path: [list, i, 'key'], message: `${entry.key} is listed twice` });
        seen.add(entry.key);
      });
    }
  });

export type Allowances = z.infer<typeof allowancesSchema>;
export type Land = z.infer<typeof landSchema>;
export type ResourceSet = z.infer<typeof resourceSetSchema>;
export type DifferSetting = z.infer<typeof differSchema>;
export type SameSetting = z.infer<typeof sameSchema>;

/** The statement is unusable: the message names the file and every bad key. */
export class AllowancesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllowancesError';
  }
}

/** The repository's statement, relative to the working directory (the repository root, where cdk and npm run). */
export const DEFAULT_ALLOWANCES_FILE = 'enforcement/allowances.json';

/** Reads and validates a statement; throws an AllowancesError naming the file and each bad key. */
export function loadAllowances(file: string = DEFAULT_ALLOWANCES_FILE): Allowances {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AllowancesError(`${path}: cannot read the allowances: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AllowancesError(`${path}: not JSON: ${(error as Error).message}`);
  }
  return parseAllowances(json, path);
}

/** Validates a statement already parsed (e.g. bundled into the validator's configuration). */
export function parseAllowances(json: unknown, source = 'allowances'): Allowances {
  const result = allowancesSchema.safeParse(json);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new AllowancesError(`${source}: invalid allowances:\n${lines.join('\n')}`);
}

/** The sentence both checks give for a setting that must be equal: the synth's and the validator's. */
export function sameSettingMessage(setting: { readonly key: string; readonly why: string }): string {
  return `${setting.key} must be the same in staging and production (enforcement/allowances.json): ${setting.why}`;
}

/** The sentence for a configuration key the statement does not name. */
function unlistedSettingMessage(key: string): string {
  return `${key} must be the same in staging and production: enforcement/allowances.json does not list it as a setting that may differ`;
}

/** The `differ` entry covering a configuration key (the key itself or a parent), if any. */
function differingSetting(allowances: Allowances, key: string): DifferSetting | undefined {
  return allowances.differ.find((s) => key === s.key || key.startsWith(`${s.key}.`));
}

/** The `same` entry covering a configuration key, if any. */
function sameSetting(allowances: Allowances, key: string): SameSetting | undefined {
  return allowances.same.find((s) => key === s.key || key.startsWith(`${s.key}.`));
}

/**
 * The configuration-level check: every leaf of the two stages' settings that differs must be
 * under a key the statement lets differ. Returns one message per differing key (empty: ok).
 * Leaves are compared as JSON, so a value present in one stage only is a difference too.
 */
export function checkStageSettings(staging: object, production: object, allowances: Allowances): string[] {
  const [a, b] = [flatten(staging), flatten(production)];
  const problems = new Map<string, string>();
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const [s, p] = [a.get(key), b.get(key)];
    if (s === p || differingSetting(allowances, key)) continue;
    const same = sameSetting(allowances, key);
    const reported = same?.key ?? key;
    if (problems.has(reported)) continue;
    const message = same ? sameSettingMessage(same) : unlistedSettingMessage(key);
    problems.set(reported, `${message} (staging ${show(s)}, production ${show(p)})`);
  }
  return [...problems.values()];
}

/** Every leaf of a JSON value by dotted key (arrays by index), as its JSON text. */
function flatten(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(prefix, '[]');
    value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), into));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
  } else if (value !== undefined) into.set(prefix, JSON.stringify(value));
  return into;
}

function show(json: string | undefined): string {
  if (json === undefined) return 'has none';
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
