// The edge cache's rules, as plain data: the CloudFront cache policy (constructs/edge-cache.ts) and
// the local edge proxy (./proxy.ts) both read them, so the two cannot drift apart.
// Dependency-free on purpose: the CDK side imports this file, and services/ imports nothing from it.

/** What the edge caches and for how long. */
export interface EdgeCacheRules {
  /**
   * CloudFront path patterns whose GET/HEAD answers are cached (case-sensitive; `*` matches any
   * run of characters, `?` one character; the query string is not part of the match).
   */
  readonly cachedPaths: readonly string[];
  /** Query strings in the cache key. Only these reach the origin; the others are dropped. */
  readonly cacheKeyQueryStrings: readonly string[];
  /** Bounds on the TTL the origin's Cache-Control asks for (s-maxage, else max-age). */
  readonly minTtlSeconds: number;
  /** The TTL of an answer without max-age/s-maxage. */
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

export const EDGE_CACHE_RULES: EdgeCacheRules = {
  cachedPaths: ['/v1/search*', '/v1/version'],
  cacheKeyQueryStrings: ['q', 'limit'],
  minTtlSeconds: 0,
  defaultTtlSeconds: 60,
  maxTtlSeconds: 86_400,
};

/** Whether a path (without query string) matches a CloudFront path pattern. */
export function matchesPathPattern(pattern: string, path: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(path);
}
