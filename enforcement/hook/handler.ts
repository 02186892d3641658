// The Lambda function behind the enforcement stack's AWS::CloudFormation::LambdaHook: reads its
// configuration from the environment, fetches the request's payload URL (time and size capped)
// and the attestation bucket (S3, the SDK's default credentials), and answers what decide.ts
// decides. A configuration it cannot read refuses every operation (fail closed).
//   ATTESTATION_BUCKET  the bucket of attestations/, revoked/ and approved-deletes/
//   TRUSTED_KEYS        JSON array of { keyid, publicKeyPem } (two during a rotation)
//   PROTECTED_STACKS    JSON array of stack names whose delete is refused
//   AWS_REGION          set by Lambda: the region the hook runs in
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { decide, type DecideDeps, type HookRequest, type HookResponse } from './decide.ts';

/** The hook waits 30 s for the function (Hooks user guide): the reads stay well inside it. */
export const PAYLOAD_TIMEOUT_MS = 10_000;
export const S3_TIMEOUT_MS = 8_000;
/** Two templates of at most 1 MB each (CloudFormation quotas), JSON-escaped, fit in this. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;
export const MAX_OBJECT_BYTES = 4 * 1024 * 1024;

export interface HookConfig {
  readonly bucket: string;
  readonly keys: DecideDeps['keys'];
  readonly protectedStacks: readonly string[];
  readonly region: string;
}

const ConfigSchema = z.object({
  ATTESTATION_BUCKET: z.string().min(3),
  TRUSTED_KEYS: z.string(),
  PROTECTED_STACKS: z.string(),
  AWS_REGION: z.string().min(1),
});
const KeysSchema = z.array(z.object({ keyid: z.string().min(1), publicKeyPem: z.string().includes('BEGIN PUBLIC KEY') })).min(1).max(4);
const StacksSchema = z.array(z.string().min(1)).max(1000);

/** Reads the configuration from `env`; throws with what is wrong. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HookConfig {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw new Error(`missing environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  const json = (name: 'TRUSTED_KEYS' | 'PROTECTED_STACKS'): unknown => {
    try {
      return JSON.parse(parsed.data[name]);
    } catch {
      throw new Error(`${name} is not JSON`);
    }
  };
  const keys = KeysSchema.safeParse(json('TRUSTED_KEYS'));
  if (!keys.success) throw new Error('TRUSTED_KEYS is not a JSON array of 1 to 4 { keyid, publicKeyPem }');
  const stacks = StacksSchema.safeParse(json('PROTECTED_STACKS'));
  if (!stacks.success) throw new Error('PROTECTED_STACKS is not a JSON array of stack names');
  return { bucket: parsed.data.ATTESTATION_BUCKET, keys: keys.data, protectedStacks: stacks.data, region: parsed.data.AWS_REGION };
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
export async function readS3Object(client: S3Client, bucket: string, key: string, maxBytes = MAX_OBJECT_BYTES): Promise<Buffer | undefined> {
  const { GetObjectCommand, NoSuchKey } = await import('@aws-sdk/client-s3');
  try {
    const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: AbortSignal.timeout(S3_TIMEOUT_MS) });
    if ((output.ContentLength ?? 0) > maxBytes) throw new Error(`s3://${bucket}/${key} is ${output.ContentLength} bytes, more than ${maxBytes}`);
    return Buffer.from(await output.Body!.transformToByteArray());
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

// One client per endpoint setting (AWS_ENDPOINT_URL_S3 points tests at a local S3).
let s3: { client: S3Client; endpoint: string | undefined } | undefined;

/** The account of the function's own ARN (arn:aws:lambda:<region>:<account>:function:<name>). */
function accountOf(context: unknown): string | undefined {
  const arn = (context as { invokedFunctionArn?: unknown } | undefined)?.invokedFunctionArn;
  return typeof arn === 'string' ? /^arn:[^:]+:lambda:[^:]+:(\d{12}):/.exec(arn)?.[1] : undefined;
}

export async function handler(event: HookRequest, context?: unknown): Promise<HookResponse> {
  let config: HookConfig;
  try {
    config = configFromEnv();
  } catch (error) {
    const token = (event as { clientRequestToken?: unknown } | undefined)?.clientRequestToken ?? event?.clientRequesttoken;
    return {
      hookStatus: 'FAILED',
      errorCode: 'InternalFailure',
      message: `guardrail hook: its configuration is unreadable (${(error as Error).message}); every operation is refused until it is fixed`,
      clientRequestToken: typeof token === 'string' ? token : '',
    };
  }
  if (!s3 || s3.endpoint !== process.env.AWS_ENDPOINT_URL_S3) {
    const { S3Client } = await import('@aws-sdk/client-s3');
    s3 = { client: new S3Client({}), endpoint: process.env.AWS_ENDPOINT_URL_S3 };
  }
  const client = s3.client;
  const response = await decide(event, {
    readTemplatePayload: (url) => fetchPayload(url),
    readObject: (key) => readS3Object(client, config.bucket, key),
    now: () => new Date(),
    keys: config.keys,
    protectedStacks: config.protectedStacks,
    region: config.region,
    account: accountOf(context),
  });
  // The decision is the audit trail: CloudWatch Logs keeps it beside the hook's own record.
  console.log(JSON.stringify({ hookStatus: response.hookStatus, errorCode: response.errorCode, message: response.message }));
  return response;
}
