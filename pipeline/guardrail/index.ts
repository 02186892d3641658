// The guardrail's public API: sign and verify (cli.ts), the self-mutation gate (gate.ts).
export {
  writeAttestation,
  readAttestation,
  ATTESTATION_FILE,
  type Attestation,
  type AttestedEntry,
} from './attestation.js';
export { runGate, normalizeTemplate, type GateOptions, type GateResult } from './gate.js';
export { keyIdOf, deriveKey, signingKey, verificationKeys, GuardrailTokenError, KDF, TOKEN_ENV_VAR, PREVIOUS_TOKEN_ENV_VAR } from './token.js';
export { UnusableInputError, LIMITS } from './safe-fs.js';
export { verifyAssembly, type VerifyOptions, type VerifyResult } from './verify.js';
export type { CheckResult, CheckStatus } from './check.js';
