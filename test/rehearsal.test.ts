// The pipeline rehearsal on a real synth of the app, and on copies of it with
// the defects it exists to catch seeded in.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templatesByRegion } from '../pipeline/lint-templates';
import type { ActionResult } from '../pipeline/rehearsal/actions';
import { rehearse } from '../pipeline/rehearsal/cli';
import { REPO_ROOT, sharedAssembly } from './support/app';

let workDir: string;
let assembly: string;
/** The tools' answers by content digest: a copy whose manifests did not change reuses them. */
const cache = new Map<string, string>();

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'rehearsal-test-'));
  assembly = sharedAssembly(); // read only: the edited cases rehearse copies
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A copy of the assembly with `edit` applied, rehearsed. */
function rehearseEdited(name: string, edit: (dir: string) => void): ActionResult[] {
  const dir = join(workDir, name);
  cpSync(assembly, dir, { recursive: true });
  edit(dir);
  return rehearse({ assemblyDir: dir, repoRoot: REPO_ROOT, cache });
}

function editJson(file: string, edit: (json: any) => void): void {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  edit(json);
  writeFileSync(file, JSON.stringify(json));
}

/** The pipeline resource and the CodeBuild project of a step, in a Pipeline.template.json. */
function pipelineParts(template: any, step: string) {
  const pipeline = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::CodePipeline::Pipeline') as any;
  const [projectId] = Object.entries(template.Resources).find(([, r]: [string, any]) => r.Type === 'AWS::CodeBuild::Project' && String(r.Properties.Description).endsWith(`/${step}`))!;
  return { stages: pipeline.Properties.Stages as any[], project: template.Resources[projectId], projectId };
}

const failures = (results: ActionResult[]) => results.filter((r) => r.status === 'FAIL').map((r) => `${r.action.stage}/${r.action.name}: ${r.detail}`);

describe('the pipeline rehearsal', () => {
  it('passes the synthesized pipeline, with one result per action in release order, running the publisher and the CLI', () => {
    const results = rehearse({ assemblyDir: assembly, repoRoot: REPO_ROOT, cache });
    expect(failures(results)).toEqual([]);
    expect(results.map((r) => r.action.stage)).toEqual(expect.arrayContaining(['Source', 'Build', 'UpdatePipeline', 'Assets', 'Staging', 'Guardrail', 'Production']));
    const assets = results.filter((r) => r.action.stage === 'Assets');
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const r of assets) expect(r).toMatchObject({ status: 'RAN', detail: expect.stringMatching(/listed .* in assembly-Pipeline-Staging/) });
    expect(results.find((r) => r.action.name === 'SelfMutate')).toMatchObject({ status: 'RAN' });
  });

  it('fails every asset action when the pinned publisher cannot read the assembly\'s schema', () => {
    const results = rehearseEdited('schema', (dir) => {
      const manifest = join(dir, 'assembly-Pipeline-Staging', readdirAssets(dir));
      editJson(manifest, (json) => { json.version = '99.0.0'; });
    });
    const assets = results.filter((r) => r.action.stage === 'Assets');
    for (const r of assets) expect(r).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/cdk-assets cannot read .*schema version/i) });
  });

  it('fails an action that assumes a role which only a later action creates (the production checks role before production deploys)', () => {
    const results = rehearseEdited('role-later', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { project } = pipelineParts(template, 'ProductionHealthChecks');
        const roleId = project.Properties.ServiceRole['Fn::GetAtt'][0];
        const policy = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId)) as any;
        for (const s of policy.Properties.PolicyDocument.Statement) {
          if (s.Action === 'sts:AssumeRole') s.Resource = 'arn:aws:iam::333333333333:role/br-fagq2-production-deploy-checks';
        }
      });
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Guardrail\/ProductionHealthChecks: needs role .*br-fagq2-production-deploy-checks, which Production\/Tiers.Deploy creates later/)]);
  });

  it('fails a CodeBuild action placed before the deploys of the stage that rolls back', () => {
    const results = rehearseEdited('rollback-blocker', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { stages } = pipelineParts(template, 'ProductionHealthChecks');
        const guardrail = stages.find((s) => s.Name === 'Guardrail');
        const production = stages.find((s) => s.Name === 'Production');
        const check = guardrail.Actions.find((a: any) => a.Name === 'StagingHealthChecks');
        guardrail.Actions = guardrail.Actions.filter((a: any) => a !== check);
        for (const a of production.Actions) a.RunOrder = (a.RunOrder ?? 1) + 1;
        production.Actions.unshift({ ...check, RunOrder: 1 });
      });
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Production\/StagingHealthChecks: runs before the deploys of Production, which rolls back on failure/)]);
  });

  it('fails an action that reads a stack output which only a later action publishes', () => {
    const results = rehearseEdited('variable-later', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { stages } = pipelineParts(template, 'StagingDeployChecks');
        const check = stages.find((s) => s.Name === 'Staging').Actions.find((a: any) => a.Name === 'StagingDeployChecks');
        check.Configuration.EnvironmentVariables = check.Configuration.EnvironmentVariables.replaceAll('PipelineStagingTiers', 'PipelineProductionTiers').replaceAll('A5A72282', '52F4A92E');
      });
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Staging\/StagingDeployChecks: reads variables of PipelineProductionTiers52F4A92E, published later by Production\/Tiers.Deploy/)]);
  });

  it('fails when the pipeline installs another publisher version than the one pinned here', () => {
    const results = rehearseEdited('publisher-version', (dir) => {
      const file = join(dir, 'Pipeline.template.json');
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('cdk-assets@4.7.3', 'cdk-assets@4.7.4'));
    });
    for (const r of results.filter((x) => x.action.stage === 'Assets')) expect(r.detail).toMatch(/installs cdk-assets@4.7.4, but the rehearsal has cdk-assets@4.7.3/);
  });

  it('lints each template against the region its stack deploys to', () => {
    const groups = templatesByRegion(assembly);
    expect([...groups.keys()].sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(groups.get('us-east-1')!.every((t) => /EdgeWaf|cross-region/.test(t))).toBe(true);
    expect(groups.get('eu-west-1')!.some((t) => /Tiers/.test(t))).toBe(true);
  });
});

function readdirAssets(dir: string): string {
  return readdirSync(join(dir, 'assembly-Pipeline-Staging')).find((f) => /Tiers.*\.assets\.json$/.test(f))!;
}
