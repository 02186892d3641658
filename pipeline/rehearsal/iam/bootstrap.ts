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
}

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
    stackName: 'CDKToolkit',
    account: env.account,
    region: env.region,
    parameters: { TrustedAccounts: [...env.trust], CloudFormationExecutionPolicies: [...env.executionPolicies] },
  });
}

/** The bootstrap role names of an environment (qualifier hnb659fds, the default). */
export function bootstrapRoleArn(kind: 'deploy' | 'cfn-exec' | 'file-publishing' | 'image-publishing' | 'lookup', account: string, region: string): string {
  return `arn:aws:iam::${account}:role/cdk-hnb659fds-${kind}-role-${account}-${region}`;
}
