// A bearer token for the jobs check's authenticated write: an OAuth 2.0 client-credentials grant
// (RFC 6749 §4.4) at the stage's OIDC issuer, with the client id and secret read from a Secrets
// Manager secret of the stage's account (the checks role may read that one secret).
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The secret's JSON: the issuer's client registered for the deploy checks. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Scope to ask for, e.g. `jobs:write` (sent when set). */
  readonly scope?: string;
}

export class TokenError extends Error {}

/** Reads and checks the client credentials in `secretId` (a name or an ARN). */
export async function readClientCredentials(client: SecretsManagerClient, secretId: string): Promise<ClientCredentials> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  let parsed: Partial<ClientCredentials>;
  try {
    parsed = JSON.parse(SecretString ?? '') as Partial<ClientCredentials>;
  } catch {
    throw new TokenError(`secret ${secretId} is not JSON: expected {"clientId": "…", "clientSecret": "…", "scope"?: "…"}`);
  }
  if (typeof parsed.clientId !== 'string' || !parsed.clientId || typeof parsed.clientSecret !== 'string' || !parsed.clientSecret) {
    throw new TokenError(`secret ${secretId} must hold {"clientId": "…", "clientSecret": "…"} (strings)`);
  }
  return { clientId: parsed.clientId, clientSecret: parsed.clientSecret, scope: typeof parsed.scope === 'string' ? parsed.scope : undefined };
}

export interface ClientCredentialsGrant {
  /** The issuer URL (as the API's OIDC_ISSUER): its discovery document names the token endpoint. */
  readonly issuer: string;
  /** The API's audience (OIDC_AUDIENCE), sent as `audience`; servers ignore parameters they do not know (RFC 6749 §3.2). */
  readonly audience: string;
  readonly credentials: ClientCredentials;
  /** @default 10 s per request */
  readonly timeoutMs?: number;
}

/**
 * The access token of a client-credentials grant. The token endpoint is the discovery document's
 * `token_endpoint` (OpenID Connect Discovery 1.0 §3); the client authenticates with HTTP Basic
 * (client_secret_basic, which every authorization server supports: RFC 6749 §2.3.1).
 */
export async function clientCredentialsToken(grant: ClientCredentialsGrant): Promise<string> {
  const signal = () => AbortSignal.timeout(grant.timeoutMs ?? 10_000);
  const discoveryUrl = `${grant.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetch(discoveryUrl, { signal: signal() });
  if (!discovery.ok) throw new TokenError(`GET ${discoveryUrl} → ${discovery.status}`);
  const tokenEndpoint = ((await discovery.json()) as { token_endpoint?: unknown }).token_endpoint;
  if (typeof tokenEndpoint !== 'string') throw new TokenError(`${discoveryUrl} names no token_endpoint`);

  const { clientId, clientSecret, scope } = grant.credentials;
  const form = new URLSearchParams({ grant_type: 'client_credentials', audience: grant.audience, ...(scope && { scope }) });
  // RFC 6749 §2.3.1: the id and secret are form-encoded before the Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}`, accept: 'application/json' },
    body: form,
    signal: signal(),
  });
  const body = await response.text();
  if (!response.ok) throw new TokenError(`POST ${tokenEndpoint} (client credentials of ${clientId}) → ${response.status}: ${body.slice(0, 200)}`);
  const token = (JSON.parse(body) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string' || !token) throw new TokenError(`POST ${tokenEndpoint} answered no access_token`);
  return token;
}
