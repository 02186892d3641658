import { createHash } from 'node:crypto';

/** The environment variable that carries the guardrail token (the pipeline injects it from SSM). */
export const TOKEN_ENV_VAR = 'GUARDRAIL_TOKEN';

/** The cdk.json context key holding the default token, so a fresh clone synths. */
export const TOKEN_CONTEXT_KEY = 'guardrailToken';

/** Dash-separated groups of lowercase letters and digits, at least two groups (e.g. `abc-123-x9`). */
export const TOKEN_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)+$/;

/** Where a token may be read from. */
export interface TokenSource {
  /** The process environment (`process.env`). */
  readonly env: NodeJS.ProcessEnv;
  /** Reads a CDK context value (`app.node.tryGetContext`); omit where there is no context, as in the CLI. */
  readonly context?: (key: string) => unknown;
}

/** A missing or malformed guardrail token. The message never contains the token. */
export class GuardrailTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardrailTokenError';
  }
}

/**
 * Returns the guardrail token: `GUARDRAIL_TOKEN` first, else the `guardrailToken`
 * context key. Throws a GuardrailTokenError when neither is set or the value is malformed.
 */
export function resolveGuardrailToken(source: TokenSource): string {
  const fromEnv = source.env[TOKEN_ENV_VAR];
  if (fromEnv !== undefined) {
    // An empty variable is a misconfigured secret, not "unset": falling back to the
    // public default in cdk.json would sign with the wrong key without anyone noticing.
    return parseGuardrailToken(fromEnv, `environment variable ${TOKEN_ENV_VAR}`);
  }
  const fromContext = source.context?.(TOKEN_CONTEXT_KEY);
  if (fromContext !== undefined) {
    return parseGuardrailToken(fromContext, `context key "${TOKEN_CONTEXT_KEY}"`);
  }
  const where = source.context
    ? `set ${TOKEN_ENV_VAR} or the context key "${TOKEN_CONTEXT_KEY}" in cdk.json`
    : `set ${TOKEN_ENV_VAR}`;
  throw new GuardrailTokenError(`guardrail token missing: ${where}`);
}

/** Validates a token value read from `origin`; returns it unchanged when well-formed. */
export function parseGuardrailToken(value: unknown, origin: string): string {
  if (typeof value !== 'string') {
    throw new GuardrailTokenError(`guardrail token from ${origin} must be a string, got ${typeof value}`);
  }
  if (value.length === 0) {
    throw new GuardrailTokenError(`guardrail token from ${origin} is empty`);
  }
  if (!TOKEN_PATTERN.test(value)) {
    // Describe the problem, never the value: the token is a secret.
    throw new GuardrailTokenError(
      `guardrail token from ${origin} is malformed (${value.length} characters): expected ` +
        'dash-separated groups of lowercase letters and digits, e.g. "abc1-def2-ghi3"',
    );
  }
  return value;
}

/** The public key id of a token: the first 16 hex characters of its SHA-256. */
export function keyIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16);
}
