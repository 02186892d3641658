// Typed configuration of the app, read from cdk.json context (overridable with
// `-c`) and validated once, at the app's edge. Staging and production share one
// schema: they differ only in values.
import * as path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { z } from 'zod';
import { AllowancesError, checkStageSettings, loadAllowances } from '../enforcement/allowances';
import { jobTypes, payloadSchemas, type JobType } from '../services/shared/job-schemas';

const KNOWN_REGIONS = new Set(RegionInfo.regions.map((r) => r.name));

const account = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id, e.g. "123456789012"');
const region = z.string().refine((r) => KNOWN_REGIONS.has(r), {
  message: `expected a known AWS region, e.g. "eu-west-1" (known: ${[...KNOWN_REGIONS].sort().join(', ')})`,
});
const positiveInt = z.number().int().positive();
const count = z.number().int().nonnegative();

/** A min/max pair of task counts, with min ≤ max. */
function scaling(minFloor: number) {
  return z
    .object({ minTasks: count.min(minFloor), maxTasks: positiveInt })
    .refine((s) => s.minTasks <= s.maxTasks, {
      message: 'expected minTasks ≤ maxTasks',
      path: ['minTasks'],
    });
}

const RETENTION_DAYS = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);
const logRetentionDays = z
  .number()
  .refine((d) => RETENTION_DAYS.includes(d), { message: `expected a CloudWatch Logs retention in days: ${RETENTION_DAYS.join(', ')}` })
  .transform((d) => d as RetentionDays);

const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;
const cpu = z
  .number()
  .refine((c) => (FARGATE_CPU as readonly number[]).includes(c), { message: `expected a Fargate CPU value: ${FARGATE_CPU.join(', ')}` });

// How a release of the API reaches users (README "Releasing the API"). The traffic step is read by
// CANARY (the share first sent to the new version, and how long it serves it alone) and LINEAR (the
// share added at each step, and the wait between steps); both stages carry every key.
// ECS's limits on the traffic step: canaryPercent is "multiples of 0.1 from 0.1 to 100.0"
// (Amazon ECS API Reference, CanaryConfiguration,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html) and
// stepPercent "multiples of 0.1 from 3.0 to 100.0" (LinearConfiguration,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html).
const deploymentSchema = z
  .object({
    strategy: z.enum(['ROLLING', 'BLUE_GREEN', 'CANARY', 'LINEAR']),
    bakeMinutes: z.number().int().min(0).max(1440),
    trafficStepPercent: z.number().min(0.1).max(100),
    trafficStepMinutes: z.number().int().min(0).max(1440),
  })
  .refine((d) => Number.isInteger(Math.round(d.trafficStepPercent * 10)) && Math.abs(d.trafficStepPercent * 10 - Math.round(d.trafficStepPercent * 10)) < 1e-9, {
    message: 'expected a multiple of 0.1 (ECS traffic shift steps)',
    path: ['trafficStepPercent'],
  })
  .refine((d) => d.strategy !== 'LINEAR' || d.trafficStepPercent >= 3, {
    message: 'expected at least 3 for LINEAR (ECS linear steps are 3 to 100 %)',
    path: ['trafficStepPercent'],
  });

const apiSchema = z.intersection(
  scaling(1),
  z.object({
    cpu,
    memoryMiB: positiveInt,
    cpuTargetPercent: z.number().int().min(10).max(90),
    requestsPerTargetPerMinute: positiveInt,
    deployment: deploymentSchema,
  }),
);

// A scheduled job is checked against the job contract the worker validates every message with:
// the same JSON Schemas (services/shared/job-schemas.ts), compiled with the same options.
const payloadValidators = new Map<string, ValidateFunction>(
  jobTypes.map((type) => [type, new Ajv({ allErrors: false, strict: true }).compile(payloadSchemas[type])]),
);

const scheduleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'expected 1-40 letters, digits or dashes'),
    cron: z.string().regex(/^cron\(.+\)$|^rate\(.+\)$/, 'expected an EventBridge Scheduler expression: "cron(...)" or "rate(...)"'),
    jobType: z.string().refine((t) => payloadValidators.has(t), {
      error: (issue) => `expected a job type of the worker (${jobTypes.join(', ')}), got ${formatValue(issue.input)}`,
    }),
    payload: z.record(z.string(), z.unknown()),
  })
  .superRefine((schedule, ctx) => {
    const validate = payloadValidators.get(schedule.jobType);
    if (!validate || validate(schedule.payload)) return;
    const { path: at, message } = payloadProblem(validate.errors?.[0]);
    ctx.addIssue({ code: 'custom', path: ['payload', ...at], message: `${message} (the ${schedule.jobType as JobType} job's payload schema, services/shared/job-schemas.ts)` });
  });

/** Where an ajv error points and what it says, in this file's words. */
function payloadProblem(error: ErrorObject | undefined): { path: string[]; message: string } {
  if (!error) return { path: [], message: 'is invalid' };
  const at = error.instancePath.split('/').filter(Boolean);
  const extra = error.params as { missingProperty?: string; additionalProperty?: string };
  if (extra.missingProperty) return { path: [...at, extra.missingProperty], message: 'missing value (required)' };
  if (extra.additionalProperty) return { path: [...at, extra.additionalProperty], message: 'unknown key (not in the payload schema)' };
  return { path: at, message: error.message ?? 'is invalid' };
}

const workerSchema = z.intersection(
  scaling(0),
  z.object({
    cpu,
    memoryMiB: positiveInt,
    concurrency: z.number().int().min(1).max(64),
    backlogPerTaskTarget: positiveInt,
    jobTimeoutSeconds: z.number().int().min(1).max(3600),
    maxReceiveCount: z.number().int().min(1).max(1000),
    schedules: z.array(scheduleSchema).default([]),
  }),
);

const edgeSchema = z
  .object({
    priceClass: z.enum(['PriceClass_All', 'PriceClass_200', 'PriceClass_100']).default('PriceClass_All'),
    rateLimitPer5Minutes: z.number().int().min(10).max(2_000_000_000),
    domainName: z.string().optional(),
    certificateArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/.+$/, 'expected an ACM certificate ARN in us-east-1 (CloudFront requires it)')
      .optional(),
  })
  .refine((e) => (e.domainName === undefined) === (e.certificateArn === undefined), {
    message: 'expected domainName and certificateArn together (both or neither)',
    path: ['domainName'],
  });

const alarmsSchema = z.object({
  /** Who the stage's alarms notify (an email subscription of its alarm topic). */
  email: z.string().email().optional(),
  api5xxPercent: z.number().positive().max(100),
  apiP99LatencyMs: positiveInt,
  oldestMessageAgeSeconds: positiveInt,
});

// The freshness budget's parts, configured together (README "Freshness budget").
const dataSchema = z.object({
  refreshMinutes: z.number().int().min(1).max(1440),
  reloadSeconds: z.number().int().min(1).max(3600),
  searchMaxAgeSeconds: z.number().int().min(0).max(86_400),
  searchStaleSeconds: z.number().int().min(0).max(86_400),
  resultRetentionDays: z.number().int().min(1).max(365),
});

const authSchema = z.object({
  oidcIssuer: z.string().url().regex(/^https:\/\//, 'expected the https:// URL of an OIDC issuer'),
  oidcAudience: z.string().min(1),
});

// The way out of the VPC for what the tasks call outside AWS (the API's OIDC issuer): NAT gateways
// in the edge (public) subnets, one per stage by default, one per availability zone on request
// (no cross-AZ dependency, at a NAT gateway's hourly price per zone: README "What it costs").
const networkSchema = z
  .object({
    /** One NAT gateway per availability zone (true) or one for the stage (false). */
    natGatewayPerAz: z.boolean().default(false),
  })
  .default({ natGatewayPerAz: false });

const environmentSchema = z.object({
  account,
  region,
  availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'expected an availability zone name, e.g. "eu-west-1a"')).min(2).max(6, 'at most six: the address plan has room for six zones (constructs/network.ts)'),
  cloudFrontPrefixListId: z.string().regex(/^pl-[0-9a-f]{8,17}$/, 'expected a managed prefix list id, e.g. "pl-4fa04526"'),
  logRetentionDays,
  api: apiSchema,
  worker: workerSchema,
  edge: edgeSchema,
  alarms: alarmsSchema,
  data: dataSchema,
  auth: authSchema,
  network: networkSchema,
  /** Deletion protection of the stage's load balancer (true in production). */
  deletionProtection: z.boolean().default(false),
});

/**
 * The services' base image: `registry/path:tag`, `registry/path@sha256:<hex>` or both (Dockerfile
 * reference, FROM: `<image>[:<tag>]` or `<image>[@<digest>]`, and with both the tag is ignored,
 * https://docs.docker.com/reference/dockerfile/#from). A digest pins the base: a tag that moves
 * between two builds would give production another image than staging, which the validator refuses.
 */
const BASE_IMAGE = /^[\w.-]+(:\d+)?(\/[\w.-]+)+(?::[\w][\w.-]{0,127}(?:@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;

const pipelineSchema = z.object({
  account,
  region,
  repository: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'expected "owner/name"'),
  branch: z.string().min(1),
  connectionArn: z.string().regex(/^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/.+$/, 'expected a CodeConnections connection ARN'),
  manualApproval: z.boolean(),
  notificationEmail: z.string().email().optional(),
  latencyBudgetMs: positiveInt,
  jobBudgetSeconds: positiveInt,
  baseImage: z.string().regex(BASE_IMAGE, 'expected a container image reference with a tag, a digest or both, e.g. "public.ecr.aws/docker/library/node:22-alpine" or "public.ecr.aws/docker/library/node:22-alpine@sha256:<64 hex digits>"'),
});

const roleArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@\/-]+$/, 'expected an IAM role ARN');

// The guardrail's enforcement in the production account (lib/enforcement-stack.ts,
// docs/enforcement.md). Deployed by its administrator by hand: a commit that edits this section
// changes nothing until the administrator redeploys the enforcement.
const enforcementSchema = z.object({
  /** The role that administers the enforcement: its key, its buckets' revocations, its stacks. */
  administratorArn: roleArn,
  /** How long an attestation admits its release (the rollback window), in days. */
  validityDays: z.number().int().min(1).max(365).default(30),
  /**
   * The signing keys by name, oldest first (two during a rotation): the validator signs with the
   * last, the hooks trust all of them.
   */
  signingKeys: z.array(z.string().regex(/^[a-z0-9-]{1,20}$/, 'expected 1-20 lowercase letters, digits or dashes')).min(1).max(2).default(['k1']),
  /** Break glass: DISABLED turns the hooks off (the administrator's redeploy is in CloudTrail). */
  hookStatus: z.enum(['ENABLED', 'DISABLED']).default('ENABLED'),
});

/** The compliance packs the app runs: cdk-nag packs at synth, ControlTower by `npm run compliance`. */
export const COMPLIANCE_PACKS = ['AwsSolutions', 'NIST80053R5', 'ControlTower'] as const;
export type CompliancePack = (typeof COMPLIANCE_PACKS)[number];
/** The minimum profile: every synth runs these, and configuration may not remove one. */
export const MINIMUM_COMPLIANCE_PACKS: readonly CompliancePack[] = ['AwsSolutions', 'NIST80053R5', 'ControlTower'];
/**
 * cdk-nag packs that are not offered: on the shipped stages each reports dozens of findings
 * (NIST 800-53 R4 68, HIPAA Security 77, PCI DSS 3.2.1 72) that no reviewed acknowledgement covers,
 * and the guardrail admits only the acknowledgements of its own allow-list. README, "Compliance".
 */
const PACKS_NOT_OFFERED = ['NIST80053R4', 'HIPAASecurity', 'PCIDSS321'];

const complianceSchema = z
  .object({
    packs: z
      .array(z.string())
      .default([...MINIMUM_COMPLIANCE_PACKS])
      .superRefine((packs, ctx) => {
        for (const pack of packs) {
          if (PACKS_NOT_OFFERED.includes(pack)) ctx.addIssue({ code: 'custom', message: `${pack} is not offered: its findings on the stages have no reviewed acknowledgements (README, "Compliance"); the packs are ${COMPLIANCE_PACKS.join(', ')}` });
          else if (!(COMPLIANCE_PACKS as readonly string[]).includes(pack)) ctx.addIssue({ code: 'custom', message: `unknown pack '${pack}'; the packs are ${COMPLIANCE_PACKS.join(', ')}` });
        }
        if (!MINIMUM_COMPLIANCE_PACKS.every((p) => packs.includes(p))) {
          ctx.addIssue({ code: 'custom', message: `expected the minimum packs ${MINIMUM_COMPLIANCE_PACKS.join(', ')} (configuration may not remove them)` });
        }
      })
      .transform((packs) => packs as CompliancePack[]),
    /** The shortest log retention any log group may have (the Guard rule's parameter). */
    minLogRetentionDays: logRetentionDays.default(RetentionDays.ONE_MONTH),
  })
  .default({ packs: [...MINIMUM_COMPLIANCE_PACKS], minLogRetentionDays: RetentionDays.ONE_MONTH });

export const configSchema = z
  .object({
    pipeline: pipelineSchema,
    staging: environmentSchema,
    production: environmentSchema,
    compliance: complianceSchema,
    enforcement: enforcementSchema,
  })
  .refine((c) => [c.staging, c.production].every((e) => e.logRetentionDays >= c.compliance.minLogRetentionDays), {
    message: 'expected every stage’s logRetentionDays ≥ compliance.minLogRetentionDays',
    path: ['compliance', 'minLogRetentionDays'],
  })
  // A stage's stacks deployed into the pipeline account could change the pipeline's own roles and artifacts.
  .superRefine((c, ctx) => {
    if (![c.staging.account, c.production.account].includes(c.pipeline.account)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['pipeline', 'account'],
      message: `must differ from staging.account and production.account, got '${c.pipeline.account}' (a stage's account): a stage deployed into the pipeline account could change the pipeline's own roles and artifacts`,
    });
  });

export type ComplianceConfig = z.infer<typeof complianceSchema>;

export type AppConfig = z.infer<typeof configSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type PipelineConfig = z.infer<typeof pipelineSchema>;
export type EnforcementConfig = z.infer<typeof enforcementSchema>;
export type ApiSizing = z.infer<typeof apiSchema>;
export type ApiDeploymentSettings = z.infer<typeof deploymentSchema>;
export type WorkerSizing = z.infer<typeof workerSchema>;
export type EdgeSettings = z.infer<typeof edgeSchema>;
export type AlarmThresholds = z.infer<typeof alarmsSchema>;
export type DataSettings = z.infer<typeof dataSchema>;
export type NetworkSettings = z.infer<typeof networkSchema>;

/** The configuration sections, each a top-level context key in cdk.json: the schema's own keys. */
export const CONFIG_SECTIONS = Object.keys(configSchema.shape) as (keyof AppConfig)[];

/**
 * The context key that builds the two stages directly on the app, without the
 * pipeline (`-c sandbox=true`): for deploying a sandbox account by hand.
 */
export const SANDBOX_CONTEXT_KEY = 'sandbox';

/**
 * The plain context keys that are not configuration sections, with what each accepts. Every other
 * plain key (no `:` or `/`, unlike CDK's own `aws:cdk:…` keys and the feature flags) must be a
 * section or a `-c section.path=value` override of a key the schema knows: a typo is an error.
 * Add a key here (or a section to configSchema) before reading it from the context.
 */
export const OTHER_CONTEXT_KEYS: Readonly<Record<string, z.ZodType>> = {
  [SANDBOX_CONTEXT_KEY]: z.union([z.boolean(), z.enum(['true', 'false'])], { error: 'expected true or false' }),
};

/** A configuration error: the message names every bad key and what is expected. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Builds the configuration from the app's context: each section from its own
 * context key (an object in cdk.json), then any `-c section.path.to.key=value`
 * override on top (values are parsed as JSON where they parse, else kept as
 * strings), then validates it all.
 */
export function loadConfig(context: Record<string, unknown>): AppConfig {
  const problems = checkContextKeys(context);
  const raw: Record<string, unknown> = {};
  for (const section of CONFIG_SECTIONS) raw[section] = structuredClone(context[section]);
  const overrides = Object.keys(context)
    .filter((key) => (CONFIG_SECTIONS as readonly string[]).includes(key.split('.')[0]) && key.includes('.'))
    .sort();
  for (const key of overrides) setPath(raw, key.split('.'), context[key]);
  return parseConfig(raw, problems);
}

/** Validates a raw configuration object; throws a ConfigError naming each bad key. */
export function parseConfig(raw: unknown, earlierProblems: readonly string[] = []): AppConfig {
  const unknown = unknownKeys(configSchema, raw, []).map(({ path, suggestion }) => problem(path.join('.'), unknownKeyMessage(suggestion)));
  // reportInput: an issue carries the bad value, so the message can show it.
  const result = configSchema.safeParse(raw, { reportInput: true });
  const invalid = result.success ? [] : result.error.issues.map((issue) => problem(issue.path.join('.') || '(root)', describe(issue)));
  const problems = [...earlierProblems, ...unknown, ...invalid];
  // Only a configuration valid in itself is compared across stages.
  if (problems.length === 0 && result.success) problems.push(...stageProblems(result.data));
  if (problems.length === 0 && result.success) return result.data;
  throw new ConfigError(`Invalid br-fagq2 configuration (cdk.json context, or -c overrides):\n${problems.join('\n')}`);
}

/** The repository's statement of what may differ between stages (the enforcement's own copy decides; this is the early check). */
const ALLOWANCES_FILE = path.join(__dirname, '..', 'enforcement', 'allowances.json');

/**
 * The synth's early check of the guardrail's parity: staging and production may differ only
 * where enforcement/allowances.json says, with the validator's own message for each key.
 */
function stageProblems(config: AppConfig): string[] {
  try {
    const allowances = loadAllowances(ALLOWANCES_FILE);
    return checkStageSettings(config.staging, config.production, allowances).map((message) => `  - ${message}`);
  } catch (error) {
    if (error instanceof AllowancesError) return error.message.split('\n').map((line) => `  - ${line.trim().replace(/^- /, '')}`);
    throw error;
  }
}

function problem(key: string, message: string): string {
  return `  - ${key}: ${message}`;
}

function unknownKeyMessage(suggestion: string | undefined): string {
  return suggestion ? `unknown key; did you mean ${suggestion}?` : 'unknown key';
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `missing value (expected ${issue.expected})`;
    return `expected ${withArticle(issue.expected)}, got ${formatValue(issue.input)}`;
  }
  return issue.message;
}

function withArticle(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

/**
 * The top-level context keys that look like configuration (plain names, no `:` or `/`) must be a
 * section, an override of a section's key, or one of OTHER_CONTEXT_KEYS with a valid value.
 */
function checkContextKeys(context: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const topLevel = [...CONFIG_SECTIONS, ...Object.keys(OTHER_CONTEXT_KEYS)];
  for (const key of Object.keys(context).sort()) {
    if (/[:/]/.test(key)) continue; // aws:cdk:… keys, feature flags, lookups
    const [first, ...rest] = key.split('.');
    const other = OTHER_CONTEXT_KEYS[key];
    if (other) {
      const parsed = other.safeParse(context[key]);
      if (!parsed.success) problems.push(problem(key, `${parsed.error.issues[0]!.message}, got ${formatValue(context[key])}`));
    } else if (!(CONFIG_SECTIONS as string[]).includes(first!)) {
      const nearest = closest(first!, topLevel);
      problems.push(problem(key, unknownKeyMessage(nearest && [nearest, ...rest].join('.'))));
    }
  }
  return problems;
}

/** A key of the raw configuration the schema does not know, with the closest key it does. */
interface UnknownKey {
  readonly path: readonly (string | number)[];
  readonly suggestion?: string;
}

/**
 * Walks the raw value along the schema and returns every object key the schema does not define.
 * Driven by the schema alone (objects, intersections, arrays, optional/default/transform
 * wrappers), so a key added to the schema is known at once, and every object is strict without
 * having to be declared so. Records (free-form maps such as a schedule's payload) accept any key.
 */
function unknownKeys(schema: z.ZodType, value: unknown, path: (string | number)[]): UnknownKey[] {
  const inner = unwrap(schema);
  const def = inner._zod.def as { type: string; element?: z.ZodType };
  if (def.type === 'array' && Array.isArray(value)) {
    return value.flatMap((item, index) => unknownKeys(def.element!, item, [...path, index]));
  }
  const shape = shapeOf(inner);
  if (!shape || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const known = shape[key];
    if (known) return unknownKeys(known, child, [...path, key]);
    const nearest = closest(key, Object.keys(shape));
    return [{ path: [...path, key], suggestion: nearest && [...path, nearest].join('.') }];
  });
}

function unwrap(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
  if (def.innerType) return unwrap(def.innerType); // optional, default, nullable, readonly, catch
  if (def.type === 'pipe' && def.in) return unwrap(def.in); // .transform()
  return schema;
}

/** The keys an object-like schema defines; undefined when it accepts any key (or is no object). */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = schema._zod.def as { type: string; shape?: Record<string, z.ZodType>; left?: z.ZodType; right?: z.ZodType; catchall?: z.ZodType };
  if (def.type === 'object') return def.catchall && def.catchall._zod.def.type !== 'never' ? undefined : def.shape;
  if (def.type === 'intersection') {
    const left = shapeOf(unwrap(def.left!));
    const right = shapeOf(unwrap(def.right!));
    return left && right ? { ...left, ...right } : undefined;
  }
  return undefined;
}

/** The candidate nearest to `key` by edit distance, if it is near enough to be a typo. */
function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Sets one override. `-c` values arrive as strings: a value replacing a string
 * stays a string (an account id such as 012345678901 must not become a number);
 * anything else is parsed as JSON where it parses (numbers, booleans, lists).
 */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const leaf = path[path.length - 1];
  node[leaf] = typeof value === 'string' && typeof node[leaf] !== 'string' ? parseJsonOrKeep(value) : value;
}

function parseJsonOrKeep(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
