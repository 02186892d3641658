// Each audit rule on small hand-made resources: the cases the real app does not exhibit
// (it is compliant), so that each rule is shown to catch what it claims to.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkAlbLogging,
  checkBucketPublicAccess,
  checkBucketSsl,
  checkCloudFrontLogging,
  checkIamWildcards,
  checkVpcFlowLogs,
} from '../../pipeline/guardrail/audit.js';
import { checkNagFindings } from '../../pipeline/guardrail/nag.js';
import type { CfnResource } from '../../pipeline/guardrail/templates.js';

const T = 'assembly-Production/Main.template.json';
const resource = (logicalId: string, type: string, properties: Record<string, unknown> = {}): CfnResource => ({
  template: T,
  logicalId,
  type,
  properties,
});

const ALL_BLOCKED = {
  BlockPublicAcls: true,
  BlockPublicPolicy: true,
  IgnorePublicAcls: true,
  RestrictPublicBuckets: true,
};

describe('checkBucketPublicAccess', () => {
  it('passes with all four flags and names the missing ones otherwise', () => {
    expect(
      checkBucketPublicAccess([resource('B', 'AWS::S3::Bucket', { PublicAccessBlockConfiguration: ALL_BLOCKED })])
        .status,
    ).toBe('pass');
    const result = checkBucketPublicAccess([
      resource('B', 'AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: { ...ALL_BLOCKED, RestrictPublicBuckets: false },
      }),
      resource('C', 'AWS::S3::Bucket'),
    ]);
    expect(result.status).toBe('fail');
    expect(result.details).toEqual([
      `${T}: B (AWS::S3::Bucket) does not set RestrictPublicBuckets in PublicAccessBlockConfiguration`,
      `${T}: C (AWS::S3::Bucket) does not set BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets in PublicAccessBlockConfiguration`,
    ]);
  });
});

describe('checkBucketSsl', () => {
  const sslDeny = {
    Effect: 'Deny',
    Action: 's3:*',
    Principal: { AWS: '*' },
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    Resource: [{ 'Fn::GetAtt': ['B', 'Arn'] }],
  };

  it('passes when a policy on the bucket denies aws:SecureTransport=false', () => {
    const policy = resource('P', 'AWS::S3::BucketPolicy', {
      Bucket: { Ref: 'B' },
      PolicyDocument: { Statement: [sslDeny] },
    });
    expect(checkBucketSsl([resource('B', 'AWS::S3::Bucket'), policy]).status).toBe('pass');
  });

  it('fails when the deny is missing, is an Allow, or sits on another bucket', () => {
    const allow = resource('P1', 'AWS::S3::BucketPolicy', {
      Bucket: { Ref: 'B' },
      PolicyDocument: { Statement: [{ ...sslDeny, Effect: 'Allow' }] },
    });
    const elsewhere = resource('P2', 'AWS::S3::BucketPolicy', {
      Bucket: { Ref: 'Other' },
      PolicyDocument: { Statement: [sslDeny] },
    });
    const result = checkBucketSsl([resource('B', 'AWS::S3::Bucket'), allow, elsewhere]);
    expect(result.details).toEqual([
      `${T}: B (AWS::S3::Bucket) has no bucket policy denying requests with aws:SecureTransport=false`,
    ]);
  });
});

describe('checkCloudFrontLogging', () => {
  it('requires DistributionConfig.Logging', () => {
    const logged = resource('D1', 'AWS::CloudFront::Distribution', {
      DistributionConfig: { Logging: { Bucket: 'logs.s3.amazonaws.com' } },
    });
    const silent = resource('D2', 'AWS::CloudFront::Distribution', { DistributionConfig: {} });
    expect(checkCloudFrontLogging([logged]).status).toBe('pass');
    expect(checkCloudFrontLogging([logged, silent]).details).toEqual([
      `${T}: D2 (AWS::CloudFront::Distribution) has no DistributionConfig.Logging (access logs)`,
    ]);
  });
});

describe('checkAlbLogging', () => {
  const lb = (id: string, attributes: unknown[], type?: string) =>
    resource(id, 'AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: attributes,
      ...(type ? { Type: type } : {}),
    });

  it('requires access_logs.s3.enabled=true on application load balancers only', () => {
    expect(checkAlbLogging([lb('A', [{ Key: 'access_logs.s3.enabled', Value: 'true' }])]).status).toBe('pass');
    expect(checkAlbLogging([lb('N', [], 'network')]).status).toBe('pass');
    expect(checkAlbLogging([lb('A', [{ Key: 'access_logs.s3.enabled', Value: 'false' }])]).details).toEqual([
      `${T}: A (AWS::ElasticLoadBalancingV2::LoadBalancer) does not set the attribute access_logs.s3.enabled=true`,
    ]);
  });
});

describe('checkVpcFlowLogs', () => {
  it('requires a flow log on each VPC', () => {
    const flowLog = resource('F', 'AWS::EC2::FlowLog', { ResourceId: { Ref: 'Vpc1' }, ResourceType: 'VPC' });
    expect(checkVpcFlowLogs([resource('Vpc1', 'AWS::EC2::VPC'), flowLog]).status).toBe('pass');
    expect(
      checkVpcFlowLogs([resource('Vpc1', 'AWS::EC2::VPC'), resource('Vpc2', 'AWS::EC2::VPC'), flowLog]).details,
    ).toEqual([`${T}: Vpc2 (AWS::EC2::VPC) has no AWS::EC2::FlowLog`]);
  });
});

describe('checkIamWildcards', () => {
  const doc = (statement: Record<string, unknown>) => ({ Statement: [statement] });
  const star = { Effect: 'Allow', Action: '*', Resource: '*' };

  it('finds Allow "*" on "*" in inline, managed and role policies', () => {
    const result = checkIamWildcards([
      resource('Inline', 'AWS::IAM::Policy', { PolicyDocument: doc(star) }),
      resource('Managed', 'AWS::IAM::ManagedPolicy', {
        PolicyDocument: doc({ ...star, Action: ['s3:GetObject', '*'] }),
      }),
      resource('Role', 'AWS::IAM::Role', {
        Policies: [{ PolicyName: 'admin', PolicyDocument: doc({ ...star, Resource: ['*'] }) }],
      }),
    ]);
    expect(result.details).toEqual([
      `${T}: Inline (AWS::IAM::Policy) allows Action "*" on Resource "*"`,
      `${T}: Managed (AWS::IAM::ManagedPolicy) allows Action "*" on Resource "*"`,
      `${T}: Role (AWS::IAM::Role) inline policy admin allows Action "*" on Resource "*"`,
    ]);
  });

  it('allows scoped wildcards and Deny statements', () => {
    const result = checkIamWildcards([
      resource('A', 'AWS::IAM::Policy', { PolicyDocument: doc({ ...star, Action: 's3:*' }) }),
      resource('B', 'AWS::IAM::Policy', { PolicyDocument: doc({ ...star, Resource: 'arn:aws:s3:::bucket/*' }) }),
      resource('C', 'AWS::IAM::Policy', { PolicyDocument: doc({ ...star, Effect: 'Deny' }) }),
    ]);
    expect(result.status).toBe('pass');
  });
});

describe('checkNagFindings', () => {
  const withReport = (report: unknown): string => {
    const dir = mkdtempSync(join(tmpdir(), 'guardrail-nag-'));
    writeFileSync(join(dir, 'validation-report.json'), JSON.stringify(report));
    return dir;
  };
  const finding = (severity: string) => ({
    ruleName: 'AwsSolutions-SQS4',
    description: 'd',
    severity,
    violatingConstructs: [{ constructPath: 'Production/Tiers/Queue/Resource' }],
  });

  it('fails on unacknowledged errors and warnings, not on info notes or acknowledged findings', () => {
    const dir = withReport({
      version: '55.0.0',
      pluginReports: [
        {
          pluginName: 'AwsSolutions',
          conclusion: 'failure',
          violations: [finding('warning'), finding('info')],
          suppressedViolations: [
            { ...finding('error'), acknowledgedId: 'AwsSolutions::AwsSolutions-SQS4', reason: 'r' },
          ],
        },
      ],
    });
    expect(checkNagFindings(dir).details).toEqual([
      'AwsSolutions-SQS4 (warning) at Production/Tiers/Queue/Resource, not acknowledged',
    ]);
    rmSync(dir, { recursive: true });
  });

  it('fails when the report is missing or a plugin crashed', () => {
    const empty = mkdtempSync(join(tmpdir(), 'guardrail-nag-'));
    expect(checkNagFindings(empty).summary).toBe('validation-report.json is missing: no cdk-nag results to audit');
    const crashed = withReport({
      pluginReports: [
        { pluginName: 'AwsSolutions', conclusion: 'failure', violations: [], metadata: { error: 'boom' } },
      ],
    });
    expect(checkNagFindings(crashed).details).toEqual(['plugin AwsSolutions failed to run: boom']);
    rmSync(empty, { recursive: true });
    rmSync(crashed, { recursive: true });
  });
});
