// Template-level parity of production with staging under the allowances: each production stack's
// template equals staging's structurally, with the stage names, accounts and regions set aside,
// except the values and the resource sets the allowances name. The validator calls it on the
// templates it read itself; nothing here reads the commit's configuration (docs/allowances.md).
import { type Allowances, type DifferSetting, type Land, type ResourceSet, sameSettingMessage } from '../allowances.ts';
import { normalizeLogDeliveryPrincipals, type Normalizer, sameUpToStage, stackNormalizer, type StackIdentity } from './normalize.ts';
import { kindOf, type Leaf, type RawDifference, show, walk, type WalkRules } from './walk.ts';

/** One stage: where it deploys, and its templates by stack id (the stage-relative id, e.g. "Tiers"). */
export interface StageTemplates {
  readonly account: string;
  readonly region: string;
  readonly templates: { readonly [stackId: string]: object };
}

export interface CompareStagesInput {
  readonly staging: StageTemplates;
  readonly production: StageTemplates;
  readonly allowances: Allowances;
}

/** One place production differs from staging beyond the allowances. */
export interface ParityDifference {
  readonly stackId: string;
  /** Where in the template: `Resources/<logical id>/Properties/...`, `Outputs/...`, or "" for the whole stack. */
  readonly path: string;
  readonly staging: unknown;
  readonly production: unknown;
  /** Why it is refused: the allowances' reason when a setting that must be equal lands there. */
  readonly why: string;
}

export interface ParityResult {
  readonly ok: boolean;
  readonly differences: ParityDifference[];
}

type Template = Record<string, unknown>;
type Resource = { Type?: unknown; Properties?: unknown; Metadata?: unknown; [key: string]: unknown };
type Side = 'staging' | 'production';

/** Compares every stack of production with staging's stack of the same id. */
export function compareStages(input: CompareStagesInput): ParityResult {
  const { staging, production, allowances } = input;
  const differences: ParityDifference[] = [];
  const stackIds = [...new Set([...Object.keys(staging.templates), ...Object.keys(production.templates)])].sort();
  for (const stackId of stackIds) {
    const [a, b] = [staging.templates[stackId], production.templates[stackId]];
    if (!a || !b) {
      const side = a ? 'staging' : 'production';
      differences.push({ stackId, path: '', staging: a ? 'a template' : undefined, production: b ? 'a template' : undefined, why: `stack ${stackId} is in ${side} only` });
      continue;
    }
    const identity = (stage: StageTemplates, name: string): StackIdentity => ({
      stage: name,
      account: stage.account,
      stackRegion: allowances.fixedRegionStacks[stackId] ?? stage.region,
      stageRegion: stage.region,
      fixedRegions: Object.values(allowances.fixedRegionStacks),
    });
    differences.push(
      ...compareTemplates(stackId, a as Template, b as Template, identity(staging, allowances.stages.staging), identity(production, allowances.stages.production), allowances),
    );
  }
  return { ok: differences.length === 0, differences };
}

function compareTemplates(stackId: string, rawA: Template, rawB: Template, idA: StackIdentity, idB: StackIdentity, allowances: Allowances): ParityDifference[] {
  const templates: Record<Side, Template> = {
    staging: normalizeLogDeliveryPrincipals(withoutCdkMetadata(rawA)),
    production: normalizeLogDeliveryPrincipals(withoutCdkMetadata(rawB)),
  };
  const normalizers: Record<Side, Normalizer> = { staging: stackNormalizer(idA), production: stackNormalizer(idB) };
  const resources: Record<Side, Record<string, Resource>> = { staging: resourcesOf(templates.staging), production: resourcesOf(templates.production) };
  const out: ParityDifference[] = [];

  // Resources of one stage whose logical ids differ only by the stage's name pair up (CDK names a
  // security group rule after its peer's path); the others are in one stage only, accepted when a
  // resource set of the allowances holds them.
  const unshared = (side: Side) => Object.keys(resources[side]).filter((id) => !Object.hasOwn(resources[side === 'staging' ? 'production' : 'staging'], id));
  const neutralA = new Map(unshared('staging').map((id) => [normalizers.staging(id)[0]!, id]));
  const renamed = new Map<string, string>(); // production id -> staging id
  for (const id of unshared('production')) {
    const twin = neutralA.get(normalizers.production(id)[0]!);
    if (twin !== undefined) renamed.set(id, twin);
  }
  const twins = new Set(renamed.values());
  // Whether a resource is in both stages (under one id, or two that differ by the stage's name).
  const paired = (side: Side, id: string) =>
    side === 'staging' ? Object.hasOwn(resources.production, id) || twins.has(id) : Object.hasOwn(resources.staging, id) || renamed.has(id);
  const extras: Record<Side, Set<string>> = { staging: new Set(), production: new Set() };
  const refused: Record<Side, Set<string>> = { staging: new Set(), production: new Set() };
  for (const side of ['staging', 'production'] as const) {
    for (const id of unshared(side).sort()) {
      if (side === 'staging' ? twins.has(id) : renamed.has(id)) continue;
      const refusal = resourceSetRefusal(side, id, resources, normalizers, allowances, (s, other) => (s === side ? paired(s, other) : true));
      if (refusal === undefined) {
        extras[side].add(id);
        continue;
      }
      refused[side].add(id);
      const resource = resources[side][id]!;
      out.push({
        stackId,
        path: `Resources/${id}`,
        staging: side === 'staging' ? summary(resource) : undefined,
        production: side === 'production' ? summary(resource) : undefined,
        why: `a ${String(resource.Type)} in ${side} only: ${refusal}`,
      });
    }
  }

  // The rest pairs up: lists lose their references to the accepted one-stage resources (a subnet
  // list is one subnet shorter per zone), and every difference must land where an allowance says.
  const prepared = (side: Side) => withoutReferences(withoutResources(templates[side], new Set([...extras[side], ...refused[side]])), extras[side]);
  const rules: WalkRules = {
    leavesEqual: leafRule(normalizers.staging, normalizers.production),
    keyA: (key) => normalizers.staging(key)[0]!,
    keyB: (key) => normalizers.production(key)[0]!,
    accepts: (d) => acceptedBy(d, resources, renamed, allowances) !== undefined,
  };
  for (const d of walk(prepared('staging'), prepared('production'), rules)) {
    out.push({ stackId, path: d.path.join('/'), staging: d.staging, production: d.production, why: refusalReason(d, resources, renamed, allowances) });
  }
  return out;
}

/** Two leaves are equal when they are, or when two strings are once stage names, accounts and regions are set aside. */
function leafRule(a: Normalizer, b: Normalizer): (x: Leaf, y: Leaf) => boolean {
  return (x, y) => x === y || (typeof x === 'string' && typeof y === 'string' && sameUpToStage(x, y, a, b));
}

// ---- where a difference may land ----

/** A place in a template: a resource's property (with the resource's type) or an output's. */
interface Place {
  readonly kind: 'resource' | 'output';
  /** The logical id or output name. */
  readonly name: string;
  readonly type?: string;
  /** The path below Properties (resources) or below the output. */
  readonly rest: readonly (string | number)[];
  /** Both sides' roots of `rest` (the resource's Properties, or the output). */
  readonly roots: readonly [unknown, unknown];
}

/** Resources by side, and the production ids whose staging twin has another id (the stage's name in it). */
type Renamed = ReadonlyMap<string, string>;

function placeOf(d: RawDifference, resources: Record<Side, Record<string, Resource>>, renamed: Renamed): Place | undefined {
  const [top, name, third] = d.path;
  if (top === 'Resources' && typeof name === 'string' && third === 'Properties') {
    const [a, b] = [resources.staging[renamed.get(name) ?? name], resources.production[name]];
    if (!a || !b || a.Type !== b.Type || typeof a.Type !== 'string') return undefined;
    return { kind: 'resource', name, type: a.Type, rest: d.path.slice(3), roots: [a.Properties, b.Properties] };
  }
  if (top === 'Outputs' && typeof name === 'string' && d.path.length >= 3) return { kind: 'output', name, rest: d.path.slice(2), roots: [undefined, undefined] };
  return undefined;
}

/** The `differ` setting whose land accepts this difference, if any. */
function acceptedBy(d: RawDifference, resources: Record<Side, Record<string, Resource>>, renamed: Renamed, allowances: Allowances): DifferSetting | undefined {
  const place = placeOf(d, resources, renamed);
  if (!place) return undefined;
  return allowances.differ.find((setting) => setting.lands.some((land) => landAccepts(land, place, d, false)));
}

/**
 * Whether a land names this place: the resource type (and logical id pattern) or the output, and
 * the path segment for segment (`*` any one segment; `[Key=v]` the array item whose Key is v in
 * both stages). A value land takes leaf differences at exactly its path; a subtree land any
 * difference at or below it. `loosely` (for naming a reason) also takes a shape difference at a value land.
 */
function landAccepts(land: Land, place: Place, d: RawDifference, loosely: boolean): boolean {
  if (place.kind === 'resource' ? land.type !== place.type : land.output !== place.name) return false;
  if (land.logicalId !== undefined && !fullMatch(land.logicalId, place.name)) return false;
  const wanted = land.path.split('/');
  if (land.subtree || loosely ? wanted.length > place.rest.length : wanted.length !== place.rest.length) return false;
  if (d.structural && !land.subtree && !loosely) return false;
  if (land.refersTo !== undefined && !loosely && !namesOnly(land.refersTo, d)) return false;
  return wanted.every((segment, i) => segmentMatches(segment, place, i));
}

/** Whether both sides of a difference are logical ids matching `pattern` (a reference to one of those resources). */
function namesOnly(pattern: string, d: RawDifference): boolean {
  return [d.staging, d.production].every((value) => typeof value === 'string' && fullMatch(pattern, value));
}

function segmentMatches(wanted: string, place: Place, index: number): boolean {
  const actual = place.rest[index]!;
  if (wanted === '*') return true;
  const selector = /^\[([^=\]]+)=([^\]]*)\]$/.exec(wanted);
  if (!selector) return String(actual) === wanted;
  if (typeof actual !== 'number') return false;
  const [, key, value] = selector;
  const items = place.roots.map((root) => at(root, [...place.rest.slice(0, index + 1)])).filter((item) => item !== undefined);
  return items.length > 0 && items.every((item) => kindOf(item) === 'object' && (item as Record<string, unknown>)[key!] === value);
}

function at(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** Why a difference is refused: the reason of the `same` setting that lands there, if one does. */
function refusalReason(d: RawDifference, resources: Record<Side, Record<string, Resource>>, renamed: Renamed, allowances: Allowances): string {
  const place = placeOf(d, resources, renamed);
  if (place) {
    // A setting that lands exactly there names the reason before one whose subtree holds it.
    const lands = (s: { readonly lands: readonly Land[] }, subtree: boolean) => s.lands.some((land) => land.subtree === subtree && landAccepts(land, place, d, true));
    const same = allowances.same.find((s) => lands(s, false)) ?? allowances.same.find((s) => lands(s, true));
    if (same) return sameSettingMessage(same);
    const referring = allowances.differ.find((s) => s.lands.some((land) => land.refersTo !== undefined && !d.structural && landAccepts(land, place, d, true)));
    if (referring) return `${referring.key} may only name another ${referring.lands.find((land) => land.refersTo !== undefined)!.refersTo} here (enforcement/allowances.json)`;
    const valueOnly = allowances.differ.find((s) => s.lands.some((land) => landAccepts(land, place, d, true)));
    if (valueOnly) return `${valueOnly.key} may differ here in value only, not in shape (enforcement/allowances.json)`;
  }
  const where = place?.type ? `${place.type} ${place.name}` : d.path.slice(0, 2).join('/');
  return `${d.structural ? 'a shape difference' : 'a value difference'} in ${where}, where no allowance lets the stages differ (enforcement/allowances.json)`;
}

// ---- resources in one stage only ----

/** Why a one-stage resource is refused, or undefined when a resource set of the allowances holds it. */
function resourceSetRefusal(
  side: Side,
  id: string,
  resources: Record<Side, Record<string, Resource>>,
  normalizers: Record<Side, Normalizer>,
  allowances: Allowances,
  isAnchor: (side: Side, id: string) => boolean,
): string | undefined {
  const resource = resources[side][id]!;
  const sets = allowances.differ.flatMap((setting) => setting.resources.map((set) => ({ setting, set }))).filter(({ set }) => set.type === resource.Type && fullMatch(set.logicalId, id));
  if (sets.length === 0) return 'no resource set of the allowances (enforcement/allowances.json) names this type and logical id';
  const reasons: string[] = [];
  for (const { setting, set } of sets) {
    const members = Object.entries(resources[side]).filter(([other, r]) => r.Type === set.type && fullMatch(set.logicalId, other));
    if (set.max !== undefined && members.length > set.max) {
      reasons.push(`${setting.key} allows at most ${set.max} such resource per stage, ${side} has ${members.length}`);
      continue;
    }
    const problem = set.requires ? requiresProblem(set, resource, normalizers[side]) : likeProblem(set, side, id, resources, normalizers, isAnchor);
    if (problem === undefined) return undefined;
    reasons.push(`${setting.key}: ${problem}`);
  }
  return reasons.join('; ');
}

/** The resource must hold exactly the set's required Properties, and anything at its free paths. */
function requiresProblem(set: ResourceSet, resource: Resource, normalize: Normalizer): string | undefined {
  const expected = { Type: set.type, Properties: set.requires };
  const rules: WalkRules = {
    leavesEqual: (x, y) => x === y || (typeof x === 'string' && typeof y === 'string' && normalize(y).includes(x)),
    accepts: (d) => isFree(set, d.path),
  };
  const found = walk(expected, withoutMetadata(resource), rules);
  return found.length === 0 ? undefined : `not the shape the allowances require: ${describe(found[0]!)}`;
}

/**
 * The resource must equal another resource of its type, apart from its free paths and Metadata:
 * one the two stages share, or one of the other stage's (a zone's subnet is like another zone's;
 * production's prefix-list rule like staging's). Never another resource of its own stage's extras,
 * so two planted resources cannot vouch for each other.
 */
function likeProblem(
  set: ResourceSet,
  side: Side,
  id: string,
  resources: Record<Side, Record<string, Resource>>,
  normalizers: Record<Side, Normalizer>,
  isAnchor: (side: Side, id: string) => boolean,
): string | undefined {
  const resource = withoutMetadata(resources[side][id]!);
  let nearest: RawDifference[] | undefined;
  for (const candidateSide of ['staging', 'production'] as const) {
    for (const [otherId, other] of Object.entries(resources[candidateSide])) {
      if ((candidateSide === side && otherId === id) || other.Type !== set.type || !isAnchor(candidateSide, otherId)) continue;
      const rules: WalkRules = { leavesEqual: leafRule(normalizers[candidateSide], normalizers[side]), accepts: (d) => isFree(set, d.path) || refersAsAllowed(set, d) };
      const found = walk(withoutMetadata(other), resource, rules);
      if (found.length === 0) return undefined;
      if (!nearest || found.length < nearest.length) nearest = found;
    }
  }
  return nearest ? `not shaped like any other ${set.type} of the stages (nearest differs at ${describe(nearest[0]!)})` : `no other ${set.type} to be shaped like`;
}

function isFree(set: ResourceSet, path: readonly (string | number)[]): boolean {
  if (path[0] !== 'Properties') return false;
  const rest = path.slice(1).map(String);
  return set.free.some((free) => {
    const wanted = free.split('/');
    return wanted.length <= rest.length && wanted.every((w, i) => w === '*' || w === rest[i]);
  });
}

/** Whether a difference is a reference the set lets name another resource (both sides name one the pattern matches). */
function refersAsAllowed(set: ResourceSet, d: RawDifference): boolean {
  if (d.structural) return false;
  const path = d.path.map(String);
  return Object.entries(set.refersTo).some(([where, pattern]) => {
    const wanted = where.split('/');
    return wanted.length === path.length && wanted.every((w, i) => w === '*' || w === path[i]) && namesOnly(pattern, d);
  });
}

function describe(d: RawDifference): string {
  return `${d.path.join('/')}: ${show(d.staging)} against ${show(d.production)}`;
}

// ---- template preparation ----

function resourcesOf(template: Template): Record<string, Resource> {
  const resources = template.Resources;
  return resources !== null && typeof resources === 'object' && !Array.isArray(resources) ? (resources as Record<string, Resource>) : {};
}

/**
 * Set aside before comparing: AWS::CDK::Metadata resources (CDK's usage analytics, a compressed
 * construct list) are compared by type only, and each resource's `Metadata.cdk_nag` (the commit's
 * own acknowledgements of cdk-nag findings, which CloudFormation ignores and the validator's
 * compliance must not read: it acknowledges from its own allow-list) is left out.
 */
function withoutCdkMetadata(template: Template): Template {
  const resources = resourcesOf(template);
  if (template.Resources !== resources) return template;
  const copy: Record<string, unknown> = {};
  for (const [id, resource] of Object.entries(resources)) {
    if (resource?.Type === 'AWS::CDK::Metadata') copy[id] = { Type: resource.Type };
    else if (kindOf(resource?.Metadata) === 'object' && Object.hasOwn(resource.Metadata as object, 'cdk_nag')) {
      const { cdk_nag: _acknowledgements, ...metadata } = resource.Metadata as Record<string, unknown>;
      copy[id] = { ...resource, Metadata: metadata };
    } else copy[id] = resource;
  }
  return { ...template, Resources: copy };
}

function withoutResources(template: Template, ids: ReadonlySet<string>): Template {
  const resources = Object.fromEntries(Object.entries(resourcesOf(template)).filter(([id]) => !ids.has(id)));
  return { ...template, Resources: resources };
}

function withoutMetadata(resource: Resource): Resource {
  const { Metadata: _metadata, ...rest } = resource;
  return rest;
}

/** A copy where list items that reference one of `ids` (Ref, Fn::GetAtt, or a DependsOn entry) are left out. */
function withoutReferences(template: Template, ids: ReadonlySet<string>): Template {
  if (ids.size === 0) return template;
  const refersTo = (item: unknown, inDependsOn: boolean): boolean => {
    if (inDependsOn && typeof item === 'string') return ids.has(item);
    if (kindOf(item) !== 'object') return false;
    const entries = Object.entries(item as object);
    if (entries.length !== 1) return false;
    const [key, value] = entries[0]!;
    if (key === 'Ref') return typeof value === 'string' && ids.has(value);
    if (key === 'Fn::GetAtt') return Array.isArray(value) ? ids.has(String(value[0])) : typeof value === 'string' && ids.has(value.split('.')[0]!);
    return false;
  };
  const visit = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.filter((item) => !refersTo(item, key === 'DependsOn')).map((item) => visit(item));
    if (kindOf(value) !== 'object') return value;
    return Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, visit(v, k)]));
  };
  return visit(template) as Template;
}

function summary(resource: Resource): string {
  return show(withoutMetadata(resource));
}

function fullMatch(source: string, value: string): boolean {
  return new RegExp(`^(?:${source})$`).test(value);
}

/** The differences as lines for a check's detail: `<stack> <path>: staging <value>, production <value>: <why>`. */
export function describeDifferences(differences: readonly ParityDifference[], limit = 40): string[] {
  const lines = differences
    .slice(0, limit)
    .map((d) => `${d.stackId}${d.path ? ` ${d.path}` : ''}: staging ${show(d.staging)}, production ${show(d.production)}: ${d.why}`);
  if (differences.length > limit) lines.push(`... and ${differences.length - limit} more`);
  return lines;
}
