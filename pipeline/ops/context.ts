// Where `ops` finds things: the stages' and the pipeline's accounts and regions (cdk.json's
// context, as the CDK app reads them), a profile per account (`--profile` for the stage account,
// `--pipeline-profile` for the pipeline account, or OPS_PROFILE / OPS_PIPELINE_PROFILE; neither:
// the SDK's default chain), and a stage's resources from its stack's outputs (lib/stage.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { describeStackOutputs } from '../checks/stack-outputs.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const STAGES = ['staging', 'production'] as const;
export type StageName = (typeof STAGES)[number];

/** A problem the operator fixes (missing stage, credentials, stack): one line, exit 1. */
export class OpsError extends Error {}
/** Bad usage: one line, exit 2. */
export class UsageError extends Error {}

export interface Account {
  /** "the production account", "the pipeline account" */
  readonly label: string;
  readonly account: string;
  readonly region: string;
  /** undefined: the SDK's default credential chain. */
  readonly profile: string | undefined;
  /** The option that names its profile, for the message when its credentials are missing. */
  readonly profileOption: string;
}

interface CdkContext {
  readonly pipeline: { readonly account: string; readonly region: string };
  readonly staging: { readonly account: string; readonly region: string };
  readonly production: { readonly account: string; readonly region: string };
  readonly enforcement?: { readonly signingKeys?: readonly string[] };
}

function cdkContext(): CdkContext {
  const { context } = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: CdkContext };
  return context;
}

/**
 * The guardrail's signing keys by configured name (cdk.json `enforcement.signingKeys`, two during
 * a rotation): an attestation signed by any of them is trusted.
 */
export function signingKeyNames(): string[] {
  const names = cdkContext().enforcement?.signingKeys ?? [];
  if (names.length === 0) throw new OpsError('cdk.json names no enforcement.signingKeys: no guardrail key to verify attestations with');
  return [...names];
}

/** The release pipeline's name and its stages (lib/pipeline-stack.ts: PROJECT, RELEASE_STAGES). */
export const PIPELINE_NAME = 'br-fagq2';
export const PRODUCTION_STAGE = 'Production';

export function stageName(value: string | undefined, env: NodeJS.ProcessEnv): StageName {
  const stage = value ?? env.OPS_STAGE;
  if (stage === undefined) throw new OpsError(`no stage: pass --stage ${STAGES.join('|')} (or set OPS_STAGE)`);
  if (!(STAGES as readonly string[]).includes(stage)) throw new OpsError(`no stage "${stage}": the stages are ${STAGES.join(', ')}`);
  return stage as StageName;
}

export function stageAccount(stage: StageName, profile: string | undefined, env: NodeJS.ProcessEnv): Account {
  const settings = cdkContext()[stage];
  return { label: `the ${stage} account (${settings.account})`, account: settings.account, region: settings.region, profile: profile ?? env.OPS_PROFILE, profileOption: '--profile (or OPS_PROFILE)' };
}

export function pipelineAccount(profile: string | undefined, env: NodeJS.ProcessEnv): Account {
  const settings = cdkContext().pipeline;
  return {
    label: `the pipeline account (${settings.account})`,
    account: settings.account,
    region: settings.region,
    profile: profile ?? env.OPS_PIPELINE_PROFILE,
    profileOption: '--pipeline-profile (or OPS_PIPELINE_PROFILE)',
  };
}

/** A client's configuration for an account: its region, its profile. */
export function clientConfig(account: Account): { region: string; profile?: string } {
  return { region: account.region, ...(account.profile !== undefined && { profile: account.profile }) };
}

/** Fails with one line naming the account when its credentials cannot be loaded. */
export async function requireCredentials(account: Account, client: { config: { credentials: () => Promise<unknown> } }): Promise<void> {
  try {
    await client.config.credentials();
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const which = account.profile === undefined ? 'no profile given, and the default credential chain found none' : `profile "${account.profile}": ${why}`;
    throw new OpsError(`no credentials for ${account.label}: ${which}; pass ${account.profileOption}`);
  }
}

/** The stack of a stage's tiers (lib/stage.ts: `<Stage>-Tiers`). */
export function tiersStackName(stage: StageName): string {
  return `${stage[0].toUpperCase()}${stage.slice(1)}-Tiers`;
}

/** The stack's outputs by key; a stack that does not exist is one clear line. */
export async function stackOutputs(client: CloudFormationClient, stackName: string, account: Account): Promise<Record<string, string>> {
  const outputs = await describeStackOutputs(client, stackName);
  if (outputs === undefined) throw new OpsError(`stack ${stackName} does not exist in ${account.label}, region ${account.region}: is the stage deployed?`);
  return Object.fromEntries(outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

/** One output the command needs; its absence names it. */
export function output(outputs: Record<string, string>, key: string, stackName: string): string {
  const value = outputs[key];
  if (!value) throw new OpsError(`stack ${stackName} has no output ${key}: deploy the current release of the stage first`);
  return value;
}
