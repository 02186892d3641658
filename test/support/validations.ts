// The rehearsal's guardrail validation runs (pipeline/rehearsal/guardrail-flow.ts), by the digest
// of their inputs, shared by the test files of one worker (vitest.config.mts: isolate false): the
// validator's compliance takes seconds, and copies of the shared assembly whose validator inputs
// are unchanged get the same answer.
import type { ValidationRun } from '../../pipeline/rehearsal/guardrail-flow';

export const validations = new Map<string, ValidationRun>();
