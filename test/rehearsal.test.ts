// The pipeline rehearsal on a real synth of the app, and on copies of it with
// the defects it exists to catch seeded in.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templatesByRegion } from '../pipeline/lint-templates';
import type { ActionResult } from '../pipeline/rehearsal/actions';
import { rehearse } from '../pipeline/rehearsal/cli';
import { REPO_ROOT, sharedAssembly } from './support/app';
import { assemblyCopies, editJson } from './support/assembly-copies';
import { shippedRehearsal, toolAnswers as cache, validations } from './support/validations';

let assembly: string;
// The defects are seeded into copies: the shared assembly is read only.
const copies = assemblyCopies('rehearsal-test-', () => assembly);

beforeAll(() => {
  assembly = sharedAssembly();
});
afterAll(() => copies.dispose());

/** A copy of the assembly with `edit` applied, rehearsed. */
async function rehearseEdited(name: string, edit: (dir: string) => void): Promise<ActionResult[]> {
  const dir = copies.copyEdited(name, edit);
  return rehearse({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
}

/** The pipeline resource and the CodeBuild project of a step, in a Pipeline.template.json. */
function pipelineParts(template: any, step: string) {
  const pipeline = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::CodePipeline::Pipeline') as any;
  const [projectId] = Object.entries(template.Resources).find(([, r]: [string, any]) => r.Type === 'AWS::CodeBuild::Project' && String(r.Properties.Description).endsWith(`/${step}`))!;
  return { stages: pipeline.Properties.Stages as any[], project: template.Resources[projectId], projectId };
}

const failures = (results: ActionResult[]) => results.filter((r) => r.status === 'FAIL').map((r) => `${r.action.stage}/${r.action.name}: ${r.detail}`);

describe('the pipeline rehearsal', () => {
  it('passes the synthesized pipeline, with one result per action in release order, running the publisher and the CLI', async () => {
    const { results } = await shippedRehearsal();
    expect(failures(results)).toEqual([]);
    expect(results.map((r) => r.action.stage)).toEqual(expect.arrayContaining(['Source', 'Build', 'UpdatePipeline', 'Assets', 'Staging', 'Guardrail', 'Production']));
    const assets = results.filter((r) => r.action.stage === 'Assets');
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const r of assets) expect(r).toMatchObject({ status: 'RAN', detail: expect.stringMatching(/listed .* in assembly-Pipeline-Staging/) });
    expect(results.find((r) => r.action.name === 'SelfMutate')).toMatchObject({ status: 'RAN' });
    expect(results.find((r) => r.action.name === 'GuardrailValidation')).toMatchObject({
      status: 'RAN',
      detail: expect.stringContaining('runs as br-fagq2-guardrail-validation, which may only invoke arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator, deployed by hand'),
    });
    const prepares = results.filter((r) => r.action.stage === 'Production' && r.action.configuration.ActionMode === 'CHANGE_SET_REPLACE');
    expect(prepares.map((r) => r.action.configuration.StackName).sort()).toEqual(['Production-EdgeWaf', 'Production-Tiers']);
    // The guardrail ran for real (the validator, then the hook): test/rehearsal-guardrail.test.ts.
    for (const r of prepares) expect(r).toMatchObject({ status: 'RAN', detail: expect.stringMatching(/the production hook \(run here\) admits the change set of Production-\w+: guardrail hook: stack Production-\w+ \(account 333333333333, (eu-west-1|us-east-1)\).*; admitted$/) });
  });

  it('fails every asset action when the pinned publisher cannot read the assembly\'s schema', async () => {
    const results = await rehearseEdited('schema', (dir) => {
      const manifest = join(dir, 'assembly-Pipeline-Staging', readdirAssets(dir));
      editJson(manifest, (json) => { json.version = '99.0.0'; });
    });
    const assets = results.filter((r) => r.action.stage === 'Assets');
    for (const r of assets) expect(r).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/cdk-assets cannot read .*schema version/i) });
  });

  it('fails an action that assumes a role which only a later action creates (the production checks role before production deploys)', async () => {
    const results = await rehearseEdited('role-later', (dir) => {
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

  it('fails a CodeBuild action placed before the deploys of the stage that rolls back', async () => {
    const results = await rehearseEdited('rollback-blocker', (dir) => {
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

  it('fails an action that reads a stack output which only a later action publishes', async () => {
    const results = await rehearseEdited('variable-later', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { stages } = pipelineParts(template, 'StagingDeployChecks');
        const check = stages.find((s) => s.Name === 'Staging').Actions.find((a: any) => a.Name === 'StagingDeployChecks');
        check.Configuration.EnvironmentVariables = check.Configuration.EnvironmentVariables.replaceAll('PipelineStagingTiers', 'PipelineProductionTiers').replaceAll('A5A72282', '52F4A92E');
      });
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Staging\/StagingDeployChecks: reads variables of PipelineProductionTiers52F4A92E, published later by Production\/Tiers.Deploy/)]);
  });

  it('fails when the pipeline installs another publisher version than the one pinned here', async () => {
    const results = await rehearseEdited('publisher-version', (dir) => {
      const file = join(dir, 'Pipeline.template.json');
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('cdk-assets@4.7.3', 'cdk-assets@4.7.4'));
    });
    for (const r of results.filter((x) => x.action.stage === 'Assets')) expect(r.detail).toMatch(/installs cdk-assets@4.7.4, but the rehearsal has cdk-assets@4.7.3/);
  });

  it('fails GuardrailValidation when its role may invoke more than the validator, or the validator admits another caller', async () => {
    const wider = await rehearseEdited('validation-wider', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { project } = pipelineParts(template, 'GuardrailValidation');
        const roleId = project.Properties.ServiceRole['Fn::GetAtt'][0];
        const policy = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId)) as any;
        for (const st of policy.Properties.PolicyDocument.Statement) if (st.Action === 'lambda:InvokeFunction') st.Resource = '*';
      });
    });
    expect(failures(wider)).toEqual([expect.stringMatching(/^Guardrail\/GuardrailValidation: its role br-fagq2-guardrail-validation may invoke \["\*"\], not exactly arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator/)]);
    const otherCaller = await rehearseEdited('validator-caller', (dir) => {
      editJson(join(dir, 'Enforcement.template.json'), (template) => {
        for (const r of Object.values<any>(template.Resources)) if (r.Type === 'AWS::Lambda::Permission') r.Properties.Principal = '111111111111';
      });
    });
    expect(failures(otherCaller)).toEqual([expect.stringMatching(/^Guardrail\/GuardrailValidation: the validator \(Enforcement\) admits 111111111111, not br-fagq2-guardrail-validation of 111111111111/)]);
  });

  it('lints each template against the region its stack deploys to', async () => {
    const groups = templatesByRegion(assembly);
    expect([...groups.keys()].sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(groups.get('us-east-1')!.every((t) => /EdgeWaf|cross-region|Enforcement-us-east-1/.test(t))).toBe(true);
    expect(groups.get('eu-west-1')!.some((t) => /Tiers/.test(t))).toBe(true);
  });
});

function readdirAssets(dir: string): string {
  return readdirSync(join(dir, 'assembly-Pipeline-Staging')).find((f) => /Tiers.*\.assets\.json$/.test(f))!;
}
