// The guardrail's public API: sign and verify (cli.ts), the self-mutation gate (gate.ts).
export {
  writeAttestation,
  readAttestation,
  ATTESTATION_FILE,
  type Attestation,
  type AttestedEntry,
} from './attestation.ts';
export { runGate, normalizeTemplate, type GateOptions, type GateResult } from './gate.ts';
export { keyIdOf, deriveKey, signingKey, verificationKeys, GuardrailTokenError, KDF, TOKEN_ENV_VAR, PREVIOUS_TOKEN_ENV_VAR } from './token.ts';
export { UnusableInputError, LIMITS } from './safe-fs.ts';
export { verifyAssembly, type VerifyOptions, type VerifyResult } from './verify.ts';
export type { CheckResult, CheckStatus } from './check.ts';
