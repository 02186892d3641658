// The CDK bootstrap stack of the PINNED aws-cdk CLI (its own bootstrap-template.yaml), as
// `cdk bootstrap` would deploy it in each environment the assembly deploys to: the target accounts
// with `--trust <pipeline account> --cloudformation-execution-policies
// arn:aws:iam::aws:policy/AdministratorAccess` (the README's bootstrap commands), the pipeline
// account itself with no trust.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ResolvedTemplate } from './resolve.ts';

type Json = any;

export const ADMINISTRATOR_ACCESS = 'arn:aws:iam::aws:policy/AdministratorAccess';

/** How one environment was bootstrapped. */
export interface BootstrapEnvironment {
  readonly account: string;
  readonly region: string;
  /** `--trust`: accounts that may deploy here. */
  readonly trust: readonly string[];
  /** `--cloudformation-execution-policies`. */
  readonly executionPolicies: readonly string[];
  /** `--trust-for-lookup`: accounts whose principals may assume the lookup role only. @default none */
  readonly trustForLookup?: readonly string[];
  /** `--qualifier`. @default hnb659fds */
  readonly qualifier?: string;
  /** `--toolkit-stack-name`. @default CDKToolkit */
  readonly toolkitStackName?: string;
}

/** The default bootstrap qualifier. */
export const DEFAULT_QUALIFIER = 'hnb659fds';

const parsed = new Map<string, Json>();

/** The bootstrap template shipped inside the aws-cdk CLI installed in `repoRoot`. */
export function bootstrapTemplate(repoRoot: string): Json {
  const file = join(repoRoot, 'node_modules', 'aws-cdk', 'lib', 'api', 'bootstrap', 'bootstrap-template.yaml');
  if (!parsed.has(file)) parsed.set(file, parse(readFileSync(file, 'utf8')));
  return parsed.get(file);
}

/** The bootstrap template instantiated for one environment. */
export function bootstrapStack(repoRoot: string, env: BootstrapEnvironment): ResolvedTemplate {
  return new ResolvedTemplate(bootstrapTemplate(repoRoot), {
    stackName: env.toolkitStackName ?? 'CDKToolkit',
    account: env.account,
    region: env.region,
    parameters: {
      TrustedAccounts: [...env.trust],
      TrustedAccountsForLookup: [...(env.trustForLookup ?? [])],
      CloudFormationExecutionPolicies: [...env.executionPolicies],
      Qualifier: env.qualifier ?? DEFAULT_QUALIFIER,
      // What the pinned CLI passes on a first bootstrap without --bootstrap-kms-key-id or
      // --bootstrap-customer-key (aws-cdk's Bootstrapper: `kmsKeyId ?? (createCustomerMasterKey
      // === true ? CREATE_NEW_KEY : USE_AWS_MANAGED_KEY)`): the asset bucket is encrypted with
      // the AWS managed key aws/s3, whose policy admits the account's principals through S3.
      FileAssetsBucketKmsKeyId: 'AWS_MANAGED_KEY',
    },
  });
}

/** The bootstrap role names of an environment (qualifier hnb659fds, the default). */
export function bootstrapRoleArn(kind: 'deploy' | 'cfn-exec' | 'file-publishing' | 'image-publishing' | 'lookup', account: string, region: string, qualifier = DEFAULT_QUALIFIER): string {
  return `arn:aws:iam::${account}:role/cdk-${qualifier}-${kind}-role-${account}-${region}`;
}

/** The bootstrap qualifier a synthesized template expects (its BootstrapVersion parameter, `/cdk-bootstrap/<qualifier>/version`). */
export function qualifierOf(template: Json): string {
  const name = String(template?.Parameters?.BootstrapVersion?.Default ?? '');
  return /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(name)?.[1] ?? DEFAULT_QUALIFIER;
}
