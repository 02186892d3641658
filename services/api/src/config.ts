export interface ApiConfig {
  /** TCP port to listen on. */
  readonly port: number;
  /** Interface to bind: all of them in the container. */
  readonly host: string;
  /** The queue POST /v1/jobs sends to. */
  readonly queueUrl: string;
  /** The deployed version, answered by GET /v1/version. */
  readonly appVersion: string;
}

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
  };
}

function port(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return 8080;
  const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
  // 0 asks the OS for a free port (the tests use it).
  if (!(parsed >= 0 && parsed <= 65_535)) throw new ConfigError(`PORT must be an integer from 0 to 65535, got "${value}"`);
  return parsed;
}
