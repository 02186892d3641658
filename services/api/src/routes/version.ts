import type { FastifyInstance } from 'fastify';
import { sendCacheableJson } from '../http-cache.ts';

// Short: the release pipeline reads it through CloudFront to see the new release arrive.
const VERSION_CACHE_CONTROL = 'public, max-age=5';

export function versionRoutes(app: FastifyInstance, appVersion: string): void {
  app.get('/v1/version', async (request, reply) =>
    sendCacheableJson(request, reply, { version: appVersion }, VERSION_CACHE_CONTROL),
  );
}
