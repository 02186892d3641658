import type { FastifyInstance } from 'fastify';
import { CACHEABLE, sendCacheableJson } from '../http-cache.js';
import type { SearchIndex } from '../search-index.js';

interface SearchQuery {
  readonly q: string;
  readonly limit: number;
}

const querySchema = {
  type: 'object',
  required: ['q'],
  properties: {
    q: { type: 'string', minLength: 1, maxLength: 100 },
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
  },
} as const;

export function searchRoutes(app: FastifyInstance, index: SearchIndex): void {
  app.get<{ Querystring: SearchQuery }>('/v1/search', { schema: { querystring: querySchema } }, async (request, reply) => {
    const { q, limit } = request.query;
    const { total, results } = index.search(q, limit);
    return sendCacheableJson(request, reply, { query: q, limit, total, results }, CACHEABLE);
  });
}
