// The two signers behind one interface: AWS KMS in the enforcement account, a local key in
// tests and offline runs. Both return the DER ECDSA signature of the digest they are given.
import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { Signer, TrustedKey } from './dsse.ts';
import { p256 } from '@noble/curves/nist.js';

/**
 * Signs with an AWS KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY): `Sign` with
 * `MessageType: 'DIGEST'` (KMS does not hash again) and `SigningAlgorithm: 'ECDSA_SHA_256'`;
 * KMS returns "a DER-encoded object as defined by ANSI X9.62–2005 and RFC 3279 Section 2.2.3"
 * (AWS KMS API Reference, Sign: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).
 * The client comes from the default chain unless given (AWS_ENDPOINT_URL_KMS points it elsewhere).
 */
export class KmsSigner implements Signer {
  readonly keyId: string;
  private client: KMSClient | undefined;

  /** @param keyId the key ARN: it is also the envelope's keyid, which the hook's trusted keys name. */
  constructor(keyId: string, client?: KMSClient) {
    this.keyId = keyId;
    this.client = client;
  }

  async signDigest(digest: Buffer): Promise<Buffer> {
    if (digest.length !== 32) throw new Error(`an ECDSA_SHA_256 digest is 32 bytes, not ${digest.length}`);
    const { KMSClient, SignCommand } = await import('@aws-sdk/client-kms');
    this.client ??= new KMSClient({});
    const output = await this.client.send(new SignCommand({ KeyId: this.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    if (!output.Signature || output.SigningAlgorithm !== 'ECDSA_SHA_256') throw new Error(`KMS Sign with ${this.keyId} returned no ECDSA_SHA_256 signature`);
    return Buffer.from(output.Signature);
  }
}

/** A P-256 key held in memory (node:crypto), for tests and local runs. */
export class LocalSigner implements Signer {
  readonly keyId: string;
  /** SPKI PEM: what `verify-attestation --key` takes (the hook reads KMS's own with GetPublicKey). */
  readonly publicKeyPem: string;
  /** The raw 32-byte private scalar. */
  private readonly secretKey: Uint8Array;

  constructor(keyId: string, privateKey: KeyObject) {
    if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('LocalSigner needs an EC P-256 private key');
    this.keyId = keyId;
    this.secretKey = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
    this.publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  /** A new random key. */
  static generate(keyId = `local:${randomUUID()}`): LocalSigner {
    return new LocalSigner(keyId, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  }

  /** This key as the hook trusts it. */
  get trustedKey(): TrustedKey {
    return { keyid: this.keyId, publicKeyPem: this.publicKeyPem };
  }

  /**
   * Signs the digest itself, as KMS does with MessageType DIGEST. node:crypto cannot: crypto.sign
   * always hashes its input (null means SHA-256 for EC keys), so the digest would be hashed twice.
   * @noble/curves (audited) signs a digest as given (`prehash: false`), with RFC 6979 nonces, and
   * returns the DER `ECDSA-Sig-Value` KMS returns (RFC 3279, section 2.2.3).
   */
  async signDigest(digest: Buffer): Promise<Buffer> {
    if (digest.length !== 32) throw new Error(`an ECDSA_SHA_256 digest is 32 bytes, not ${digest.length}`);
    return Buffer.from(p256.sign(digest, this.secretKey, { prehash: false, format: 'der' }));
  }
}
