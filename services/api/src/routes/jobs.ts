import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sendError } from '../errors.js';
import type { JobQueue } from '../job-queue.js';
import { validateJobRequest, type JobMessage } from '../jobs.js';

/** SQS's message size limit (its default maximum): the enqueued message must fit. */
export const MAX_JOB_BYTES = 256 * 1024;
const RETRY_AFTER_SECONDS = 5;

export function jobRoutes(app: FastifyInstance, queue: JobQueue): void {
  app.post('/v1/jobs', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const validation = validateJobRequest(request.body);
    if (!validation.ok) {
      const { field, message } = validation;
      return sendError(reply, 400, { error: 'invalid_request', field, message: `${field} ${message}` });
    }
    const job: JobMessage = { id: randomUUID(), ...validation.value, submittedAt: new Date().toISOString() };
    // The body limit checks the request; the message adds an id and a timestamp.
    if (Buffer.byteLength(JSON.stringify(job)) > MAX_JOB_BYTES) {
      return sendError(reply, 413, { error: 'payload_too_large', message: 'the job is larger than 256 KiB' });
    }
    try {
      await queue.enqueue(job);
    } catch (error) {
      request.log.warn({ err: error, jobId: job.id }, 'enqueue failed');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendError(reply, 503, { error: 'queue_unavailable', message: 'the job queue is unavailable, retry later' });
    }
    request.log.info({ jobId: job.id, type: job.type }, 'job enqueued');
    return reply.code(202).send({ id: job.id });
  });
}
