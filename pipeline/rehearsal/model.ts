// The synthesized pipeline as the rehearsal sees it: its stages and actions in
// order, with what each action runs (CodeBuild buildspec and environment), the
// roles it assumes, the stacks it deploys and the variables it reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AssemblyStack, listStacks } from '../cloud-assembly.ts';

type Json = any;

/** One action of the pipeline, in release order. */
export interface PipelineAction {
  readonly stage: string;
  readonly stageIndex: number;
  readonly name: string;
  readonly runOrder: number;
  /** CodePipeline's provider: CodeBuild, CloudFormation, Manual, CodeStarSourceConnection. */
  readonly provider: string;
  readonly configuration: Record<string, Json>;
  /** The variables namespace the action publishes, if any. */
  readonly namespace?: string;
  /** CodeBuild: the parsed buildspec. */
  readonly buildspec?: Json;
  /** CodeBuild: the project's static environment variables (name → value, literal where resolvable). */
  readonly environment?: ReadonlyArray<{ readonly name: string; readonly type: string; readonly value: string }>;
  /** Role ARNs the action needs to exist when it runs: the CodeBuild service role when imported, roles it assumes, CloudFormation's role. */
  readonly rolesNeeded: readonly string[];
  /** CloudFormation: the assembly stack the action deploys. */
  readonly deploys?: AssemblyStack;
}

/** A stage of the pipeline. */
export interface PipelineStage {
  readonly name: string;
  readonly rollsBackOnFailure: boolean;
  readonly actions: readonly PipelineAction[];
}

/** The pipeline and the assembly around it. */
export interface PipelineModel {
  readonly assemblyDir: string;
  readonly stages: readonly PipelineStage[];
  /** Every stack of the assembly. */
  readonly stacks: readonly AssemblyStack[];
  /** The stacks no pipeline action deploys: deployed by hand (`cdk deploy`) before the first run. */
  readonly handDeployed: readonly AssemblyStack[];
}

/** Reads the pipeline of the stack named `pipelineStack` (construct path) from an assembly. */
export function readPipeline(assemblyDir: string, pipelineStack = 'Pipeline'): PipelineModel {
  const stacks = listStacks(assemblyDir);
  const host = stacks.find((s) => s.displayName === pipelineStack);
  if (!host) throw new Error(`no stack ${pipelineStack} in ${assemblyDir} (stacks: ${stacks.map((s) => s.displayName).join(', ')})`);
  const template = readTemplate(host);
  const resolver = new Resolver(host);
  const pipelines = Object.values(template.Resources).filter((r: Json) => r.Type === 'AWS::CodePipeline::Pipeline') as Json[];
  if (pipelines.length !== 1) throw new Error(`expected one AWS::CodePipeline::Pipeline in ${host.displayName}, found ${pipelines.length}`);

  const stages: PipelineStage[] = (pipelines[0].Properties.Stages as Json[]).map((stage, stageIndex) => ({
    name: stage.Name,
    rollsBackOnFailure: stage.OnFailure?.Result === 'ROLLBACK',
    actions: (stage.Actions as Json[])
      .map((action) => describeAction(action, stage.Name, stageIndex, template, resolver, stacks, assemblyDir))
      .sort((a, b) => a.runOrder - b.runOrder),
  }));
  const deployed = new Set(stages.flatMap((s) => s.actions).flatMap((a) => (a.deploys ? [a.deploys.templateFile] : [])));
  return { assemblyDir, stages, stacks, handDeployed: stacks.filter((s) => !deployed.has(s.templateFile)) };
}

export function readTemplate(stack: AssemblyStack): Json {
  return JSON.parse(readFileSync(stack.templateFile, 'utf8'));
}

function describeAction(action: Json, stage: string, stageIndex: number, template: Json, resolver: Resolver, stacks: AssemblyStack[], assemblyDir: string): PipelineAction {
  const base = {
    stage,
    stageIndex,
    name: action.Name as string,
    runOrder: (action.RunOrder as number | undefined) ?? 1,
    provider: action.ActionTypeId.Provider as string,
    configuration: (action.Configuration ?? {}) as Record<string, Json>,
    namespace: action.Namespace as string | undefined,
  };
  if (base.provider === 'CodeBuild') {
    const projectId = base.configuration.ProjectName?.Ref;
    const project = template.Resources[projectId];
    if (!project) throw new Error(`${stage}/${base.name}: no CodeBuild project ${projectId}`);
    const environment = ((project.Properties.Environment?.EnvironmentVariables ?? []) as Json[]).map((v) => ({
      name: v.Name as string,
      type: v.Type as string,
      value: resolver.resolve(v.Value) ?? JSON.stringify(v.Value),
    }));
    const serviceRole = project.Properties.ServiceRole;
    const roleLogicalId = serviceRole?.['Fn::GetAtt']?.[0] as string | undefined;
    const rolesNeeded = roleLogicalId ? assumedRoles(template, roleLogicalId, resolver) : [resolver.resolve(serviceRole) ?? JSON.stringify(serviceRole)];
    return { ...base, buildspec: JSON.parse(project.Properties.Source.BuildSpec), environment, rolesNeeded };
  }
  if (base.provider === 'CloudFormation') {
    const roleArn = resolver.resolve(base.configuration.RoleArn);
    const templatePath = base.configuration.TemplatePath as string | undefined;
    const deploys = templatePath
      ? stacks.find((s) => s.templateFile === join(assemblyDir, templatePath.split('::')[1]))
      : undefined;
    if (templatePath && !deploys) throw new Error(`${stage}/${base.name}: its template ${templatePath} is not in the assembly`);
    return { ...base, rolesNeeded: roleArn ? [roleArn] : [], deploys };
  }
  return { ...base, rolesNeeded: [] };
}

/** The role ARNs a CodeBuild service role (by logical id) may assume, from its policies' sts:AssumeRole statements. */
function assumedRoles(template: Json, roleLogicalId: string, resolver: Resolver): string[] {
  const out: string[] = [];
  for (const resource of Object.values(template.Resources) as Json[]) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!(resource.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement as Json[]) {
      if (statement.Effect !== 'Allow' || ![statement.Action].flat().includes('sts:AssumeRole')) continue;
      for (const arn of [statement.Resource].flat()) {
        const resolved = resolver.resolve(arn);
        if (resolved?.includes(':role/')) out.push(resolved);
      }
    }
  }
  return out;
}

/** Resolves the intrinsics CDK Pipelines writes (Fn::Join, pseudo parameters) to strings; undefined where it cannot. */
export class Resolver {
  private readonly stack: { account?: string; region?: string };

  constructor(stack: { account?: string; region?: string }) {
    this.stack = stack;
  }

  resolve(value: Json): string | undefined {
    if (typeof value === 'string') return value;
    if (value?.Ref === 'AWS::Partition') return 'aws';
    if (value?.Ref === 'AWS::AccountId') return this.stack.account;
    if (value?.Ref === 'AWS::Region') return this.stack.region;
    if (value?.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (Array.isArray(value?.['Fn::Join'])) {
      const [separator, parts] = value['Fn::Join'];
      const resolved = (parts as Json[]).map((p) => this.resolve(p));
      return resolved.every((p) => p !== undefined) ? resolved.join(separator) : undefined;
    }
    return undefined;
  }
}
