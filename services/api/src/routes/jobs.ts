import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { JobStore, JobView } from '../../../shared/job-store.ts';
import { JOB_MESSAGE_FORMAT, validateJobRequest, type JobMessage } from '../../../shared/jobs.ts';
import type { Authenticator } from '../auth.ts';
import { sendError } from '../errors.ts';
import type { JobQueue } from '../job-queue.ts';

/** SQS's message size limit (its default maximum): the enqueued message must fit. */
export const MAX_JOB_BYTES = 256 * 1024;
const RETRY_AFTER_SECONDS = 5;

/** What GET /v1/jobs/{id} reads. */
export type JobReader = Pick<JobStore, 'view'>;
/** What POST /v1/jobs writes. */
export type JobWriter = Pick<JobStore, 'accept' | 'markQueued'>;

export interface JobRouteDependencies {
  readonly queue: JobQueue;
  readonly store: JobReader & JobWriter;
  readonly authenticate: Authenticator;
}

export function jobRoutes(app: FastifyInstance, { queue, store, authenticate }: JobRouteDependencies): void {
  app.post('/v1/jobs', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    // Before anything is read or written: an unauthenticated write leaves no trace.
    let decision;
    try {
      decision = await authenticate(request.headers.authorization);
    } catch (error) {
      request.log.warn({ err: error }, 'auth unavailable');
      return unavailable(reply, 'auth_unavailable', 'the token issuer is unreachable, retry later');
    }
    if (decision === 401) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 401, { error: 'unauthenticated', message: 'a bearer token is required' });
    }
    if (decision === 403) return sendError(reply, 403, { error: 'forbidden', message: 'the bearer token is not accepted' });

    const validation = validateJobRequest(request.body);
    if (!validation.ok) {
      const { field, message } = validation;
      return sendError(reply, 400, { error: 'invalid_request', field, message: `${field} ${message}` });
    }
    const job: JobMessage = { v: JOB_MESSAGE_FORMAT, id: randomUUID(), ...validation.value, submittedAt: new Date().toISOString() };
    // The body limit checks the request; the message adds an id and a timestamp.
    if (Buffer.byteLength(JSON.stringify(job)) > MAX_JOB_BYTES) {
      return sendError(reply, 413, { error: 'payload_too_large', message: 'the job is larger than 256 KiB' });
    }
    // accepted → send → queued: see services/shared/job-store.ts for why no transaction is needed.
    let accepted;
    try {
      accepted = await store.accept(job);
    } catch (error) {
      request.log.warn({ err: error, jobId: job.id }, 'job record failed');
      return unavailable(reply, 'store_unavailable', 'the job store is unavailable, retry later');
    }
    try {
      await queue.enqueue(job);
    } catch (error) {
      // The record stays `accepted`: never shown (GET answers 404), expired by its TTL.
      request.log.warn({ err: error, jobId: job.id }, 'enqueue failed');
      return unavailable(reply, 'queue_unavailable', 'the job queue is unavailable, retry later');
    }
    // Sent: a failure here only delays `queued` until the worker writes `running`.
    await store.markQueued(accepted).catch((error: unknown) => request.log.warn({ err: error, jobId: job.id }, 'mark queued failed'));
    request.log.info({ jobId: job.id, type: job.type }, 'job enqueued');
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send({ id: job.id });
  });

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } } },
    async (request, reply) => {
      // A job's state changes: never cached, by the edge or anyone else.
      reply.header('cache-control', 'no-store');
      let view: JobView | undefined;
      try {
        view = await store.view(request.params.id);
      } catch (error) {
        request.log.warn({ err: error }, 'job read failed');
        return unavailable(reply, 'store_unavailable', 'the job store is unavailable, retry later');
      }
      if (!view) return sendError(reply, 404, { error: 'not_found', message: 'no such job' });
      return reply.send(view);
    },
  );
}

function unavailable(reply: FastifyReply, error: string, message: string): FastifyReply {
  reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return sendError(reply, 503, { error, message });
}
