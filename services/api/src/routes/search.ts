import type { FastifyInstance } from 'fastify';
import { jsonWithEtag, sendCacheableBody, type JsonWithEtag } from '../http-cache.ts';
import type { DatasetSource } from '../dataset-source.ts';

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

// A snapshot never changes, so an answer (body + ETag) can be reused until the next snapshot is
// swapped in. Bounded: the oldest entry goes when it is full.
const MAX_CACHED_ANSWERS = 1_000;

export function searchRoutes(app: FastifyInstance, source: DatasetSource, cacheControl: string): void {
  const answers = new Map<string, JsonWithEtag>();
  let answersOf = source.current.served.snapshot;
  app.get<{ Querystring: SearchQuery }>('/v1/search', { schema: { querystring: querySchema } }, async (request, reply) => {
    const { q, limit } = request.query;
    const { index, served } = source.current;
    if (served.snapshot !== answersOf) {
      answers.clear();
      answersOf = served.snapshot;
    }
    const key = `${limit}:${q}`;
    let answer = answers.get(key);
    if (!answer) {
      const { total, results } = index.search(q, limit);
      answer = jsonWithEtag({ query: q, limit, total, results });
      if (answers.size >= MAX_CACHED_ANSWERS) answers.delete(answers.keys().next().value!);
      answers.set(key, answer);
    }
    return sendCacheableBody(request, reply, answer, cacheControl);
  });
}
