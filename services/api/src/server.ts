import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { handleError, sendError } from './errors.ts';
import type { Authenticator } from './auth.ts';
import type { DatasetSource } from './dataset-source.ts';
import type { JobQueue } from './job-queue.ts';
import { datasetRoutes } from './routes/dataset.ts';
import { MAX_JOB_BYTES, jobRoutes, type JobReader, type JobWriter } from './routes/jobs.ts';
import { healthRoutes } from './routes/health.ts';
import { searchRoutes } from './routes/search.ts';
import { versionRoutes } from './routes/version.ts';

// Longer than the ALB's 60 s idle timeout: the load balancer, not Node, must close idle
// connections, or a request sent as Node closes the socket gets a 502 (Node's default is 5 s).
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
// Node requires headersTimeout above keepAliveTimeout for the same reason.
export const HEADERS_TIMEOUT_MS = 66_000;

export interface ServerDependencies {
  readonly dataset: DatasetSource;
  readonly queue: JobQueue;
  readonly jobStore: JobReader & JobWriter;
  readonly authenticate: Authenticator;
  readonly appVersion: string;
  /** Cache-Control of search answers. */
  readonly searchCacheControl: string;
  /** @default true (JSON lines on stdout) */
  readonly logger?: boolean;
}

export function buildServer(deps: ServerDependencies): FastifyInstance {
  const app = Fastify({
    logger: deps.logger ?? true,
    // One line per request (logged in onResponse below) instead of fastify's two, and the request
    // id under `requestId`: set through a LogController, as fastify 5 asks (the top-level
    // options are deprecated, FSTDEP023 and FSTDEP024, and print a warning at every start).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: () => randomUUID(),
    bodyLimit: MAX_JOB_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // close() also ends idle keep-alive connections, so shutdown does not wait for them.
    forceCloseConnections: 'idle',
  });
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, url: request.url, statusCode: reply.statusCode, durationMs: Math.round(reply.elapsedTime) },
      'request',
    );
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, { error: 'not_found', message: 'no such route' }));

  healthRoutes(app);
  versionRoutes(app, deps.appVersion);
  searchRoutes(app, deps.dataset, deps.searchCacheControl);
  datasetRoutes(app, deps.dataset);
  jobRoutes(app, { queue: deps.queue, store: deps.jobStore, authenticate: deps.authenticate });
  return app;
}
