// The rehearsal's IAM step: every call a release makes (calls.ts), evaluated offline by a real
// policy engine (evaluate.ts) against the synthesized stacks' policies, the bootstrap stacks of
// the pinned CLI (bootstrap.ts) and the SCPs in the SCP folder. One summary per pipeline action,
// and one per stack deployed by hand (`hand/<stack>`, with `cdk deploy` and the pipeline
// account's bootstrap roles).
import { join } from 'node:path';
import { type PipelineModel, readTemplate } from '../model.ts';
import { ADMINISTRATOR_ACCESS, bootstrapRoleArn, bootstrapStack } from './bootstrap.ts';
import { type Call, pipelineCalls, stackCalls } from './calls.ts';
import { type CallResult, evaluateCall, readScps } from './evaluate.ts';
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
export function buildWorld(model: PipelineModel, repoRoot: string, bootstrapTrust?: IamOptions['bootstrapTrust']): PolicyWorld {
  const world = new PolicyWorld(repoRoot);
  const pipelineStack = model.stacks.find((s) => s.displayName === 'Pipeline');
  const pipelineAccount = pipelineStack?.account ?? '';
  const environments = new Map<string, { account: string; region: string }>();
  const deployed = model.stages.flatMap((s) => s.actions).flatMap((a) => (a.deploys ? [a.deploys] : []));
  for (const s of [...(pipelineStack ? [pipelineStack] : []), ...deployed]) {
    if (s.account && s.region) environments.set(`${s.account}/${s.region}`, { account: s.account, region: s.region });
  }
  for (const env of environments.values()) {
    const trusted = bootstrapTrust?.[env.account] ?? (env.account === pipelineAccount ? [] : [pipelineAccount]);
    world.add(`bootstrap ${env.account}/${env.region}`, bootstrapStack(repoRoot, { ...env, trust: trusted, executionPolicies: [ADMINISTRATOR_ACCESS] }));
  }
  for (const s of model.stacks) {
    if (!s.account || !s.region) continue;
    world.add(s.displayName, new ResolvedTemplate(readTemplate(s), { stackName: s.stackName, account: s.account, region: s.region }));
  }
  return world;
}

/** Every call of the release, by action. */
export function releaseCalls(model: PipelineModel, world: PolicyWorld, options: IamOptions): Call[] {
  const pipeline = world.stacks.find((s) => s.source === 'Pipeline');
  if (!pipeline) throw new Error('no Pipeline stack in the assembly');
  const calls = pipelineCalls(model, pipeline.template, world);
  const { account, region } = pipeline.template.place;
  for (const hand of model.handDeployed) {
    const stack = world.stacks.find((s) => s.source === hand.displayName);
    if (stack) calls.push(...stackCalls(`hand/${hand.displayName}`, stack.template, bootstrapRoleArn('cfn-exec', account, region), world, options.repoRoot));
  }
  calls.push(...(options.extraCalls?.(world, model) ?? []));
  return calls;
}

/** Evaluates every call; one result per action, in the order the calls were built. */
export async function rehearseIam(model: PipelineModel, options: IamOptions): Promise<IamActionResult[]> {
  const world = buildWorld(model, options.repoRoot, options.bootstrapTrust);
  const scps = readScps(options.scpDir ?? join(options.repoRoot, 'pipeline', 'rehearsal', 'iam', 'scps'));
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
