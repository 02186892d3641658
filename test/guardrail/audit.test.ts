// The compliance audit against real synthesized templates. One synth of the app in
// sandbox mode: Staging stays as built (every rule's passing case), Production gets
// the escape-hatch attacks that cdk-nag cannot see. The template attacks are edits
// of a copy of Staging's Tiers template. Each case runs cfn-guard with the one rule
// file it is about, on one template, to keep the suite fast.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnResource, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../../lib/app';
import { readAllowList, unapprovedAcknowledgements, missingMinimumPacks } from '../../pipeline/compliance/acknowledgements';
import { type StackTemplate, stackTemplates } from '../../pipeline/compliance/assembly';
import { runGuardSync } from '../../pipeline/compliance/guard';
import { handWrittenProblems } from '../../pipeline/compliance/hand-written';
import { controlTowerControls, controlTowerRulesFor, disabledControls, PROJECT_RULES_DIR } from '../../pipeline/compliance/profile';
import { newApp } from '../support/app';

const MIN_RETENTION = 30;
let outdir: string;
let templates: StackTemplate[];
const stack = (displayName: string) => {
  const found = templates.find((t) => t.displayName === displayName);
  if (!found) throw new Error(`no stack ${displayName}`);
  return found;
};

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'audit-'));
  const app = newApp({ sandbox: 'true', 'aws:cdk:enable-path-metadata': true }, outdir);
  const { production } = defineApp(app, 'test-version');
  const tiers = production.tiersStack;
  // 1. The API task role gets AdministratorAccess through an override.
  const apiRole = tiers.node.findAll().find((c) => c.node.path.endsWith('api-id6pe9zboa/Task/TaskRole')) as iam.Role;
  (apiRole.node.defaultChild as iam.CfnRole).addPropertyOverride('ManagedPolicyArns', ['arn:aws:iam::aws:policy/AdministratorAccess']);
  // 2. A raw AWS::IAM::RolePolicy allowing * on *.
  new CfnResource(tiers, 'RawRolePolicy', {
    type: 'AWS::IAM::RolePolicy',
    properties: { RoleName: apiRole.roleName, PolicyName: 'all', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
  });
  // 3. The load balancer's ingress overridden to 0.0.0.0/0.
  const ingress = tiers.node.findAll().find((c) => c instanceof ec2.CfnSecurityGroupIngress && c.node.path.includes('LoadBalancerSecurityGroup')) as ec2.CfnSecurityGroupIngress;
  ingress.addPropertyDeletionOverride('SourcePrefixListId');
  ingress.addPropertyOverride('CidrIp', '0.0.0.0/0');
  // 4. A stack-wide acknowledgement.
  Validations.of(tiers).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM4', reason: 'Acknowledged for the whole stack, which the allow-list refuses.' });
  try {
    app.synth();
  } catch (e) {
    // The attacks that cdk-nag does see fail the synth after the assembly is written.
    if ((e as Error).name !== 'ValidationFailed') throw e;
  }
  templates = stackTemplates(outdir);
}, 120_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const ruleFile = (name: string) => join(PROJECT_RULES_DIR, `${name}.guard`);
const params = (t: StackTemplate) => ({ Compliance: { MinLogRetentionDays: MIN_RETENTION, ContainerImages: t.images } });
const read = (t: StackTemplate) => JSON.parse(readFileSync(t.file, 'utf8'));

/** Failing rules (and their resources) of one rule file on a template object, written to a temp file. */
function failures(source: StackTemplate, file: string, template?: unknown): Record<string, string[]> {
  let path = source.file;
  if (template !== undefined) {
    path = join(outdir, `edited-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(template));
  }
  return Object.fromEntries(runGuardSync({ template: path, rules: [ruleFile(file)], params: params(source) }).map((f) => [f.rule, [...f.resources]]));
}

/** The logical id of the first resource of `type` whose id contains `hint`. */
function idOf(template: any, type: string, hint = ''): string {
  const id = Object.keys(template.Resources).find((k) => template.Resources[k].Type === type && k.includes(hint));
  if (!id) throw new Error(`no ${type} ${hint}`);
  return id;
}

describe('the project Guard rules on the clean (staging) templates', () => {
  it.each(['iam', 'network', 'logging', 'template', 'images', 's3'])('%s.guard passes on every staging template', (file) => {
    for (const t of templates.filter((x) => x.displayName.startsWith('Staging/'))) expect(failures(t, file)).toEqual({});
  });

  it('the hand-written checks pass on every staging template', () => {
    for (const t of templates.filter((x) => x.displayName.startsWith('Staging/'))) expect(handWrittenProblems(t)).toEqual([]);
  });
});

describe('escape hatches applied in CDK (production), which cdk-nag does not see', () => {
  it('finds AdministratorAccess attached by addPropertyOverride', () => {
    const f = failures(stack('Production/Tiers'), 'iam');
    expect(f.iam_no_admin_managed_policy).toEqual([idOf(read(stack('Production/Tiers')), 'AWS::IAM::Role', 'apiid6pe9zboaTaskTaskRole')]);
  });

  it('finds a raw AWS::IAM::RolePolicy allowing * on *', () => {
    expect(failures(stack('Production/Tiers'), 'iam').iam_policy_no_wildcard_allow).toEqual(['RawRolePolicy']);
  });

  it('finds an ingress rule overridden to 0.0.0.0/0', () => {
    const f = failures(stack('Production/Tiers'), 'network');
    expect(f.sg_ingress_no_open_ingress).toEqual([idOf(read(stack('Production/Tiers')), 'AWS::EC2::SecurityGroupIngress', 'LoadBalancerSecurityGroupfrompl')]);
  });

  it('finds a stack-wide acknowledgement: it is not in the allow-list', () => {
    const problems = unapprovedAcknowledgements([stack('Production/Tiers')]);
    expect(problems.length).toBeGreaterThan(10);
    expect(problems.every((p) => p.includes('AwsSolutions-IAM4'))).toBe(true);
    expect(unapprovedAcknowledgements(templates.filter((t) => t.displayName.startsWith('Staging/')))).toEqual([]);
  });
});

describe('template edits of a real synthesized template (staging Tiers)', () => {
  const base = () => stack('Staging/Tiers');
  const edit = (change: (t: any) => void) => {
    const t = read(base());
    change(t);
    return t;
  };
  const statementOf = (t: any, hint: string) => t.Resources[idOf(t, 'AWS::IAM::Policy', hint)].Properties.PolicyDocument.Statement;

  it.each([
    ['iam:* on *', { Effect: 'Allow', Action: 'iam:*', Resource: '*' }],
    ['sts:* on *', { Effect: 'Allow', Action: ['sqs:SendMessage', 'sts:*'], Resource: '*' }],
    ['"*" hidden in an intrinsic', { Effect: 'Allow', Action: [{ 'Fn::Sub': '*' }], Resource: '*' }],
    ['NotAction', { Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }],
    ['NotResource', { Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:aws:s3:::x/*' }],
  ])('finds an allow of %s', (_, statement) => {
    const t = edit((x) => statementOf(x, 'workersskbsaupTaskTaskRole').push(statement));
    expect(failures(base(), 'iam', t).iam_policy_no_wildcard_allow).toEqual([idOf(t, 'AWS::IAM::Policy', 'workersskbsaupTaskTaskRole')]);
  });

  it('accepts Deny statements and scoped wildcards (s3:Get*)', () => {
    const t = edit((x) => {
      statementOf(x, 'workersskbsaupTaskTaskRole').push({ Effect: 'Deny', Action: '*', Resource: '*' });
      statementOf(x, 'workersskbsaupTaskTaskRole').push({ Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::b/*' });
    });
    expect(failures(base(), 'iam', t)).toEqual({});
  });

  it.each([
    ['"AWS": "*"', { AWS: '*' }],
    ['"*"', '*'],
    ['every account root', { AWS: ['arn:aws:iam::*:root'] }],
  ])('finds a role trust to %s', (_, principal) => {
    const t = edit((x) => {
      const role = x.Resources[idOf(x, 'AWS::IAM::Role', 'apiid6pe9zboaTaskTaskRole')];
      role.Properties.AssumeRolePolicyDocument.Statement.push({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: principal });
    });
    expect(failures(base(), 'iam', t).iam_no_public_trust).toEqual([idOf(t, 'AWS::IAM::Role', 'apiid6pe9zboaTaskTaskRole')]);
  });

  it('finds an admin managed policy written as CDK writes it (Fn::Join with the partition)', () => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::IAM::Role', 'workersskbsaupTaskTaskRole')].Properties.ManagedPolicyArns = [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/PowerUserAccess']] },
      ];
    });
    expect(failures(base(), 'iam', t).iam_no_admin_managed_policy).toEqual([idOf(t, 'AWS::IAM::Role', 'workersskbsaupTaskTaskRole')]);
  });

  it('finds a bucket policy allowing "*" without a condition', () => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::S3::BucketPolicy')].Properties.PolicyDocument.Statement.push({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: '*' });
    });
    expect(failures(base(), 'iam', t).resource_policy_no_public_allow).toEqual([idOf(t, 'AWS::S3::BucketPolicy')]);
  });

  it.each([
    ['0.0.0.0/0', { CidrIp: '0.0.0.0/0' }],
    ['::/0', { CidrIpv6: '::/0' }],
    ['a range as wide as 0.0.0.0/1', { CidrIp: '0.0.0.0/1' }],
  ])('finds security group ingress from %s', (_, range) => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::EC2::SecurityGroup', 'EndpointSecurityGroup')].Properties.SecurityGroupIngress.push({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, ...range });
    });
    expect(failures(base(), 'network', t).sg_no_open_ingress).toEqual([idOf(t, 'AWS::EC2::SecurityGroup', 'EndpointSecurityGroup')]);
  });

  it.each([
    ['removed through AWS::NoValue', { Ref: 'AWS::NoValue' }],
    ['removed through Fn::If', { 'Fn::If': ['Never', 30, { Ref: 'AWS::NoValue' }] }],
    ['shorter than the minimum', 7],
  ])('finds a log group retention %s', (_, retention) => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::Logs::LogGroup', 'FlowLogs')].Properties.RetentionInDays = retention;
    });
    expect(failures(base(), 'logging', t).log_group_retention).toEqual([idOf(t, 'AWS::Logs::LogGroup', 'FlowLogs')]);
  });

  it('finds a container whose logging was removed', () => {
    const t = edit((x) => {
      delete x.Resources[idOf(x, 'AWS::ECS::TaskDefinition', 'workersskbsaup')].Properties.ContainerDefinitions[0].LogConfiguration;
    });
    expect(failures(base(), 'logging', t).container_logging).toEqual([idOf(t, 'AWS::ECS::TaskDefinition', 'workersskbsaup')]);
  });

  it('finds CloudFront and load balancer logs sent to a foreign bucket', () => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::CloudFront::Distribution')].Properties.DistributionConfig.Logging.Bucket = 'attacker-logs.s3.amazonaws.com';
      const lb = x.Resources[idOf(x, 'AWS::ElasticLoadBalancingV2::LoadBalancer')];
      lb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'access_logs.s3.bucket').Value = 'attacker-logs';
    });
    const f = failures(base(), 'logging', t);
    expect(f.cloudfront_logs_to_own_bucket).toEqual([idOf(t, 'AWS::CloudFront::Distribution')]);
    expect(f.alb_logs_to_own_bucket).toEqual([idOf(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer')]);
  });

  it('finds flow logs and bucket access logs sent elsewhere', () => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::EC2::FlowLog')].Properties.LogGroupName = 'someone-elses-group';
      x.Resources[idOf(x, 'AWS::S3::Bucket', 'AccessLogs')].Properties.LoggingConfiguration = { DestinationBucketName: 'attacker-logs' };
    });
    const f = failures(base(), 'logging', t);
    expect(f.flow_logs_to_own_destination).toEqual([idOf(t, 'AWS::EC2::FlowLog')]);
    expect(f.s3_access_logs_to_own_bucket).toEqual([idOf(t, 'AWS::S3::Bucket', 'AccessLogs')]);
  });

  it('finds WAF request logs sent to a foreign log group (staging EdgeWaf template)', () => {
    const waf = stack('Staging/EdgeWaf');
    expect(failures(waf, 'logging')).toEqual({});
    const t = read(waf);
    t.Resources[idOf(t, 'AWS::WAFv2::LoggingConfiguration')].Properties.LogDestinationConfigs = [{ 'Fn::GetAtt': ['Elsewhere', 'Arn'] }];
    expect(failures(waf, 'logging', t).waf_logs_to_own_log_group).toEqual([idOf(t, 'AWS::WAFv2::LoggingConfiguration')]);
  });

  it('finds a flow log behind a condition that is never true', () => {
    const t = edit((x) => {
      x.Conditions = { Never: { 'Fn::Equals': ['a', 'b'] } };
      x.Resources[idOf(x, 'AWS::EC2::FlowLog')].Condition = 'Never';
    });
    expect(Object.keys(failures(base(), 'template', t))).toEqual(['no_conditions']);
  });

  it('finds Fn::Transform with AWS::Include, in Guard and at any depth by hand', () => {
    const t = edit((x) => {
      x.Resources[idOf(x, 'AWS::S3::Bucket', 'AccessLogs')].Properties['Fn::Transform'] = { Name: 'AWS::Include', Parameters: { Location: 's3://attacker/x.yaml' } };
      x.Resources[idOf(x, 'AWS::ECS::TaskDefinition', 'api')].Properties.ContainerDefinitions[0].Environment = [
        { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://attacker/env.yaml' } } },
      ];
    });
    expect(failures(base(), 'template', t).no_transform).toEqual([idOf(t, 'AWS::S3::Bucket', 'AccessLogs')]);
    const path = join(outdir, 'transform.json');
    writeFileSync(path, JSON.stringify(t));
    expect(handWrittenProblems({ ...base(), file: path })).toEqual([
      { check: 'no-transform', resources: [idOf(t, 'AWS::ECS::TaskDefinition', 'api'), idOf(t, 'AWS::S3::Bucket', 'AccessLogs')].sort(), description: expect.any(String) },
    ]);
    const top = edit((x) => {
      x.Transform = 'AWS::Serverless-2016-10-31';
    });
    expect(Object.keys(failures(base(), 'template', top))).toEqual(['no_transform']);
  });

  it('finds a nested stack whose template is not in the assembly', () => {
    const nested = (url: unknown) =>
      edit((x) => {
        x.Resources.Nested = { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: url } };
      });
    const external = nested('https://attacker.s3.amazonaws.com/stack.json');
    expect(failures(base(), 'template', external).nested_stack_from_cdk_assets).toEqual(['Nested']);
    const cdkLike = nested({ 'Fn::Join': ['', ['https://s3.eu-west-1.', { Ref: 'AWS::URLSuffix' }, `/cdk-hnb659fds-assets-222222222222-eu-west-1/${'a'.repeat(64)}.json`]] });
    expect(failures(base(), 'template', cdkLike)).toEqual({});
    const path = join(outdir, 'nested.json');
    writeFileSync(path, JSON.stringify(cdkLike));
    expect(handWrittenProblems({ ...base(), file: path }).map((p) => [p.check, p.resources])).toEqual([['nested-templates', ['Nested']]]);
    expect(handWrittenProblems({ ...base(), file: path, fileAssetKeys: [`${'a'.repeat(64)}.json`] })).toEqual([]);
  });

  it('finds a task image from a foreign registry, or one the assembly did not build', () => {
    const foreign = edit((x) => {
      x.Resources[idOf(x, 'AWS::ECS::TaskDefinition', 'api')].Properties.ContainerDefinitions[0].Image = 'docker.io/attacker/api:latest';
    });
    const taskId = idOf(foreign, 'AWS::ECS::TaskDefinition', 'api');
    expect(failures(base(), 'images', foreign).container_images_from_stage_assets).toEqual([taskId]);
    const otherTag = edit((x) => {
      const image = x.Resources[taskId].Properties.ContainerDefinitions[0].Image;
      image['Fn::Sub'] = image['Fn::Sub'].replace(/:[0-9a-f]{64}$/, `:${'0'.repeat(64)}`);
    });
    expect(failures(base(), 'images', otherTag).container_images_from_stage_assets).toEqual([taskId]);
  });

  it('finds a parameter other than BootstrapVersion', () => {
    const t = edit((x) => {
      x.Parameters.AdminPolicy = { Type: 'String', Default: 'arn:aws:iam::aws:policy/AdministratorAccess' };
    });
    expect(Object.keys(failures(base(), 'template', t))).toEqual(['only_bootstrap_parameter']);
  });

  it('finds a public or unencrypted bucket', () => {
    const t = edit((x) => {
      const bucket = x.Resources[idOf(x, 'AWS::S3::Bucket', 'AccessLogs')];
      bucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy = false;
    });
    expect(failures(base(), 's3', t).s3_bucket_private_and_encrypted).toEqual([idOf(t, 'AWS::S3::Bucket', 'AccessLogs')]);
  });

  it('finds, by hand, a VPC without flow log, a bucket without TLS policy, a web ACL without logging', () => {
    const t = edit((x) => {
      delete x.Resources[idOf(x, 'AWS::EC2::FlowLog')];
      delete x.Resources[idOf(x, 'AWS::S3::BucketPolicy')];
    });
    const path = join(outdir, 'unpointed.json');
    writeFileSync(path, JSON.stringify(t));
    expect(handWrittenProblems({ ...base(), file: path }).map((p) => [p.check, p.resources])).toEqual([
      ['vpc-flow-logs', [idOf(t, 'AWS::EC2::VPC')]],
      ['s3-ssl', [idOf(t, 'AWS::S3::Bucket', 'AccessLogs')]],
    ]);
    const waf = read(stack('Staging/EdgeWaf'));
    delete waf.Resources[idOf(waf, 'AWS::WAFv2::LoggingConfiguration')];
    const wafPath = join(outdir, 'waf.json');
    writeFileSync(wafPath, JSON.stringify(waf));
    expect(handWrittenProblems({ ...stack('Staging/EdgeWaf'), file: wafPath }).map((p) => p.check)).toEqual(['waf-logging']);
  });
});

describe('the approved profile (minimum packs and acknowledgements)', () => {
  it('an extra acknowledgement in a template fails, the shipped ones pass', () => {
    const t = read(stack('Staging/Tiers'));
    const id = idOf(t, 'AWS::SQS::Queue', 'workersskbsaupQueue');
    t.Resources[id].Metadata = { ...t.Resources[id].Metadata, cdk_nag: { rules_to_suppress: [{ id: 'NIST.800.53.R5-SQSQueueSSLRequestsOnly', reason: 'Not really.' }] } };
    const path = join(outdir, 'extra-ack.json');
    writeFileSync(path, JSON.stringify(t));
    expect(unapprovedAcknowledgements([{ ...stack('Staging/Tiers'), file: path }])).toEqual([
      `${stack('Staging/Tiers').path}: NIST.800.53.R5-SQSQueueSSLRequestsOnly acknowledged on Tiers/worker-sskbsaup/Queue/Resource is not in the allow-list (reason: Not really.)`,
    ]);
  });

  it('a changed reason fails', () => {
    const t = read(stack('Staging/Tiers'));
    const acked = Object.values<any>(t.Resources).find((r) => r.Metadata?.cdk_nag);
    acked.Metadata.cdk_nag.rules_to_suppress[0].reason = 'A different reason.';
    const path = join(outdir, 'changed-reason.json');
    writeFileSync(path, JSON.stringify(t));
    expect(unapprovedAcknowledgements([{ ...stack('Staging/Tiers'), file: path }])).toHaveLength(1);
  });

  it('requires the minimum packs in the validation report', () => {
    expect(readAllowList().minimumPacks).toEqual(['AwsSolutions', 'NIST.800.53.R5']);
    expect(missingMinimumPacks(outdir)).toEqual([]);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    report.pluginReports = report.pluginReports.filter((p: { pluginName: string }) => p.pluginName !== 'NIST.800.53.R5');
    const dir = mkdtempSync(join(outdir, 'report-'));
    writeFileSync(join(dir, 'validation-report.json'), JSON.stringify(report));
    expect(missingMinimumPacks(dir)).toEqual(['validation-report.json has no report of the minimum pack NIST.800.53.R5']);
  });
});

describe('Control Tower rule selection', () => {
  it('runs only the rule files that mention a resource type of the template, minus the disabled ones', () => {
    const rules = controlTowerRulesFor(stack('Staging/Tiers')).map((f) => f.split('/').pop());
    expect(rules).toContain('ct-cloudwatch-pr-3.guard'); // log groups
    expect(rules).toContain('ct-ecs-pr-7.guard'); // task definitions
    expect(rules).not.toContain('ct-rds-pr-1.guard'); // no database
    expect(rules).not.toContain('ct-sqs-pr-1.guard'); // disabled, with a reason
    expect(rules).not.toContain('ct-cloudwatch-pr-2.guard'); // disabled for staging only
    expect(controlTowerRulesFor(stack('Production/Tiers')).map((f) => f.split('/').pop())).toContain('ct-cloudwatch-pr-2.guard');
    for (const d of disabledControls()) expect(d.reason.length).toBeGreaterThan(60);
  });

  it('a disabled control is a real one: its rule file exists in the package', () => {
    const all = new Set(controlTowerControls());
    expect(all.size).toBe(237);
    for (const d of disabledControls()) expect(all).toContain(d.control);
  });
});
