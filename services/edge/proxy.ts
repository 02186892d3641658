// A local stand-in for the CloudFront distribution: a caching reverse proxy in front of the API that
// applies the same cache rules (./rules.ts, ./policy.ts). Local runs and tests only: never deployed.
// Not modelled: compression, the security response headers and the WAF.
import { request as httpRequest, createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cacheKey, freshness, isCachedRequest } from './policy.ts';
import { EDGE_CACHE_RULES, matchesPathPattern, type EdgeCacheRules } from './rules.ts';

export interface EdgeProxyOptions {
  /** The API's base URL, e.g. http://127.0.0.1:8080. */
  readonly origin: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default EDGE_CACHE_RULES (what the CloudFront cache policy uses) */
  readonly rules?: EdgeCacheRules;
  /** @default Date.now (tests move time forward instead of sleeping) */
  readonly now?: () => number;
}

export interface EdgeProxy {
  readonly url: string;
  /** Drops the cached answers whose path matches one of the CloudFront invalidation paths. */
  invalidate(paths: readonly string[]): number;
  stop(): Promise<void>;
}

interface OriginAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Outcome {
  readonly answer: OriginAnswer;
  readonly status: 'Miss' | 'RefreshHit';
}

interface Entry {
  answer: OriginAnswer;
  storedAt: number;
  ttlMs: number;
  staleMs: number;
  revalidating?: Promise<unknown>;
}

// The viewer headers the default (uncached) behaviour forwards. On AWS it uses the managed
// AllViewerExceptHostHeader policy, which with caching disabled also forwards Authorization (the
// bearer token of writes); only what the API reads is modelled here.
const FORWARDED_HEADERS = ['accept', 'content-type', 'if-none-match', 'user-agent', 'content-length', 'authorization'];
// Origin headers a proxy must not pass on (hop-by-hop) or recomputes.
const DROPPED_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'age']);
const INVALIDATION_API = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation(?:\/([^/?]+))?/;

export async function startEdgeProxy(options: EdgeProxyOptions): Promise<EdgeProxy> {
  const rules = options.rules ?? EDGE_CACHE_RULES;
  const now = options.now ?? Date.now;
  const origin = new URL(options.origin);
  const cache = new Map<string, Entry>();
  const misses = new Map<string, Promise<Outcome>>();
  let invalidations = 0;

  const fetchOrigin = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    new Promise<OriginAnswer>((resolve, reject) => {
      const outgoing = httpRequest(
        { host: origin.hostname, port: origin.port, method, path, headers: { ...headers, host: origin.host } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });

  // Keeps a cacheable answer (per its Cache-Control); anything else drops what was cached.
  const store = (key: string, answer: OriginAnswer): void => {
    const { ttlSeconds, staleWhileRevalidateSeconds } = freshness(rules, header(answer.headers, 'cache-control'));
    if (answer.status !== 200 || ttlSeconds === 0) cache.delete(key);
    else cache.set(key, { answer, storedAt: now(), ttlMs: ttlSeconds * 1000, staleMs: staleWhileRevalidateSeconds * 1000 });
  };

  // Asks the origin; with the cached ETag as If-None-Match, and a 304 keeps the cached body with a new lifetime.
  const refresh = async (key: string, entry: Entry | undefined): Promise<Outcome> => {
    const etag = entry && header(entry.answer.headers, 'etag');
    const answer = await fetchOrigin('GET', key, etag ? { 'if-none-match': etag } : {});
    if (entry && answer.status === 304) {
      const kept = { ...entry.answer, headers: { ...entry.answer.headers, ...pick(answer.headers, ['cache-control', 'etag']) } };
      store(key, kept);
      return { answer: kept, status: 'RefreshHit' };
    }
    store(key, answer);
    return { answer, status: 'Miss' };
  };

  const cached = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    const key = cacheKey(rules, url);
    const entry = cache.get(key);
    const age = entry ? now() - entry.storedAt : 0;
    if (entry && age < entry.ttlMs) return reply(request, response, entry.answer, 'Hit', age);
    if (entry && age < entry.ttlMs + entry.staleMs) {
      entry.revalidating ??= refresh(key, entry).catch(() => undefined).finally(() => (entry.revalidating = undefined));
      return reply(request, response, entry.answer, 'Hit (stale-while-revalidate)', age);
    }
    // Concurrent misses of one key make one origin request (CloudFront collapses them too).
    let pending = misses.get(key);
    if (!pending) {
      pending = refresh(key, entry).finally(() => misses.delete(key));
      misses.set(key, pending);
    }
    const outcome = await pending;
    reply(request, response, outcome.answer, outcome.status, 0);
  };

  const passThrough = async (request: IncomingMessage, response: ServerResponse) => {
    const body = await readBody(request);
    const answer = await fetchOrigin(request.method ?? 'GET', request.url ?? '/', pick(request.headers, FORWARDED_HEADERS), body);
    reply(request, response, answer, 'Miss', 0);
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://edge');
    const api = INVALIDATION_API.exec(url.pathname);
    const handled = api
      ? invalidationApi(request, response, api[1]!)
      : isCachedRequest(rules, request.method ?? 'GET', url.pathname)
        ? cached(request, response, url)
        : passThrough(request, response);
    handled.catch((error: unknown) => {
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { 'content-type': 'text/plain', 'x-cache': 'Error from local-edge' }).end(`origin unreachable: ${String(error)}\n`);
    });
  });

  // The two CloudFront calls the deploy checks make (CreateInvalidation, GetInvalidation), so that
  // `checks deploy` with AWS_ENDPOINT_URL_CLOUDFRONT pointing here invalidates this cache.
  // An invalidation completes at once.
  const invalidationApi = async (request: IncomingMessage, response: ServerResponse, distributionId: string) => {
    const xml = (await readBody(request)).toString('utf8');
    let batch = `<InvalidationBatch><Paths><Quantity>0</Quantity></Paths><CallerReference>local</CallerReference></InvalidationBatch>`;
    if (request.method === 'POST') {
      batch = /<InvalidationBatch[\s\S]*<\/InvalidationBatch>/.exec(xml)?.[0] ?? batch;
      proxy.invalidate([...batch.matchAll(/<Path>([^<]+)<\/Path>/g)].map((match) => match[1]!));
      invalidations += 1;
    }
    const id = `LOCAL${invalidations}`;
    response.writeHead(request.method === 'POST' ? 201 : 200, {
      'content-type': 'text/xml',
      location: `http://edge/2020-05-31/distribution/${distributionId}/invalidation/${id}`,
    });
    response.end(
      `<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">` +
        `<Id>${id}</Id><Status>Completed</Status><CreateTime>${new Date(now()).toISOString()}</CreateTime>${batch}</Invalidation>`,
    );
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const proxy: EdgeProxy = {
    url: `http://${address}:${port}`,
    invalidate(paths) {
      let dropped = 0;
      for (const key of [...cache.keys()]) {
        const path = key.split('?')[0]!;
        if (paths.some((pattern) => matchesPathPattern(pattern, path))) dropped += Number(cache.delete(key));
      }
      return dropped;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return proxy;
}

function reply(request: IncomingMessage, response: ServerResponse, answer: OriginAnswer, cacheStatus: string, ageMs: number): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !DROPPED_HEADERS.has(name)) headers[name] = value;
  headers['x-cache'] = `${cacheStatus} from local-edge`;
  if (cacheStatus !== 'Miss' || ageMs > 0) headers.age = String(Math.floor(ageMs / 1000));
  // A viewer that already holds the cached answer gets a 304 from the edge itself.
  const etag = header(answer.headers, 'etag');
  const ifNoneMatch = header(request.headers, 'if-none-match');
  if (answer.status === 200 && etag && ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
    delete headers['content-length'];
    delete headers['content-type'];
    response.writeHead(304, headers).end();
    return;
  }
  response.writeHead(answer.status, headers).end(request.method === 'HEAD' ? undefined : answer.body);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function pick(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = header(headers, name);
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}
