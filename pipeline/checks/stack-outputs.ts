// Reads a deployed stage's endpoints from its CloudFormation stack outputs (`--stack NAME`): the
// pre-deployment health check of production runs before production's outputs exist as pipeline
// variables, and before the first release the stack does not exist at all.
import { type CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { awsClients } from './aws-clients.ts';
import type { VariableName } from './variables.ts';

/** The stage's CfnOutputs (lib/stage.ts) and the variable each one fills. */
export const OUTPUT_VARIABLES: Readonly<Record<string, VariableName>> = {
  EdgeUrl: 'EDGE_URL',
  DistributionId: 'DISTRIBUTION_ID',
  QueueUrl: 'QUEUE_URL',
  DeadLetterQueueUrl: 'DLQ_URL',
  ClusterName: 'CLUSTER_NAME',
  ApiServiceName: 'API_SERVICE_NAME',
  WorkerServiceName: 'WORKER_SERVICE_NAME',
  ApiTargetGroupArn: 'API_TARGET_GROUP_ARN',
  ApiAlternateTargetGroupArn: 'API_ALTERNATE_TARGET_GROUP_ARN',
  DataBucketName: 'DATA_BUCKET',
};

/**
 * The variables named by the stack's outputs; none when the stack does not exist (then every part
 * of the stage is missing, which `--allow-missing` reports as SKIP).
 */
export async function readStackOutputs(stackName: string): Promise<Partial<Record<VariableName, string>>> {
  const outputs = await describeStackOutputs(awsClients.cloudFormation(), stackName);
  if (outputs === undefined) return {};
  const variables: Partial<Record<VariableName, string>> = {};
  for (const { OutputKey, OutputValue } of outputs) {
    const variable = OutputKey === undefined ? undefined : OUTPUT_VARIABLES[OutputKey];
    if (variable && OutputValue !== undefined) variables[variable] = OutputValue;
  }
  return variables;
}

/** The stack's outputs; undefined when the stack does not exist. Shared with `ops` (pipeline/ops/context.ts). */
export async function describeStackOutputs(client: CloudFormationClient, stackName: string): Promise<Output[] | undefined> {
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    return Stacks?.[0]?.Outputs ?? [];
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}
