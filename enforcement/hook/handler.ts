// The Lambda function behind the enforcement stack's AWS::CloudFormation::LambdaHook: reads its
// configuration from the environment, the trusted public keys from KMS at cold start, fetches the
// request's payload URL (time and size capped) and the attestation bucket (S3, the SDK's default
// credentials), the file assets the template names from the region's CDK asset bucket, and
// answers what decide.ts decides. A configuration it cannot read, or a key it
// cannot trust, refuses every operation (fail closed).
//   ATTESTATION_BUCKET         the bucket of attestations/ and revoked/
//   ATTESTATION_BUCKET_REGION  the bucket's region (production's main region; the hooks of other regions read it too)
//   TRUSTED_KEY_ARNS           JSON array of the signing keys' alias ARNs (two during a rotation):
//                              kms:GetPublicKey on each, in the ARN's region; keyid = the key ARN KMS returns
//   PROTECTED_STACKS           JSON array of stack names whose delete is refused
//   AWS_REGION                 set by Lambda: the region the hook runs in
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { kmsArnRegion, trustedKeysFromKms } from '../attestation/kms-keys.ts';
import { decide, type DecideDeps, type HookRequest, type HookResponse, tokenOf } from './decide.ts';

/**
 * The hook waits 30 s for the function (Hooks user guide) and the function's timeout is 25 s. The
 * reads run one after another at most three deep (the payload; the attestation; the revocation and
 * the file assets together): 3 × 6 s stays inside it, with room for the keys' cold-start read.
 */
export const PAYLOAD_TIMEOUT_MS = 6_000;
export const S3_TIMEOUT_MS = 6_000;
/** Two templates of at most 1 MB each (CloudFormation quotas), JSON-escaped, fit in this. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
export const MAX_OBJECT_BYTES = 4 * 1024 * 1024;
/**
 * A file asset larger than this is refused (fail closed): a choice. This project's are Lambda code
 * zips of 6 to 12 KB; Lambda's CodeSizeZipped quota (50 MB by default) bounds a package uploaded
 * directly, larger ones come from S3 (Lambda API Reference, "AccountLimit":
 * https://docs.aws.amazon.com/lambda/latest/api/API_AccountLimit.html). ASSET_READ_CONCURRENCY
 * of them at once fit the function's 512 MB.
 */
export const MAX_ASSET_BYTES = 50 * 1024 * 1024;

export interface HookConfig {
  readonly bucket: string;
  readonly bucketRegion: string;
  /** The KMS alias (or key) ARNs whose public keys the hook trusts. */
  readonly keyArns: readonly string[];
  readonly protectedStacks: readonly string[];
  readonly region: string;
}

const ConfigSchema = z.object({
  ATTESTATION_BUCKET: z.string().min(3),
  ATTESTATION_BUCKET_REGION: z.string().min(1),
  TRUSTED_KEY_ARNS: z.string(),
  PROTECTED_STACKS: z.string(),
  AWS_REGION: z.string().min(1),
});
/** Every environment variable configFromEnv reads (AWS_REGION is Lambda's own). */
export const HOOK_ENVIRONMENT: readonly string[] = Object.keys(ConfigSchema.shape);
const KeyArnsSchema = z.array(z.string().min(1)).min(1).max(4);
const StacksSchema = z.array(z.string().min(1)).max(1000);

/** Reads the configuration from `env`; throws with what is wrong. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HookConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw new Error(`missing environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  const json = (name: 'TRUSTED_KEY_ARNS' | 'PROTECTED_STACKS'): unknown => {
    try {
      return JSON.parse(parsed.data[name]);
    } catch {
      throw new Error(`${name} is not JSON`);
    }
  };
  const arns = KeyArnsSchema.safeParse(json('TRUSTED_KEY_ARNS'));
  if (!arns.success) throw new Error('TRUSTED_KEY_ARNS is not a JSON array of 1 to 4 KMS key ARNs');
  for (const arn of arns.data) kmsArnRegion(arn); // throws for a string that is no KMS ARN
  const stacks = StacksSchema.safeParse(json('PROTECTED_STACKS'));
  if (!stacks.success) throw new Error('PROTECTED_STACKS is not a JSON array of stack names');
  return {
    bucket: parsed.data.ATTESTATION_BUCKET,
    bucketRegion: parsed.data.ATTESTATION_BUCKET_REGION,
    keyArns: arns.data,
    protectedStacks: stacks.data,
    region: parsed.data.AWS_REGION,
  };
}

/** GETs `url` and returns its body as text; refuses a non-2xx answer, a slow one and a large one. */
export async function fetchPayload(url: string, timeoutMs = PAYLOAD_TIMEOUT_MS, maxBytes = MAX_PAYLOAD_BYTES): Promise<string> {
  if (!/^https?:\/\//.test(url)) throw new Error('the payload is not an http(s) URL');
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  if (!response.ok) throw new Error(`the payload URL answered HTTP ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new Error(`the payload is ${declared} bytes, more than ${maxBytes}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`the payload is more than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
}

/** Reads one object of the bucket; undefined when the key does not exist (NoSuchKey). */
export async function readS3Object(
  client: S3Client,
  bucket: string,
  key: string,
  maxBytes = MAX_OBJECT_BYTES,
  options: { readonly abortSignal?: AbortSignal; readonly expectedBucketOwner?: string } = {},
): Promise<Buffer | undefined> {
  const { GetObjectCommand, NoSuchKey } = await import('@aws-sdk/client-s3');
  try {
    const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ExpectedBucketOwner: options.expectedBucketOwner }), { abortSignal: options.abortSignal ?? AbortSignal.timeout(S3_TIMEOUT_MS) });
    if ((output.ContentLength ?? 0) > maxBytes) throw new Error(`s3://${bucket}/${key} is ${output.ContentLength} bytes, more than ${maxBytes}`);
    return Buffer.from(await output.Body!.transformToByteArray());
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

// Made once per cold start (and again when a setting changes: tests point them at local endpoints).
let s3: { client: S3Client; key: string } | undefined;
let assetS3: { client: S3Client; key: string } | undefined;
let trusted: { keys: Promise<DecideDeps['keys']>; key: string } | undefined;

/** The trusted keys, read from KMS once; a failed read is not kept, so the next invocation retries. */
function trustedKeys(config: HookConfig): Promise<DecideDeps['keys']> {
  const key = JSON.stringify([config.keyArns, process.env.AWS_ENDPOINT_URL_KMS]);
  if (!trusted || trusted.key !== key) {
    const keys = trustedKeysFromKms(config.keyArns);
    trusted = { keys, key };
    keys.catch(() => {
      if (trusted?.keys === keys) trusted = undefined;
    });
  }
  return trusted.keys;
}

/** The account of the function's own ARN (arn:aws:lambda:<region>:<account>:function:<name>). */
function accountOf(context: unknown): string | undefined {
  const arn = (context as { invokedFunctionArn?: unknown } | undefined)?.invokedFunctionArn;
  return typeof arn === 'string' ? /^arn:[^:]+:lambda:[^:]+:(\d{12}):/.exec(arn)?.[1] : undefined;
}

function refuseAll(event: HookRequest, why: string): HookResponse {
  return {
    hookStatus: 'FAILED',
    errorCode: 'InternalFailure',
    message: `guardrail hook: ${why}; every operation is refused until it is fixed`,
    clientRequestToken: tokenOf(event),
  };
}

export async function handler(event: HookRequest, context?: unknown): Promise<HookResponse> {
  let config: HookConfig;
  try {
    config = configFromEnv();
  } catch (error) {
    return refuseAll(event, `its configuration is unreadable (${(error as Error).message})`);
  }
  let keys: DecideDeps['keys'];
  try {
    keys = await trustedKeys(config);
  } catch (error) {
    const response = refuseAll(event, `it cannot read its trusted keys from KMS (${(error as Error).message})`);
    console.log(JSON.stringify({ hookStatus: response.hookStatus, errorCode: response.errorCode, message: response.message }));
    return response;
  }
  const s3Key = JSON.stringify([config.bucketRegion, process.env.AWS_ENDPOINT_URL_S3]);
  if (!s3 || s3.key !== s3Key) {
    const { S3Client } = await import('@aws-sdk/client-s3');
    s3 = { client: new S3Client({ region: config.bucketRegion }), key: s3Key };
  }
  const client = s3.client;
  // The asset bucket is the hook's own region's (each region's hook stack judges that region's stacks).
  const assetKey = JSON.stringify([config.region, process.env.AWS_ENDPOINT_URL_S3]);
  if (!assetS3 || assetS3.key !== assetKey) {
    const { S3Client } = await import('@aws-sdk/client-s3');
    assetS3 = { client: new S3Client({ region: config.region }), key: assetKey };
  }
  const assetClient = assetS3.client;
  const account = accountOf(context);
  // One deadline for all of an operation's file assets, from the first read: the hook's 30 s hold
  // the payload, the attestation, and the revocation read beside these.
  let assetDeadline: AbortSignal | undefined;
  const response = await decide(event, {
    readTemplatePayload: (url) => fetchPayload(url),
    readObject: (key) => readS3Object(client, config.bucket, key),
    // ExpectedBucketOwner: a bucket of that name in another account is refused (S3 API Reference, "GetObject").
    readAssetObject: (bucket, key) => readS3Object(assetClient, bucket, key, MAX_ASSET_BYTES, { abortSignal: (assetDeadline ??= AbortSignal.timeout(S3_TIMEOUT_MS)), expectedBucketOwner: account }),
    now: () => new Date(),
    keys,
    protectedStacks: config.protectedStacks,
    region: config.region,
    account,
  });
  // The decision is the audit trail: CloudWatch Logs keeps it beside the hook's own record.
  console.log(JSON.stringify({ hookStatus: response.hookStatus, errorCode: response.errorCode, message: response.message }));
  return response;
}
