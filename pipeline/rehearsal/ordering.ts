// The ordering facts a first release depends on, checked on the synthesized pipeline:
// - every role an action needs exists when it runs: from the bootstrap, from a stack
//   deployed by hand before the pipeline (the pipeline stack, and the production
//   account's enforcement), or from a
//   stack that an earlier action deploys;
// - every pipeline variable an action reads is published by an earlier action;
// - a stage that rolls back on failure runs nothing but CloudFormation before its deploys:
//   a rollback is a new execution of the stage's actions with an older execution's artifacts
//   and variables (CodePipeline user guide, "Configuring stage rollback"), so a check placed
//   there would run again on a degraded system and could block the rollback.
import { type AssemblyStack } from '../cloud-assembly.ts';
import { type PipelineAction, type PipelineModel, readTemplate, Resolver } from './model.ts';

/** A problem found, on one action. */
export interface OrderingProblem {
  readonly action: PipelineAction;
  readonly problem: string;
}

/** The roles `cdk bootstrap` creates in every bootstrapped environment (qualifier hnb659fds). */
const BOOTSTRAP_ROLE = /^arn:aws[a-z-]*:iam::\d{12}:role\/cdk-hnb659fds-(lookup|deploy|cfn-exec|file-publishing|image-publishing)-role-\d{12}-[a-z0-9-]+$/;

/** The ARNs of the named roles a stack creates. */
export function rolesCreatedBy(stack: AssemblyStack): string[] {
  const template = readTemplate(stack);
  const resolver = new Resolver(stack);
  return (Object.values(template.Resources ?? {}) as any[])
    .filter((r) => r.Type === 'AWS::IAM::Role' && r.Properties?.RoleName !== undefined)
    .map((r) => resolver.resolve(r.Properties.RoleName))
    .filter((name): name is string => name !== undefined)
    .map((name) => `arn:aws:iam::${stack.account}:role/${name}`);
}

/** True when action `a` finishes before action `b` starts. */
export function runsBefore(a: PipelineAction, b: PipelineAction): boolean {
  return a.stageIndex < b.stageIndex || (a.stageIndex === b.stageIndex && a.runOrder < b.runOrder);
}

export function orderingProblems(model: PipelineModel): OrderingProblem[] {
  const actions = model.stages.flatMap((s) => s.actions);
  const problems: OrderingProblem[] = [];

  const fromHand = new Set(model.handDeployed.flatMap(rolesCreatedBy));
  const creators = new Map<string, PipelineAction>();
  for (const action of actions) {
    if (action.deploys && action.configuration.ActionMode === 'CHANGE_SET_EXECUTE') continue;
    if (action.deploys) for (const role of rolesCreatedBy(action.deploys)) creators.set(role, executeOf(actions, action));
  }
  for (const action of actions) {
    for (const role of action.rolesNeeded) {
      // A wildcard (CDK's self-mutation may assume any bootstrap role it finds by tag) names no one role.
      if (role.includes('*') || BOOTSTRAP_ROLE.test(role) || fromHand.has(role)) continue;
      const creator = creators.get(role);
      if (!creator) problems.push({ action, problem: `needs role ${role}, which neither the bootstrap nor any stack of the assembly creates` });
      else if (!runsBefore(creator, action)) {
        problems.push({ action, problem: `needs role ${role}, which ${creator.stage}/${creator.name} creates later: on a first release it does not exist yet` });
      }
    }
  }

  const publishers = new Map(actions.filter((a) => a.namespace).map((a) => [a.namespace!, a]));
  for (const action of actions) {
    // `codepipeline` holds the pipeline-level variables (the execution id), set before any action runs.
    for (const namespace of variablesRead(action).filter((n) => n !== 'codepipeline')) {
      const publisher = publishers.get(namespace);
      if (!publisher) problems.push({ action, problem: `reads variables of namespace ${namespace}, which no action publishes` });
      else if (!runsBefore(publisher, action)) problems.push({ action, problem: `reads variables of ${namespace}, published later by ${publisher.stage}/${publisher.name}` });
    }
  }

  for (const stage of model.stages.filter((s) => s.rollsBackOnFailure)) {
    const deploys = stage.actions.filter((a) => a.configuration.ActionMode === 'CHANGE_SET_EXECUTE').map((a) => a.runOrder);
    if (deploys.length === 0) continue;
    const firstDeploy = Math.min(...deploys);
    for (const action of stage.actions.filter((a) => a.runOrder < firstDeploy && a.provider !== 'CloudFormation')) {
      problems.push({ action, problem: `runs before the deploys of ${stage.name}, which rolls back on failure: a rollback re-runs it, and it can fail for reasons other than the release (move it to a stage before ${stage.name})` });
    }
  }
  return problems;
}

/** The CHANGE_SET_EXECUTE action that follows a prepare action of the same stack. */
function executeOf(actions: PipelineAction[], prepare: PipelineAction): PipelineAction {
  return actions.find((a) => a.stage === prepare.stage && a.configuration.ActionMode === 'CHANGE_SET_EXECUTE' && a.configuration.StackName === prepare.configuration.StackName) ?? prepare;
}

/** The namespaces of the `#{Namespace.Variable}` references of an action (source variables `#{Source@...}` included). */
export function variablesRead(action: PipelineAction): string[] {
  const text = JSON.stringify(action.configuration);
  return [...new Set([...text.matchAll(/#\{([^.}]+)\.[^}]+\}/g)].map((m) => m[1]))];
}
