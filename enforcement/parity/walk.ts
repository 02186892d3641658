// Structural comparison of two JSON documents (staging's and production's): same keys, same array
// lengths, and leaves that are equal or that the rules accept, with a hook for the differences an
// allowance accepts.

/** A primitive JSON value. */
export type Leaf = string | number | boolean | null;

/** Where two documents differ: a path of keys and indexes, and both sides' values there. */
export interface RawDifference {
  readonly path: readonly (string | number)[];
  readonly staging: unknown;
  readonly production: unknown;
  /** A shape difference (a key on one side only, another array length, another kind), not two leaves. */
  readonly structural: boolean;
}

export interface WalkRules {
  /** Whether two leaves count as equal (stage names, accounts, regions set aside). */
  readonly leavesEqual: (a: Leaf, b: Leaf) => boolean;
  /** An object key's stage-neutral form on each side (for keys only one side holds as they are). */
  readonly keyA?: (key: string) => string;
  readonly keyB?: (key: string) => string;
  /** Whether a difference is accepted (an allowance names its place); checked before it is noted. */
  readonly accepts?: (difference: RawDifference) => boolean;
}

/** Every difference between `a` (staging) and `b` (production) the rules do not accept. */
export function walk(a: unknown, b: unknown, rules: WalkRules, path: (string | number)[] = [], into: RawDifference[] = []): RawDifference[] {
  const note = (d: RawDifference) => {
    if (!rules.accepts?.(d)) into.push(d);
  };
  const [kindA, kindB] = [kindOf(a), kindOf(b)];
  if (kindA !== kindB) {
    note({ path, staging: a, production: b, structural: true });
    return into;
  }
  if (kindA === 'array') {
    const [x, y] = [a as unknown[], b as unknown[]];
    if (x.length !== y.length) {
      note({ path, staging: a, production: b, structural: true });
      return into;
    }
    x.forEach((item, i) => walk(item, y[i], rules, [...path, i], into));
    return into;
  }
  if (kindA === 'object') {
    const [x, y] = [a as Record<string, unknown>, b as Record<string, unknown>];
    // A key both sides hold as it is pairs with itself; only the others have stage names set aside.
    const shared = new Set(Object.keys(x).filter((k) => Object.hasOwn(y, k)));
    const left = byKey(x, shared, rules.keyA);
    const right = byKey(y, shared, rules.keyB);
    for (const key of [...new Set([...left.keys(), ...right.keys()])].sort()) {
      const [l, r] = [left.get(key), right.get(key)];
      if (!r) note({ path: [...path, l![0]], staging: l![1], production: undefined, structural: true });
      else if (!l) note({ path: [...path, r[0]], staging: undefined, production: r[1], structural: true });
      else walk(l[1], r[1], rules, [...path, r[0]], into);
    }
    return into;
  }
  if (a !== b && !rules.leavesEqual(a as Leaf, b as Leaf)) note({ path, staging: a, production: b, structural: false });
  return into;
}

function byKey(object: Record<string, unknown>, shared: ReadonlySet<string>, rename?: (key: string) => string): Map<string, [string, unknown]> {
  const out = new Map<string, [string, unknown]>();
  for (const [key, value] of Object.entries(object)) {
    const renamed = rename && !shared.has(key) ? rename(key) : key;
    // Two keys renamed alike stay apart (the second under its own name): a difference, not a match.
    out.set(out.has(renamed) ? key : renamed, [key, value]);
  }
  return out;
}

export function kindOf(value: unknown): 'array' | 'object' | 'leaf' | 'absent' {
  if (value === undefined) return 'absent';
  if (Array.isArray(value)) return 'array';
  if (value !== null && typeof value === 'object') return 'object';
  return 'leaf';
}

/** A value for a message: JSON, cut to 80 characters. */
export function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
