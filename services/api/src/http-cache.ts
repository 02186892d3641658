import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** For responses the edge (CloudFront) may cache: the freshness budget counts both parts. */
export function cacheable(maxAgeSeconds: number, staleSeconds: number): string {
  return `public, max-age=${maxAgeSeconds}, stale-while-revalidate=${staleSeconds}`;
}

/** A strong ETag: a hash of the exact bytes of the body. */
export function strongEtag(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
}

/** Sends a JSON body with Cache-Control and a strong ETag; answers 304 when the client already has it. */
export function sendCacheableJson(request: FastifyRequest, reply: FastifyReply, value: unknown, cacheControl: string): FastifyReply {
  return sendCacheableBody(request, reply, jsonWithEtag(value), cacheControl);
}

export interface JsonWithEtag {
  readonly body: string;
  readonly etag: string;
}

export function jsonWithEtag(value: unknown): JsonWithEtag {
  const body = JSON.stringify(value);
  return { body, etag: strongEtag(body) };
}

/** As sendCacheableJson, for a body serialized (and hashed) beforehand. */
export function sendCacheableBody(
  request: FastifyRequest,
  reply: FastifyReply,
  { body, etag }: JsonWithEtag,
  cacheControl: string,
): FastifyReply {
  reply.header('cache-control', cacheControl).header('etag', etag);
  if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(body);
}

// If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored.
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
