// The rehearsal's IAM step: every call a release makes (calls.ts), evaluated offline by a real
// policy engine (evaluate.ts) against the synthesized stacks' policies, the bootstrap stacks of
// the pinned CLI (bootstrap.ts) and the SCPs in the SCP folder. One summary per pipeline action,
// and one per stack deployed by hand (`hand/<stack>`, with `cdk deploy` and the pipeline
// account's bootstrap roles).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AssemblyStack } from '../../cloud-assembly.ts';
import { type PipelineModel, readTemplate } from '../model.ts';
import { ADMINISTRATOR_ACCESS, bootstrapRoleArn, bootstrapStack, DEFAULT_QUALIFIER, qualifierOf } from './bootstrap.ts';
import { type Call, pipelineCalls, stackCalls } from './calls.ts';
import { administrator, enforcementCalls, enforcementScp, handDeployCalls, withRequestedRegion } from './enforcement-calls.ts';
import { type CallResult, evaluateCall, readScps, type ScpFile } from './evaluate.ts';
import { schemaGaps } from './handlers.ts';
import { ResolvedTemplate } from './resolve.ts';
import { PolicyWorld } from './world.ts';

export interface IamOptions {
  readonly repoRoot: string;
  /** The SCP folder (`*.json`, see evaluate.ts); default pipeline/rehearsal/iam/scps in repoRoot. */
  readonly scpDir?: string;
  /**
   * The accounts each account's bootstrap stack trusts (`cdk bootstrap --trust`), by account.
   * @default the README's commands: the stage accounts trust the pipeline account, which trusts none
   */
  readonly bootstrapTrust?: Readonly<Record<string, readonly string[]>>;
  /**
   * The accounts each account's bootstrap lookup role also trusts (`cdk bootstrap --trust-for-lookup`).
   * @default the enforcement's instructions (docs/enforcement.md): every stage account but the
   * enforcement's own trusts the enforcement's account (its validator reads staging)
   */
  readonly bootstrapTrustForLookup?: Readonly<Record<string, readonly string[]>>;
  /**
   * The enforcement's SCP (`enforcement/scp.json`, `<ADMIN_ROLE_NAME>` replaced by the role name of
   * cdk.json's `enforcement.administratorArn`), applied to the administrator's account; `false`: none.
   * @default enforcement/scp.json in repoRoot, when it exists
   */
  readonly enforcementScp?: string | false;
  /** Calls to evaluate besides the ones built from the assembly (see README: adding calls). */
  readonly extraCalls?: (world: PolicyWorld, model: PipelineModel) => Call[];
}

export interface IamActionResult {
  /** `Stage/Action` or `hand/<stack display name>`. */
  readonly action: string;
  readonly evaluated: number;
  readonly denied: readonly CallResult[];
  /** Handler-listed permissions IAM does not define (nothing to evaluate), e.g. `s3:REST.PUT.OBJECT`. */
  readonly notActions: readonly string[];
}

/** The policies of the assembly and of the bootstrap stacks, with the real accounts. */
export function buildWorld(model: PipelineModel, repoRoot: string, bootstrapTrust?: IamOptions['bootstrapTrust'], bootstrapTrustForLookup?: IamOptions['bootstrapTrustForLookup']): PolicyWorld {
  const world = new PolicyWorld(repoRoot);
  const pipelineStack = model.stacks.find((s) => s.displayName === 'Pipeline');
  const pipelineAccount = pipelineStack?.account ?? '';
  const qualifier = (s: AssemblyStack) => qualifierOf(readTemplate(s));
  // Stacks deployed by hand through a bootstrap of their own (the enforcement: qualifier grdenf,
  // bootstrapped without --trust, docs/enforcement.md).
  const ownBootstrap = model.handDeployed.filter((s) => s.account && s.region && qualifier(s) !== DEFAULT_QUALIFIER);
  const enforcementAccounts = [...new Set(ownBootstrap.map((s) => s.account!))];
  const environments = new Map<string, { account: string; region: string }>();
  const deployed = model.stages.flatMap((s) => s.actions).flatMap((a) => (a.deploys ? [a.deploys] : []));
  const standard = [...(pipelineStack ? [pipelineStack] : []), ...deployed, ...model.handDeployed.filter((s) => !ownBootstrap.includes(s))];
  for (const s of standard) {
    if (s.account && s.region) environments.set(`${s.account}/${s.region}`, { account: s.account, region: s.region });
  }
  for (const env of environments.values()) {
    const trusted = bootstrapTrust?.[env.account] ?? (env.account === pipelineAccount ? [] : [pipelineAccount]);
    const lookup = bootstrapTrustForLookup?.[env.account] ?? (env.account === pipelineAccount || enforcementAccounts.includes(env.account) ? [] : enforcementAccounts);
    world.add(`bootstrap ${env.account}/${env.region}`, bootstrapStack(repoRoot, { ...env, trust: trusted, trustForLookup: lookup, executionPolicies: [ADMINISTRATOR_ACCESS] }));
  }
  // The enforcement's own bootstrap: `cdk bootstrap --qualifier grdenf --toolkit-stack-name
  // CDKToolkit-grdenf --cloudformation-execution-policies AdministratorAccess`, no --trust.
  const own = new Map(ownBootstrap.map((s) => [`${qualifier(s)}/${s.account}/${s.region}`, { account: s.account!, region: s.region!, qualifier: qualifier(s) }]));
  for (const env of own.values()) {
    world.add(`bootstrap ${env.qualifier} ${env.account}/${env.region}`, bootstrapStack(repoRoot, { ...env, trust: [], executionPolicies: [ADMINISTRATOR_ACCESS], toolkitStackName: `CDKToolkit-${env.qualifier}` }));
  }
  for (const s of model.stacks) {
    if (!s.account || !s.region) continue;
    world.add(s.displayName, new ResolvedTemplate(readTemplate(s), { stackName: s.stackName, account: s.account, region: s.region }));
  }
  const admin = administrator(repoRoot);
  if (admin) world.roles.set(admin.arn, admin);
  return world;
}

/** Every call of the release, by action. */
export function releaseCalls(model: PipelineModel, world: PolicyWorld, options: IamOptions): Call[] {
  const pipeline = world.stacks.find((s) => s.source === 'Pipeline');
  if (!pipeline) throw new Error('no Pipeline stack in the assembly');
  const calls = pipelineCalls(model, pipeline.template, world);
  for (const hand of model.handDeployed) {
    const stack = world.stacks.find((s) => s.source === hand.displayName);
    if (!stack) continue;
    // Each stack deployed by hand is deployed with its own environment's bootstrap execution
    // role, of the qualifier its template expects.
    const { account, region } = stack.template.place;
    const qualifier = qualifierOf(stack.template.template);
    const action = `hand/${hand.displayName}`;
    if (qualifier !== DEFAULT_QUALIFIER) calls.push(...handDeployCalls(action, stack.template, qualifier, world));
    calls.push(...stackCalls(action, stack.template, bootstrapRoleArn('cfn-exec', account, region, qualifier), world, options.repoRoot));
  }
  calls.push(...enforcementCalls(model, world));
  calls.push(...(options.extraCalls?.(world, model) ?? []));
  return calls.map((c) => withRequestedRegion(c, world));
}

/** The SCPs of the SCP folder, and the enforcement's SCP. */
export function releaseScps(options: IamOptions): ScpFile[] {
  const scps = readScps(options.scpDir ?? join(options.repoRoot, 'pipeline', 'rehearsal', 'iam', 'scps'));
  const file = options.enforcementScp ?? join(options.repoRoot, 'enforcement', 'scp.json');
  if (file !== false && existsSync(file)) {
    const scp = enforcementScp(options.repoRoot, file);
    if (scp) scps.push(scp);
  }
  return scps;
}

/** Evaluates every call; one result per action, in the order the calls were built. */
export async function rehearseIam(model: PipelineModel, options: IamOptions): Promise<IamActionResult[]> {
  const world = buildWorld(model, options.repoRoot, options.bootstrapTrust, options.bootstrapTrustForLookup);
  const scps = releaseScps(options);
  const byAction = new Map<string, { evaluated: number; denied: CallResult[]; notActions: string[] }>();
  for (const call of releaseCalls(model, world, options)) {
    const entry = byAction.get(call.action) ?? { evaluated: 0, denied: [], notActions: [] };
    byAction.set(call.action, entry);
    const result = await evaluateCall(call, world, scps);
    if (result.result === 'NotAnAction') {
      if (!entry.notActions.includes(call.permission)) entry.notActions.push(call.permission);
      continue;
    }
    entry.evaluated++;
    if (result.result !== 'Allowed') entry.denied.push(result);
  }
  return [...byAction].map(([action, r]) => ({ action, ...r }));
}

/** One denied call, as the rehearsal prints it. */
export function formatDenial(r: CallResult): string {
  const c = r.call;
  return `${c.principal} ${c.permission} on ${c.resource}: ${r.result} (${r.decidedBy}) [${c.why}; ${c.citation.split(': https:')[0]}]`;
}

/** The resource types of the assembly whose registry schema lists no handler permissions, and how each is covered. */
export function handlerGaps(model: PipelineModel, repoRoot: string): Array<{ type: string; covered: string }> {
  const types = model.stacks.flatMap((s) => Object.values(readTemplate(s).Resources ?? {}).map((r: any) => String(r.Type)));
  return schemaGaps(repoRoot, types);
}
