// The guardrail's part of the rehearsal, on the synthesized assembly:
// - GuardrailValidation: its role is the fixed-name role the validator's resource policy admits,
//   it may invoke exactly the validator the enforcement deploys, and the validator is deployed by
//   hand (a stack of the assembly that no pipeline action deploys);
// - then the guardrail's real flow, offline (guardrail-flow.ts): the validator's own decision on
//   the request pipeline/guardrail/request.ts builds from the assembly, and the production hook's
//   own decision on each production deploy (the change set its Prepare creates, the stack update
//   its Deploy executes), for the account, region and stack name CloudFormation deploys to. A
//   production deploy whose template has no valid attestation FAILs: a decoy stage, a relabelled
//   directory, a template changed after validation, or a release the validator refused.
import { hookDecisions, runValidation, type ValidationRun, deployedValidator } from './guardrail-flow.ts';
import { type PipelineAction, type PipelineModel, readTemplate } from './model.ts';

type Json = any;

export interface GuardrailRun {
  readonly action: PipelineAction;
  readonly status: 'CHECKED' | 'RAN' | 'FAIL';
  readonly detail: string;
}

/** The guardrail's results per action, the validation's check lines, and the validation run itself. */
export interface GuardrailRehearsal {
  readonly runs: GuardrailRun[];
  readonly lines: string[];
  readonly validation?: ValidationRun;
}

export interface GuardrailOptions {
  /** Validation runs by the digest of their inputs, shared across rehearsals of copies. */
  readonly validations?: Map<string, ValidationRun>;
  /** Decide the hooks on this validation run instead of running the validator (a template changed after validation). */
  readonly validation?: ValidationRun;
}

/** The validator as GuardrailValidation names it, and the stack of the assembly that deploys it. */
interface Validator {
  readonly arn: string;
  readonly stack?: { readonly displayName: string; readonly handDeployed: boolean };
  readonly admits?: string;
}

const firstLine = (text: string) => (text.includes('\n') ? `${text.split('\n')[0]} (+${text.split('\n').length - 1} more)` : text);

/** Checks GuardrailValidation, runs the validator on its request, and asks the production hook about every production deploy. */
export async function rehearseGuardrail(model: PipelineModel, options: GuardrailOptions = {}): Promise<GuardrailRehearsal> {
  const actions = model.stages.flatMap((s) => s.actions);
  const validation = actions.find((a) => a.name === 'GuardrailValidation');
  if (!validation) return { runs: [], lines: [] };
  const host = model.stacks.find((s) => s.displayName === 'Pipeline')!;
  const pipelineTemplate = readTemplate(host);

  const problem = validationProblem(validation, pipelineTemplate, host.account ?? '', model);
  if (problem) return { runs: [{ action: validation, status: 'FAIL', detail: problem }], lines: [] };

  const stage = /--stage (\S+)/.exec(commandsOf(validation).join('\n'))?.[1] ?? 'Production';
  const arn = envOf(validation, 'VALIDATOR_ARN')!;
  const account = arn.split(':')[4]!;
  const checked = `runs as ${roleOf(validation, pipelineTemplate)}, which may only invoke ${arn}, deployed by hand (the enforcement) and admitting that role alone`;
  let run: ValidationRun;
  let protectedStacks: string[];
  try {
    protectedStacks = deployedValidator(model, account, arn.split(':')[3]!, arn.split(':')[6]!).protectedStacks;
    run = options.validation ?? (await runValidation(model, stage, arn, options.validations));
  } catch (error) {
    return { runs: [{ action: validation, status: 'FAIL', detail: `${checked}; the validator cannot be run on this assembly: ${(error as Error).message}` }], lines: [] };
  }
  const { response } = run;
  const lines = [
    `RAN     guardrail validation (offline: the validator's decision, staging and production stood in from the assembly): ${run.releaseNote}`,
    ...response.checks.map((c) => `${c.status === 'PASS' ? 'RAN    ' : 'FAIL   '} guardrail validation ${c.name}: ${firstLine(c.detail)}`),
  ];
  const runs: GuardrailRun[] = [
    response.passed
      ? { action: validation, status: 'RAN', detail: `${checked}; the validator (run here) passed release ${run.release.commit} and stored ${run.store.size} attestation objects` }
      : { action: validation, status: 'FAIL', detail: `${checked}; the validator (run here) refused release ${run.release.commit}, nothing attested: ${response.checks.filter((c) => c.status === 'FAIL').map((c) => c.name).join(', ')}` },
  ];
  for (const d of await hookDecisions(model, account, run, protectedStacks)) {
    const what = d.action.configuration.ActionMode === 'CHANGE_SET_REPLACE' ? `the change set of ${d.stackName}` : `the stack update of ${d.stackName}`;
    runs.push(d.response.hookStatus === 'SUCCESS'
      ? { action: d.action, status: 'RAN', detail: `the production hook (run here) admits ${what}: ${d.response.message}` }
      : { action: d.action, status: 'FAIL', detail: `the production hook (run here) refuses ${what}: ${d.response.message}` });
  }
  return { runs, lines, validation: run };
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
