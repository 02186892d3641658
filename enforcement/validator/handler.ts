// The validator function (`br-fagq2-guardrail-validator`), deployed by the enforcement stack in
// the production account and invoked by the pipeline's GuardrailValidation step with
// `{ release: { commit, executionId }, templates: { <stackName>: <template text> } }`.
// Configuration: the JSON file at env VALIDATOR_CONFIG_FILE (config.ts); the attestation
// bucket from the configuration or env ATTESTATION_BUCKET; the signing key from the
// configuration's keyId (KMS, MessageType DIGEST). Any error before a decision fails closed.
import { loadValidatorConfig } from './config.ts';
import { guardrailCompareStages } from './parity.ts';
import { productionReads, s3AttestationStore, stagingReads } from './aws-reads.ts';
import { validate, type AttestationInput, type ValidateDeps, type ValidationResponse } from './validate.ts';

/** The Lambda context fields the handler reads. */
export interface ValidatorContext {
  readonly invokedFunctionArn?: string;
}

/** A handler over dependencies made per invocation (the tests pass their fakes; the function, the SDK). */
export function createHandler(makeDeps: (context: ValidatorContext) => Promise<ValidateDeps>) {
  return async (request: unknown, context: ValidatorContext = {}): Promise<ValidationResponse> => {
    let deps: ValidateDeps;
    try {
      deps = await makeDeps(context);
    } catch (error) {
      return { passed: false, checks: [{ name: 'configuration', status: 'FAIL', detail: `the validator cannot start: ${(error as Error).message}` }] };
    }
    try {
      return await validate(request, deps);
    } catch (error) {
      return { passed: false, checks: [{ name: 'validator', status: 'FAIL', detail: `the validator failed, nothing was signed: ${(error as Error).message}` }] };
    }
  };
}

/**
 * C1's attestation module (enforcement/attestation/index.ts: buildStatement, signEnvelope,
 * KmsSigner), loaded at the first signature. MERGE: once that module is on this branch,
 * replace this dynamic import by static imports of it; its buildStatement must take `files`
 * (subjects `s3://<bucket>/<key>` with their sha256) besides templates and images.
 */
const ATTESTATION_MODULE = '../attestation/index.ts';

function kmsAttest(keyId: string): (input: AttestationInput) => Promise<Buffer> {
  return async (input) => {
    const attestation = (await import(ATTESTATION_MODULE)) as {
      buildStatement(input: AttestationInput): unknown;
      signEnvelope(statement: unknown, signer: unknown): Promise<unknown>;
      KmsSigner: new (keyId: string) => unknown;
    };
    const envelope = await attestation.signEnvelope(attestation.buildStatement(input), new attestation.KmsSigner(keyId));
    return Buffer.from(JSON.stringify(envelope));
  };
}

/** The function's dependencies: the SDK reads, the attestation bucket and the KMS signer. */
async function awsDeps(context: ValidatorContext): Promise<ValidateDeps> {
  const config = loadValidatorConfig();
  const bucket = config.attestationBucket ?? process.env.ATTESTATION_BUCKET;
  if (!bucket) throw new Error('no attestation bucket: neither attestationBucket in the configuration nor ATTESTATION_BUCKET is set');
  if (!context.invokedFunctionArn) throw new Error("the invocation's context names no function ARN (the statement's verifier id)");
  return {
    config,
    staging: stagingReads(config.staging.readRoleArn, config.production.region),
    production: productionReads(config.production.account),
    store: s3AttestationStore(bucket, config.production.region),
    // MERGE: C4's compareStages (enforcement/parity/index.ts) replaces the adapter.
    compareStages: guardrailCompareStages,
    attest: kmsAttest(config.keyId),
    verifierId: context.invokedFunctionArn,
    now: () => new Date(),
  };
}

export const handler = createHandler(awsDeps);
