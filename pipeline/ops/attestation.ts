// Whether a release's guardrail attestation is still valid, for `ops rollback`. Behind a small
// interface: the guardrail (issue 19) writes DSSE envelopes to an S3 bucket of the production
// account, `releases/<commit>/<executionId>.dsse.json`, whose payload is a base64 in-toto
// Statement with `predicate.expiresAt`, and a `revoked/<commit>` object revokes a commit. This
// reader checks the expiry and the revocation; the guardrail's own verifier (signature included)
// replaces it through the same interface.
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface AttestationVerdict {
  readonly valid: boolean;
  /** Why (one line): what was read, or what is wrong. */
  readonly reason: string;
}

export interface AttestationVerifier {
  verify(commit: string, executionId: string, now: Date): Promise<AttestationVerdict>;
}

/** The S3 keys (issue 19). */
export const releaseKey = (commit: string, executionId: string) => `releases/${commit}/${executionId}.dsse.json`;
export const revokedKey = (commit: string) => `revoked/${commit}`;

interface DsseEnvelope {
  readonly payloadType?: string;
  readonly payload?: string;
  readonly signatures?: readonly unknown[];
}

/** Parses a DSSE envelope's in-toto Statement and reads its expiry (pure: tested on its own). */
export function statementExpiry(envelopeText: string): { expiresAt: Date } | { error: string } {
  let envelope: DsseEnvelope;
  try {
    envelope = JSON.parse(envelopeText) as DsseEnvelope;
  } catch {
    return { error: 'the envelope is not JSON' };
  }
  if (typeof envelope.payload !== 'string') return { error: 'the envelope has no payload' };
  let statement: { predicate?: { expiresAt?: unknown } };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  } catch {
    return { error: 'the payload is not a base64 JSON in-toto Statement' };
  }
  const expiresAt = statement.predicate?.expiresAt;
  const date = typeof expiresAt === 'string' ? new Date(expiresAt) : undefined;
  if (!date || Number.isNaN(date.getTime())) return { error: 'the statement has no predicate.expiresAt' };
  return { expiresAt: date };
}

export class S3AttestationReader implements AttestationVerifier {
  private readonly s3: S3Client;
  private readonly bucket: string;

  constructor(s3: S3Client, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  async verify(commit: string, executionId: string, now: Date): Promise<AttestationVerdict> {
    const key = releaseKey(commit, executionId);
    let text: string;
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await object.Body?.transformToString()) ?? '';
    } catch (error) {
      if (isNotFound(error)) return { valid: false, reason: `no guardrail attestation s3://${this.bucket}/${key}` };
      throw error;
    }
    const expiry = statementExpiry(text);
    if ('error' in expiry) return { valid: false, reason: `attestation s3://${this.bucket}/${key}: ${expiry.error}` };
    if (expiry.expiresAt.getTime() <= now.getTime()) return { valid: false, reason: `its guardrail attestation expired at ${expiry.expiresAt.toISOString()}` };
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: revokedKey(commit) }));
      return { valid: false, reason: `commit ${commit} is revoked (s3://${this.bucket}/${revokedKey(commit)})` };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { valid: true, reason: `attestation valid until ${expiry.expiresAt.toISOString()}, not revoked` };
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);
}
