// The fixed names the guardrail's two sides agree on. They are names, not cross-stack
// references: the pipeline stack (pipeline account, defined by the commit) and the enforcement
// (production account, deployed by its administrator) deploy apart, and neither has a handle on
// the other's resources.
import { PROJECT } from './tiers';

export const ENFORCEMENT = {
  /** The stack in production's own region (key, attestation bucket, validator, hooks). */
  stackName: `${PROJECT}-guardrail-enforcement`,
  /**
   * The bootstrap qualifier of the enforcement's own `cdk bootstrap`, done without `--trust`: its
   * deploy, file-publishing and execution roles trust the production account only, and its asset
   * bucket is not the one the pipeline's file-publishing role may write (docs/enforcement.md).
   */
  qualifier: 'grdenf',
  /** The bootstrap stack of that qualifier (`cdk bootstrap --toolkit-stack-name`). */
  toolkitStackName: 'CDKToolkit-grdenf',
  /** The validator function (production account, production region). */
  validatorFunctionName: `${PROJECT}-guardrail-validator`,
  /** The validator's execution role: the only principal that may kms:Sign with the guardrail key. */
  validatorRoleName: `${PROJECT}-guardrail-validator`,
  /** The hook function of each region the production stacks deploy to. */
  hookFunctionName: `${PROJECT}-guardrail-hook`,
  /** The CodeBuild role of the pipeline's GuardrailValidation step (pipeline account): the only caller of the validator. */
  validationRoleName: `${PROJECT}-guardrail-validation`,
} as const;

/** The stack name of the enforcement in `region` (the production region's holds the rest). */
export function enforcementStackName(region: string, mainRegion: string): string {
  return region === mainRegion ? ENFORCEMENT.stackName : `${ENFORCEMENT.stackName}-${region}`;
}

/** The KMS alias of a signing key (by its configured name), in production's region. */
export function signingKeyAlias(name: string): string {
  return `alias/${PROJECT}-guardrail-signing-${name}`;
}

/** The ARN of the validator function. */
export function validatorFunctionArn(account: string, region: string): string {
  return `arn:aws:lambda:${region}:${account}:function:${ENFORCEMENT.validatorFunctionName}`;
}

/** The ARN of the GuardrailValidation step's role in the pipeline account. */
export function validationRoleArn(pipelineAccount: string): string {
  return `arn:aws:iam::${pipelineAccount}:role/${ENFORCEMENT.validationRoleName}`;
}

/** The name of the attestation bucket (fixed: the hooks of every region read it). */
export function attestationBucketName(account: string, region: string): string {
  return `${PROJECT}-attestations-${account}-${region}`;
}
