import type { FastifyInstance } from 'fastify';

/** Liveness for the load balancer: no dependencies, never cached. */
export function healthRoutes(app: FastifyInstance): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
}
