// The guardrail's part of the rehearsal, on the synthesized assembly:
// - GuardrailValidation: its role is the fixed-name role the validator's resource policy admits,
//   it may invoke exactly the validator the enforcement deploys, and the validator is deployed by
//   hand (a stack of the assembly that no pipeline action deploys);
// - the production hook: the validator is modelled as passing the release it is asked about (the
//   request pipeline/guardrail/request.ts builds from the assembly), and each production deploy
//   action's template must then be admitted by the hook's decision (./hook.ts) for the account,
//   region and stack name CloudFormation deploys it to. A production deploy whose template has no
//   attestation FAILs: a decoy stage, a relabelled directory or a template changed after the
//   request gains nothing.
import { readFileSync } from 'node:fs';
import { buildRequest } from '../guardrail/request.ts';
import { attestationHook, attestationKey, type HookModel, sha256Hex } from './hook.ts';
import { type PipelineAction, type PipelineModel, readTemplate } from './model.ts';

type Json = any;

export interface GuardrailRun {
  readonly action: PipelineAction;
  readonly status: 'CHECKED' | 'FAIL';
  readonly detail: string;
}

/** The validator as GuardrailValidation names it, and the stack of the assembly that deploys it. */
interface Validator {
  readonly arn: string;
  readonly stack?: { readonly displayName: string; readonly handDeployed: boolean };
  readonly admits?: string;
}

/**
 * Checks GuardrailValidation and models the production hooks. `hook` decides on the templates;
 * by default the contract's model, over the attestations a passing validator would store for
 * the request GuardrailValidation sends.
 */
export function rehearseGuardrail(model: PipelineModel, hook?: HookModel): GuardrailRun[] {
  const actions = model.stages.flatMap((s) => s.actions);
  const validation = actions.find((a) => a.name === 'GuardrailValidation');
  if (!validation) return [];
  const results: GuardrailRun[] = [];
  const host = model.stacks.find((s) => s.displayName === 'Pipeline')!;
  const pipelineTemplate = readTemplate(host);

  const problem = validationProblem(validation, pipelineTemplate, host.account ?? '', model);
  results.push(problem
    ? { action: validation, status: 'FAIL', detail: problem }
    : { action: validation, status: 'CHECKED', detail: `runs as ${roleOf(validation, pipelineTemplate)}, which may only invoke ${envOf(validation, 'VALIDATOR_ARN')}, deployed by hand (the enforcement) and admitting that role alone; invoking it needs AWS` });
  if (problem) return results;

  const stage = /--stage (\S+)/.exec(commandsOf(validation).join('\n'))?.[1] ?? 'Production';
  const validatorAccount = envOf(validation, 'VALIDATOR_ARN')!.split(':')[4];
  const decide = hook ?? attestationHook(attestedBy(model, stage, validatorAccount));
  for (const action of actions.filter((a) => a.deploys && a.configuration.ActionMode === 'CHANGE_SET_REPLACE' && a.deploys.account === validatorAccount)) {
    const stack = action.deploys!;
    const answer = decide.admits({ account: stack.account!, region: stack.region!, stackName: String(action.configuration.StackName), template: readFileSync(stack.templateFile) });
    results.push(answer.admitted
      ? { action, status: 'CHECKED', detail: `the production hook admits ${action.configuration.StackName}: ${answer.detail}` }
      : { action, status: 'FAIL', detail: `the production hook refuses ${action.configuration.StackName}: ${answer.detail}` });
  }
  return results;
}

/** The attestations a validator that passes the request would store (subjects as the contract names them). */
function attestedBy(model: PipelineModel, stage: string, account: string): Set<string> {
  const request = buildRequest(model.assemblyDir, stage, { commit: '0'.repeat(40), executionId: 'rehearsal' });
  const keys = new Set<string>();
  for (const [stackName, text] of Object.entries(request.templates)) {
    // The region the stack of that name deploys to in the stage (the validator knows it from its configuration).
    const region = model.stacks.find((s) => s.stackName === stackName && s.account === account)?.region ?? '';
    keys.add(attestationKey(account, region, stackName, sha256Hex(text)));
  }
  return keys;
}

function validationProblem(action: PipelineAction, template: Json, pipelineAccount: string, model: PipelineModel): string | undefined {
  if (action.provider !== 'CodeBuild') return `is a ${action.provider} action, not CodeBuild`;
  const arn = envOf(action, 'VALIDATOR_ARN');
  if (!arn || !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+$/.test(arn)) return `names no validator function ARN (VALIDATOR_ARN: ${arn ?? 'unset'})`;
  if (!commandsOf(action).some((c) => /npm run --silent guardrail -- .*--validator "\$VALIDATOR_ARN"/.test(c))) return 'does not invoke the validator of VALIDATOR_ARN (npm run guardrail -- … --validator "$VALIDATOR_ARN")';
  const roleName = roleOf(action, template);
  if (!roleName) return 'runs as a role without a fixed name: the validator\'s resource policy cannot name it';
  const invokes = roleStatements(action, template).filter((s) => s.Effect === 'Allow' && [s.Action].flat().some((a: string) => a.startsWith('lambda:')));
  const resources = invokes.flatMap((s) => [s.Resource].flat());
  if (invokes.length === 0 || resources.some((r) => r !== arn)) return `its role ${roleName} may invoke ${JSON.stringify(resources)}, not exactly ${arn}`;
  const validator = findValidator(model, arn, `arn:aws:iam::${pipelineAccount}:role/${roleName}`);
  if (!validator.stack) return `invokes ${arn}, which no stack of the assembly deploys`;
  if (!validator.stack.handDeployed) return `invokes ${arn}, deployed by the pipeline itself (${validator.stack.displayName}): the commit would define its own validator`;
  if (validator.admits !== `arn:aws:iam::${pipelineAccount}:role/${roleName}`) return `the validator (${validator.stack.displayName}) admits ${validator.admits ?? 'no caller'}, not ${roleName} of ${pipelineAccount}`;
  return undefined;
}

function findValidator(model: PipelineModel, arn: string, caller: string): Validator {
  const [, , , region, account, , name] = arn.split(':');
  for (const stack of model.stacks.filter((s) => s.account === account && s.region === region)) {
    const resources = Object.entries(readTemplate(stack).Resources ?? {}) as Array<[string, Json]>;
    const fn = resources.find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.FunctionName === name);
    if (!fn) continue;
    const permissions = resources.filter(([, r]) => r.Type === 'AWS::Lambda::Permission' && r.Properties?.FunctionName?.['Fn::GetAtt']?.[0] === fn[0]).map(([, r]) => r.Properties.Principal);
    return {
      arn,
      stack: { displayName: stack.displayName, handDeployed: model.handDeployed.includes(stack) },
      admits: permissions.length === 1 ? permissions[0] : permissions.includes(caller) ? `${caller} and ${permissions.length - 1} other(s)` : permissions[0],
    };
  }
  return { arn };
}

function commandsOf(action: PipelineAction): string[] {
  const phases = action.buildspec?.phases ?? {};
  return [...(phases.install?.commands ?? []), ...(phases.build?.commands ?? [])];
}

function envOf(action: PipelineAction, name: string): string | undefined {
  return action.environment?.find((e) => e.name === name)?.value;
}

function projectOf(action: PipelineAction, template: Json): Json {
  return template.Resources[action.configuration.ProjectName?.Ref];
}

/** The fixed RoleName of the action's CodeBuild service role, if it has one. */
function roleOf(action: PipelineAction, template: Json): string | undefined {
  const roleId = projectOf(action, template)?.Properties?.ServiceRole?.['Fn::GetAtt']?.[0];
  const name = template.Resources[roleId]?.Properties?.RoleName;
  return typeof name === 'string' ? name : undefined;
}

function roleStatements(action: PipelineAction, template: Json): Json[] {
  const roleId = projectOf(action, template)?.Properties?.ServiceRole?.['Fn::GetAtt']?.[0];
  return (Object.values(template.Resources) as Json[])
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as Json[]).some((x) => x.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[]);
}
