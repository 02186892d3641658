// Structural comparison of two JSON documents (templates, manifests): same keys, same
// array lengths, and leaf values that are equal or that an `equal` rule accepts.

/** A primitive JSON value. */
export type Leaf = string | number | boolean | null;

/** At most this many differences are listed per comparison; the rest are counted. */
export const MAX_LISTED = 40;

/** Differences found, bounded: `listed` holds at most MAX_LISTED lines, `total` counts all. */
export interface Differences {
  readonly listed: string[];
  total: number;
}

export function newDifferences(): Differences {
  return { listed: [], total: 0 };
}

export function note(into: Differences, line: string): void {
  into.total += 1;
  if (into.listed.length < MAX_LISTED) into.listed.push(line);
}

/** The lines of `d`, with "... and N more" when some were left out. */
export function lines(d: Differences, prefix = ''): string[] {
  const out = d.listed.map((l) => `${prefix}${l}`);
  if (d.total > d.listed.length) out.push(`${prefix}... and ${d.total - d.listed.length} more`);
  return out;
}

/** A value for a message: JSON, cut to 80 characters. */
export function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Walks `a` (staging) and `b` (production) together and notes every place they differ:
 * a key on one side only, another array length, another type, or two leaves `equal`
 * does not accept.
 */
/** How two sides may differ: leaves `equal` accepts, and object keys renamed per side (identity by default). */
export interface CompareRules {
  /** Whether leaves `a` (staging) and `b` (production) at `path` count as equal. */
  readonly equal: (a: Leaf, b: Leaf, path: string) => boolean;
  readonly keyA?: (key: string) => string;
  readonly keyB?: (key: string) => string;
}

export function compareJson(a: unknown, b: unknown, path: string, rules: CompareRules, into: Differences): void {
  const kindA = kindOf(a);
  const kindB = kindOf(b);
  if (kindA !== kindB) {
    note(into, `${path}: staging has ${show(a)}, production ${show(b)}`);
    return;
  }
  if (kindA === 'array') {
    const [x, y] = [a as unknown[], b as unknown[]];
    if (x.length !== y.length) {
      note(into, `${path}: ${x.length} items in staging, ${y.length} in production`);
      return;
    }
    x.forEach((item, i) => compareJson(item, y[i], `${path}/${i}`, rules, into));
    return;
  }
  if (kindA === 'object') {
    // A key both sides hold as it is (a CloudFormation property such as ECS's
    // `ProductionListenerRule`) pairs with itself; only the others have stage names set aside.
    const shared = new Set(Object.keys(a as object).filter((key) => Object.hasOwn(b as object, key)));
    const x = renameKeys(a as Record<string, unknown>, rules.keyA, path, into, shared);
    const y = renameKeys(b as Record<string, unknown>, rules.keyB, path, into, shared);
    for (const key of [...new Set([...x.keys(), ...y.keys()])].sort()) {
      const [left, right] = [x.get(key), y.get(key)];
      if (!right) note(into, `${path}/${left![0]}: only in staging`);
      else if (!left) note(into, `${path}/${right[0]}: only in production (${show(right[1])})`);
      else compareJson(left[1], right[1], `${path}/${right[0]}`, rules, into);
    }
    return;
  }
  if (a !== b && !rules.equal(a as Leaf, b as Leaf, path)) note(into, `${path}: staging has ${show(a)}, production ${show(b)}`);
}

/** The entries of `object` by renamed key (original key, value); two keys renamed alike are a difference. */
function renameKeys(
  object: Record<string, unknown>,
  rename: ((key: string) => string) | undefined,
  path: string,
  into: Differences,
  shared: ReadonlySet<string>,
): Map<string, [string, unknown]> {
  const out = new Map<string, [string, unknown]>();
  for (const [key, value] of Object.entries(object)) {
    const renamed = rename && !shared.has(key) ? rename(key) : key;
    if (out.has(renamed)) note(into, `${path}/${key}: same key as ${out.get(renamed)![0]} once stage names are set aside`);
    else out.set(renamed, [key, value]);
  }
  return out;
}

function kindOf(value: unknown): 'array' | 'object' | 'leaf' {
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  return 'leaf';
}

/** Every leaf of a JSON value by its path (`a/b/0`). */
export function leaves(value: unknown, path = '', into = new Map<string, Leaf>()): Map<string, Leaf> {
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${path}/${i}`, into));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaves(v, `${path}/${k}`, into);
  } else into.set(path, value as Leaf);
  return into;
}
