// The job contract shared by the API (which enqueues jobs) and the worker (which runs them).
// The two services are separate Docker build contexts, so each keeps a copy of this file;
// test/services/jobs-schema.test.ts fails if the copies differ.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

export interface ChecksumPayload {
  /** The text the SHA-256 chain starts from. */
  readonly data: string;
  /** How many SHA-256 rounds to run: the caller controls the cost. */
  readonly rounds: number;
}

/** Payload type of every job type. */
export interface JobPayloads {
  readonly checksum: ChecksumPayload;
}

export type JobType = keyof JobPayloads;

/** The body of POST /v1/jobs. */
export interface JobRequest<T extends JobType = JobType> {
  readonly type: T;
  readonly payload: JobPayloads[T];
}

/** The SQS message body the API enqueues and the worker consumes. */
export interface JobMessage<T extends JobType = JobType> extends JobRequest<T> {
  readonly id: string;
  readonly submittedAt: string;
}

export const MAX_CHECKSUM_ROUNDS = 10_000_000;

/** JSON Schema of each job type's payload. */
export const payloadSchemas: { readonly [T in JobType]: object } = {
  checksum: {
    type: 'object',
    required: ['data', 'rounds'],
    additionalProperties: false,
    properties: {
      data: { type: 'string' },
      rounds: { type: 'integer', minimum: 1, maximum: MAX_CHECKSUM_ROUNDS },
    },
  },
};

export const jobTypes = Object.keys(payloadSchemas) as JobType[];

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

const messageSchema = {
  type: 'object',
  required: ['id', 'type', 'payload', 'submittedAt'],
  additionalProperties: false,
  properties: {
    ...envelopeProperties,
    id: { type: 'string', minLength: 1, maxLength: 128 },
    submittedAt: { type: 'string', minLength: 1, maxLength: 64 },
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
