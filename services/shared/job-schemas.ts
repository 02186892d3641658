// The job types and the JSON Schema of each one's payload, as plain data: the worker validates
// every message against them (./jobs.ts), and the CDK app validates the configured schedules
// against the same objects (lib/config.ts), so a scheduled job the worker would refuse fails the
// synth instead of dead-lettering every run. Dependency-free on purpose: the CDK side imports this
// file, and it imports nothing.

export const MAX_CHECKSUM_ROUNDS = 10_000_000;

/** JSON Schema of each job type's payload. */
export const payloadSchemas = {
  checksum: {
    type: 'object',
    required: ['data', 'rounds'],
    additionalProperties: false,
    properties: {
      data: { type: 'string' },
      rounds: { type: 'integer', minimum: 1, maximum: MAX_CHECKSUM_ROUNDS },
    },
  },
  'rebuild-dataset': {
    type: 'object',
    additionalProperties: false,
    properties: { reason: { type: 'string', maxLength: 200 } },
  },
} as const satisfies Record<string, object>;

export type JobType = keyof typeof payloadSchemas;

export const jobTypes = Object.keys(payloadSchemas) as JobType[];
