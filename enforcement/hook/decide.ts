// The Lambda hook's decision: admit a stack or change-set operation in the production account
// only when the template CloudFormation received is attested, for this account, region and stack
// name, by a release the guardrail signed that is neither expired nor revoked. Pure: every read
// is a dependency, so tests and the rehearsal call it as the handler does.
//
// The request and response shapes are the CloudFormation Hooks User Guide's, "Create Lambda
// functions to evaluate resources for Lambda Hooks"
// (https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/lambda-hooks-create-lambda-function.html):
// - a STACK request has requestData.targetName = targetType = "STACK", targetLogicalId = the stack
//   name, and `payload` = an S3 presigned URL of `{ template, previousTemplate }`; "template" is
//   "the full CloudFormation template that was provided to create-stack or update-stack", and is
//   empty in delete-stack operations;
// - a CHANGE_SET request (CreateChangeSet; only the CREATE action applies to change sets, Hooks
//   concepts, "Target actions") has targetName = targetType = "CHANGE_SET", targetLogicalId = the
//   change set ARN, and `payload` = a URL of `{ template, changedResources }`;
// - the guide spells the token and stack fields `clientRequesttoken`/`stackID` in its syntax
//   and `clientRequestToken`/`stackId` in its examples: both are read;
// - the response is `{ hookStatus: SUCCESS|FAILED|IN_PROGRESS, errorCode: NonCompliant|
//   InternalFailure, message, clientRequestToken }`, the message truncated to 4096 characters.
// Parameter values appear in neither payload, so parameters are judged by the template's
// `Parameters` declarations: only `BootstrapVersion` may be declared (CDK's check of the
// bootstrap's version, read by a Rule), so no value the caller passes can change the template.
import { z } from 'zod';
import type { TrustedKey } from '../attestation/dsse.ts';
import { verifyEnvelope } from '../attestation/dsse.ts';
import { AttestationError, attestationKey, fileSubjectName, revokedKey, sha256Hex, templateSubjectName } from '../attestation/statement.ts';
import type { Statement } from '../attestation/statement.ts';
import { parseStrictJson, StrictJsonError } from '../attestation/strict-json.ts';
import { fileAssets, resources, unreadableFileAssets } from '../validator/templates.ts';

/** The only parameter a production template may declare. */
export const ALLOWED_PARAMETERS: readonly string[] = ['BootstrapVersion'];
/** CloudFormation truncates longer messages (Hooks user guide, response `message`). */
export const MAX_MESSAGE_LENGTH = 4096;
/** An attestation verified further in the future than this is doubted (clock skew allowance). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** File assets read at once (each is a Lambda code zip of some kilobytes; the reads share one deadline in the handler). */
export const ASSET_READ_CONCURRENCY = 4;

/**
 * The bucket CDK's default synthesizer publishes file assets to (qualifier `hnb659fds`), the one
 * the pipeline's file-publishing role may write and the hook role may read
 * (lib/enforcement-hooks.ts).
 */
export function assetBucketName(account: string, region: string): string {
  return `cdk-hnb659fds-assets-${account}-${region}`;
}

export type HookStatus = 'SUCCESS' | 'FAILED';
export type HookErrorCode = 'NonCompliant' | 'InternalFailure';

/** The Lambda hook response (this hook never answers IN_PROGRESS). */
export interface HookResponse {
  readonly hookStatus: HookStatus;
  readonly errorCode?: HookErrorCode;
  readonly message: string;
  readonly clientRequestToken: string;
}

/** A stack or change-set request as the Hooks user guide documents it (read defensively). */
export interface HookRequest {
  readonly clientRequestToken?: string;
  readonly clientRequesttoken?: string;
  readonly awsAccountId?: string;
  readonly stackId?: string;
  readonly stackID?: string;
  readonly changeSetId?: string | null;
  readonly hookTypeName?: string;
  readonly hookTypeVersion?: string;
  readonly hookModel?: { readonly LambdaFunction?: string };
  readonly actionInvocationPoint?: string;
  readonly requestData?: {
    readonly targetName?: string;
    readonly targetType?: string;
    readonly targetLogicalId?: string;
    readonly payload?: string;
  };
  readonly requestContext?: { readonly invocation?: number; readonly callbackContext?: unknown };
}

export interface DecideDeps {
  /** Fetches the request's payload URL; returns the body text (the handler caps size and time). */
  readTemplatePayload(url: string): Promise<string>;
  /** Reads an object of the attestation bucket; undefined when there is none. */
  readObject(key: string): Promise<Buffer | undefined>;
  /**
   * Reads an object of this account and region's asset bucket (a file asset the template names);
   * undefined when there is none. The handler caps its size and time.
   */
  readAssetObject(bucket: string, key: string): Promise<Buffer | undefined>;
  now(): Date;
  /** The public keys whose signatures count (two during a rotation). */
  readonly keys: readonly TrustedKey[];
  /** Stack names whose delete is refused (unless an administrator approved that stack's delete). */
  readonly protectedStacks: readonly string[];
  /** The account the hook runs in: a request for another is refused. @default not checked */
  readonly account?: string;
  /** The region the hook runs in: a request for another is refused. @default not checked */
  readonly region?: string;
}

/** A refusal: the operation does not comply (NonCompliant) or could not be judged (InternalFailure). */
class Refusal extends Error {
  readonly code: HookErrorCode;
  constructor(code: HookErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
const nonCompliant = (message: string) => new Refusal('NonCompliant', message);
const internal = (message: string) => new Refusal('InternalFailure', message);

/**
 * The object an administrator writes to let a protected stack be deleted once: keyed by the
 * stack's id, so it admits the delete of that one stack instance (for example one a refused first
 * create left in ROLLBACK_COMPLETE), not of a later stack of the same name.
 */
export function approvedDeleteKey(account: string, region: string, stackName: string, stackUuid: string): string {
  return `approved-deletes/${account}/${region}/${stackName}/${stackUuid}`;
}

// arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>
const STACK_ARN = /^arn:aws(?:-[a-z]+)*:cloudformation:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):stack\/([A-Za-z][A-Za-z0-9-]{0,127})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const CHANGE_SET_ARN = /^arn:aws(?:-[a-z]+)*:cloudformation:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):changeSet\/[A-Za-z][A-Za-z0-9-]{0,127}\/[0-9a-f-]{36}$/;

export interface StackRef {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  readonly stackUuid: string;
}

/** Reads account, region, stack name and id from a stack ARN; undefined when it is not one. */
export function parseStackArn(arn: unknown): StackRef | undefined {
  if (typeof arn !== 'string') return undefined;
  const match = STACK_ARN.exec(arn);
  return match ? { region: match[1]!, account: match[2]!, stackName: match[3]!, stackUuid: match[4]! } : undefined;
}

const optionalString = z.string().max(4096).nullish();
const RequestSchema = z.object({
  awsAccountId: optionalString,
  stackId: optionalString,
  stackID: optionalString,
  changeSetId: optionalString,
  actionInvocationPoint: z.enum(['CREATE_PRE_PROVISION', 'UPDATE_PRE_PROVISION', 'DELETE_PRE_PROVISION'], 'not a documented invocation point'),
  requestData: z.object({
    targetName: z.string().max(256),
    targetType: z.enum(['STACK', 'CHANGE_SET'], 'this hook judges STACK and CHANGE_SET operations only'),
    targetLogicalId: z.string().max(4096),
    payload: optionalString,
  }),
});

const PayloadSchema = z.object({ template: z.string().nullish() });

/** The request's client token, under either of the guide's spellings ('' when there is none). */
export function tokenOf(request: unknown): string {
  const r = (request ?? {}) as { clientRequestToken?: unknown; clientRequesttoken?: unknown };
  const token = r.clientRequestToken ?? r.clientRequesttoken;
  return typeof token === 'string' ? token : '';
}

function respond(token: string, status: HookStatus, message: string, errorCode?: HookErrorCode): HookResponse {
  const text = message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
  return errorCode ? { hookStatus: status, errorCode, message: text, clientRequestToken: token } : { hookStatus: status, message: text, clientRequestToken: token };
}

/** Decides one hook request. Never throws; anything unexpected is FAILED (fail closed). */
export async function decide(request: HookRequest, deps: DecideDeps): Promise<HookResponse> {
  const token = tokenOf(request);
  try {
    return respond(token, 'SUCCESS', await judge(request, deps));
  } catch (error) {
    if (error instanceof Refusal) return respond(token, 'FAILED', error.message, error.code);
    return respond(token, 'FAILED', `guardrail hook: could not evaluate the operation, refused: ${(error as Error)?.message ?? String(error)}`, 'InternalFailure');
  }
}

async function judge(raw: HookRequest, deps: DecideDeps): Promise<string> {
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw internal(`guardrail hook: the request is not a documented stack or change-set request (${issue.path.join('.')}: ${issue.message}), refused`);
  }
  const request = parsed.data;
  const { targetName, targetType, targetLogicalId } = request.requestData;
  if (targetName !== targetType) throw internal(`guardrail hook: targetName ${targetName} differs from targetType ${targetType}, refused`);
  const stackArn = request.stackId ?? request.stackID;
  const stack = parseStackArn(stackArn);
  if (!stack) throw internal(`guardrail hook: the request's stack id ${JSON.stringify(stackArn)} is not a CloudFormation stack ARN, refused`);
  const where = `stack ${stack.stackName} (account ${stack.account}, ${stack.region})`;
  if (request.awsAccountId && request.awsAccountId !== stack.account) throw internal(`guardrail hook: ${where}: the request's account ${request.awsAccountId} is not the stack's, refused`);
  if (deps.account && stack.account !== deps.account) throw nonCompliant(`guardrail hook: ${where} is not in this hook's account ${deps.account}, refused`);
  if (deps.region && stack.region !== deps.region) throw nonCompliant(`guardrail hook: ${where} is not in this hook's region ${deps.region}, refused`);
  if (targetType === 'STACK' && targetLogicalId !== stack.stackName) {
    throw internal(`guardrail hook: ${where}: the request names stack ${targetLogicalId} as its target, refused`);
  }
  if (targetType === 'CHANGE_SET') {
    const changeSet = CHANGE_SET_ARN.exec(targetLogicalId);
    if (!changeSet || changeSet[1] !== stack.region || changeSet[2] !== stack.account) {
      throw internal(`guardrail hook: ${where}: the change set ${JSON.stringify(targetLogicalId)} is not a change set ARN of the stack's account and region, refused`);
    }
    if (request.changeSetId && request.changeSetId !== targetLogicalId) throw internal(`guardrail hook: ${where}: changeSetId and targetLogicalId differ, refused`);
  }

  if (request.actionInvocationPoint === 'DELETE_PRE_PROVISION') return judgeDelete(stack, where, deps);

  if (!request.requestData.payload) throw internal(`guardrail hook: ${where}: the request has no payload URL, so the template cannot be read; refused`);
  let payloadText: string;
  try {
    payloadText = await deps.readTemplatePayload(request.requestData.payload);
  } catch (error) {
    throw internal(`guardrail hook: ${where}: could not read the template payload (${(error as Error).message}); refused`);
  }
  let template: string;
  try {
    const payload = PayloadSchema.parse(parseStrictJson(payloadText, 'the hook payload'));
    if (!payload.template) throw new Error('it carries no template');
    template = payload.template;
  } catch (error) {
    throw internal(`guardrail hook: ${where}: the template payload is unreadable (${error instanceof z.ZodError ? 'not { template: string }' : (error as Error).message}); refused`);
  }

  const digest = sha256Hex(template);
  const subjectName = templateSubjectName(stack.account, stack.region, stack.stackName);
  const what = `${where}, template sha256 ${digest}`;
  const parsedTemplate = checkTemplate(template, what);

  const key = attestationKey(stack.account, stack.region, stack.stackName, digest);
  const envelope = await read(deps, key, what);
  if (!envelope) throw nonCompliant(`guardrail hook: ${what}: no attestation (s3 key ${key}): the guardrail did not validate this template for this stack; refused`);
  let statement;
  let keyids: readonly string[];
  try {
    ({ statement, keyids } = verifyEnvelope(envelope, deps.keys));
  } catch (error) {
    if (error instanceof AttestationError) throw nonCompliant(`guardrail hook: ${what}: the attestation at ${key} is refused: ${error.message}`);
    throw error;
  }
  const subject = statement.subject.find((s) => s.name === subjectName);
  if (!subject) throw nonCompliant(`guardrail hook: ${what}: the attestation at ${key} does not name ${subjectName} (it names ${statement.subject.filter((s) => s.name.startsWith('cloudformation:')).map((s) => s.name).join(', ')}); refused`);
  if (subject.digest.sha256 !== digest) throw nonCompliant(`guardrail hook: ${what}: the attestation at ${key} attests ${subjectName} with sha256 ${subject.digest.sha256}, not this template; refused`);

  const { release, expiresAt, timeVerified } = statement.predicate;
  const releaseText = `release ${release.commit} (execution ${release.executionId})`;
  const now = deps.now();
  if (Date.parse(timeVerified) > now.getTime() + MAX_CLOCK_SKEW_MS) throw nonCompliant(`guardrail hook: ${what}: ${releaseText} says it was verified at ${timeVerified}, after now (${now.toISOString()}); refused`);
  if (now.getTime() >= Date.parse(expiresAt)) throw nonCompliant(`guardrail hook: ${what}: the attestation of ${releaseText} expired at ${expiresAt}; refused (release it again to deploy it)`);
  // The revocation and the file assets are read at once (the hook has 30 s in all); a revocation is reported first.
  const revoked = read(deps, revokedKey(release.commit), what);
  const files = checkFileAssets(parsedTemplate, statement, stack, `${what}: ${releaseText}`, deps);
  revoked.catch(() => undefined);
  files.catch(() => undefined);
  if (await revoked) throw nonCompliant(`guardrail hook: ${what}: ${releaseText} is revoked (${revokedKey(release.commit)}); refused`);
  const checkedFiles = await files;
  const filesText = checkedFiles > 0 ? `, its ${checkedFiles} file asset${checkedFiles === 1 ? '' : 's'} unchanged since validation` : '';
  return `guardrail hook: ${what}: attested by ${releaseText}, signed by ${keyids.join(', ')}, valid until ${expiresAt}${filesText}; admitted`;
}

async function judgeDelete(stack: StackRef, where: string, deps: DecideDeps): Promise<string> {
  if (!deps.protectedStacks.includes(stack.stackName)) return `guardrail hook: delete of ${where}: not a protected stack; admitted`;
  const approval = approvedDeleteKey(stack.account, stack.region, stack.stackName, stack.stackUuid);
  if (await read(deps, approval, `delete of ${where}`)) return `guardrail hook: delete of protected ${where}: approved by an administrator (${approval}); admitted`;
  throw nonCompliant(`guardrail hook: delete of ${where} refused: it is a protected stack (an administrator approves one delete by writing ${approval})`);
}

async function read(deps: DecideDeps, key: string, what: string): Promise<Buffer | undefined> {
  try {
    return await deps.readObject(key);
  } catch (error) {
    throw internal(`guardrail hook: ${what}: could not read ${key} from the attestation bucket (${(error as Error).message}); refused`);
  }
}

/**
 * Re-reads every file asset the template names (its S3Bucket/S3Key pairs: the code CloudFormation
 * will deploy from the asset bucket, which the template names by key without a version) and
 * compares its sha256 with the one the statement attests. The template's own references, not the
 * statement's file subjects, decide what is read: a subject the template does not name is not
 * deployed by this operation, and a reference the statement does not attest is refused. Returns
 * how many were checked.
 */
async function checkFileAssets(template: Record<string, unknown>, statement: Statement, stack: StackRef, what: string, deps: DecideDeps): Promise<number> {
  const unreadable = unreadableFileAssets(template);
  if (unreadable.length > 0) throw nonCompliant(`guardrail hook: ${what}: ${unreadable.join('; ')}: the hook re-checks only file assets named by a literal bucket and key; refused`);
  const bucket = assetBucketName(stack.account, stack.region);
  const seen = new Set<string>();
  const assets = fileAssets(template).filter((a) => !seen.has(`${a.bucket}/${a.key}`) && seen.add(`${a.bucket}/${a.key}`));
  for (const asset of assets) {
    if (asset.bucket !== bucket) throw nonCompliant(`guardrail hook: ${what}: ${asset.logicalId} deploys s3://${asset.bucket}/${asset.key}, outside this account and region's asset bucket ${bucket}, which the hook cannot re-check; refused`);
  }
  const attested = assets.map((asset) => {
    const name = fileSubjectName(`s3://${asset.bucket}/${asset.key}`);
    const subject = statement.subject.find((s) => s.name === name);
    if (!subject) throw nonCompliant(`guardrail hook: ${what}: ${asset.logicalId} deploys file asset s3://${asset.bucket}/${asset.key}, which the attestation does not attest; refused`);
    return { asset, sha256: subject.digest.sha256 };
  });
  const check = async ({ asset, sha256 }: (typeof attested)[number]): Promise<void> => {
    const uri = `s3://${asset.bucket}/${asset.key}`;
    let body: Buffer | undefined;
    try {
      body = await deps.readAssetObject(asset.bucket, asset.key);
    } catch (error) {
      throw internal(`guardrail hook: ${what}: could not read file asset ${uri} (${(error as Error).message}); refused`);
    }
    if (!body) throw nonCompliant(`guardrail hook: ${what}: file asset ${uri} (${asset.logicalId}), attested with sha256 ${sha256}, does not exist; refused`);
    const now = sha256Hex(body);
    if (now !== sha256) throw nonCompliant(`guardrail hook: ${what}: file asset ${uri} (${asset.logicalId}) has sha256 ${now}, not the attested ${sha256}: it was written after validation; refused`);
  };
  // At most ASSET_READ_CONCURRENCY reads at once; the first refusal in the template's order wins.
  const results: Promise<void>[] = [];
  for (let i = 0; i < attested.length; i += ASSET_READ_CONCURRENCY) {
    const batch = attested.slice(i, i + ASSET_READ_CONCURRENCY).map(check);
    await Promise.allSettled(batch);
    results.push(...batch);
  }
  for (const result of results) await result;
  return attested.length;
}

/** What the hook checks in the template itself, attested or not; returns the parsed template. */
function checkTemplate(template: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(template, 'the template');
  } catch (error) {
    if (error instanceof StrictJsonError) throw nonCompliant(`guardrail hook: ${what}: ${error.message}; the guardrail attests JSON templates with one reading only; refused`);
    throw error;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw nonCompliant(`guardrail hook: ${what}: the template is not a JSON object; refused`);
  const parameters = (parsed as { Parameters?: unknown }).Parameters;
  if (parameters !== undefined) {
    if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) throw nonCompliant(`guardrail hook: ${what}: Parameters is not an object; refused`);
    const extra = Object.keys(parameters).filter((name) => !ALLOWED_PARAMETERS.includes(name));
    if (extra.length > 0) throw nonCompliant(`guardrail hook: ${what}: declares parameters other than ${ALLOWED_PARAMETERS.join(', ')} (${extra.join(', ')}): a caller's value could change what the attested template does; refused`);
  }
  // A transform makes CloudFormation run a template other than the one attested (AWS::Include
  // reads one from S3, macros rewrite it): the attested bytes would not be what is deployed.
  if ('Transform' in (parsed as object) || containsKey(parsed, 'Fn::Transform')) throw nonCompliant(`guardrail hook: ${what}: uses a transform, so CloudFormation would deploy a template other than the attested one; refused`);
  // A nested stack's template is read from its TemplateURL when it deploys: the attestation covers
  // neither those bytes nor the nested stack's own name, and the URL is no S3Bucket/S3Key pair the
  // hook re-checks (checkFileAssets), so a URL's object rewritten after validation would deploy.
  const nested = resources(parsed as Record<string, unknown>).filter(([, r]) => r.Type === 'AWS::CloudFormation::Stack').map(([id]) => id);
  if (nested.length > 0) throw nonCompliant(`guardrail hook: ${what}: declares nested stacks (${nested.join(', ')}), whose templates the attestation does not cover; refused`);
  return parsed as Record<string, unknown>;
}

function containsKey(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((item) => containsKey(item, key));
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([k, v]) => k === key || containsKey(v, key));
}
