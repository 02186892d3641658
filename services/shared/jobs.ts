// The job contract, written once: the API enqueues jobs, the worker and the scheduler's messages
// are read by the worker. Both images build from services/ and copy this folder (see their Dockerfiles).
//
// Rollback safety: every message carries a format version `v` (absent = 1). Changes within a
// version are additive only, and readers ignore fields they do not know, so the previous release
// (N-1) reads what release N wrote. A change N-1 could not read bumps `v`, and N-1 refuses it
// as malformed instead of misreading it (after N-1 has been released able to read it, N may write it).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type JobType, jobTypes, MAX_CHECKSUM_ROUNDS, payloadSchemas } from './job-schemas.ts';

export { type JobType, jobTypes, MAX_CHECKSUM_ROUNDS, payloadSchemas };

export interface ChecksumPayload {
  /** The text the SHA-256 chain starts from. */
  readonly data: string;
  /** How many SHA-256 rounds to run: the caller controls the cost. */
  readonly rounds: number;
}

/** The batch job that rebuilds the searchable dataset (scheduled, or posted on demand). */
export interface RebuildDatasetPayload {
  /** Why it runs (free text, logged): "schedule", "on demand", "deploy check"... */
  readonly reason?: string;
}

/** Payload type of every job type. */
export interface JobPayloads {
  readonly checksum: ChecksumPayload;
  readonly 'rebuild-dataset': RebuildDatasetPayload;
}

/** The body of POST /v1/jobs. */
export interface JobRequest<T extends JobType = JobType> {
  readonly type: T;
  readonly payload: JobPayloads[T];
}

/** The newest message format this code writes; it reads every format up to this one. */
export const JOB_MESSAGE_FORMAT = 1;

/** The SQS message body the API enqueues and the worker consumes. */
export interface JobMessage<T extends JobType = JobType> extends JobRequest<T> {
  /** The job id: also the idempotency key of the job's record. */
  readonly id: string;
  readonly submittedAt: string;
  /** Format version; absent in messages of format 1 (e.g. the scheduler's). */
  readonly v?: number;
}

const envelopeProperties = {
  type: { type: 'string', enum: jobTypes },
  payload: { type: 'object' },
};

const requestSchema = {
  type: 'object',
  required: ['type', 'payload'],
  additionalProperties: false,
  properties: envelopeProperties,
};

// No additionalProperties: false here: a newer release may add fields (see the top of the file).
const messageSchema = {
  type: 'object',
  required: ['id', 'type', 'payload', 'submittedAt'],
  properties: {
    ...envelopeProperties,
    id: { type: 'string', minLength: 1, maxLength: 128 },
    submittedAt: { type: 'string', minLength: 1, maxLength: 64 },
    v: { type: 'integer', minimum: 1, maximum: JOB_MESSAGE_FORMAT },
  },
};

// coerceTypes stays off: a job payload of "5" is not the integer 5.
const ajv = new Ajv({ allErrors: false, strict: true });
const validateRequestEnvelope = ajv.compile(requestSchema);
const validateMessageEnvelope = ajv.compile(messageSchema);
const validatePayload = Object.fromEntries(
  jobTypes.map((type) => [type, ajv.compile(payloadSchemas[type])]),
) as { readonly [T in JobType]: ValidateFunction };

export type Validation<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly message: string };

/** Validates the body of POST /v1/jobs; on failure names the offending field (e.g. `payload.rounds`). */
export function validateJobRequest(body: unknown): Validation<JobRequest> {
  return validateWith(validateRequestEnvelope, body);
}

/** Validates an SQS message body; on failure the reason says what is wrong with it. */
export function parseJobMessage(body: string | undefined): Validation<JobMessage> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return { ok: false, field: 'body', message: 'is not JSON' };
  }
  return validateWith(validateMessageEnvelope, parsed);
}

function validateWith<T extends JobRequest>(validateEnvelope: ValidateFunction, value: unknown): Validation<T> {
  if (!validateEnvelope(value)) return failure(validateEnvelope.errors, '');
  const job = value as T;
  const validate = validatePayload[job.type];
  if (!validate(job.payload)) return failure(validate.errors, 'payload');
  return { ok: true, value: job };
}

function failure(errors: ErrorObject[] | null | undefined, prefix: string): Validation<never> {
  const error = errors?.[0];
  if (!error) return { ok: false, field: prefix || 'body', message: 'is invalid' };
  const path = error.instancePath.split('/').filter(Boolean);
  const extra = error.params as { missingProperty?: string; additionalProperty?: string };
  if (extra.missingProperty) path.push(extra.missingProperty);
  if (extra.additionalProperty) path.push(extra.additionalProperty);
  const field = [prefix, ...path].filter(Boolean).join('.') || 'body';
  const message = extra.missingProperty
    ? 'is required'
    : extra.additionalProperty
      ? 'is not allowed'
      : (error.message ?? 'is invalid');
  return { ok: false, field, message };
}
