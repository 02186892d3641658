import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
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
function nagReport(tamper?: (app: App, built: ReturnType<typeof defineApp>) => void): NagReport {
  const outdir = mkdtempSync(path.join(tmpdir(), 'nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: cdkJsonContext(), builtinCloudFormationValidation: false });
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

  it('acknowledges only the expected findings, one finding on one construct each, with a reason', () => {
    const acknowledged = report.suppressedViolations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.acknowledgedId} @ ${c.constructPath.replace(/^(Staging|Production)\//, '')}`),
    );
    const perStage = [
      'AwsSolutions::AwsSolutions-CFR1 @ Tiers/edge-tc9rbe2m6/Distribution/Resource',
      'AwsSolutions::AwsSolutions-CFR4 @ Tiers/edge-tc9rbe2m6/Distribution/Resource',
      'AwsSolutions::AwsSolutions-ECS2 @ Tiers/api-id6pe9zboa/Task/Resource',
      'AwsSolutions::AwsSolutions-ECS2 @ Tiers/worker-sskbsaup/Task/Resource',
      'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/api-id6pe9zboa/Task/ExecutionRole/DefaultPolicy/Resource',
      'AwsSolutions::AwsSolutions-IAM5[Resource::*] @ Tiers/worker-sskbsaup/Task/ExecutionRole/DefaultPolicy/Resource',
      'AwsSolutions::AwsSolutions-S1 @ Tiers/AccessLogs/Bucket/Resource',
    ];
    const taskProtection = (account: string) =>
      `AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ecs:eu-west-1:${account}:task/<ClusterEB0386A7>/*] @ Tiers/worker-sskbsaup/Task/TaskRole/DefaultPolicy/Resource`;
    expect(acknowledged.sort()).toEqual([...perStage, ...perStage, taskProtection('222222222222'), taskProtection('333333333333')].sort());
    for (const v of report.suppressedViolations) expect(v.reason.length).toBeGreaterThan(40);
  });

  it('fails on a new finding that nobody acknowledged', () => {
    const tampered = nagReport((_app, { staging }) => {
      new s3.Bucket(staging.tiersStack, 'CarelessBucket');
    });
    expect(tampered.conclusion).toBe('failure');
    const rules = tampered.violations.filter((v) => v.violatingConstructs.some((c) => c.constructPath.includes('CarelessBucket'))).map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });
});
