// Evaluates each call with a real IAM policy engine (@cloud-copilot/iam-simulate, a
// devDependency used only here: AGPL-3.0, see pipeline/rehearsal/README.md) against the caller's
// identity policies, the resource's policy (key, bucket, topic, queue, secret, repository policy,
// or the role's trust policy for sts:AssumeRole) and the SCPs of the caller's account.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AllowedConditionExpression, getDenialReasons, type RequestAnalysis, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Call } from './calls.ts';
import type { PolicyWorld } from './world.ts';

type Json = any;

/**
 * A service control policy, one JSON file in the SCP folder:
 * `{ "name": "...", "accounts": ["333333333333"], "policy": { "Version": ..., "Statement": [...] } }`.
 * It applies to the IAM principals of the accounts it lists (never to service principals).
 */
export interface ScpFile {
  readonly name: string;
  readonly accounts: readonly string[];
  readonly policy: Json;
}

/** The SCPs in a folder (`*.json`); none when the folder does not exist. */
export function readScps(dir: string | undefined): ScpFile[] {
  if (!dir || !existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
    const scp = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ScpFile;
    if (!scp.name || !Array.isArray(scp.accounts) || !scp.policy?.Statement) throw new Error(`${join(dir, f)}: an SCP file is { name, accounts: [...], policy }`);
    return scp;
  });
}

/** AWS's default SCP, attached at every level of an organization ("FullAWSAccess"). */
const FULL_AWS_ACCESS = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

export interface CallResult {
  readonly call: Call;
  /** NotAnAction: the handler list names a permission IAM does not have (e.g. `s3:REST.PUT.OBJECT`); nothing to evaluate. */
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | 'Error' | 'NotAnAction';
  /** Why it was denied: the deciding policy and statement, as the engine reports them. */
  readonly decidedBy: string;
}

/** Evaluates one call. */
export async function evaluateCall(call: Call, world: PolicyWorld, scps: readonly ScpFile[]): Promise<CallResult> {
  const role = world.roles.get(call.principal);
  const isService = call.principal.endsWith('.amazonaws.com');
  const principalAccount = role?.account ?? call.principal.split(':')[4] ?? '';
  const resourcePolicy = call.permission === 'sts:AssumeRole' ? world.roles.get(call.resource) : world.resourcePolicyFor(call.resource);
  const resourceAccount = call.resource === '*' ? principalAccount : (call.resource.split(':')[4] || resourcePolicy?.account || principalAccount);
  if (call.permission === 'sts:AssumeRole' && !resourcePolicy) {
    return { call, result: 'ImplicitlyDenied', decidedBy: `no role ${call.resource} in the assembly or the bootstrap stacks` };
  }
  if (!isService && !role) return { call, result: 'ImplicitlyDenied', decidedBy: `no role ${call.principal} in the assembly or the bootstrap stacks` };
  const policy = call.permission === 'sts:AssumeRole' ? (resourcePolicy as { trust: Json }).trust : (resourcePolicy as { policy?: Json } | undefined)?.policy;
  const applicable = isService ? [] : scps.filter((s) => s.accounts.includes(principalAccount));
  const input = (resource: string): Simulation => ({
    request: { principal: call.principal, action: call.permission, resource: { resource, accountId: resourceAccount }, contextVariables: call.context },
    identityPolicies: (role?.identityPolicies ?? []).map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: applicable.length ? [{ orgIdentifier: principalAccount, policies: [{ name: 'FullAWSAccess', policy: FULL_AWS_ACCESS }, ...applicable.map((s) => ({ name: s.name, policy: s.policy }))] }] : [],
    resourceControlPolicies: [],
    resourcePolicy: policy,
  });
  let simulation = await runSimulation(input(call.resource), {});
  // A permission whose action takes no resource (kms:CreateKey), or not this resource's type
  // (s3:PutObjectAcl named on a bucket): evaluated as IAM authorizes it, on "*".
  if (simulation.resultType === 'error' && /must\.use\.wildcard|no\.resource\.types/.test(simulation.errors.message)) simulation = await runSimulation(input('*'), {});
  if (simulation.resultType === 'error' && /invalid\.action/.test(simulation.errors.message)) return { call, result: 'NotAnAction', decidedBy: 'not an IAM action' };
  if (simulation.resultType === 'error') return { call, result: 'Error', decidedBy: `the engine rejected the input: ${simulation.errors.message}` };
  let analysis: RequestAnalysis | undefined = simulation.resultType === 'single' ? simulation.result.analysis : simulation.results[0]?.analysis;
  let result = simulation.overallResult;
  // The engine's key validation drops keys of the `kms:EncryptionContext:<key>` form (it only
  // knows `prefix/<key>` variables), though KMS sets them. Such calls run in the engine's
  // Discovery mode, which answers the conditions an Allow still depends on; the call is allowed
  // when each of those is on the encryption context and holds for the value the call carries.
  const ignored = simulation.resultType === 'single' ? simulation.result.ignoredContextKeys : simulation.results[0]?.ignoredContextKeys;
  if (result === 'ImplicitlyDenied' && ignored?.some((k) => /^kms:EncryptionContext:/i.test(k))) {
    const discovery = await runSimulation(input(call.resource), { simulationMode: 'Discovery' });
    if (discovery.resultType === 'single') {
      analysis = discovery.result.analysis;
      result = discovery.overallResult === 'Allowed' && !holds(analysis.conditions, call.context) ? 'ImplicitlyDenied' : discovery.overallResult;
    }
  }
  if (result === 'Allowed') return { call, result, decidedBy: '' };
  const resourceName = call.permission === 'sts:AssumeRole' ? `the trust policy of ${call.resource}` : (resourcePolicy ? `the resource policy ${(resourcePolicy as { source: string }).source}` : 'no resource policy');
  // A service principal has no identity policies: only the resource side can grant it.
  const reasons = analysis ? getDenialReasons(analysis).filter((d) => !(isService && d.policyType === 'identity')).map((d) => {
    const where = d.policyType === 'resource' ? resourceName : d.policyType === 'identity' ? `the identity policies of ${call.principal}` : d.policyType === 'scp' ? 'the SCPs' : d.policyType;
    if (d.denialType === 'Explicit') return `explicit Deny in ${where}: statement ${d.statementId ? `"${d.statementId}"` : `#${d.statementIndex}`}${d.policyIdentifier ? ` of ${d.policyIdentifier}` : ''}`;
    return `no Allow in ${where}${d.identifier ? ` (${d.identifier})` : ''}`;
  }) : [];
  if (role?.unknownManagedPolicies.length && result === 'ImplicitlyDenied') reasons.push(`unevaluated managed policies: ${role.unknownManagedPolicies.join(', ')}`);
  return { call, result, decidedBy: reasons.join('; ') || 'denied' };
}

/** Whether the conditions an Allow depends on (Discovery mode) hold for the call's encryption context. */
function holds(condition: AllowedConditionExpression | undefined, context: Record<string, string | string[]>): boolean {
  if (!condition || condition.conditionType === 'always') return true;
  if (condition.conditionType === 'never' || condition.conditionType === 'sessionName') return false;
  if (condition.conditionType === 'group') return condition.operator === 'and' ? condition.conditions.every((c) => holds(c, context)) : condition.conditions.some((c) => holds(c, context));
  const key = Object.keys(context).find((k) => k.toLowerCase() === condition.key.toLowerCase());
  if (!key || !/^kms:EncryptionContext:/i.test(key)) return false;
  const value = String(context[key]);
  const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(value);
  const match = /Like$/.test(condition.op) || /^Arn/.test(condition.op) ? condition.values.some(glob) : /Equals$/.test(condition.op) ? condition.values.includes(value) : false;
  return condition.inverted ? !match : match;
}
