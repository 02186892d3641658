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
    expect(results.find((r) => r.action.name === 'GuardrailValidation')).toMatchObject({
      status: 'CHECKED',
      detail: expect.stringContaining('runs as br-fagq2-guardrail-validation, which may only invoke arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator, deployed by hand'),
    });
    const prepares = results.filter((r) => r.action.stage === 'Production' && r.action.configuration.ActionMode === 'CHANGE_SET_REPLACE');
    expect(prepares.map((r) => r.action.configuration.StackName).sort()).toEqual(['Production-EdgeWaf', 'Production-Tiers']);
    for (const r of prepares) expect(r).toMatchObject({ status: 'CHECKED', detail: expect.stringMatching(/the production hook admits Production-\w+: attested \(attestations\/333333333333\/(eu-west-1|us-east-1)\/Production-/) });
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

  it('fails a production deploy whose template the validator was not asked about (a decoy stage labelled Production beside the real one, relabelled)', () => {
    const results = rehearseEdited('decoy-stage', (dir) => {
      const nested = join(dir, 'assembly-Pipeline-Production');
      const tiers = readdirSync(nested).find((f) => /^PipelineProductionTiers.*\.template\.json$/.test(f))!;
      // The decoy: the same stack name, a harmless template, under the label the request looks for.
      const decoy = JSON.parse(readFileSync(join(nested, tiers), 'utf8'));
      decoy.Resources = { Harmless: { Type: 'AWS::SNS::Topic' } };
      writeFileSync(join(nested, 'Decoy.template.json'), JSON.stringify(decoy));
      editJson(join(nested, 'manifest.json'), (manifest) => {
        const [id, real] = Object.entries<any>(manifest.artifacts).find(([, a]) => a.properties?.templateFile === tiers)!;
        real.displayName = 'Pipeline/Prod/Tiers';
        manifest.artifacts[`${id}Decoy`] = { ...structuredClone(real), displayName: 'Pipeline/Production/Tiers', properties: { ...real.properties, templateFile: 'Decoy.template.json' } };
      });
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Production\/Tiers\.Prepare: the production hook refuses Production-Tiers: no attestation for 333333333333\/eu-west-1\/Production-Tiers with this template's digest/)]);
  });

  it('fails a production deploy of a template changed after the validator was asked (the deploy action names another file)', () => {
    const results = rehearseEdited('other-template', (dir) => {
      const nested = join(dir, 'assembly-Pipeline-Production');
      const tiers = readdirSync(nested).find((f) => /^PipelineProductionTiers.*\.template\.json$/.test(f))!;
      const tampered = JSON.parse(readFileSync(join(nested, tiers), 'utf8'));
      tampered.Resources.Backdoor = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] } } };
      writeFileSync(join(nested, 'Tampered.template.json'), JSON.stringify(tampered));
      // A stack of the assembly outside the Production label, with the same stack name.
      editJson(join(nested, 'manifest.json'), (manifest) => {
        const [id, real] = Object.entries<any>(manifest.artifacts).find(([, a]) => a.properties?.templateFile === tiers)!;
        manifest.artifacts[`${id}Other`] = { ...structuredClone(real), displayName: 'Pipeline/Elsewhere/Tiers', properties: { ...real.properties, templateFile: 'Tampered.template.json' } };
      });
      const file = join(dir, 'Pipeline.template.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace(`assembly-Pipeline-Production/${tiers}`, 'assembly-Pipeline-Production/Tampered.template.json'));
    });
    expect(failures(results)).toEqual([expect.stringMatching(/^Production\/Tiers\.Prepare: the production hook refuses Production-Tiers: no attestation/)]);
  });

  it('fails GuardrailValidation when its role may invoke more than the validator, or the validator admits another caller', () => {
    const wider = rehearseEdited('validation-wider', (dir) => {
      editJson(join(dir, 'Pipeline.template.json'), (template) => {
        const { project } = pipelineParts(template, 'GuardrailValidation');
        const roleId = project.Properties.ServiceRole['Fn::GetAtt'][0];
        const policy = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: any) => x.Ref === roleId)) as any;
        for (const st of policy.Properties.PolicyDocument.Statement) if (st.Action === 'lambda:InvokeFunction') st.Resource = '*';
      });
    });
    expect(failures(wider)).toEqual([expect.stringMatching(/^Guardrail\/GuardrailValidation: its role br-fagq2-guardrail-validation may invoke \["\*"\], not exactly arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator/)]);
    const otherCaller = rehearseEdited('validator-caller', (dir) => {
      editJson(join(dir, 'Enforcement.template.json'), (template) => {
        for (const r of Object.values<any>(template.Resources)) if (r.Type === 'AWS::Lambda::Permission') r.Properties.Principal = '111111111111';
      });
    });
    expect(failures(otherCaller)).toEqual([expect.stringMatching(/^Guardrail\/GuardrailValidation: the validator \(Enforcement\) admits 111111111111, not br-fagq2-guardrail-validation of 111111111111/)]);
  });

  it('asks the production hook through an adapter: a hook that refuses fails every production deploy', () => {
    const results = rehearse({ assemblyDir: assembly, repoRoot: REPO_ROOT, cache, hook: { admits: () => ({ admitted: false, detail: 'refused by the test hook' }) } });
    expect(failures(results).sort()).toEqual([
      'Production/EdgeWaf.Prepare: the production hook refuses Production-EdgeWaf: refused by the test hook',
      'Production/Tiers.Prepare: the production hook refuses Production-Tiers: refused by the test hook',
    ]);
  });

  it('lints each template against the region its stack deploys to', () => {
    const groups = templatesByRegion(assembly);
    expect([...groups.keys()].sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(groups.get('us-east-1')!.every((t) => /EdgeWaf|cross-region|Enforcement-us-east-1/.test(t))).toBe(true);
    expect(groups.get('eu-west-1')!.some((t) => /Tiers/.test(t))).toBe(true);
  });
});

function readdirAssets(dir: string): string {
  return readdirSync(join(dir, 'assembly-Pipeline-Staging')).find((f) => /Tiers.*\.assets\.json$/.test(f))!;
}
