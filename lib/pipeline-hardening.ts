// Hardening of what CDK Pipelines generates, where its props reach no further.
//
// Not here: scoping the Synth role's artifact writes to its outputs' key prefixes. CodePipeline
// documents only the pipeline-name folder of its artifact keys, and every execution's output
// shares one prefix anyway; production's attestation hook refuses a tampered artifact's template,
// in a rollback too (docs/enforcement.md, "Artifact writes in the pipeline account").
import { Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';

const BUILD_ACTIONS = ['codebuild:StartBuild', 'codebuild:BatchGetBuilds', 'codebuild:StopBuild'];

interface Statement {
  Action?: string | string[];
  Resource?: unknown;
  [key: string]: unknown;
}

/**
 * `codebuild:StartBuild` (and BatchGetBuilds, StopBuild) of a role on `*` becomes the role's own
 * projects: those whose service role it is. CDK Pipelines grants the asset roles StartBuild on
 * `*` (their projects are created per asset after the role), which let an asset build start any
 * project of the account with a buildspec override. Changes the L1 policy document itself, so
 * cdk-nag and the Guard rules see the scoped statement. Run after `buildPipeline()`.
 */
export function scopeBuildStartsToOwnProjects(stack: Stack): void {
  const own = stack.node.findAll().filter((c) => (c instanceof codebuild.CfnProject || c instanceof iam.CfnPolicy) && Stack.of(c) === stack);
  const projectsOf = new Map<string, unknown[]>();
  for (const project of own.filter((c): c is codebuild.CfnProject => c instanceof codebuild.CfnProject)) {
    const role = (stack.resolve(project.serviceRole) as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
    if (role) projectsOf.set(role, [...(projectsOf.get(role) ?? []), stack.resolve(project.attrArn)]);
  }
  for (const policy of own.filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)) {
    const document = stack.resolve(policy.policyDocument) as { Statement?: Statement[] };
    const starts = (document.Statement ?? []).filter((s) => s.Resource === '*' && [s.Action].flat().some((a) => a !== undefined && BUILD_ACTIONS.includes(a)));
    if (starts.length === 0) continue;
    const roles = ((stack.resolve(policy.roles) as Array<{ Ref?: string }> | undefined) ?? []).map((r) => r.Ref);
    const projects = roles.flatMap((r) => (r ? (projectsOf.get(r) ?? []) : []));
    if (projects.length === 0) throw new Error(`${policy.node.path}: codebuild:StartBuild on "*" for a role that runs no project of ${stack.stackName}`);
    for (const statement of starts) statement.Resource = projects;
    policy.policyDocument = document;
  }
}
