// The trusted public keys, read from AWS KMS: `GetPublicKey` on each key (an alias ARN is fine)
// in the key's own region. KMS returns the key ARN (`KeyId`), the public key as "a DER-encoded
// X.509 public key, also known as SubjectPublicKeyInfo (SPKI), as defined in RFC 5280", and the
// key's `KeySpec` and `KeyUsage` (AWS KMS API Reference, GetPublicKey:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html). A key that is not
// an ECC_NIST_P256 SIGN_VERIFY key is refused: the guardrail's signatures are ECDSA P-256 only.
import { createPublicKey } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { TrustedKey } from './dsse.ts';

/** `arn:<partition>:kms:<region>:<account>:(key|alias)/<name>`: the region is the fourth field. */
const KMS_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(key|alias)\/[A-Za-z0-9/_-]+$/;

/** The region of a KMS key or alias ARN; throws for anything else. */
export function kmsArnRegion(arn: string): string {
  const match = KMS_ARN.exec(arn);
  if (!match) throw new Error(`${JSON.stringify(arn)} is not a KMS key or alias ARN`);
  return match[1]!;
}

/**
 * The public key of each KMS key, trusted under the key ARN KMS returns (the keyid the validator
 * signs with). Throws when a key cannot be read or is not an ECC_NIST_P256 SIGN_VERIFY key.
 * @param clientFor a KMS client for a region (tests point it at a local endpoint); @default the SDK's default chain
 */
export async function trustedKeysFromKms(keyArns: readonly string[], clientFor?: (region: string) => KMSClient | Promise<KMSClient>): Promise<TrustedKey[]> {
  const { GetPublicKeyCommand, KMSClient } = await import('@aws-sdk/client-kms');
  const make = clientFor ?? ((region: string) => new KMSClient({ region }));
  const keys: TrustedKey[] = [];
  for (const arn of keyArns) {
    const client = await make(kmsArnRegion(arn));
    const output = await client.send(new GetPublicKeyCommand({ KeyId: arn }));
    if (output.KeySpec !== 'ECC_NIST_P256') throw new Error(`KMS key ${arn} is ${output.KeySpec ?? 'of no key spec'}, not ECC_NIST_P256: not trusted`);
    if (output.KeyUsage !== 'SIGN_VERIFY') throw new Error(`KMS key ${arn} has key usage ${output.KeyUsage ?? 'none'}, not SIGN_VERIFY: not trusted`);
    if (!output.KeyId || !KMS_ARN.test(output.KeyId) || !output.PublicKey) throw new Error(`KMS GetPublicKey on ${arn} returned no key ARN or no public key`);
    const publicKeyPem = createPublicKey({ key: Buffer.from(output.PublicKey), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
    keys.push({ keyid: output.KeyId, publicKeyPem });
  }
  return keys;
}
