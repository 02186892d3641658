// A local OIDC issuer for the tests: its discovery document, its keys (JWKS) and a token endpoint
// that grants client credentials (RFC 6749 §4.4) to one registered client, HTTP Basic
// authentication, signing RS256 JWTs for the audience asked for.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { readBody } from '../support/http';

export interface LocalIssuer {
  /** The issuer URL (no trailing slash), as OIDC_ISSUER. */
  readonly url: string;
  /** The requests the token endpoint received: client id and the form parameters. */
  readonly tokenRequests: { clientId: string | undefined; form: Record<string, string> }[];
  stop(): Promise<void>;
}

export async function startLocalIssuer(client: { clientId: string; clientSecret: string }): Promise<LocalIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  const tokenRequests: LocalIssuer['tokenRequests'] = [];
  let url = '';
  const server = createServer((request, response) => void answer(request, response));
  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const json = (status: number, body: unknown) => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url === '/.well-known/openid-configuration') return json(200, { issuer: url, jwks_uri: `${url}/jwks.json`, token_endpoint: `${url}/oauth/token` });
    if (request.url === '/jwks.json') return json(200, { keys: [jwk] });
    if (request.url === '/oauth/token' && request.method === 'POST') {
      const form = Object.fromEntries(new URLSearchParams(await readBody(request)));
      const [id, secret] = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
      tokenRequests.push({ clientId: id, form });
      if (id !== client.clientId || secret !== client.clientSecret) return json(401, { error: 'invalid_client' });
      if (form.grant_type !== 'client_credentials' || !form.audience) return json(400, { error: 'invalid_request' });
      const token = await new SignJWT({ scope: form.scope ?? '' })
        .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
        .setIssuer(url)
        .setAudience(form.audience)
        .setSubject(id)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: 300 });
    }
    json(404, { error: 'not_found' });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokenRequests,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
