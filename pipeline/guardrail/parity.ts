import { readdirSync } from 'node:fs';
import { z } from 'zod';
import { type AssemblyInfo, type AssetSource, parseJsonFile, type StackArtifact, templateAssets } from './assembly.ts';
import type { StageConfig } from './types.ts';
import { canonicalJson } from './canonical.ts';
import { type CheckResult, fromProblems } from './check.ts';
import { LIMITS, resolveInside, UnusableInputError } from './safe-fs.ts';
import { type CompareRules, compareJson, type Differences, type Leaf, leaves, lines, newDifferences, note, show } from './structure.ts';

/** What the parity checks compare. */
export interface ParityInput {
  /** The real assembly root. */
  readonly root: string;
  readonly staging: AssemblyInfo;
  readonly production: AssemblyInfo;
  /** The SHA-256 of every covered path, computed now (the digests check ties them to the attestation). */
  readonly digestOf: ReadonlyMap<string, string>;
  /** The per-stage configuration signed into the attestation, if any. */
  readonly stageConfig: StageConfig | null;
}

/**
 * "What ships is what was tested", three checks:
 * - `staging-parity`: every production asset (file, Docker image, executable) equals a
 *   staging asset in content AND in every build input of its manifest `source` (build
 *   args such as NODE_IMAGE, target, platform, Dockerfile, network mode, outputs, cache
 *   settings, the executable's command...), and is published to the same destinations
 *   up to the stage's account and region.
 * - `template-parity`: each production stack has a staging stack, recognised through
 *   the manifests (`templateFile`), and their templates and manifest entries are
 *   structurally equal: same resources, types and properties, except the values the
 *   per-stage configuration declares (see stageRules).
 * - `production-contents`: the production assembly directory holds only files its
 *   manifest names; anything else, whatever its name, fails.
 */
export function parityChecks(input: ParityInput): CheckResult[] {
  const rules = stageRules(input);
  return [assetParity(input, rules), templateParity(input, rules), productionContents(input)];
}

/**
 * How a staging value may differ from a production one, derived from the assembly and
 * the signed configuration only:
 * - the stage name (last segment of the stage's display name) in any string, as
 *   `Staging`/`staging`/`STAGING`; in a string that held it, an uppercase hex run of 8 or
 *   more characters (the hash CDK appends to generated names) is ignored;
 * - the stage's account id (from its stacks' `environment`) in any string, when the
 *   stages' accounts differ; likewise the region;
 * - a per-stage setting: a leaf of `context.staging` that differs from the same leaf of
 *   `context.production` in the signed configuration gives a (staging, production) pair,
 *   compared as strings (CloudFormation writes 512 or "512"), accepted only where
 *   PER_STAGE_SETTINGS says that setting lands. The configuration is the commit's: a
 *   free-form value (a job payload) could declare a pair of policy ARNs, and a task count
 *   a pair of ports; the table, which only an approved guardrail revision can change,
 *   says which settings are per stage and where each may land.
 * Nothing else may differ.
 */
export interface StageRules extends CompareRules {
  readonly staging: (s: string) => string;
  readonly production: (s: string) => string;
  /** (staging, production) value pairs of per-stage settings, with where each may land. */
  readonly configPairs: ReadonlyMap<string, readonly string[][]>;
}

export function stageRules(input: Pick<ParityInput, 'staging' | 'production' | 'stageConfig'>): StageRules {
  const envs = (a: AssemblyInfo) => a.stacks.map((s) => /^aws:\/\/([^/]+)\/(.+)$/.exec(s.environment ?? '')).filter((m) => m !== null);
  const [stagingEnvs, productionEnvs] = [envs(input.staging), envs(input.production)];
  const swap = (field: 1 | 2) => {
    const s = new Set(stagingEnvs.map((m) => m![field]));
    const p = new Set(productionEnvs.map((m) => m![field]));
    const disjoint = [...s].every((v) => !p.has(v));
    return disjoint ? [[...s], [...p]] : [[], []];
  };
  const [stagingAccounts, productionAccounts] = swap(1);
  const [stagingRegions, productionRegions] = swap(2);
  const normalizer = (displayName: string, accounts: string[], regions: string[]) => {
    const stage = displayName.split('/').pop() ?? displayName;
    const pairs: Array<[string, string]> = [
      [stage, '<Stage>'],
      [stage.toLowerCase(), '<stage>'],
      [stage.toUpperCase(), '<STAGE>'],
      ...accounts.filter(Boolean).map((a) => [a, '<account>'] as [string, string]),
      ...regions.filter(Boolean).map((r) => [r, '<region>'] as [string, string]),
    ];
    return (value: string): string => {
      let out = value;
      for (const [from, to] of pairs) out = out.split(from).join(to);
      return /<(?:Stage|stage|STAGE)>/.test(out) ? out.replace(/[0-9A-F]{8,}(?![0-9A-Za-z])/g, '<hash>') : out;
    };
  };
  const staging = normalizer(input.staging.displayName, stagingAccounts!, stagingRegions!);
  const production = normalizer(input.production.displayName, productionAccounts!, productionRegions!);
  const configPairs = new Map<string, string[][]>();
  if (input.stageConfig) {
    const p = leaves(input.stageConfig.production);
    for (const [path, value] of leaves(input.stageConfig.staging)) {
      const other = p.get(path);
      if (other === undefined || other === value) continue;
      for (const setting of PER_STAGE_SETTINGS) {
        if (!matchesWhole(path, setting.config) || !hasForm(value, setting) || !hasForm(other, setting)) continue;
        const key = pairKey(value, other);
        configPairs.set(key, [...(configPairs.get(key) ?? []), ...setting.lands.map((l) => l.split('/'))]);
      }
    }
  }
  const equal = (a: Leaf, b: Leaf, path: string): boolean => {
    if (typeof a === 'string' && typeof b === 'string' && staging(a) === production(b)) return true;
    const segments = path.split('/');
    return (configPairs.get(pairKey(a, b)) ?? []).some((tail) => endsWith(segments, tail));
  };
  return { staging, production, configPairs, equal, keyA: staging, keyB: production };
}

const pairKey = (a: Leaf, b: Leaf) => `${String(a)}\u0000${String(b)}`;

/**
 * The per-stage settings of the configuration (paths in `context.<stage>`, `*` for any one
 * key) and where in a template each may land (a path suffix, `*` for any one key or
 * index). A setting that is not listed must be equal across stages; listing one is a
 * change of the guardrail, approved like any other.
 */
export const PER_STAGE_SETTINGS: ReadonlyArray<PerStageSetting> = [
  { config: 'logRetentionDays', lands: ['RetentionInDays'] },
  { config: '*/cpu', lands: ['Properties/Cpu'] },
  { config: '*/memoryMiB', lands: ['Properties/Memory', 'ContainerDefinitions/*/Memory'] },
  { config: '*/minTasks', lands: ['Properties/MinCapacity', 'Properties/DesiredCount'] },
  { config: '*/maxTasks', lands: ['Properties/MaxCapacity'] },
  { config: '*/concurrency', lands: ['Environment/*/Value'] },
  { config: 'data/pointInTimeRecovery', lands: ['PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled'] },
  { config: 'edge/rateLimitPer5Minutes', lands: ['RateBasedStatement/Limit'] },
  { config: 'alarms/*', lands: ['Properties/Threshold'] },
  // The API's release timing (its strategy is not listed: staging rehearses production's).
  { config: 'api/deployment/bakeMinutes', lands: ['DeploymentConfiguration/BakeTimeInMinutes'] },
  { config: 'api/deployment/trafficStepMinutes', lands: ['CanaryConfiguration/CanaryBakeTimeInMinutes', 'LinearConfiguration/StepBakeTimeInMinutes'] },
  { config: 'api/deployment/trafficStepPercent', lands: ['CanaryConfiguration/CanaryPercent', 'LinearConfiguration/StepPercent'] },
  // Identities of the stage's own (who signs users' tokens, where the edge answers); each
  // form keeps the value from standing in for a permission (a policy ARN, an action).
  { config: 'auth/oidcIssuer', lands: ['Environment/*/Value'], form: /^https:\/\/[A-Za-z0-9.-]+(:\d+)?(\/[\w./-]*)?$/ },
  { config: 'auth/audience', lands: ['Environment/*/Value'], form: /^[\w.-]+$/ },
  { config: 'edge/domainName', lands: ['Aliases/*'], form: /^[a-z0-9.-]+$/ },
  {
    config: 'edge/certificateArn',
    lands: ['ViewerCertificate/AcmCertificateArn'],
    form: /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[\w-]+$/,
  },
];

/** A per-stage setting: its config path, where its values may land, and for strings the form both must have. */
export interface PerStageSetting {
  readonly config: string;
  readonly lands: readonly string[];
  /** A string setting's form: both values must match it. Numbers and booleans need none. */
  readonly form?: RegExp;
}

/** Whether a config path matches a pattern segment for segment (`*` matches any one segment). */
function matchesWhole(path: string, pattern: string): boolean {
  const [segments, wanted] = [path.split('/').filter(Boolean), pattern.split('/')];
  return segments.length === wanted.length && endsWith(segments, wanted);
}

/** Strings must match the setting's form (a string setting without one is refused); numbers and booleans pass. */
function hasForm(value: Leaf, setting: PerStageSetting): boolean {
  if (typeof value === 'number' || typeof value === 'boolean') return true;
  return typeof value === 'string' && setting.form !== undefined && setting.form.test(value);
}

/** Whether `segments` end with `tail` (`*` matching any one segment). */
function endsWith(segments: readonly string[], tail: readonly string[]): boolean {
  if (tail.length > segments.length) return false;
  const offset = segments.length - tail.length;
  return tail.every((want, i) => want === '*' || want === segments[offset + i]);
}

/** Where an asset's content is named in its `source`. */
const PATH_KEY = { 'file-asset': 'path', 'docker-context': 'directory' } as const;

/** The build identity of a non-template asset: its kind and whole `source`, the content digest in place of the path. */
function buildIdentity(asset: AssetSource, digestOf: ReadonlyMap<string, string>): string | undefined {
  const source: Record<string, unknown> = { ...asset.source };
  if (asset.path !== undefined) {
    const digest = digestOf.get(asset.path);
    if (digest === undefined) return undefined;
    source[PATH_KEY[asset.kind]] = { sha256: digest };
  }
  return canonicalJson({ kind: asset.kind, source });
}

function describeAsset(asset: AssetSource): string {
  const what = asset.kind === 'docker-context' ? 'Docker image' : 'file asset';
  const built = asset.path ?? `built by ${show(asset.source.executable)}`;
  return `${what} ${asset.id} (${built}, named by ${asset.manifest})`;
}

function assetParity(input: ParityInput, rules: StageRules): CheckResult {
  const { staging, production, digestOf } = input;
  const stagingTemplates = templateAssets(staging);
  const productionTemplates = templateAssets(production);
  const tested = staging.assets.filter((a) => !stagingTemplates.has(a));
  const byIdentity = new Map<string, AssetSource[]>();
  for (const asset of tested) {
    const identity = buildIdentity(asset, digestOf);
    if (identity !== undefined) byIdentity.set(identity, [...(byIdentity.get(identity) ?? []), asset]);
  }
  const problems: string[] = [];
  const shipped = production.assets.filter((a) => !productionTemplates.has(a));
  for (const asset of shipped) {
    const identity = buildIdentity(asset, digestOf);
    const twins = identity === undefined ? [] : (byIdentity.get(identity) ?? []);
    if (twins.length === 0) {
      problems.push(`${describeAsset(asset)} is deployed by ${production.displayName} but ${staging.displayName} never deployed it${closest(asset, tested, digestOf)}`);
      continue;
    }
    const destinations = normalizedDestinations(asset, rules.production);
    if (!twins.some((twin) => normalizedDestinations(twin, rules.staging) === destinations)) {
      problems.push(`${describeAsset(asset)} is published to other destinations than ${staging.displayName}'s: ${show(Object.values(asset.destinations))}`);
    }
  }
  return fromProblems(
    'staging-parity',
    problems,
    `all ${shipped.length} assets of ${production.displayName} equal an asset of ${staging.displayName} in content and build inputs`,
    `${production.displayName} deploys assets that ${staging.displayName} did not`,
  );
}

/** Why a production asset has no twin: the staging asset with the same content or id, and the inputs that differ. */
function closest(asset: AssetSource, tested: readonly AssetSource[], digestOf: ReadonlyMap<string, string>): string {
  const digest = asset.path === undefined ? undefined : digestOf.get(asset.path);
  const near = tested.find(
    (t) => t.kind === asset.kind && ((digest !== undefined && t.path !== undefined && digestOf.get(t.path) === digest) || t.id === asset.id),
  );
  if (!near) return '';
  const d = newDifferences();
  const strip = (a: AssetSource) => {
    const { [PATH_KEY[a.kind]]: _path, ...rest } = a.source;
    return { ...rest, content: a.path === undefined ? null : digestOf.get(a.path) };
  };
  compareJson(strip(near), strip(asset), 'source', { equal: (a, b) => a === b }, d);
  return `: ${staging(near)} builds ${near.path === undefined ? 'by an executable' : 'the same content'} with other inputs: ${lines(d).slice(0, 5).join('; ')}`;
}

const staging = (a: AssetSource) => `staging asset ${a.id}`;

function normalizedDestinations(asset: AssetSource, normalize: (s: string) => string, templateId?: string): string {
  const values = Object.values(asset.destinations).map((d) =>
    JSON.parse(JSON.stringify(d), (_k, v) => (typeof v === 'string' ? normalize(templateId ? v.split(templateId).join('<template>') : v) : v)),
  );
  return canonicalJson(values.map((v) => canonicalJson(v)).sort());
}

const templateSchema = z.record(z.string(), z.unknown());

function templateParity(input: ParityInput, rules: StageRules): CheckResult {
  const { root, staging, production } = input;
  const d = newDifferences();
  const key = (stack: StackArtifact, normalize: (s: string) => string) => normalize(stack.displayName);
  const stagingStacks = new Map(staging.stacks.map((s) => [key(s, rules.staging), s]));
  const productionStacks = new Map(production.stacks.map((s) => [key(s, rules.production), s]));
  for (const [name, stack] of stagingStacks) {
    if (!productionStacks.has(name)) note(d, `stack ${stack.displayName} has no ${production.displayName} counterpart`);
  }
  const stagingTemplates = invert(templateAssets(staging));
  const productionTemplates = invert(templateAssets(production));
  let compared = 0;
  for (const [name, prodStack] of productionStacks) {
    const stageStack = stagingStacks.get(name);
    if (!stageStack) {
      note(d, `stack ${prodStack.displayName} (${prodStack.template}) is deployed by ${production.displayName} only`);
      continue;
    }
    compared += 1;
    const a = withoutCdkMetadata(parseJsonFile(root, stageStack.template, templateSchema));
    const b = withoutCdkMetadata(parseJsonFile(root, prodStack.template, templateSchema));
    compareJson(a, b, prodStack.template, rules, d);
    // The template's own publication (the assets manifest entry): same inputs, same destinations.
    const [ta, tb] = [stagingTemplates.get(stageStack), productionTemplates.get(prodStack)];
    if (!ta || !tb) {
      if (ta || tb) note(d, `${prodStack.template}: published as a file asset in one stage only`);
    } else {
      const inputs = (asset: AssetSource) => canonicalJson({ ...asset.source, path: null });
      if (inputs(ta) !== inputs(tb)) note(d, `${prodStack.template}: published with other inputs than ${stageStack.template}: ${show(tb.source)}`);
      if (normalizedDestinations(ta, rules.staging, ta.id) !== normalizedDestinations(tb, rules.production, tb.id)) {
        note(d, `${prodStack.template}: published to other destinations than ${stageStack.template}'s`);
      }
    }
  }
  compareManifests(input, rules, stagingTemplates, productionTemplates, d);
  return fromProblems(
    'template-parity',
    lines(d),
    `${compared} ${production.displayName} stacks are structurally equal to ${staging.displayName}'s, up to ` +
      `stage names, accounts and ${rules.configPairs.size} per-stage configuration values`,
    `${production.displayName} differs from ${staging.displayName} beyond the per-stage configuration`,
  );
}

function invert<K, V>(map: Map<K, V>): Map<V, K> {
  return new Map([...map].map(([k, v]) => [v, k]));
}

/** AWS::CDK::Metadata resources (CDK's usage analytics, a compressed construct list) are compared by type only. */
export function withoutCdkMetadata(template: Record<string, unknown>): Record<string, unknown> {
  const resources = template.Resources;
  if (resources === null || typeof resources !== 'object' || Array.isArray(resources)) return template;
  const copy: Record<string, unknown> = {};
  for (const [id, resource] of Object.entries(resources)) {
    const type = (resource as { Type?: unknown } | null)?.Type;
    copy[id] = type === 'AWS::CDK::Metadata' ? { Type: type } : resource;
  }
  return { ...template, Resources: copy };
}

/**
 * The stage manifests' artifacts (stacks and their deployment properties, assets
 * manifests, anything else) must pair up and be equal under the stage rules. `metadata`
 * (construct paths for the CLI's messages) is not compared; the template's own asset
 * hash in `stackTemplateAssetObjectUrl` is.
 */
function compareManifests(
  input: ParityInput,
  rules: StageRules,
  stagingTemplates: Map<StackArtifact, AssetSource>,
  productionTemplates: Map<StackArtifact, AssetSource>,
  d: Differences,
): void {
  const prepare = (assembly: AssemblyInfo, normalize: (s: string) => string, templates: Map<StackArtifact, AssetSource>) => {
    const out: Record<string, unknown> = {};
    for (const [id, artifact] of Object.entries(assembly.artifacts)) {
      const { metadata: _metadata, ...rest } = artifact as Record<string, unknown>;
      const stack = assembly.stacks.find((s) => s.id === id);
      const templateId = stack ? templates.get(stack)?.id : undefined;
      const text = JSON.stringify(rest);
      out[normalize(id)] = JSON.parse(templateId ? text.split(templateId).join('<template>') : text);
    }
    return out;
  };
  compareJson(
    prepare(input.staging, rules.staging, stagingTemplates),
    prepare(input.production, rules.production, productionTemplates),
    `${input.production.manifest}#artifacts`,
    rules,
    d,
  );
}

function productionContents(input: ParityInput): CheckResult {
  const { root, production } = input;
  const named = new Set([
    production.manifest,
    `${production.directory}/cdk.out`,
    ...production.stacks.map((s) => s.template),
    ...production.assetManifests,
    ...production.otherFiles,
    ...production.nested,
  ]);
  const problems: string[] = [];
  const dir = resolveInside(root, production.directory);
  const names = dir ? readdirSync(dir.real, { encoding: 'utf8' }) : [];
  if (names.length > LIMITS.entries) {
    throw new UnusableInputError(`${production.directory}: more than ${LIMITS.entries} entries: refusing (limit)`);
  }
  for (const name of names.sort()) {
    const path = `${production.directory}/${name}`;
    if (!named.has(path)) problems.push(`${JSON.stringify(path).slice(1, -1)} is in the ${production.displayName} assembly but its manifest does not name it`);
  }
  return fromProblems(
    'production-contents',
    problems.slice(0, 40).concat(problems.length > 40 ? [`... and ${problems.length - 40} more`] : []),
    `the ${production.displayName} assembly holds only the ${names.length} files its manifest names`,
    `the ${production.displayName} assembly holds files no manifest names`,
  );
}
