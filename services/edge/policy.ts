// How the local edge applies the rules, as CloudFront documents its caching:
// - cache key and forwarded query: only the allow-listed query strings ("Control the cache key with
//   a policy": values in the cache key are included in origin requests);
// - TTL: s-maxage, else max-age, bounded by the policy's minimum and maximum TTL; no-store,
//   no-cache and private are not cached when the minimum TTL is 0; no directive: the default TTL
//   ("Manage how long content stays in the cache (expiration)");
// - stale-while-revalidate: a stale answer is served while the origin is asked in the background;
// - an expired answer with an ETag is revalidated with If-None-Match; a 304 refreshes it.
import { matchesPathPattern, type EdgeCacheRules } from './rules.ts';

/** The cache behaviour a request falls under. */
export function isCachedRequest(rules: EdgeCacheRules, method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && rules.cachedPaths.some((pattern) => matchesPathPattern(pattern, path));
}

/** The path and the allow-listed query strings (in the viewer's order): the cache key and what the origin gets. */
export function cacheKey(rules: EdgeCacheRules, url: URL): string {
  const kept = [...url.searchParams].filter(([name]) => rules.cacheKeyQueryStrings.includes(name));
  return kept.length === 0 ? url.pathname : `${url.pathname}?${new URLSearchParams(kept).toString()}`;
}

export interface Freshness {
  /** How long the answer is fresh; 0 means not cached. */
  readonly ttlSeconds: number;
  /** How long after that a stale copy may still be served while it is revalidated. */
  readonly staleWhileRevalidateSeconds: number;
}

/** The freshness of an origin answer under the rules. */
export function freshness(rules: EdgeCacheRules, cacheControl: string | undefined): Freshness {
  const directives = new Map<string, string | undefined>();
  for (const part of (cacheControl ?? '').split(',')) {
    const [name, value] = part.trim().toLowerCase().split('=', 2) as [string, string | undefined];
    if (name) directives.set(name, value?.replace(/^"|"$/g, ''));
  }
  const seconds = (name: string) => {
    const value = Number(directives.get(name));
    return directives.has(name) && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const swr = seconds('stale-while-revalidate') ?? 0;
  if (rules.minTtlSeconds === 0 && ['no-store', 'no-cache', 'private'].some((name) => directives.has(name))) {
    return { ttlSeconds: 0, staleWhileRevalidateSeconds: 0 };
  }
  const asked = seconds('s-maxage') ?? seconds('max-age') ?? rules.defaultTtlSeconds;
  const ttlSeconds = Math.min(rules.maxTtlSeconds, Math.max(rules.minTtlSeconds, asked));
  return { ttlSeconds, staleWhileRevalidateSeconds: ttlSeconds > 0 ? swr : 0 };
}
