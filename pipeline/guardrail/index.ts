// The guardrail's public API: sign at synth (bin/app.ts), verify before production (cli.ts).
export {
  writeAttestation,
  readAttestation,
  ATTESTATION_FILE,
  type Attestation,
  type AttestedEntry,
} from './attestation.js';
export { resolveGuardrailToken, keyIdOf, GuardrailTokenError, TOKEN_ENV_VAR, TOKEN_CONTEXT_KEY } from './token.js';
export { verifyAssembly, type VerifyOptions, type VerifyResult } from './verify.js';
export type { CheckResult, CheckStatus } from './check.js';
