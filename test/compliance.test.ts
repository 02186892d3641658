import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { addComplianceChecks } from '../lib/compliance';
import { parseConfig } from '../lib/config';
import { newApp, shippedConfig } from './support/app';

interface NagReport {
  conclusion: string;
  violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  suppressedViolations: Array<{ ruleName: string; acknowledgedId: string; reason: string; violatingConstructs: Array<{ constructPath: string }> }>;
}

const outdirs: string[] = [];

/** Synthesizes the real app (optionally changed by `tamper`) and returns the report of one cdk-nag pack. */
function nagReport(tamper?: (app: App, built: ReturnType<typeof defineApp>) => void, context: Record<string, unknown> = {}, pack = 'AwsSolutions'): NagReport {
  const outdir = mkdtempSync(path.join(tmpdir(), 'nag-'));
  outdirs.push(outdir);
  const app = newApp(context, outdir);
  const built = defineApp(app, 'test-version');
  tamper?.(app, built);
  const exitCode = process.exitCode;
  try {
    app.synth();
  } catch (e) {
    // In a test process a failing validation throws; the report is written first.
    if ((e as Error).name !== 'ValidationFailed') throw e;
  } finally {
    process.exitCode = exitCode; // outside tests a failing validation sets it instead
  }
  const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  lastReports = report.pluginReports;
  return report.pluginReports.find((p: { pluginName: string }) => p.pluginName === pack);
}

let report: NagReport;
let lastReports: Array<NagReport & { pluginName: string }> = [];
let nist: NagReport;
beforeAll(() => {
  report = nagReport();
  nist = lastReports.find((p) => p.pluginName === 'NIST.800.53.R5')!;
});
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding on any stack', () => {
    expect(report.violations).toEqual([]);
    expect(report.conclusion).toBe('success');
  });

  it('acknowledges in each stage only the expected findings, one finding on one construct each, with a reason', () => {
    const acknowledgedIn = (stage: string) =>
      report.suppressedViolations
        .flatMap((v) => v.violatingConstructs.map((c) => ({ id: v.acknowledgedId, path: c.constructPath })))
        .filter(({ path }) => path.startsWith(`Pipeline/${stage}/`))
        .map(({ id, path }) => `${id} @ ${path.slice(`Pipeline/${stage}/`.length)}`)
        .sort();
    const expected = (account: string) =>
      [
        'AwsSolutions::AwsSolutions-CFR1 @ Tiers/edge-tc9rbe2m6/Distribution/Resource',
        'AwsSolutions::AwsSolutions-CFR4 @ Tiers/edge-tc9rbe2m6/Distribution/Resource',
        'AwsSolutions::AwsSolutions-ECS2 @ Tiers/api-id6pe9zboa/Task/Resource',
        'AwsSolutions::AwsSolutions-ECS2 @ Tiers/worker-sskbsaup/Task/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/api-id6pe9zboa/Task/ExecutionRole/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/worker-sskbsaup/Task/ExecutionRole/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/DeployChecks/Role/DefaultPolicy/Resource',
        `AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:eu-west-1:${account}:task/<ClusterEB0386A7>/*] @ Tiers/worker-sskbsaup/Task/TaskRole/DefaultPolicy/Resource`,
        'AwsSolutions::AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/snapshots/*] @ Tiers/api-id6pe9zboa/Task/TaskRole/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/raw/*] @ Tiers/worker-sskbsaup/Task/TaskRole/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/snapshots/*] @ Tiers/worker-sskbsaup/Task/TaskRole/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::<DataBucketE6B0FAA8.Arn>/raw/_probe/*] @ Tiers/DeployChecks/Role/DefaultPolicy/Resource',
        `AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:eu-west-1:${account}:service-deployment/<ClusterEB0386A7>/<apiid6pe9zboaService27E2EBC6.Name>/*] @ Tiers/DeployChecks/Role/DefaultPolicy/Resource`,
        // Progressive delivery of the API (both stages deploy blue/green or canary).
        'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers] @ Tiers/api-id6pe9zboa/Service/AlternateTargetRole/Resource',
        'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/api-id6pe9zboa/ReleaseChecks/Role/DefaultPolicy/Resource',
        'AwsSolutions::AwsSolutions-L1 @ Tiers/api-id6pe9zboa/ReleaseChecks/Function/Resource',
      ].sort();
    expect(acknowledgedIn('Staging')).toEqual(expected('222222222222'));
    expect(acknowledgedIn('Production')).toEqual(expected('333333333333'));
    for (const v of report.suppressedViolations) expect(v.reason.length).toBeGreaterThan(40);
  });

  it('acknowledges the pipeline’s generated wildcards finding by finding, never a whole rule', () => {
    const pipeline = report.suppressedViolations.filter((v) => v.violatingConstructs.some((c) => !/^(Pipeline\/(Staging|Production)|Enforcement[^/]*)\//.test(c.constructPath)));
    expect(pipeline.length).toBeGreaterThan(20);
    // The one finding of another rule: the delivery-metrics function runs on .nvmrc's Node.js major (as the release checks do).
    const runtime = pipeline.filter((v) => v.acknowledgedId === 'AwsSolutions::AwsSolutions-L1');
    expect(runtime.flatMap((v) => v.violatingConstructs.map((c) => c.constructPath))).toEqual(['Pipeline/DeliveryMetrics/Function/Resource']);
    for (const v of pipeline.filter((v) => !runtime.includes(v))) expect(v.acknowledgedId).toMatch(/^AwsSolutions::AwsSolutions-(IAM5\[(Action|Resource)::.+\]|S1)$/);
    expect(pipeline.map((v) => v.acknowledgedId)).not.toContain('AwsSolutions::AwsSolutions-IAM5');
  });

  it('acknowledges in the enforcement stacks only reviewed findings: the runtime, the deployment handler\'s managed policy, and wildcards finding by finding', () => {
    const enforcement = report.suppressedViolations.filter((v) => v.violatingConstructs.some((c) => /^Enforcement[^/]*\//.test(c.constructPath)));
    const ids = [...new Set(enforcement.map((v) => v.acknowledgedId))].sort();
    expect(ids).toContain('AwsSolutions::AwsSolutions-L1');
    for (const id of ids.filter((i) => i !== 'AwsSolutions::AwsSolutions-L1')) {
      expect(id).toMatch(/^AwsSolutions::AwsSolutions-(IAM5\[(Action|Resource)::.+\]|IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/service-role\/AWSLambdaBasicExecutionRole\])$/);
    }
    // The signing key, its policy and the validator's invoke permission carry no acknowledgement.
    expect(enforcement.filter((v) => v.violatingConstructs.some((c) => /SigningKey|Permission/.test(c.constructPath)))).toEqual([]);
  });

  it('fails on a new finding that nobody acknowledged, in a stage or in the pipeline', () => {
    const rulesAt = (r: NagReport, path: string) => r.violations.filter((v) => v.violatingConstructs.some((c) => c.constructPath.includes(path))).map((v) => v.ruleName);
    // A stage's stacks are synthesized when the pipeline adds them: tamper with a stage in sandbox mode.
    const inStage = nagReport((_app, { staging }) => new s3.Bucket(staging.tiersStack, 'CarelessBucket'), { sandbox: 'true' });
    expect(inStage.conclusion).toBe('failure');
    expect(rulesAt(inStage, 'CarelessBucket')).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));

    const inPipeline = nagReport((_app, { pipelineStack }) => {
      const role = new iam.Role(pipelineStack!, 'CarelessRole', { assumedBy: new iam.AccountRootPrincipal() });
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    });
    expect(inPipeline.conclusion).toBe('failure');
    expect(rulesAt(inPipeline, 'CarelessRole')).toEqual(expect.arrayContaining(['AwsSolutions-IAM5[Action::s3:*]', 'AwsSolutions-IAM5[Resource::*]']));
  });
});

describe('cdk-nag NIST 800-53 R5 (default profile)', () => {
  it('reports no unacknowledged finding on any stack', () => {
    expect(nist.violations).toEqual([]);
    expect(nist.conclusion).toBe('success');
  });

  it('acknowledges in each stage only the expected findings, with a reason', () => {
    const acknowledgedIn = (stage: string) =>
      nist.suppressedViolations
        .flatMap((v) => v.violatingConstructs.map((c) => ({ id: v.acknowledgedId.replace('NIST.800.53.R5::NIST.800.53.R5-', ''), path: c.constructPath })))
        .filter(({ path }) => path.startsWith(`Pipeline/${stage}/`))
        .map(({ id, path }) => `${id} @ ${path.slice(`Pipeline/${stage}/`.length)}`)
        .sort();
    const common = [
      'ALBHttpToHttpsRedirection @ Tiers/api-id6pe9zboa/LoadBalancer/Http/Resource',
      'ALBHttpToHttpsRedirection @ Tiers/api-id6pe9zboa/LoadBalancer/Test/Resource',
      'ALBWAFEnabled @ Tiers/api-id6pe9zboa/LoadBalancer/Resource',
      'DynamoDBInBackupPlan @ Tiers/Jobs/Table/Resource',
      'ELBv2ACMCertificateRequired @ Tiers/api-id6pe9zboa/LoadBalancer/Http/Resource',
      'ELBv2ACMCertificateRequired @ Tiers/api-id6pe9zboa/LoadBalancer/Test/Resource',
      'IAMNoInlinePolicy @ Tiers/DeployChecks/Role/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/Network/Vpc/all/IAMRole/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/SchedulerRoleForTarget-5e30e6/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/api-id6pe9zboa/ReleaseChecks/Role/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/api-id6pe9zboa/ReleaseChecksHookRole/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/api-id6pe9zboa/Task/ExecutionRole/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/api-id6pe9zboa/Task/TaskRole/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/worker-sskbsaup/Task/ExecutionRole/DefaultPolicy/Resource',
      'IAMNoInlinePolicy @ Tiers/worker-sskbsaup/Task/TaskRole/DefaultPolicy/Resource',
      'LambdaConcurrency @ Tiers/api-id6pe9zboa/ReleaseChecks/Function/Resource',
      'LambdaDLQ @ Tiers/api-id6pe9zboa/ReleaseChecks/Function/Resource',
      'S3BucketReplicationEnabled @ Tiers/AccessLogs/Bucket/Resource',
      'S3BucketReplicationEnabled @ Tiers/Data/Bucket/Resource',
      'S3DefaultEncryptionKMS @ Tiers/AccessLogs/Bucket/Resource',
      'VPCNoUnrestrictedRouteToIGW @ Tiers/Network/Vpc/edgeSubnet1/DefaultRoute',
      'VPCNoUnrestrictedRouteToIGW @ Tiers/Network/Vpc/edgeSubnet2/DefaultRoute',
      'VPCNoUnrestrictedRouteToIGW @ Tiers/Network/Vpc/edgeSubnet3/DefaultRoute',
    ];
    expect(acknowledgedIn('Production')).toEqual(common);
    expect(acknowledgedIn('Staging')).toEqual(common);
    for (const v of nist.suppressedViolations) expect(v.reason.length).toBeGreaterThan(40);
  });

  it('writes every acknowledgement into the templates (cdk_nag metadata), where the guardrail checks them', () => {
    const tiers = readdirSync(path.join(outdirs[0], 'assembly-Pipeline-Production')).find((f) => /^PipelineProductionTiers.*\.template\.json$/.test(f))!;
    const template = JSON.parse(readFileSync(path.join(outdirs[0], 'assembly-Pipeline-Production', tiers), 'utf8'));
    const bucket = Object.entries<any>(template.Resources).find(([id, r]) => id.startsWith('AccessLogsBucket') && r.Type === 'AWS::S3::Bucket')![1];
    expect(bucket.Metadata.cdk_nag.rules_to_suppress.map((r: { id: string }) => r.id)).toEqual(
      expect.arrayContaining(['NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS', 'NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled']),
    );
  });
});

describe('compliance profile in configuration', () => {
  const withPacks = (packs: unknown) => ({ ...shippedConfig(), compliance: { packs } });

  it('defaults to AwsSolutions, NIST 800-53 R5 and Control Tower', () => {
    const { compliance: _omitted, ...rest } = { ...shippedConfig(), compliance: undefined };
    expect(parseConfig(rest).compliance).toEqual({ packs: ['AwsSolutions', 'NIST80053R5', 'ControlTower'], minLogRetentionDays: 30 });
  });

  it('never removes a minimum pack, and offers no pack it has no acknowledgements for', () => {
    expect(() => parseConfig(withPacks(['AwsSolutions', 'ControlTower']))).toThrow(/compliance\.packs: expected the minimum packs AwsSolutions, NIST80053R5, ControlTower/);
    expect(() => parseConfig(withPacks(['AwsSolutions', 'NIST80053R5', 'ControlTower', 'Made-up']))).toThrow(/compliance\.packs: unknown pack 'Made-up'/);
    for (const pack of ['NIST80053R4', 'HIPAASecurity', 'PCIDSS321']) {
      expect(() => parseConfig(withPacks(['AwsSolutions', 'NIST80053R5', 'ControlTower', pack]))).toThrow(new RegExp(`compliance\\.packs: ${pack} is not offered`));
    }
  });

  it('runs every cdk-nag pack of the profile at synth', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'packs-'));
    outdirs.push(outdir);
    const app = new App({ outdir });
    new s3.Bucket(new Stack(app, 'Tiny'), 'Bucket'); // a finding for every pack: a pack with none may be left out of the report
    addComplianceChecks(app, ['AwsSolutions', 'NIST80053R5', 'ControlTower']);
    try {
      app.synth();
    } catch (e) {
      if ((e as Error).name !== 'ValidationFailed') throw e;
    }
    const names = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')).pluginReports.map((p: { pluginName: string }) => p.pluginName);
    expect(names).toEqual(expect.arrayContaining(['AwsSolutions', 'NIST.800.53.R5']));
    expect(names).not.toContain('ControlTower'); // run by `npm run compliance`, not at synth
  });
});

