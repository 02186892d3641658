// What remains of the pipeline-side guardrail: the request to the production account's validator
// (request.ts), and the logic the validator takes over (parity, structure, digests), which moves
// into enforcement/ (issue 19).
export { UnusableInputError, LIMITS } from './safe-fs.ts';
export type { CheckResult, CheckStatus } from './check.ts';
