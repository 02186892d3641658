// Alarm notifications are delivered: the stage's alarm topic has a policy (the event targets give it
// one, replacing SNS's default), so it must itself let CloudWatch alarms of the stage's account and
// region publish, and the topic's key must let CloudWatch use it.
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { cdkJsonContext, tiersTemplates } from './support/app';

let templates: { staging: Template; production: Template };
beforeAll(() => {
  templates = tiersTemplates();
});

interface Statement { Sid?: string; Effect: string; Principal?: any; Action: string | string[]; Resource: any; Condition?: any }

const topicId = (t: Template) => Object.keys(t.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('AlarmsTopic'))!;

function topicStatements(t: Template): Statement[] {
  const topic = topicId(t);
  return Object.values(t.findResources('AWS::SNS::TopicPolicy'))
    .filter((p) => p.Properties.Topics.some((ref: any) => ref.Ref === topic))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function keyStatements(t: Template): Statement[] {
  const [, topic] = Object.entries(t.findResources('AWS::SNS::Topic')).find(([id]) => id.startsWith('AlarmsTopic'))!;
  const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
  return t.toJSON().Resources[keyId].Properties.KeyPolicy.Statement;
}

const allows = (s: Statement, service: string, action: string) =>
  s.Effect === 'Allow' && [s.Principal?.Service].flat().includes(service) && [s.Action].flat().some((a) => a === action || (a.endsWith('*') && action.startsWith(a.slice(0, -1))));

describe.each(['staging', 'production'] as const)('the %s alarm topic', (stage) => {
  const { account, region } = cdkJsonContext()[stage] as { account: string; region: string };

  it("lets CloudWatch alarms of the stage's account and region publish, and no one else through that statement", () => {
    const t = templates[stage];
    const statements = topicStatements(t).filter((s) => allows(s, 'cloudwatch.amazonaws.com', 'sns:Publish'));
    expect(statements).toHaveLength(1);
    expect(statements[0].Resource).toEqual({ Ref: topicId(t) });
    expect(statements[0].Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': account },
      ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${region}:${account}:alarm:*` },
    });
    // Still TLS only: the deny of plain HTTP publishing stays.
    expect(topicStatements(t).some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
  });

  it("lets CloudWatch use the topic's key: kms:Decrypt and kms:GenerateDataKey*, and denies it nothing", () => {
    const t = templates[stage];
    const key = keyStatements(t);
    for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
      expect(key.some((s) => allows(s, 'cloudwatch.amazonaws.com', action) && s.Condition === undefined)).toBe(true);
    }
    // The only deny (grants for non-AWS-service callers) does not touch Decrypt or GenerateDataKey.
    for (const deny of key.filter((s) => s.Effect === 'Deny')) expect([deny.Action].flat()).toEqual(['kms:CreateGrant']);
  });

  it('is where every alarm of the stage notifies', () => {
    const t = templates[stage];
    const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toContainEqual({ Ref: topicId(t) });
  });
});
