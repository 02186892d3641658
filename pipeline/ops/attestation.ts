// Whether a release's guardrail attestation is still valid, for `ops rollback`: the release's DSSE
// envelope (`releases/<commit>/<executionId>.dsse.json` in the production account's attestation
// bucket) verifies with a trusted signing key (enforcement/attestation's verifyEnvelope, the
// keys read from KMS with GetPublicKey on the signing keys' aliases), names this release, has not
// expired, and no `revoked/<commit>` object exists. The names are the enforcement's
// (lib/enforcement-names.ts; test/ops checks they agree).
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { releaseKey, revokedKey, type TrustedKey, verifyEnvelope } from '../../enforcement/attestation/index.ts';

export interface AttestationVerdict {
  readonly valid: boolean;
  /** Why (one line): what was read, or what is wrong. */
  readonly reason: string;
}

export interface AttestationVerifier {
  verify(commit: string, executionId: string, now: Date): Promise<AttestationVerdict>;
}

/** The attestation bucket of the production account (lib/enforcement-names.ts: attestationBucketName). */
export function attestationBucketName(account: string, region: string): string {
  return `br-fagq2-attestations-${account}-${region}`;
}

/** The ARN of a signing key's alias (lib/enforcement-names.ts: signingKeyAlias), in production's region. */
export function signingKeyAliasArn(account: string, region: string, name: string): string {
  return `arn:aws:kms:${region}:${account}:alias/br-fagq2-guardrail-signing-${name}`;
}

export class S3AttestationVerifier implements AttestationVerifier {
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly keys: () => Promise<readonly TrustedKey[]>;

  /** @param keys the trusted public keys, read when a verification first needs them */
  constructor(s3: S3Client, bucket: string, keys: () => Promise<readonly TrustedKey[]>) {
    this.s3 = s3;
    this.bucket = bucket;
    this.keys = keys;
  }

  async verify(commit: string, executionId: string, now: Date): Promise<AttestationVerdict> {
    const key = releaseKey({ commit, executionId });
    const where = `s3://${this.bucket}/${key}`;
    let text: string;
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = (await object.Body?.transformToString()) ?? '';
    } catch (error) {
      if (isNotFound(error)) return { valid: false, reason: `no guardrail attestation ${where}` };
      throw error;
    }
    const keys = await this.keys();
    let statement;
    try {
      ({ statement } = verifyEnvelope(text, [...keys]));
    } catch (error) {
      return { valid: false, reason: `attestation ${where} does not verify: ${(error as Error).message}` };
    }
    const { release, expiresAt } = statement.predicate;
    if (release.commit !== commit || release.executionId !== executionId) {
      return { valid: false, reason: `attestation ${where} attests release ${release.commit} (execution ${release.executionId}), not this one` };
    }
    if (Date.parse(expiresAt) <= now.getTime()) return { valid: false, reason: `its guardrail attestation expired at ${expiresAt}` };
    const revoked = revokedKey(commit);
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: revoked }));
      return { valid: false, reason: `commit ${commit} is revoked (s3://${this.bucket}/${revoked})` };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return { valid: true, reason: `attestation valid until ${expiresAt}, signed by ${statement.predicate.verifier.id}, not revoked` };
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);
}
