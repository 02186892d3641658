// The release's attestation: an in-toto Statement v1 whose subjects are the templates (by the
// sha256 of their raw bytes, as the hook receives them) and the images (by their registry
// digest), and whose predicate is a SLSA verification summary: which policy passed, for which
// release, until when.
//   in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
//   SLSA Verification Summary v1: https://slsa.dev/spec/v1.0/verification_summary
// Honestly a verification summary, not SLSA build provenance: the images and files were built by
// steps the commit defines; `verifiedLevels` is therefore empty.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** The guardrail policy every attestation names (and the hook requires). */
export const GUARDRAIL_POLICY = 'r5gdjql-k000zve0-zxk';
export const GUARDRAIL_POLICY_URI = `urn:br-fagq2:guardrail:${GUARDRAIL_POLICY}`;
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
/** Where the release's source lives, for `resourceUri` (`<this>@<commit>`). */
export const DEFAULT_SOURCE_REPOSITORY = 'https://github.com/example/br-fagq2';
/** The default validity window: how long a release may be rolled back to. */
export const DEFAULT_VALIDITY_DAYS = 30;
export const MAX_VALIDITY_DAYS = 366;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// CloudFormation: "A stack name can contain only alphanumeric characters (case-sensitive) and
// hyphens. It must start with an alphabetic character and can't be longer than 128 characters."
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const EXECUTION_ID = /^[A-Za-z0-9-]{1,128}$/;
// S3 bucket names: 3 to 63 lowercase letters, digits, dots and hyphens (Amazon S3 user guide,
// "General purpose bucket naming rules"); keys: up to 1024 bytes.
const FILE_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[^\s]{1,1024}$/;
const IMAGE_URI = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9][a-z0-9._/-]{0,255}$/;

export interface Subject {
  readonly name: string;
  readonly digest: { readonly sha256: string };
}

export interface Check {
  readonly name: string;
  readonly status: 'PASS' | 'FAIL';
  readonly detail: string;
}

export interface Release {
  /** The git commit, 40 lowercase hex. */
  readonly commit: string;
  /** The CodePipeline execution id. */
  readonly executionId: string;
}

export interface Predicate {
  readonly verifier: { readonly id: string };
  /** RFC 3339. */
  readonly timeVerified: string;
  readonly resourceUri: string;
  readonly policy: { readonly uri: string };
  readonly verificationResult: 'PASSED';
  readonly verifiedLevels: readonly string[];
  readonly release: Release;
  /** RFC 3339: the hook refuses the attestation after it (the rollback window ends). */
  readonly expiresAt: string;
  readonly checks: readonly Check[];
}

export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly Subject[];
  readonly predicateType: typeof VSA_PREDICATE_TYPE;
  readonly predicate: Predicate;
}

/** A statement, or its input, that must not be signed or trusted; the message says why. */
export class AttestationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttestationError';
  }
}

/** Lowercase hex SHA-256 of the bytes (a string counts as its UTF-8 bytes). */
export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkStackTuple(account: string, region: string, stackName: string): void {
  if (!ACCOUNT.test(account)) throw new AttestationError(`account ${JSON.stringify(account)} is not 12 digits`);
  if (!REGION.test(region)) throw new AttestationError(`region ${JSON.stringify(region)} is not a region name`);
  if (!STACK_NAME.test(stackName)) throw new AttestationError(`stack name ${JSON.stringify(stackName)} is not a CloudFormation stack name`);
}

/** `cloudformation:<account>:<region>:<stackName>`: the subject name of a template. */
export function templateSubjectName(account: string, region: string, stackName: string): string {
  checkStackTuple(account, region, stackName);
  return `cloudformation:${account}:${region}:${stackName}`;
}

/** `image:<account>.dkr.ecr.<region>.amazonaws.com/<repo>`: the subject name of an image. */
export function imageSubjectName(uri: string): string {
  if (!IMAGE_URI.test(uri)) throw new AttestationError(`image ${JSON.stringify(uri)} is not <account>.dkr.ecr.<region>.amazonaws.com/<repository>`);
  return `image:${uri}`;
}

/** `file:s3://<bucket>/<key>`: the subject name of a file asset. */
export function fileSubjectName(uri: string): string {
  if (!FILE_URI.test(uri)) throw new AttestationError(`file ${JSON.stringify(uri)} is not s3://<bucket>/<key>`);
  return `file:${uri}`;
}

/** The attestation bucket key the hook reads for a template it receives. */
export function attestationKey(account: string, region: string, stackName: string, sha256: string): string {
  checkStackTuple(account, region, stackName);
  if (!SHA256_HEX.test(sha256)) throw new AttestationError(`digest ${JSON.stringify(sha256)} is not 64 lowercase hex`);
  return `attestations/${account}/${region}/${stackName}/${sha256}.dsse.json`;
}

/** The bucket key of the release's envelope, by commit and pipeline execution. */
export function releaseKey(release: Release): string {
  checkRelease(release);
  return `releases/${release.commit}/${release.executionId}.dsse.json`;
}

/** The object an administrator writes to revoke every attestation of a release's commit. */
export function revokedKey(commit: string): string {
  if (!COMMIT.test(commit)) throw new AttestationError(`commit ${JSON.stringify(commit)} is not 40 lowercase hex`);
  return `revoked/${commit}`;
}

function checkRelease(release: Release): void {
  if (!COMMIT.test(release.commit)) throw new AttestationError(`commit ${JSON.stringify(release.commit)} is not 40 lowercase hex`);
  if (!EXECUTION_ID.test(release.executionId)) throw new AttestationError(`execution id ${JSON.stringify(release.executionId)} is not a pipeline execution id`);
}

export interface TemplateInput {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /** The template exactly as CloudFormation will receive it (the cdk.out file's bytes). */
  readonly body: Buffer | string;
}

export interface ImageInput {
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>`. */
  readonly uri: string;
  /** The image manifest digest: 64 hex, with or without `sha256:`. */
  readonly sha256: string;
}

export interface FileInput {
  /** `s3://<bucket>/<key>`: a file asset a template names. */
  readonly uri: string;
  /** The object content's SHA-256, 64 lowercase hex. */
  readonly sha256: string;
}

export interface StatementInput {
  readonly templates: readonly TemplateInput[];
  readonly images: readonly ImageInput[];
  /** The file assets the templates name (subjects `file:s3://<bucket>/<key>`). @default none */
  readonly files?: readonly FileInput[];
  readonly release: Release;
  /** The validator function's ARN. */
  readonly verifierId: string;
  /** Every check the validator ran: all PASS, or nothing is built. */
  readonly checks: readonly Check[];
  readonly timeVerified: Date;
  /** @default DEFAULT_VALIDITY_DAYS */
  readonly validityDays?: number;
  /** @default DEFAULT_SOURCE_REPOSITORY */
  readonly sourceRepository?: string;
}

/** The statement for a release that passed every check; throws AttestationError otherwise. */
export function buildStatement(input: StatementInput): Statement {
  checkRelease(input.release);
  const failed = input.checks.filter((check) => check.status !== 'PASS');
  if (input.checks.length === 0) throw new AttestationError('no checks ran: nothing to attest');
  if (failed.length > 0) throw new AttestationError(`checks failed, nothing is attested: ${failed.map((check) => check.name).join(', ')}`);
  if (input.templates.length === 0) throw new AttestationError('no templates: nothing to attest');
  const validityDays = input.validityDays ?? DEFAULT_VALIDITY_DAYS;
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > MAX_VALIDITY_DAYS) {
    throw new AttestationError(`validityDays must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}, not ${validityDays}`);
  }
  if (Number.isNaN(input.timeVerified.getTime())) throw new AttestationError('timeVerified is not a date');
  const subject: Subject[] = [
    ...input.templates.map((t) => ({ name: templateSubjectName(t.account, t.region, t.stackName), digest: { sha256: sha256Hex(t.body) } })),
    ...input.images.map((image) => {
      const sha256 = image.sha256.replace(/^sha256:/, '');
      if (!SHA256_HEX.test(sha256)) throw new AttestationError(`image ${image.uri}: digest ${JSON.stringify(image.sha256)} is not a sha256`);
      return { name: imageSubjectName(image.uri), digest: { sha256 } };
    }),
    ...(input.files ?? []).map((file) => {
      if (!SHA256_HEX.test(file.sha256)) throw new AttestationError(`file ${file.uri}: digest ${JSON.stringify(file.sha256)} is not 64 lowercase hex`);
      return { name: fileSubjectName(file.uri), digest: { sha256: file.sha256 } };
    }),
  ];
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: { id: input.verifierId },
      timeVerified: input.timeVerified.toISOString(),
      resourceUri: `git+${input.sourceRepository ?? DEFAULT_SOURCE_REPOSITORY}@${input.release.commit}`,
      policy: { uri: GUARDRAIL_POLICY_URI },
      verificationResult: 'PASSED',
      verifiedLevels: [],
      release: { commit: input.release.commit, executionId: input.release.executionId },
      expiresAt: new Date(input.timeVerified.getTime() + validityDays * 86_400_000).toISOString(),
      checks: input.checks.map((check) => ({ name: check.name, status: check.status, detail: check.detail })),
    },
  };
  return parseStatement(statement); // the same rules a verifier applies
}

// What a verifier accepts. Unknown fields are ignored, as in-toto's parsing rules ask; every
// field the hook relies on is required and exact.
const datetime = z.iso.datetime({ offset: true });
const StatementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(z.object({ name: z.string().min(1).max(512), digest: z.object({ sha256: z.string().regex(SHA256_HEX, 'a sha256 is 64 lowercase hex') }) }))
    .min(1)
    .max(1000),
  predicateType: z.literal(VSA_PREDICATE_TYPE),
  predicate: z.object({
    verifier: z.object({ id: z.string().min(1).max(2048) }),
    timeVerified: datetime,
    resourceUri: z.string().min(1).max(2048),
    policy: z.object({ uri: z.literal(GUARDRAIL_POLICY_URI) }),
    verificationResult: z.literal('PASSED'),
    verifiedLevels: z.array(z.string().max(256)).max(16),
    release: z.object({ commit: z.string().regex(COMMIT), executionId: z.string().regex(EXECUTION_ID) }),
    expiresAt: datetime,
    checks: z
      .array(z.object({ name: z.string().min(1).max(256), status: z.literal('PASS'), detail: z.string().max(65_536) }))
      .min(1)
      .max(1000),
  }),
});

/** Checks a decoded statement's shape and meaning; returns it typed, or throws AttestationError. */
export function parseStatement(value: unknown): Statement {
  const parsed = StatementSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AttestationError(`the statement is not a guardrail verification summary: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const statement = parsed.data as Statement;
  // A template subject is looked up by name (the hook's tuple): one per name. Images of one
  // repository share its name (CDK puts every image asset in one repository): one per digest.
  const names = new Set<string>();
  for (const subject of statement.subject) {
    const id = subject.name.startsWith('cloudformation:') ? subject.name : `${subject.name}@${subject.digest.sha256}`;
    if (names.has(id)) throw new AttestationError(`the statement names subject ${subject.name} twice`);
    names.add(id);
  }
  const { timeVerified, expiresAt, resourceUri, release } = statement.predicate;
  if (Date.parse(expiresAt) <= Date.parse(timeVerified)) throw new AttestationError(`the statement expires (${expiresAt}) before it was verified (${timeVerified})`);
  if (!resourceUri.endsWith(`@${release.commit}`)) throw new AttestationError(`the statement's resourceUri ${resourceUri} is not the release's commit ${release.commit}`);
  return statement;
}
