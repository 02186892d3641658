// The validator's function code as the synth stages it, run where Lambda runs it: a folder of its
// own with no repository around it (no node_modules above it), the environment its template sets
// with /var/task mapped to that folder. Inside the repository every import also resolves against
// the repository's node_modules, which hides a bundle that cannot load on its own.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../../pipeline/cloud-assembly';
import { REPO_ROOT, sharedAssembly } from '../support/app';

const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
let task: string;
let env: Record<string, string>;
let tiersTemplate: string;

beforeAll(() => {
  const assembly = sharedAssembly();
  const enforcement = listStacks(assembly).find((s) => s.artifactId === 'Enforcement')!;
  const template = JSON.parse(readFileSync(enforcement.templateFile, 'utf8'));
  const validator = Object.values(template.Resources as Record<string, any>).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === 'br-fagq2-guardrail-validator')!;
  task = join(mkdtempSync(join(tmpdir(), 'validator-task-')), 'task');
  cpSync(join(enforcement.assemblyDir, `asset.${validator.Properties.Code.S3Key.replace(/\.zip$/, '')}`), task, { recursive: true });
  const variables = validator.Properties.Environment.Variables as Record<string, unknown>;
  env = Object.fromEntries(Object.entries(variables).filter(([, v]) => typeof v === 'string').map(([k, v]) => [k, (v as string).replace(/^\/var\/task\//, `${task}/`)]));
  // What CloudFormation resolves at deploy (the key's ARN): a stand-in of the same form.
  env.SIGNING_KEY_ARN = 'arn:aws:kms:eu-west-1:333333333333:key/00000000-0000-4000-8000-000000000000';
  tiersTemplate = listStacks(assembly).find((s) => s.displayName === 'Pipeline/Production/Tiers')!.templateFile;
});
afterAll(() => rmSync(join(task, '..'), { recursive: true, force: true }));

/** Runs an ES module script with the function's environment, from the task folder. */
function runInTask(script: string): { status: number | null; stdout: string; stderr: string } {
  const file = join(task, '..', 'script.mjs');
  writeFileSync(file, script);
  const run = spawnSync(NODE, [file], { cwd: task, env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...env }, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("the validator's function code, alone in its folder", () => {
  it('loads and answers: a request it cannot read is refused with its reason, not a module error', () => {
    const run = runInTask(`
      const { handler } = await import(${JSON.stringify(join(task, 'index.mjs'))});
      console.log(JSON.stringify(await handler({ release: { commit: 'x' } }, { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator' })));
    `);
    expect(run.status, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer.passed).toBe(false);
    expect(answer.checks[0]).toMatchObject({ name: 'request', status: 'FAIL' });
    expect(answer.checks[0].detail).toMatch(/release\.commit: a full git commit id/);
  });

  it("runs cdk-nag through CfnInclude and cfn-guard with the packages, binary and rules it carries", () => {
    // CfnInclude requires each resource type's L1 module by name: the copied aws-cdk-lib must hold them all.
    const run = runInTask(`
      import { execFileSync } from 'node:child_process';
      import { readFileSync, writeFileSync } from 'node:fs';
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(join(task, 'index.mjs'))});
      const cdk = require('aws-cdk-lib');
      const { CfnInclude } = require('aws-cdk-lib/cloudformation-include');
      const nag = require('cdk-nag');
      const app = new cdk.App();
      const stack = new cdk.Stack(app, 'Tiers', { env: { account: '333333333333', region: 'eu-west-1' } });
      // As enforcement/compliance/nag.ts does: CfnInclude cannot load Fn::GetStackOutput.
      const includable = (v) => Array.isArray(v) ? v.map(includable) : v && typeof v === 'object' ? (Object.keys(v).length === 1 && v['Fn::GetStackOutput'] ? 'output' : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, includable(x)]))) : v;
      writeFileSync('tiers.json', JSON.stringify(includable(JSON.parse(readFileSync(${JSON.stringify(tiersTemplate)}, 'utf8')))));
      new CfnInclude(stack, 'Template', { templateFile: 'tiers.json' });
      // As nag.ts does: the pack validates the stack's scope.
      const errors = new nag.AwsSolutionsChecks().validateScope(stack).violations.length;
      const where = [require.resolve('aws-cdk-lib'), require.resolve('cdk-nag')].every((p) => p.startsWith(${JSON.stringify(task)}));
      let guard;
      try { execFileSync(process.env.CFN_GUARD_BINARY, ['validate', '--rules', process.env.PROJECT_RULES_DIR, '--data', ${JSON.stringify(tiersTemplate)}, '--show-summary', 'none'], { stdio: 'pipe' }); guard = 0; } catch (e) { guard = e.status ?? e.code; }
      console.log(JSON.stringify({ errors, where, guard, acknowledgements: JSON.parse(readFileSync(process.env.ACKNOWLEDGEMENTS_FILE, 'utf8')).acknowledgements.length }));
    `);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result.where).toBe(true); // resolved in the task folder, not the repository
    expect(result.errors).toBeGreaterThan(0); // the pack walked the included resources and found its known (allow-listed) findings
    // The shipped binary evaluated the shipped rules: 0 compliant, 19 a rule failed (without the
    // parameters the profile passes); not a missing binary or rules folder.
    expect([0, 19]).toContain(result.guard);
    // The validator's own allow-list (enforcement/compliance), not the commit's early-feedback copy.
    expect(result.acknowledgements).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'enforcement/compliance/acknowledgements.json'), 'utf8')).acknowledgements.length);
  });
});
