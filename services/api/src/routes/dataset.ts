import type { FastifyInstance } from 'fastify';
import type { DatasetSource } from '../dataset-source.ts';

/** The snapshot this process serves: the freshness tests and deploy check read it. Never cached. */
export function datasetRoutes(app: FastifyInstance, source: DatasetSource): void {
  app.get('/v1/dataset', async (_request, reply) => reply.header('cache-control', 'no-store').send(source.current.served));
}
