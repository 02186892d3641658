import { timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from './config.ts';

/** 'ok', or the status to answer: 401 without a bearer token, 403 with one that is not accepted. */
export type AuthDecision = 'ok' | 401 | 403;

export type Authenticator = (authorization: string | undefined) => Promise<AuthDecision>;

export function createAuthenticator(config: AuthConfig): Authenticator {
  if (config.kind === 'none') return async () => 'ok';
  const verify = config.kind === 'tokens' ? staticTokens(config.tokens) : oidc(config.issuer, config.audience);
  return async (authorization) => {
    const token = /^Bearer ([^\s]+)$/i.exec(authorization?.trim() ?? '')?.[1];
    if (!token) return 401;
    return (await verify(token)) ? 'ok' : 403;
  };
}

function staticTokens(tokens: readonly string[]): (token: string) => Promise<boolean> {
  const accepted = tokens.map((token) => Buffer.from(token));
  return async (token) => {
    const given = Buffer.from(token);
    return accepted.some((candidate) => candidate.length === given.length && timingSafeEqual(candidate, given));
  };
}

/**
 * A JWT signed by the issuer, for this audience, not expired. The issuer's keys are found through
 * its discovery document (`<issuer>/.well-known/openid-configuration` → `jwks_uri`) and cached by
 * jose (refetched when a token names an unknown key id, at most every 30 s).
 */
function oidc(issuer: string, audience: string): (token: string) => Promise<boolean> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const discover = async (): Promise<JWTVerifyGetKey> => {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: string };
    if (!jwksUri) throw new Error('OIDC discovery document has no jwks_uri');
    return createRemoteJWKSet(new URL(jwksUri));
  };
  return async (token) => {
    // A failed discovery is retried on the next request rather than remembered.
    keys ??= discover().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    // Outside the try: an unreachable issuer is an outage (503), not a wrong token.
    const getKey = await keys;
    try {
      await jwtVerify(token, getKey, { issuer, audience });
      return true;
    } catch {
      return false;
    }
  };
}
