import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The JSON body of every error answer. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly field?: string;
}

export function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  // Errors must not be cached at the edge: the next request may well succeed.
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

/**
 * Turns every error into a JSON answer without internals: validation errors name the field, body
 * errors keep their 4xx status, anything else is logged and answered with a bare 500.
 */
export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) {
    const first = error.validation[0];
    const params = (first?.params ?? {}) as { missingProperty?: string };
    const field = params.missingProperty ?? first?.instancePath.split('/').filter(Boolean).join('.') ?? 'request';
    const message = params.missingProperty ? 'is required' : (first?.message ?? 'is invalid');
    return sendError(reply, 400, { error: 'invalid_request', field, message: `${field} ${message}` });
  }
  const status = error.statusCode ?? 500;
  if (status === 413) {
    return sendError(reply, 413, { error: 'payload_too_large', message: 'the request body is larger than 256 KiB' });
  }
  if (status >= 400 && status < 500) {
    // Malformed JSON, wrong content type and the like: fastify's message is safe to show.
    return sendError(reply, status, { error: 'bad_request', ...(status === 400 && { field: 'body' }), message: error.message });
  }
  request.log.error({ err: error }, 'request failed');
  return sendError(reply, 500, { error: 'internal_error', message: 'internal error' });
}
