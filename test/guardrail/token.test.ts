import { createHash, createHmac, scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveKey,
  GuardrailTokenError,
  KDF,
  keyIdOf,
  parseGuardrailToken,
  signingKey,
  verificationKeys,
} from '../../pipeline/guardrail/token.js';

const SEED_TOKEN = 'r5gdjql-k000zve0-zxk';
const OTHER_TOKEN = 'Rotated-Token-2026-q4-xyz';

describe('the token strength rule', () => {
  it('accepts the seed token, a mixed-class token and a long hex token', () => {
    for (const token of [SEED_TOKEN, OTHER_TOKEN, createHash('sha256').update('x').digest('hex')]) {
      expect(parseGuardrailToken(token, 'test')).toBe(token);
    }
  });

  it.each([
    ['5 characters', 'ab-12', /5 characters/],
    ['19 characters', 'r5gdjql-k000zve0-zx', /19 characters/],
    ['one class only', 'abcdefghijklmnopqrstuvwxyzabcdefghij', /from 1 character class/],
    ['two classes and under 32 characters', 'abcdefghij0123456789ab', /22 characters from 2 character classes/],
    ['few different characters', 'aaaaaaaaaaaaaaaaaaA1-', /4 different characters/],
    ['whitespace', 'r5gdjql k000zve0-zxk9', /spaces, control or non-ASCII/],
  ])('refuses a token with %s, saying what is needed and never echoing it', (_, token, why) => {
    let error: unknown;
    try {
      parseGuardrailToken(token, 'environment variable GUARDRAIL_TOKEN');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(GuardrailTokenError);
    const message = (error as Error).message;
    expect(message).toMatch(why);
    expect(message).toMatch(/is too weak .*it needs 20 to 256 printable ASCII characters .*at least 3 of the classes/);
    expect(message).not.toContain(token);
  });

  it('refuses a missing or empty GUARDRAIL_TOKEN when signing', () => {
    expect(() => signingKey({})).toThrow(/^guardrail token missing: set GUARDRAIL_TOKEN$/);
    expect(() => signingKey({ GUARDRAIL_TOKEN: '' })).toThrow(/GUARDRAIL_TOKEN is empty/);
    expect(() => signingKey({ GUARDRAIL_TOKEN: 'ab-12' })).toThrow(/too weak/);
  });
});

describe('keys and key ids', () => {
  it('derives the key id through scrypt: not a prefix of SHA-256(token), and equal to the stated KDF', () => {
    const keyId = keyIdOf(SEED_TOKEN);
    expect(keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId).not.toBe(createHash('sha256').update(SEED_TOKEN).digest('hex').slice(0, 16));
    // Recomputing it takes the scrypt with the documented parameters: a brute-force guess costs one scrypt.
    expect(KDF).toMatchObject({ N: 32768, r: 8, p: 1, keyLength: 32, salt: 'br-fagq2/guardrail/v2' });
    const master = scryptSync(SEED_TOKEN, KDF.salt, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(keyId).toBe(createHmac('sha256', master).update('br-fagq2/guardrail/key-id').digest('hex').slice(0, 16));
    // The MAC key is another derivation of the same master key, never the key id material.
    expect(deriveKey(SEED_TOKEN).macKey).toEqual(createHmac('sha256', master).update('br-fagq2/guardrail/attestation').digest());
    expect(keyIdOf('r5gdjql-k000zve0-zxl')).not.toBe(keyId);
  });

  it('accepts the current and, during a rotation, the previous token', () => {
    const keys = verificationKeys({ GUARDRAIL_TOKEN: OTHER_TOKEN, GUARDRAIL_PREVIOUS_TOKEN: SEED_TOKEN });
    expect(keys.map((k) => [k.keyId, k.source])).toEqual([
      [keyIdOf(OTHER_TOKEN), 'GUARDRAIL_TOKEN'],
      [keyIdOf(SEED_TOKEN), 'GUARDRAIL_PREVIOUS_TOKEN'],
    ]);
    expect(verificationKeys({ GUARDRAIL_TOKEN: SEED_TOKEN, GUARDRAIL_PREVIOUS_TOKEN: '' })).toHaveLength(1);
    expect(() => verificationKeys({ GUARDRAIL_TOKEN: SEED_TOKEN, GUARDRAIL_PREVIOUS_TOKEN: 'weak' })).toThrow(
      /GUARDRAIL_PREVIOUS_TOKEN is too weak/,
    );
  });
});
