// Write authentication: a JWT verified against the issuer's keys (found through its discovery
// document, served here by a local issuer), or static tokens.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../services/api/src/auth';

const AUDIENCE = 'br-fagq2-api';
let issuerServer: Server;
let issuer: string;
let signingKey: CryptoKey;
let authenticate: Authenticator;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  signingKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  issuerServer = createServer((request, response) => {
    const body =
      request.url === '/.well-known/openid-configuration'
        ? { issuer, jwks_uri: `${issuer}/jwks.json` }
        : request.url === '/jwks.json'
          ? { keys: [jwk] }
          : undefined;
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  authenticate = createAuthenticator({ kind: 'oidc', issuer, audience: AUDIENCE });
});
afterAll(async () => {
  issuerServer.closeAllConnections();
  await new Promise((resolve) => issuerServer.close(resolve));
});

function token(claims: { iss?: string; aud?: string; exp?: string } = {}, key: CryptoKey = signingKey) {
  return new SignJWT({ scope: 'jobs:write' })
    .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? AUDIENCE)
    .setSubject('client-1')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m')
    .sign(key);
}

describe('OIDC bearer tokens', () => {
  it('accepts a token of the issuer for the audience', async () => {
    expect(await authenticate(`Bearer ${await token()}`)).toBe('ok');
  });

  it('answers 401 without a bearer token', async () => {
    expect(await authenticate(undefined)).toBe(401);
    expect(await authenticate('Basic dXNlcjpwYXNz')).toBe(401);
  });

  it('answers 403 for a wrong audience, a wrong issuer, an expired token, another key or garbage', async () => {
    const { privateKey: otherKey } = await generateKeyPair('RS256');
    const wrong = [
      await token({ aud: 'another-api' }),
      await token({ iss: 'https://evil.example.com' }),
      await token({ exp: '-1m' }),
      await token({}, otherKey),
      'not.a.jwt',
    ];
    for (const candidate of wrong) expect(await authenticate(`Bearer ${candidate}`)).toBe(403);
  });

  it('throws (an outage, answered 503) when the issuer cannot be reached, rather than calling the token wrong', async () => {
    const unreachable = createAuthenticator({ kind: 'oidc', issuer: 'http://127.0.0.1:9', audience: AUDIENCE });
    await expect(unreachable(`Bearer ${await token()}`)).rejects.toThrow();
  });
});

describe('static tokens (local runs)', () => {
  it('accepts a listed token only', async () => {
    const local = createAuthenticator({ kind: 'tokens', tokens: ['a-token', 'b-token'] });
    expect(await local('Bearer b-token')).toBe('ok');
    expect(await local('Bearer c-token')).toBe(403);
    expect(await local(undefined)).toBe(401);
  });
});
