import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GuardrailTokenError, keyIdOf, parseGuardrailToken, resolveGuardrailToken } from '../../pipeline/guardrail/token.js';

const SEED_TOKEN = 'r5gdjql-k000zve0-zxk';

describe('resolveGuardrailToken', () => {
  it('prefers GUARDRAIL_TOKEN over the context key', () => {
    const token = resolveGuardrailToken({ env: { GUARDRAIL_TOKEN: 'aaa-bbb' }, context: () => SEED_TOKEN });
    expect(token).toBe('aaa-bbb');
  });

  it('falls back to the guardrailToken context key (the cdk.json default)', () => {
    const asked: string[] = [];
    const token = resolveGuardrailToken({ env: {}, context: (key) => (asked.push(key), SEED_TOKEN) });
    expect(token).toBe(SEED_TOKEN);
    expect(asked).toEqual(['guardrailToken']);
  });

  it('fails with a clear error when neither is set', () => {
    expect(() => resolveGuardrailToken({ env: {}, context: () => undefined })).toThrow(
      /guardrail token missing: set GUARDRAIL_TOKEN or the context key "guardrailToken"/,
    );
    // The CLI has no context: the message must not send people to cdk.json.
    expect(() => resolveGuardrailToken({ env: {} })).toThrow(/^guardrail token missing: set GUARDRAIL_TOKEN$/);
  });

  it('treats an empty GUARDRAIL_TOKEN as an error instead of falling back to the public default', () => {
    expect(() => resolveGuardrailToken({ env: { GUARDRAIL_TOKEN: '' }, context: () => SEED_TOKEN })).toThrow(
      /environment variable GUARDRAIL_TOKEN is empty/,
    );
  });
});

describe('parseGuardrailToken', () => {
  it('accepts the seed token and other dash-separated lowercase alphanumeric groups', () => {
    for (const token of [SEED_TOKEN, 'a-b', 'abc123-0-z9z9-x']) expect(parseGuardrailToken(token, 'test')).toBe(token);
  });

  it.each([
    ['a single group', 'r5gdjqlk000zve0zxk'],
    ['upper case', 'R5gdjql-k000zve0-zxk'],
    ['an empty group', 'r5gdjql--zxk'],
    ['a leading dash', '-r5gdjql-zxk'],
    ['a trailing dash', 'r5gdjql-zxk-'],
    ['whitespace', 'r5gdjql-k000zve0-zxk\n'],
    ['an underscore', 'r5gdjql_k000-zxk'],
  ])('rejects a token with %s without echoing it', (_, token) => {
    let error: unknown;
    try {
      parseGuardrailToken(token, 'environment variable GUARDRAIL_TOKEN');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GuardrailTokenError);
    const message = (error as Error).message;
    expect(message).toMatch(
      /environment variable GUARDRAIL_TOKEN is malformed .*dash-separated groups of lowercase letters and digits/,
    );
    expect(message).not.toContain(token.trim());
  });

  it('rejects a context value that is not a string', () => {
    expect(() => parseGuardrailToken(42, 'context key "guardrailToken"')).toThrow(/must be a string, got number/);
  });
});

describe('keyIdOf', () => {
  it('is the first 16 hex characters of the SHA-256 of the token', () => {
    const full = createHash('sha256').update(SEED_TOKEN).digest('hex');
    expect(keyIdOf(SEED_TOKEN)).toBe(full.slice(0, 16));
    expect(keyIdOf(SEED_TOKEN)).not.toBe(keyIdOf('r5gdjql-k000zve0-zxl'));
  });
});
