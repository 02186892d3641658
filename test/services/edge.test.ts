// The local edge (services/edge) against a scripted origin, with a clock the test moves: the
// CloudFront cache policy's rules (cached paths, query-string allow list, max-age,
// stale-while-revalidate, ETag revalidation) and the invalidation API the deploy checks call.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEdgeProxy, type EdgeProxy } from '../../services/edge/proxy';
import { freshness } from '../../services/edge/policy';
import { EDGE_CACHE_RULES, matchesPathPattern } from '../../services/edge/rules';

interface OriginRequest {
  readonly method: string;
  readonly url: string;
  readonly ifNoneMatch?: string;
}

let origin: Server;
let edge: EdgeProxy;
let clock = 0;
let requests: OriginRequest[] = [];
// What the origin answers: body and headers per path (without query).
let answers: Record<string, { body: string; cacheControl?: string; etag?: string }> = {};

beforeAll(async () => {
  origin = createServer((request: IncomingMessage, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    requests.push({ method: request.method!, url: request.url!, ifNoneMatch: request.headers['if-none-match'] });
    const answer = answers[path] ?? { body: `${request.method} ${request.url}` };
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (answer.cacheControl) headers['cache-control'] = answer.cacheControl;
    if (answer.etag) headers.etag = answer.etag;
    const notModified = answer.etag !== undefined && request.headers['if-none-match'] === answer.etag;
    response.writeHead(notModified ? 304 : 200, headers).end(notModified ? undefined : answer.body);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const { port } = origin.address() as { port: number };
  edge = await startEdgeProxy({ origin: `http://127.0.0.1:${port}`, now: () => clock });
});
afterAll(async () => {
  await edge?.stop();
  origin.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
});
beforeEach(() => {
  edge.invalidate(['/*']);
  requests = [];
  answers = {};
  clock = 1_000_000;
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${edge.url}${path}`, { headers });
  return { status: response.status, body: await response.text(), cache: response.headers.get('x-cache'), etag: response.headers.get('etag') };
}

describe('local edge cache', () => {
  it('caches GETs of the cached paths for max-age, and passes everything else through', async () => {
    answers['/v1/version'] = { body: 'v1', cacheControl: 'public, max-age=5' };
    expect((await get('/v1/version')).cache).toBe('Miss from local-edge');
    answers['/v1/version'] = { body: 'v2', cacheControl: 'public, max-age=5' };
    clock += 4_999;
    expect(await get('/v1/version')).toMatchObject({ body: 'v1', cache: 'Hit from local-edge' });
    clock += 1;
    expect(await get('/v1/version')).toMatchObject({ body: 'v2', cache: 'Miss from local-edge' });

    await get('/healthz');
    await get('/healthz');
    await fetch(`${edge.url}/v1/search?q=a`, { method: 'POST' });
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'GET /v1/version',
      'GET /v1/version',
      'GET /healthz',
      'GET /healthz',
      'POST /v1/search?q=a',
    ]);
  });

  it('keys the cache on the allow-listed query strings only, and forwards only those', async () => {
    answers['/v1/search'] = { body: 'results', cacheControl: 'max-age=60' };
    await get('/v1/search?q=rain&limit=5&utm_source=mail');
    expect((await get('/v1/search?q=rain&limit=5&session=42')).cache).toBe('Hit from local-edge');
    expect((await get('/v1/search?q=snow&limit=5')).cache).toBe('Miss from local-edge');
    expect(requests.map((request) => request.url)).toEqual(['/v1/search?q=rain&limit=5', '/v1/search?q=snow&limit=5']);
    // Other cached path patterns: `*` spans the rest of the path.
    expect(matchesPathPattern('/v1/search*', '/v1/search/advanced')).toBe(true);
    expect(matchesPathPattern('/v1/search*', '/v1/Search')).toBe(false);
  });

  it('serves a stale answer within stale-while-revalidate and refreshes it in the background', async () => {
    answers['/v1/search'] = { body: 'old', cacheControl: 'max-age=60, stale-while-revalidate=300' };
    await get('/v1/search?q=a');
    answers['/v1/search'] = { body: 'new', cacheControl: 'max-age=60, stale-while-revalidate=300' };
    clock += 61_000;
    expect(await get('/v1/search?q=a')).toMatchObject({ body: 'old', cache: 'Hit (stale-while-revalidate) from local-edge' });
    await expect.poll(() => requests.length).toBe(2);
    await expect.poll(async () => (await get('/v1/search?q=a')).body).toBe('new');
    // Past max-age + stale-while-revalidate, the viewer waits for the origin.
    answers['/v1/search'] = { body: 'newest', cacheControl: 'max-age=60, stale-while-revalidate=300' };
    clock += 361_000;
    expect(await get('/v1/search?q=a')).toMatchObject({ body: 'newest', cache: 'Miss from local-edge' });
  });

  it('revalidates an expired answer with its ETag: a 304 keeps the body (RefreshHit)', async () => {
    answers['/v1/version'] = { body: 'v1', cacheControl: 'max-age=5', etag: '"abc"' };
    await get('/v1/version');
    clock += 6_000;
    expect(await get('/v1/version')).toMatchObject({ status: 200, body: 'v1', cache: 'RefreshHit from local-edge' });
    expect(requests.map((request) => request.ifNoneMatch)).toEqual([undefined, '"abc"']);
    // A viewer holding the ETag gets a 304 from the edge itself.
    expect(await get('/v1/version', { 'if-none-match': '"abc"' })).toMatchObject({ status: 304, cache: 'Hit from local-edge' });
    expect(requests).toHaveLength(2);
  });

  it('does not cache no-store, private or error answers', async () => {
    answers['/v1/version'] = { body: 'private', cacheControl: 'private, max-age=60' };
    await get('/v1/version');
    expect((await get('/v1/version')).cache).toBe('Miss from local-edge');
    expect(freshness(EDGE_CACHE_RULES, 'no-store')).toEqual({ ttlSeconds: 0, staleWhileRevalidateSeconds: 0 });
    expect(freshness(EDGE_CACHE_RULES, undefined).ttlSeconds).toBe(EDGE_CACHE_RULES.defaultTtlSeconds);
    expect(freshness(EDGE_CACHE_RULES, 's-maxage=10, max-age=99').ttlSeconds).toBe(10);
    expect(freshness(EDGE_CACHE_RULES, 'max-age=999999999').ttlSeconds).toBe(EDGE_CACHE_RULES.maxTtlSeconds);
  });

  it('answers the CloudFront invalidation calls, dropping the matching cached answers', async () => {
    const { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand } = await import('@aws-sdk/client-cloudfront');
    answers['/v1/version'] = { body: 'v1', cacheControl: 'max-age=60' };
    await get('/v1/version');
    await get('/v1/search?q=x');
    const client = new CloudFrontClient({ region: 'us-east-1', endpoint: edge.url, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const created = await client.send(
        new CreateInvalidationCommand({ DistributionId: 'LOCAL', InvalidationBatch: { CallerReference: 'test', Paths: { Quantity: 1, Items: ['/v1/version'] } } }),
      );
      const read = await client.send(new GetInvalidationCommand({ DistributionId: 'LOCAL', Id: created.Invalidation!.Id! }));
      expect(read.Invalidation?.Status).toBe('Completed');
    } finally {
      client.destroy();
    }
    expect((await get('/v1/version')).cache).toBe('Miss from local-edge');
    expect((await get('/v1/search?q=x')).cache).toBe('Hit from local-edge');
  });
});
