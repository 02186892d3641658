// DSSE: the statement travels base64-encoded in a JSON envelope; each signature is ECDSA P-256
// over SHA-256 of PAE(payloadType, payload bytes). The signer signs the digest (AWS KMS Sign with
// MessageType DIGEST), so anyone with the public key can check it with any ECDSA tool.
//   DSSE protocol: https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
//   DSSE envelope: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { z } from 'zod';
import { decodeBase64Strict } from './base64.ts';
import { AttestationError, parseStatement, type Statement } from './statement.ts';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Larger envelopes are refused unread (a release's envelope is a few tens of KiB). */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
export const MAX_SIGNATURES = 8;

export interface Envelope {
  readonly payloadType: string;
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** A public key the verifier trusts, named by the keyid its signatures carry (the KMS key ARN). */
export interface TrustedKey {
  readonly keyid: string;
  /** SPKI PEM of an EC P-256 public key (`aws kms get-public-key`, converted to PEM). */
  readonly publicKeyPem: string;
}

/** Signs a SHA-256 digest with ECDSA P-256; returns the DER signature (AWS KMS Sign's output). */
export interface Signer {
  readonly keyId: string;
  signDigest(digest: Buffer): Promise<Buffer>;
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (lengths in bytes, decimal). */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/** The envelope's bytes as stored: one line, fields in this order (the README's shell recipe relies on it). */
export function serializeEnvelope(envelope: Envelope): string {
  return JSON.stringify({
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
  });
}

/** Signs the statement: one signature, by `signer`. */
export async function signEnvelope(statement: Statement, signer: Signer): Promise<Envelope> {
  const body = Buffer.from(JSON.stringify(parseStatement(statement)), 'utf8');
  const digest = createHash('sha256').update(pae(IN_TOTO_PAYLOAD_TYPE, body)).digest();
  const sig = await signer.signDigest(digest);
  return { payloadType: IN_TOTO_PAYLOAD_TYPE, payload: body.toString('base64'), signatures: [{ keyid: signer.keyId, sig: sig.toString('base64') }] };
}

// Unknown envelope fields are ignored, as the envelope spec asks ("Consumers MUST ignore
// unrecognized fields"); they are not signed and nothing reads them.
const EnvelopeSchema = z.object({
  payloadType: z.string().max(256),
  payload: z.string().max(MAX_ENVELOPE_BYTES),
  signatures: z
    .array(z.object({ keyid: z.string().min(1, 'a signature must name its key (keyid)').max(2048), sig: z.string().min(1).max(512) }))
    .min(1, 'the envelope has no signature')
    .max(MAX_SIGNATURES),
});

function publicKey(key: TrustedKey): KeyObject {
  let object: KeyObject;
  try {
    object = createPublicKey(key.publicKeyPem);
  } catch (error) {
    throw new AttestationError(`trusted key ${key.keyid}: not a public key PEM (${(error as Error).message})`);
  }
  if (object.asymmetricKeyType !== 'ec' || object.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new AttestationError(`trusted key ${key.keyid}: not an EC P-256 public key`);
  }
  return object;
}

function utf8(bytes: Buffer, what: string): string {
  try {
    // ignoreBOM keeps a byte order mark in the text, where JSON.parse refuses it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new AttestationError(`${what} is not UTF-8`);
  }
}

function readEnvelope(input: unknown): unknown {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (bytes.length > MAX_ENVELOPE_BYTES) throw new AttestationError(`the envelope is ${bytes.length} bytes, more than the ${MAX_ENVELOPE_BYTES} accepted`);
    try {
      return parseStrictJson(utf8(bytes, 'the envelope'), 'the envelope');
    } catch (error) {
      if (error instanceof StrictJsonError) throw new AttestationError(error.message);
      throw error;
    }
  }
  return input;
}

export interface VerifiedEnvelope {
  readonly statement: Statement;
  /** The keyids whose signatures verified (every signature's). */
  readonly keyids: readonly string[];
}

/**
 * Verifies a DSSE envelope (its stored bytes, or an already parsed object) against the trusted
 * keys and returns its statement. Refused, with AttestationError saying why: a too large or not
 * strictly read document (bad UTF-8, duplicate keys, non-canonical base64), another payloadType,
 * a signature whose keyid is not trusted, any signature that does not verify, a statement that
 * is not a guardrail verification summary. Stricter than DSSE's threshold rule on purpose: one
 * bad signature refuses the envelope, it is not skipped.
 */
export function verifyEnvelope(input: unknown, keys: readonly TrustedKey[]): VerifiedEnvelope {
  if (keys.length === 0) throw new AttestationError('no trusted keys are configured: nothing can be verified');
  const trusted = new Map<string, KeyObject>();
  for (const key of keys) {
    if (trusted.has(key.keyid)) throw new AttestationError(`trusted key ${key.keyid} is listed twice`);
    trusted.set(key.keyid, publicKey(key));
  }
  const parsed = EnvelopeSchema.safeParse(readEnvelope(input));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AttestationError(`not a DSSE envelope: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const envelope = parsed.data;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestationError(`the envelope's payloadType is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const body = decodeBase64Strict(envelope.payload);
  if (!body) throw new AttestationError('the envelope payload is not canonical base64');
  const message = pae(envelope.payloadType, body);
  const seen = new Set<string>();
  for (const signature of envelope.signatures) {
    const key = trusted.get(signature.keyid);
    if (!key) throw new AttestationError(`signed by key ${signature.keyid}, which is not trusted (trusted: ${[...trusted.keys()].join(', ')})`);
    if (seen.has(signature.keyid)) throw new AttestationError(`key ${signature.keyid} signs the envelope twice`);
    seen.add(signature.keyid);
    const sig = decodeBase64Strict(signature.sig);
    if (!sig) throw new AttestationError(`the signature by ${signature.keyid} is not canonical base64`);
    if (!verify('sha256', message, { key, dsaEncoding: 'der' }, sig)) {
      throw new AttestationError(`the signature by ${signature.keyid} does not verify: the envelope was changed after signing, or another key signed it`);
    }
  }
  let statement: unknown;
  try {
    statement = parseStrictJson(utf8(body, 'the statement'), 'the statement');
  } catch (error) {
    if (error instanceof StrictJsonError) throw new AttestationError(error.message);
    throw error;
  }
  return { statement: parseStatement(statement), keyids: [...seen] };
}
