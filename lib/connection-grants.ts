import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/** The action CDK grants (aws-cdk-lib 2.273) to every role that uses a source connection. */
const LEGACY_USE_CONNECTION = 'codestar-connections:UseConnection';

/**
 * The UseConnection action whose service prefix matches the connection's ARN. Since the
 * rename of AWS CodeStar Connections to AWS CodeConnections, "when specifying a resource in the
 * IAM policy, the service prefix needs to match that of the resource": a connection whose ARN is
 * `arn:aws:codeconnections:…` needs `codeconnections:UseConnection`
 * (Developer Tools console user guide, "Connections rename - Summary of changes",
 * https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html).
 */
export function useConnectionAction(connectionArn: string): string {
  const prefix = connectionArn.split(':')[2];
  if (prefix !== 'codeconnections' && prefix !== 'codestar-connections') {
    throw new Error(`not a connection ARN (arn:aws:codeconnections:… or arn:aws:codestar-connections:…): ${connectionArn}`);
  }
  return `${prefix}:UseConnection`;
}

/**
 * Gives every policy under `scope` that allows `codestar-connections:UseConnection` on the
 * connection the action of the connection's own prefix too, on the same resource. CDK Pipelines
 * grants the old prefix to the Source action's role and to each CodeBuild role that clones the
 * source (codeBuildCloneOutput: the CodeBuild project uses the connection itself, CodePipeline
 * user guide, "CodeStarSourceConnection for Bitbucket Cloud, GitHub, GitHub Enterprise Server,
 * GitLab.com, and GitLab self-managed actions", full clone,
 * https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html).
 * Call it after `buildPipeline()`, when those roles exist.
 */
export function grantMatchingUseConnection(scope: IConstruct, connectionArn: string): void {
  const action = useConnectionAction(connectionArn);
  if (action === LEGACY_USE_CONNECTION) return;
  for (const policy of scope.node.findAll().filter((c): c is iam.Policy => c instanceof iam.Policy)) {
    const document = Stack.of(policy).resolve(policy.document) as { Statement?: { Effect: string; Action: unknown; Resource: unknown }[] };
    const usesConnection = (document.Statement ?? []).some(
      (s) => s.Effect === 'Allow' && [s.Action].flat().includes(LEGACY_USE_CONNECTION) && [s.Resource].flat().includes(connectionArn),
    );
    if (usesConnection) policy.addStatements(new iam.PolicyStatement({ actions: [action], resources: [connectionArn] }));
  }
}
