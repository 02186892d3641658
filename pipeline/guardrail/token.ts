import { createHmac, scryptSync } from 'node:crypto';

/** The environment variable that carries the guardrail token (the pipeline injects it from Secrets Manager). */
export const TOKEN_ENV_VAR = 'GUARDRAIL_TOKEN';

/** During a rotation window: the token being replaced. Attestations signed with it still verify. */
export const PREVIOUS_TOKEN_ENV_VAR = 'GUARDRAIL_PREVIOUS_TOKEN';

/**
 * The key derivation: scrypt, so every guess at a token costs 32 MiB and about a tenth of
 * a second. The salt is fixed (domain separation, not secrecy): the token is the secret.
 */
export const KDF = {
  name: 'scrypt',
  N: 2 ** 15,
  r: 8,
  p: 1,
  keyLength: 32,
  salt: 'br-fagq2/guardrail/v2',
} as const;

/** The KDF as one string, written into every attestation. */
export const KDF_DESCRIPTION = `scrypt(N=${KDF.N},r=${KDF.r},p=${KDF.p},dkLen=${KDF.keyLength},salt="${KDF.salt}")`;

/** The minimum token strength, stated once: messages and the README quote it. */
export const TOKEN_RULE =
  '20 to 256 printable ASCII characters without spaces, with at least 10 different characters, ' +
  'from at least 3 of the classes lowercase, uppercase, digits, symbols (or at least 32 characters from 2 classes, ' +
  'e.g. `openssl rand -hex 32`)';

/** A missing, malformed or weak guardrail token. The message never contains the token. */
export class GuardrailTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GuardrailTokenError';
  }
}

/** A token turned into keys. The token itself is not kept. */
export interface GuardrailKey {
  /** Public: 16 hex characters of HMAC-SHA256(derived key, "key-id"). */
  readonly keyId: string;
  /** The HMAC key of attestations: HMAC-SHA256(derived key, "attestation"). */
  readonly macKey: Buffer;
}

/** Validates a token's strength; returns it unchanged, or throws saying what is needed (never the value). */
export function parseGuardrailToken(value: unknown, origin: string): string {
  if (typeof value !== 'string') {
    throw new GuardrailTokenError(`guardrail token from ${origin} must be a string, got ${typeof value}`);
  }
  if (value.length === 0) throw new GuardrailTokenError(`guardrail token from ${origin} is empty`);
  const problem = weakness(value);
  if (problem) {
    throw new GuardrailTokenError(`guardrail token from ${origin} is too weak (${problem}): it needs ${TOKEN_RULE}`);
  }
  return value;
}

/** Why a token is below the minimum strength, or undefined when it is strong enough. */
function weakness(token: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(token)) return 'it has spaces, control or non-ASCII characters';
  if (token.length < 20) return `${token.length} characters`;
  if (token.length > 256) return `${token.length} characters`;
  const distinct = new Set(token).size;
  if (distinct < 10) return `${distinct} different characters`;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(token)).length;
  if (classes >= 3 || (classes >= 2 && token.length >= 32)) return undefined;
  return `${token.length} characters from ${classes} character class${classes === 1 ? '' : 'es'}`;
}

const derived = new Map<string, GuardrailKey>();

/** Derives the keys of a (validated) token with scrypt. Cached per process: one scrypt per token. */
export function deriveKey(token: string): GuardrailKey {
  const cached = derived.get(token);
  if (cached) return cached;
  const master = scryptSync(token, KDF.salt, KDF.keyLength, {
    N: KDF.N,
    r: KDF.r,
    p: KDF.p,
    maxmem: 128 * KDF.N * KDF.r * 2, // scrypt needs 128·N·r bytes; Node's default cap is exactly that
  });
  const key = {
    keyId: createHmac('sha256', master).update('br-fagq2/guardrail/key-id').digest('hex').slice(0, 16),
    macKey: createHmac('sha256', master).update('br-fagq2/guardrail/attestation').digest(),
  };
  derived.set(token, key);
  return key;
}

/** The public key id of a token: a brute-force guess costs one scrypt. */
export function keyIdOf(token: string): string {
  return deriveKey(token).keyId;
}

/** The token to sign with: GUARDRAIL_TOKEN, required and strong enough. */
export function signingKey(env: NodeJS.ProcessEnv): GuardrailKey {
  const value = env[TOKEN_ENV_VAR];
  if (value === undefined) throw new GuardrailTokenError(`guardrail token missing: set ${TOKEN_ENV_VAR}`);
  return deriveKey(parseGuardrailToken(value, `environment variable ${TOKEN_ENV_VAR}`));
}

/** A key verify accepts, and which variable it came from. */
export interface AcceptedKey extends GuardrailKey {
  readonly source: typeof TOKEN_ENV_VAR | typeof PREVIOUS_TOKEN_ENV_VAR;
}

/**
 * The keys verify accepts: GUARDRAIL_TOKEN (required) and, during a rotation window,
 * GUARDRAIL_PREVIOUS_TOKEN (optional; unset or empty means no rotation under way).
 */
export function verificationKeys(env: NodeJS.ProcessEnv): AcceptedKey[] {
  const keys: AcceptedKey[] = [{ ...signingKey(env), source: TOKEN_ENV_VAR }];
  const previous = env[PREVIOUS_TOKEN_ENV_VAR];
  if (previous !== undefined && previous !== '') {
    const key = deriveKey(parseGuardrailToken(previous, `environment variable ${PREVIOUS_TOKEN_ENV_VAR}`));
    if (key.keyId !== keys[0]!.keyId) keys.push({ ...key, source: PREVIOUS_TOKEN_ENV_VAR });
  }
  return keys;
}
