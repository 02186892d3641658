// Hook requests in the shapes the CloudFormation Hooks User Guide documents, "Create Lambda
// functions to evaluate resources for Lambda Hooks"
// (https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/lambda-hooks-create-lambda-function.html):
// its "Example Lambda Hook stack change input" and "Example Lambda Hook change set change input",
// with this project's account, region and stack.
import type { HookRequest } from '../../enforcement/hook/decide';

export const STACK_UUID = '1a2345b6-0000-00a0-a123-00abc0abc000';

export interface EventTarget {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  readonly payloadUrl: string;
}

const stackId = (t: EventTarget) => `arn:aws:cloudformation:${t.region}:${t.account}:stack/${t.stackName}/${STACK_UUID}`;
const changeSetArn = (t: EventTarget) => `arn:aws:cloudformation:${t.region}:${t.account}:changeSet/PipelineChange/${STACK_UUID}`;

/** A stack operation (update-stack, or the stack update ExecuteChangeSet makes). */
export function stackEvent(t: EventTarget, actionInvocationPoint = 'UPDATE_PRE_PROVISION', changeSetId: string | null = null): HookRequest {
  return {
    clientRequestToken: 'f8da6d11-b23f-48f4-814c-0fb6a667f50e',
    awsAccountId: t.account,
    stackId: stackId(t),
    changeSetId,
    hookTypeName: 'Private::Guardrail::Hook',
    hookTypeVersion: '00000008',
    hookModel: { LambdaFunction: `arn:aws:lambda:${t.region}:${t.account}:function:br-fagq2-guardrail-hook` },
    actionInvocationPoint,
    requestData: { targetName: 'STACK', targetType: 'STACK', targetLogicalId: t.stackName, payload: t.payloadUrl },
    requestContext: { invocation: 1, callbackContext: null },
  };
}

/** A CreateChangeSet (CodePipeline's CHANGE_SET_REPLACE). */
export function changeSetEvent(t: EventTarget): HookRequest {
  return {
    clientRequestToken: 'a0b1c2d3-b23f-48f4-814c-0fb6a667f50e',
    awsAccountId: t.account,
    stackId: stackId(t),
    changeSetId: changeSetArn(t),
    hookTypeName: 'Private::Guardrail::Hook',
    hookTypeVersion: '00000008',
    hookModel: { LambdaFunction: `arn:aws:lambda:${t.region}:${t.account}:function:br-fagq2-guardrail-hook` },
    actionInvocationPoint: 'CREATE_PRE_PROVISION',
    requestData: { targetName: 'CHANGE_SET', targetType: 'CHANGE_SET', targetLogicalId: changeSetArn(t), payload: t.payloadUrl },
    requestContext: { invocation: 1, callbackContext: null },
  };
}

/** The stack payload object: `{ template, previousTemplate }` (a change set's: `{ template, changedResources }`). */
export function stackPayload(template: string, previousTemplate = ''): string {
  return JSON.stringify({ template, previousTemplate });
}
export function changeSetPayload(template: string): string {
  return JSON.stringify({
    template,
    changedResources: [{ action: 'UPDATE', beforeContext: '{"Properties":{}}', afterContext: '{"Properties":{}}', lineNumber: 2, logicalResourceId: 'Cluster', resourceType: 'AWS::ECS::Cluster' }],
  });
}
