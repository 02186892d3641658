export interface ApiConfig {
  /** TCP port to listen on. */
  readonly port: number;
  /** Interface to bind: all of them in the container. */
  readonly host: string;
  /** The queue POST /v1/jobs sends to. */
  readonly queueUrl: string;
  /** The deployed version, answered by GET /v1/version. */
  readonly appVersion: string;
  /** The DynamoDB table of job records. */
  readonly jobsTable: string;
  /** The stage's data bucket: the API reads the snapshot pointer and snapshots. */
  readonly dataBucket: string;
  /** How often the snapshot pointer is read: a new snapshot is served within this. */
  readonly datasetReloadSeconds: number;
  /** Cache-Control of search answers: max-age and stale-while-revalidate (part of the freshness budget). */
  readonly searchMaxAgeSeconds: number;
  readonly searchStaleSeconds: number;
  /** Who may write (POST /v1/jobs). */
  readonly auth: AuthConfig;
}

/**
 * Write authentication: a JWT from an OIDC issuer (a stage), static tokens (local runs), or none
 * (local runs without API_TOKENS: writes are open, and the API says so at start).
 */
export type AuthConfig =
  | { readonly kind: 'oidc'; readonly issuer: string; readonly audience: string }
  | { readonly kind: 'tokens'; readonly tokens: readonly string[] }
  | { readonly kind: 'none' };

export class ConfigError extends Error {}

export function parseApiConfig(env: NodeJS.ProcessEnv): ApiConfig {
  const queueUrl = env.QUEUE_URL?.trim();
  if (!queueUrl) throw new ConfigError('QUEUE_URL is required: the URL of the SQS queue jobs are sent to');
  if (!URL.canParse(queueUrl)) throw new ConfigError(`QUEUE_URL must be a URL, got "${queueUrl}"`);
  return {
    port: port(env.PORT),
    host: env.HOST?.trim() || '0.0.0.0',
    queueUrl,
    appVersion: env.APP_VERSION?.trim() || 'dev',
    jobsTable: required(env, 'JOBS_TABLE', 'the DynamoDB table of job records'),
    dataBucket: required(env, 'DATA_BUCKET', 'the S3 bucket holding the dataset snapshots'),
    datasetReloadSeconds: integer(env, 'DATASET_RELOAD_SECONDS', 30, 1, 3_600),
    searchMaxAgeSeconds: integer(env, 'SEARCH_MAX_AGE_SECONDS', 60, 0, 86_400),
    searchStaleSeconds: integer(env, 'SEARCH_STALE_SECONDS', 300, 0, 86_400),
    auth: auth(env),
  };
}

function auth(env: NodeJS.ProcessEnv): AuthConfig {
  const issuer = env.OIDC_ISSUER?.trim();
  const audience = env.OIDC_AUDIENCE?.trim();
  if (issuer || audience) {
    if (!issuer || !audience) throw new ConfigError('OIDC_ISSUER and OIDC_AUDIENCE go together: set both or neither');
    if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol)) throw new ConfigError(`OIDC_ISSUER must be an http(s) URL, got "${issuer}"`);
    return { kind: 'oidc', issuer, audience };
  }
  const tokens = (env.API_TOKENS ?? '').split(',').map((token) => token.trim()).filter(Boolean);
  return tokens.length > 0 ? { kind: 'tokens', tokens } : { kind: 'none' };
}

function required(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required: ${what}`);
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

function port(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return 8080;
  const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
  // 0 asks the OS for a free port (the tests use it).
  if (!(parsed >= 0 && parsed <= 65_535)) throw new ConfigError(`PORT must be an integer from 0 to 65535, got "${value}"`);
  return parsed;
}
