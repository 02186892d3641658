// The attestation format of the guardrail: in-toto Statement v1 with a SLSA verification summary
// predicate, in a DSSE envelope signed with ECDSA P-256 (AWS KMS, or a local key in tests).
export { decodeBase64Strict } from './base64.ts';
export {
  type Envelope,
  IN_TOTO_PAYLOAD_TYPE,
  MAX_ENVELOPE_BYTES,
  pae,
  serializeEnvelope,
  signEnvelope,
  type Signer,
  type TrustedKey,
  type VerifiedEnvelope,
  verifyEnvelope,
} from './dsse.ts';
export { KmsSigner, LocalSigner } from './signers.ts';
export {
  AttestationError,
  attestationKey,
  buildStatement,
  type Check,
  DEFAULT_VALIDITY_DAYS,
  type FileInput,
  fileSubjectName,
  GUARDRAIL_POLICY,
  GUARDRAIL_POLICY_URI,
  type ImageInput,
  imageSubjectName,
  parseStatement,
  type Predicate,
  type Release,
  releaseKey,
  revokedKey,
  sha256Hex,
  type Statement,
  type StatementInput,
  STATEMENT_TYPE,
  type Subject,
  type TemplateInput,
  templateSubjectName,
  VSA_PREDICATE_TYPE,
} from './statement.ts';
export { parseStrictJson, StrictJsonError } from './strict-json.ts';
