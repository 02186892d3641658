import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { cdkJsonContext } from './support/app';

interface NagReport {
  conclusion: string;
  violations: Array<{ ruleName: string; violatingConstructs: Array<{ constructPath: string }> }>;
  suppressedViolations: Array<{ ruleName: string; acknowledgedId: string; reason: string; violatingConstructs: Array<{ constructPath: string }> }>;
}

const outdirs: string[] = [];

/** Synthesizes the real app (optionally changed by `tamper`) and returns cdk-nag's report. */
function nagReport(tamper?: (app: App, built: ReturnType<typeof defineApp>) => void, context: Record<string, unknown> = {}): NagReport {
  const outdir = mkdtempSync(path.join(tmpdir(), 'nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...context } });
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
  return report.pluginReports.find((p: { pluginName: string }) => p.pluginName === 'AwsSolutions');
}

let report: NagReport;
beforeAll(() => {
  report = nagReport();
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
    const pipeline = report.suppressedViolations.filter((v) => v.violatingConstructs.some((c) => !/^(Pipeline\/(Staging|Production)|Guardrail)\//.test(c.constructPath)));
    expect(pipeline.length).toBeGreaterThan(20);
    for (const v of pipeline) expect(v.acknowledgedId).toMatch(/^AwsSolutions::AwsSolutions-(IAM5\[(Action|Resource)::.+\]|S1)$/);
    expect(pipeline.map((v) => v.acknowledgedId)).not.toContain('AwsSolutions::AwsSolutions-IAM5');
  });

  it("acknowledges in the guardrail stack only the token's manual rotation and its roles' reviewed wildcards", () => {
    const guardrail = report.suppressedViolations.filter((v) => v.violatingConstructs.some((c) => c.constructPath.startsWith('Guardrail/')));
    const ids = [...new Set(guardrail.map((v) => v.acknowledgedId))].sort();
    expect(ids).toContain('AwsSolutions::AwsSolutions-SMG4');
    for (const id of ids.filter((i) => i !== 'AwsSolutions::AwsSolutions-SMG4')) expect(id).toMatch(/^AwsSolutions::AwsSolutions-IAM5\[(Action|Resource)::.+\]$/);
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
