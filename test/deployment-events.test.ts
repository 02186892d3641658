// The operator is told what ECS did with a release: the rules on ECS's deployment state change
// events of the API and worker services, their target (the stage's alarm topic), the message, and
// the key policy that lets EventBridge publish to the encrypted topic. The sample events are the
// ones of the ECS documentation (ecs_service_deployment_events.html).
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { tiersTemplates } from './support/app';

let staging: Template;
let production: Template;

beforeAll(() => {
  ({ staging, production } = tiersTemplates());
});

const serviceId = (t: Template, tier: RegExp) => Object.keys(t.findResources('AWS::ECS::Service')).find((id) => tier.test(id))!;
const topicId = (t: Template) => Object.keys(t.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('AlarmsTopic'))!;
const deploymentRules = (t: Template) =>
  Object.values(t.findResources('AWS::Events::Rule')).filter((r) => r.Properties.EventPattern?.['detail-type']?.[0] === 'ECS Deployment State Change');

/** The rule of a service (by its logical id) whose pattern names `eventName`. */
function ruleFor(t: Template, service: string, eventName: string) {
  const rules = deploymentRules(t).filter((r) => r.Properties.EventPattern.resources[0].Ref === service && r.Properties.EventPattern.detail.eventName.includes(eventName));
  expect(rules).toHaveLength(1);
  return rules[0].Properties;
}

/** EventBridge's matching, for the parts of a pattern these rules use: value lists, wildcards, resources. */
function matches(pattern: any, event: any, serviceArns: Record<string, string>): boolean {
  const value = (field: any, actual: any): boolean =>
    field.some((f: any) => (typeof f === 'object' && f.wildcard ? new RegExp(`^${f.wildcard.split('*').map(escape).join('.*')}$`).test(actual) : f === actual));
  return (
    value(pattern.source, event.source) &&
    value(pattern['detail-type'], event['detail-type']) &&
    pattern.resources.every((r: any) => event.resources.includes(serviceArns[r.Ref])) &&
    Object.entries(pattern.detail).every(([k, field]) => value(field, event.detail[k]))
  );
}
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What EventBridge's input transformer makes of an event. */
function render(target: any, event: any): string {
  const { InputPathsMap, InputTemplate } = target.InputTransformer;
  const at = (path: string) => path.replace(/^\$\./, '').split(/\.|\[(\d+)\]/).filter(Boolean).reduce((o: any, k: string) => o?.[k], event);
  return JSON.parse(InputTemplate.replace(/<([^>]+)>/g, (_: string, name: string) => at(InputPathsMap[name])));
}

const API_ARN = 'arn:aws:ecs:eu-west-1:333333333333:service/br-fagq2/api';
const sampleEvent = (eventName: string, reason: string, eventType = 'INFO') => ({
  version: '0',
  'detail-type': 'ECS Deployment State Change',
  source: 'aws.ecs',
  account: '333333333333',
  time: '2026-11-28T03:10:00Z',
  region: 'eu-west-1',
  resources: [API_ARN],
  detail: { eventType, eventName, deploymentId: 'ecs-svc/123', updatedAt: '2026-11-28T03:10:00Z', reason },
});

describe('deployment events of the API and the worker', () => {
  it('has three rules per service (completed, failed, rolling back) on ECS Deployment State Change events, in both stages alike', () => {
    for (const t of [staging, production]) {
      const api = serviceId(t, /^apiid6pe9zboa/);
      const worker = serviceId(t, /^workersskbsaup/);
      expect(deploymentRules(t)).toHaveLength(6);
      for (const service of [api, worker]) {
        expect(ruleFor(t, service, 'SERVICE_DEPLOYMENT_COMPLETED').EventPattern).toEqual({
          source: ['aws.ecs'],
          'detail-type': ['ECS Deployment State Change'],
          resources: [{ Ref: service }],
          detail: { eventName: ['SERVICE_DEPLOYMENT_COMPLETED'] },
        });
        expect(ruleFor(t, service, 'SERVICE_DEPLOYMENT_FAILED').EventPattern.detail).toEqual({ eventName: ['SERVICE_DEPLOYMENT_FAILED'] });
        expect(ruleFor(t, service, 'SERVICE_DEPLOYMENT_IN_PROGRESS').EventPattern.detail).toEqual({
          eventName: ['SERVICE_DEPLOYMENT_IN_PROGRESS'],
          reason: [{ wildcard: '*rolling back*' }],
        });
      }
      for (const rule of deploymentRules(t)) {
        expect(rule.Properties.State).toBe('ENABLED');
        expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topicId(t) } })]);
      }
    }
  });

  it("matches the documented events: a release that completes, fails, or rolls back; not a release's start", () => {
    const api = serviceId(production, /^apiid6pe9zboa/);
    const arns = { [api]: API_ARN };
    const pattern = (eventName: string) => ruleFor(production, api, eventName).EventPattern;
    const started = sampleEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', 'ECS deployment ecs-svc/123 in progress.');
    const rollingBack = sampleEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/122.');
    expect(matches(pattern('SERVICE_DEPLOYMENT_IN_PROGRESS'), rollingBack, arns)).toBe(true);
    expect(matches(pattern('SERVICE_DEPLOYMENT_IN_PROGRESS'), started, arns)).toBe(false);
    expect(matches(pattern('SERVICE_DEPLOYMENT_COMPLETED'), sampleEvent('SERVICE_DEPLOYMENT_COMPLETED', 'ECS deployment ecs-svc/123 completed.'), arns)).toBe(true);
    expect(matches(pattern('SERVICE_DEPLOYMENT_FAILED'), sampleEvent('SERVICE_DEPLOYMENT_FAILED', 'ECS deployment circuit breaker: task failed to start.', 'ERROR'), arns)).toBe(true);
    // Another service's events do not reach the API's rules.
    expect(matches(pattern('SERVICE_DEPLOYMENT_FAILED'), { ...sampleEvent('SERVICE_DEPLOYMENT_FAILED', 'x'), resources: ['arn:aws:ecs:eu-west-1:333333333333:service/br-fagq2/other'] }, arns)).toBe(false);
  });

  it('publishes a readable message: the stage, the service, the deployment, what happened, and the reason ECS gives', () => {
    const api = serviceId(production, /^apiid6pe9zboa/);
    const message = (eventName: string, reason: string) => render(ruleFor(production, api, eventName).Targets[0], sampleEvent(eventName, reason));
    expect(message('SERVICE_DEPLOYMENT_FAILED', 'ECS deployment circuit breaker: task failed to start.')).toBe(
      'br-fagq2-production: the API (api-id6pe9zboa) deployment ecs-svc/123 FAILED (a deployment alarm, the circuit breaker or a lifecycle hook stopped it; ' +
        'ECS rolls back to the previous revision, which keeps serving). ECS says: ECS deployment circuit breaker: task failed to start. ' +
        `(service ${API_ARN}, 2026-11-28T03:10:00Z).`,
    );
    expect(message('SERVICE_DEPLOYMENT_IN_PROGRESS', 'rolling back to ecs-svc/122')).toMatch(/^br-fagq2-production: the API \(api-id6pe9zboa\) deployment ecs-svc\/123 is ROLLING BACK to the previous revision\. ECS says: rolling back to ecs-svc\/122 /);
    expect(message('SERVICE_DEPLOYMENT_COMPLETED', 'ECS deployment ecs-svc/123 completed.')).toMatch(/^br-fagq2-production: the API \(api-id6pe9zboa\) deployment ecs-svc\/123 completed: .* ECS says: ECS deployment ecs-svc\/123 completed\./);
    const worker = serviceId(staging, /^workersskbsaup/);
    expect(render(ruleFor(staging, worker, 'SERVICE_DEPLOYMENT_FAILED').Targets[0], sampleEvent('SERVICE_DEPLOYMENT_FAILED', 'r'))).toMatch(/^br-fagq2-staging: the worker \(worker-sskbsaup\) deployment ecs-svc\/123 FAILED/);
  });

  it('lets EventBridge publish to the encrypted alarm topic: the topic policy, and the key policy of its key', () => {
    for (const t of [staging, production]) {
      const topic = t.findResources('AWS::SNS::Topic')[topicId(t)];
      const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
      const statements = t.findResources('AWS::KMS::Key')[keyId].Properties.KeyPolicy.Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Sid: 'EventBridgeDeploymentEventsPublish',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
        }),
      );
      const topicPolicies = Object.values(t.findResources('AWS::SNS::TopicPolicy')).filter((p) => p.Properties.Topics.some((x: any) => x.Ref === topicId(t)));
      const publish = topicPolicies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Action === 'sns:Publish' && s.Effect === 'Allow');
      expect(publish).toContainEqual(expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Resource: { Ref: topicId(t) } }));
    }
  });
});

describe("the deploy checks' `api release`: the checks role reads the API service's deployments, nothing more", () => {
  it('allows ecs:ListServiceDeployments and ecs:DescribeServiceDeployments on the API service and its deployments only', () => {
    for (const t of [staging, production]) {
      const roleId = Object.keys(t.findResources('AWS::IAM::Role')).find((id) => id.startsWith('DeployChecksRole'))!;
      const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))!;
      const statements = policy.Properties.PolicyDocument.Statement as any[];
      const ecsDeployments = statements.filter((s) => JSON.stringify(s.Action).includes('ServiceDeployments'));
      const api = serviceId(t, /^apiid6pe9zboa/);
      const cluster = Object.keys(t.findResources('AWS::ECS::Cluster'))[0];
      expect(ecsDeployments[0]?.Resource).toHaveLength(2);
      expect(ecsDeployments).toEqual([
        {
          Sid: 'ApiReleaseOutcome',
          Effect: 'Allow',
          Action: ['ecs:DescribeServiceDeployments', 'ecs:ListServiceDeployments'],
          Resource: expect.arrayContaining([
            { Ref: api },
            { 'Fn::Join': ['', [expect.stringMatching(/^arn:aws:ecs:eu-west-1:\d{12}:service-deployment\/$/), { Ref: cluster }, '/', { 'Fn::GetAtt': [api, 'Name'] }, '/*']] },
          ]),
        },
      ]);
    }
  });
});
