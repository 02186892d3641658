// The project's Guard rules on "anyone" principals, and the hand-written check of trusted accounts,
// on small templates: each form of "*" in a trust or resource policy fails `npm run compliance`'s rules.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StackTemplate } from '../pipeline/compliance/assembly';
import { runGuardSync } from '../pipeline/compliance/guard';
import { handWrittenProblems } from '../pipeline/compliance/hand-written';
import { PROJECT_RULES_DIR } from '../pipeline/compliance/profile';

const dir = mkdtempSync(join(tmpdir(), 'principal-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

function templateFile(resources: Record<string, unknown>): string {
  const file = join(dir, `t${count++}.json`);
  writeFileSync(file, JSON.stringify({ Resources: resources }));
  return file;
}

/** The failing rules of iam.guard on a template of `resources`, by rule name → resources. */
function failing(resources: Record<string, unknown>): Record<string, readonly string[]> {
  const failures = runGuardSync({ template: templateFile(resources), rules: [join(PROJECT_RULES_DIR, 'iam.guard')] });
  return Object.fromEntries(failures.map((f) => [f.rule, f.resources]));
}

const role = (principal: unknown) => ({
  Type: 'AWS::IAM::Role',
  Properties: { AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: principal }] } },
});
const allow = (principal: unknown, extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Principal: principal, Action: 's3:GetObject', Resource: '*', ...extra });
const joined = (text: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, text]] });

const ANYONE: Array<[string, unknown]> = [
  ['"*"', '*'],
  ['{"AWS": "*"}', { AWS: '*' }],
  ['{"AWS": ["*"]}', { AWS: ['*'] }],
  ['arn:aws:iam::*:root', { AWS: 'arn:aws:iam::*:root' }],
  ['["arn:aws:iam::*:root"] beside a real account', { AWS: ['arn:aws:iam::111111111111:root', 'arn:aws:iam::*:root'] }],
  ['any account\'s role, written as CDK writes ARNs (Fn::Join)', { AWS: joined(':iam::*:role/admin') }],
  ['{"AWS": {"Fn::Sub": "*"}}', { AWS: { 'Fn::Sub': '*' } }],
  ['{"CanonicalUser": "*"}', { CanonicalUser: '*' }],
  ['{"Federated": "*"}', { Federated: '*' }],
];

describe('Guard rule iam_no_public_trust', () => {
  it.each(ANYONE)('fails a role trusting %s', (_, principal) => {
    expect(failing({ Role: role(principal) }).iam_no_public_trust).toEqual(['Role']);
  });

  it('fails NotPrincipal in a trust policy', () => {
    const r = role({ Service: 'lambda.amazonaws.com' }) as any;
    r.Properties.AssumeRolePolicyDocument.Statement[0] = { Effect: 'Allow', Action: 'sts:AssumeRole', NotPrincipal: { AWS: 'arn:aws:iam::111111111111:root' } };
    expect(failing({ Role: r }).iam_no_public_trust).toEqual(['Role']);
  });

  it('accepts services, accounts and roles, as written plainly or by CDK', () => {
    expect(failing({
      A: role({ Service: 'lambda.amazonaws.com' }),
      B: role({ AWS: 'arn:aws:iam::111111111111:root' }),
      C: role({ AWS: [joined(':iam::111111111111:role/x'), { 'Fn::GetAtt': ['Other', 'Arn'] }] }),
    })).toEqual({});
  });
});

describe('Guard rule resource_policy_no_public_allow', () => {
  const bucketPolicy = (statement: unknown) => ({ Type: 'AWS::S3::BucketPolicy', Properties: { Bucket: 'b', PolicyDocument: { Statement: [statement] } } });

  it.each(ANYONE)('fails a bucket policy allowing %s, even with a condition', (_, principal) => {
    expect(failing({ Policy: bucketPolicy(allow(principal, { Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } })) }).resource_policy_no_public_allow).toEqual(['Policy']);
  });

  it.each([
    ['a key policy', { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [allow({ AWS: '*' })] } } }],
    ['a queue policy', { Type: 'AWS::SQS::QueuePolicy', Properties: { Queues: ['q'], PolicyDocument: { Statement: [allow({ AWS: ['*'] })] } } }],
    ['a topic policy', { Type: 'AWS::SNS::TopicPolicy', Properties: { Topics: ['t'], PolicyDocument: { Statement: [allow('*')] } } }],
    ['a repository policy', { Type: 'AWS::ECR::Repository', Properties: { RepositoryPolicyText: { Statement: [allow({ AWS: 'arn:aws:iam::*:root' })] } } }],
    ['a secret policy', { Type: 'AWS::SecretsManager::ResourcePolicy', Properties: { SecretId: 's', ResourcePolicy: { Statement: [allow({ AWS: '*' })] } } }],
    ['a function permission', { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: 'f', Principal: '*' } }],
    ['a function permission to any account', { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: 'f', Principal: 'arn:aws:iam::*:root' } }],
  ])('fails %s allowing anyone', (_, resource) => {
    expect(failing({ Policy: resource }).resource_policy_no_public_allow).toEqual(['Policy']);
  });

  it('accepts a Deny to anyone (enforceSSL) and allows to named principals', () => {
    expect(failing({
      Policy: bucketPolicy({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      Key: { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Statement: [allow({ AWS: joined(':iam::333333333333:root') }), allow({ Service: 'logs.eu-west-1.amazonaws.com' })] } } },
      Permission: { Type: 'AWS::Lambda::Permission', Properties: { Action: 'lambda:InvokeFunction', FunctionName: 'f', Principal: 'arn:aws:iam::111111111111:role/br-fagq2-guardrail-validation' } },
    })).toEqual({});
  });
});

describe('hand-written check trust-outside-accounts', () => {
  const problems = (resources: Record<string, unknown>) =>
    handWrittenProblems({ file: templateFile(resources), path: 't.json', displayName: 'T', account: '333333333333', region: 'eu-west-1', images: [], fileAssetKeys: [] } satisfies StackTemplate, ['111111111111', '222222222222', '333333333333'])
      .filter((p) => p.check === 'trust-outside-accounts');

  it.each([
    ['a plain root ARN', { AWS: 'arn:aws:iam::444444444444:root' }],
    ['an account id', { AWS: '444444444444' }],
    ['a role, as CDK writes it', { AWS: [joined(':iam::111111111111:root'), joined(':iam::444444444444:role/x')] }],
  ])('fails a role trusting another account through %s', (_, principal) => {
    expect(problems({ Role: role(principal) })).toEqual([expect.objectContaining({ resources: ['Role'] })]);
  });

  it('accepts the configured accounts, the own account and services', () => {
    expect(problems({
      A: role({ AWS: 'arn:aws:iam::111111111111:root' }),
      B: role({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } }),
      C: role({ Service: 'ecs-tasks.amazonaws.com' }),
    })).toEqual([]);
  });
});
