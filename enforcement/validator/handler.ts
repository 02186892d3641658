// The validator function (`br-fagq2-guardrail-validator`), deployed by the enforcement stack in
// the production account and invoked by the pipeline's GuardrailValidation step with
// `{ release: { commit, executionId }, templates: { <stackName>: <template text> } }`.
// Configuration: the JSON file at env VALIDATOR_CONFIG_FILE (config.ts); the allowances from it
// or the file at env ALLOWANCES_FILE; the attestation bucket from the configuration or env
// ATTESTATION_BUCKET; the signing key's ARN from env SIGNING_KEY_ARN (the configuration's keyId
// is its alias; the envelope's keyid must be the key ARN, which the hooks trust as KMS's
// GetPublicKey returns it). Any error before a decision fails closed.
import { buildStatement, KmsSigner, serializeEnvelope, signEnvelope } from '../attestation/index.ts';
import { compareStages } from '../parity/index.ts';
import { loadValidatorConfig, validatorAllowances } from './config.ts';
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

/** Builds the statement, signs it with KMS (MessageType DIGEST) and serializes the envelope. */
export function kmsAttest(keyArn: string): (input: AttestationInput) => Promise<Buffer> {
  const signer = new KmsSigner(keyArn);
  return async (input) => Buffer.from(serializeEnvelope(await signEnvelope(buildStatement(input), signer)));
}

/** The function's dependencies: the SDK reads, the attestation bucket and the KMS signer. */
async function awsDeps(context: ValidatorContext): Promise<ValidateDeps> {
  const config = loadValidatorConfig();
  const bucket = config.attestationBucket ?? process.env.ATTESTATION_BUCKET;
  if (!bucket) throw new Error('no attestation bucket: neither attestationBucket in the configuration nor ATTESTATION_BUCKET is set');
  const keyArn = process.env.SIGNING_KEY_ARN;
  if (!keyArn || !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(keyArn)) throw new Error(`SIGNING_KEY_ARN is not a KMS key ARN (${JSON.stringify(keyArn)})`);
  if (!context.invokedFunctionArn) throw new Error("the invocation's context names no function ARN (the statement's verifier id)");
  return {
    config,
    staging: stagingReads(config.staging.readRoleArn, config.production.region),
    production: productionReads(config.production.account),
    store: s3AttestationStore(bucket, config.production.region),
    compareStages,
    allowances: validatorAllowances(config),
    attest: kmsAttest(keyArn),
    verifierId: context.invokedFunctionArn,
    now: () => new Date(),
  };
}

export const handler = createHandler(awsDeps);
