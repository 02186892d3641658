// What the Production stage's rollback would change: a resource-level diff of the templates a
// stage rollback redeploys (the release rolled back to) over the templates deployed (the release
// that failed, or, when CloudFormation already rolled the stack back, the earlier one again).
//
// A CodePipeline stage rollback is a new execution of the stage's actions with the artifacts and
// variables of the execution it rolls back to
// (https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html), so its deploy
// actions (CDK Pipelines: CHANGE_SET_REPLACE then CHANGE_SET_EXECUTE,
// https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CloudFormation.html)
// submit that execution's templates. CloudFormation compares a change set's template with the
// stack's (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html):
// where no resource differs, the change set has no changes and nothing is touched.
//
// The diff is the template's view, not CloudFormation's: a resource changes when its definition
// differs, or when it references (Ref, Fn::GetAtt, Fn::Sub) a resource that is replaced, since the
// replacement gets a new physical id or ARN. A resource is replaced when its type is immutable
// (every property change replaces it) or one of its create-only properties changed.
import { type AssemblyStack, listStacks } from '../cloud-assembly.ts';
import { readTemplate } from './model.ts';

type Json = any;

/**
 * Types CloudFormation replaces on any property change (every property is create-only):
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-taskdefinition.html
 */
const IMMUTABLE_TYPES = new Set(['AWS::ECS::TaskDefinition', 'AWS::Lambda::Version', 'AWS::Lambda::LayerVersion']);

/** Create-only properties of the types whose change would lose data (from their resource references). */
const CREATE_ONLY: Record<string, readonly string[]> = {
  'AWS::DynamoDB::Table': ['TableName', 'KeySchema'],
  'AWS::S3::Bucket': ['BucketName', 'ObjectLockEnabled'],
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  'AWS::KMS::Key': [],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::ECS::Service': ['ServiceName', 'Cluster', 'LaunchType', 'Role', 'SchedulingStrategy'],
  'AWS::Lambda::Function': ['FunctionName'],
};

/** The resource types that hold data: a rollback must never replace or change one. */
export const STATEFUL_TYPES: readonly string[] = ['AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::Logs::LogGroup'];

/** How one resource differs between the deployed template and the redeployed one. */
export interface ResourceChange {
  readonly logicalId: string;
  readonly type: string;
  /** Add, Remove, or Modify (its definition differs, or a resource it references is replaced). */
  readonly action: 'Add' | 'Remove' | 'Modify';
  /** CloudFormation would create a new resource in its place (a new physical id). */
  readonly replaced: boolean;
  /** The top-level keys of the resource (or of its Properties) that differ; empty when only a referenced resource is replaced. */
  readonly properties: readonly string[];
  /** The replaced resources it references, when that is why it changes. */
  readonly because: readonly string[];
}

/** The resource-level changes of deploying `redeployed` over a stack whose template is `deployed`. */
export function templateChanges(deployed: Json, redeployed: Json): ResourceChange[] {
  const before: Record<string, Json> = deployed.Resources ?? {};
  const after: Record<string, Json> = redeployed.Resources ?? {};
  const changes = new Map<string, ResourceChange>();
  for (const id of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const [old, next] = [before[id], after[id]];
    if (!old) changes.set(id, { logicalId: id, type: next.Type, action: 'Add', replaced: false, properties: [], because: [] });
    else if (!next) changes.set(id, { logicalId: id, type: old.Type, action: 'Remove', replaced: false, properties: [], because: [] });
    else {
      const properties = differingKeys(old, next);
      if (properties.length === 0) continue;
      const createOnly = CREATE_ONLY[next.Type] ?? [];
      const replaced = old.Type !== next.Type || IMMUTABLE_TYPES.has(next.Type) || properties.some((p) => createOnly.includes(p));
      changes.set(id, { logicalId: id, type: next.Type, action: 'Modify', replaced, properties, because: [] });
    }
  }
  // A replaced resource has a new physical id: whatever references it is updated, in rounds, until none is added.
  for (let added = true; added; ) {
    added = false;
    const replaced = [...changes.values()].filter((c) => c.replaced).map((c) => c.logicalId);
    for (const [id, resource] of Object.entries(after)) {
      const existing = changes.get(id);
      if (existing && existing.action !== 'Modify') continue;
      const because = replaced.filter((r) => r !== id && references(resource, r) && !existing?.because.includes(r));
      if (because.length === 0) continue;
      const createOnly = CREATE_ONLY[resource.Type] ?? [];
      const viaCreateOnly = createOnly.some((p) => because.some((r) => references(resource.Properties?.[p], r)));
      changes.set(id, {
        logicalId: id,
        type: resource.Type,
        action: 'Modify',
        replaced: (existing?.replaced ?? false) || IMMUTABLE_TYPES.has(resource.Type) || viaCreateOnly,
        properties: existing?.properties ?? [],
        because: [...(existing?.because ?? []), ...because],
      });
      added = true;
    }
  }
  return [...changes.values()].sort((a, b) => a.logicalId.localeCompare(b.logicalId));
}

/** The stateful resources among the changes. */
export function statefulChanges(changes: readonly ResourceChange[]): ResourceChange[] {
  return changes.filter((c) => STATEFUL_TYPES.includes(c.type));
}

/** One stack of the stage rolled back: which resources the redeploy changes. */
export interface StackRollback {
  /** The stack's construct path within its stage, e.g. `Production/Tiers`. */
  readonly stack: string;
  readonly changes: readonly ResourceChange[];
}

/**
 * What a rollback of `stage` from the release in `deployedAssembly` to the one in
 * `redeployedAssembly` changes, stack by stack (stacks matched by construct path).
 */
export function stageRollback(deployedAssembly: string, redeployedAssembly: string, stage = 'Production'): StackRollback[] {
  const stacksOf = (dir: string) => new Map(listStacks(dir).filter((s) => inStage(s, stage)).map((s) => [stagePath(s, stage), s] as const));
  const [deployed, redeployed] = [stacksOf(deployedAssembly), stacksOf(redeployedAssembly)];
  if (redeployed.size === 0) throw new Error(`no stack of a ${stage} stage in ${redeployedAssembly}`);
  return [...redeployed.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, stack]) => {
      const before = deployed.get(path);
      const redeployedTemplate = readTemplate(stack);
      return { stack: path, changes: templateChanges(before ? readTemplate(before) : { Resources: {} }, redeployedTemplate) };
    });
}

/** One line: how many resources each stack's rollback changes, and which. */
export function formatRollback(stage: string, rollback: readonly StackRollback[]): string {
  const total = rollback.reduce((n, s) => n + s.changes.length, 0);
  const stacks = rollback.map((s) => {
    if (s.changes.length === 0) return `${s.stack}: no change`;
    const ids = s.changes.map((c) => `${c.logicalId}${c.replaced ? ' (replaced)' : ''}`);
    return `${s.stack}: ${ids.join(', ')}`;
  });
  const stateful = rollback.flatMap((s) => statefulChanges(s.changes).map((c) => `${s.stack}/${c.logicalId}`));
  const warning = stateful.length ? `; STATEFUL resources change: ${stateful.join(', ')}` : '';
  return `${stage} stage rollback: ${total} resource${total === 1 ? '' : 's'} change (${stacks.join('; ')})${warning}`;
}

function inStage(stack: AssemblyStack, stage: string): boolean {
  return stack.displayName.split('/').includes(stage);
}

/** `Pipeline/Production/Tiers` and `Production/Tiers` are both `Production/Tiers`. */
function stagePath(stack: AssemblyStack, stage: string): string {
  const parts = stack.displayName.split('/');
  return parts.slice(parts.indexOf(stage)).join('/');
}

/** Top-level keys of the resource (Type, DependsOn, ...) and of its Properties whose values differ. */
function differingKeys(old: Json, next: Json): string[] {
  const out: string[] = [];
  const keys = (o: Json) => Object.keys(o ?? {});
  for (const key of new Set([...keys(old), ...keys(next)])) {
    if (key === 'Properties' || key === 'Metadata') continue; // Metadata is not deployed
    if (JSON.stringify(old[key]) !== JSON.stringify(next[key])) out.push(key);
  }
  for (const key of new Set([...keys(old.Properties), ...keys(next.Properties)])) {
    if (JSON.stringify(old.Properties?.[key]) !== JSON.stringify(next.Properties?.[key])) out.push(key);
  }
  return out;
}

/** Whether `value` references `logicalId` (Ref, Fn::GetAtt, or ${id} / ${id.Attr} in Fn::Sub). */
function references(value: Json, logicalId: string): boolean {
  if (Array.isArray(value)) return value.some((v) => references(v, logicalId));
  if (value === null || typeof value !== 'object') return false;
  if (value.Ref === logicalId) return true;
  const getAtt = value['Fn::GetAtt'];
  if (getAtt && (Array.isArray(getAtt) ? getAtt[0] : String(getAtt).split('.')[0]) === logicalId) return true;
  const sub = value['Fn::Sub'];
  if (sub !== undefined) {
    const text = Array.isArray(sub) ? sub[0] : sub;
    if (typeof text === 'string' && new RegExp(`\\$\\{${logicalId}(\\.[A-Za-z0-9.]+)?\\}`).test(text)) return true;
  }
  return Object.values(value).some((v) => references(v, logicalId));
}
