import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted (by code unit) at every level and no whitespace: one
 * value always encodes to one string, and JSON's string escaping makes the encoding
 * unambiguous (a newline in a name is `\n`, never a line break).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** Lowercase hex SHA-256 of the canonical JSON of `value`. */
export function canonicalDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
