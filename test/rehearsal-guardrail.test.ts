// The rehearsal's guardrail, run for real offline on a real synth (test/support/app.ts) and on
// copies of it with issue 19's attacks seeded in: the validator's own decision
// (enforcement/validator/validate.ts) on GuardrailValidation's request, then the production hook's
// own decision (enforcement/hook/decide.ts) on each production deploy. The validator's compliance
// part takes seconds: copies whose validator inputs are unchanged reuse its run (`validations`,
// keyed by the digest of those inputs).
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEnvelope } from '../enforcement/attestation/index';
import type { ActionResult } from '../pipeline/rehearsal/actions';
import { rehearseAll } from '../pipeline/rehearsal/cli';
import type { GuardrailRehearsal } from '../pipeline/rehearsal/guardrail';
import { REPO_ROOT, sharedAssembly } from './support/app';
import { assemblyCopies, editJson } from './support/assembly-copies';
import { shippedRehearsal, toolAnswers as cache, validations } from './support/validations';

let assembly: string;
let base: { results: ActionResult[]; guardrail: GuardrailRehearsal };
// The attacks are seeded into copies: the shared assembly is read only.
const copies = assemblyCopies('rehearsal-guardrail-', () => assembly);
const copyEdited = copies.copyEdited;

beforeAll(async () => {
  assembly = sharedAssembly();
  base = await shippedRehearsal();
});
afterAll(() => copies.dispose());

const production = (dir: string) => join(dir, 'assembly-Pipeline-Production');
const templateOf = (dir: string, stack: 'Tiers' | 'EdgeWaf') => readdirSync(production(dir)).find((f) => new RegExp(`^PipelineProduction${stack}.*\\.template\\.json$`).test(f))!;
const lineOf = (results: ActionResult[], name: string) => results.find((r) => `${r.action.stage}/${r.action.name}` === name)!;
const failures = (results: ActionResult[]) => results.filter((r) => r.status === 'FAIL').map((r) => `${r.action.stage}/${r.action.name}`).sort();
const PRODUCTION_DEPLOYS = ['Production/EdgeWaf.Deploy', 'Production/EdgeWaf.Prepare', 'Production/Tiers.Deploy', 'Production/Tiers.Prepare'];

/** The administrator role trusting anyone of issue 19's decoy attack. */
const breakGlass = {
  Type: 'AWS::IAM::Role',
  Properties: {
    AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] },
    ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
  },
};

describe('the rehearsal runs the guardrail offline', () => {
  it('validates the unmodified release with the validator itself and the hook admits every production change set and stack update', () => {
    const { results, guardrail } = base;
    expect(failures(results)).toEqual([]);
    const run = guardrail.validation!;
    expect(run.response.passed).toBe(true);
    expect(run.response.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['request', 'release', 'staging-release', 'template-parity', 'images', 'file-assets', 'hook-management', 'compliance-nag', 'compliance-project-rules', 'compliance-control-tower']));
    // One RAN line per check, after the line saying how the release was fed.
    expect(guardrail.lines[0]).toMatch(/^RAN +guardrail validation .*release "test-version" is no commit id .*rehearsed as commit [0-9a-f]{40}/);
    expect(guardrail.lines.slice(1)).toEqual(run.response.checks.map((c) => expect.stringMatching(new RegExp(`^RAN +guardrail validation ${c.name}: `))));
    expect(lineOf(results, 'Guardrail/GuardrailValidation')).toMatchObject({ status: 'RAN', detail: expect.stringContaining(`the validator (run here) passed release ${run.release.commit}`) });
    for (const name of PRODUCTION_DEPLOYS) {
      expect(lineOf(results, name)).toMatchObject({ status: 'RAN', detail: expect.stringMatching(/the production hook \(run here\) admits the (change set|stack update) of Production-\w+: .*attested by release [0-9a-f]{40} .*; admitted$/) });
    }
    // What the hook admitted on is a DSSE envelope that verifies with the public key, naming each production template.
    const [tiersKey] = [...run.store.keys()].filter((k) => k.startsWith('attestations/333333333333/eu-west-1/Production-Tiers/'));
    const { statement } = verifyEnvelope(run.store.get(tiersKey!)!, [run.trustedKey]);
    expect(statement.subject.map((s) => s.name)).toEqual(expect.arrayContaining(['cloudformation:333333333333:eu-west-1:Production-Tiers', 'cloudformation:333333333333:us-east-1:Production-EdgeWaf']));
    expect(statement.predicate.release.commit).toBe(run.release.commit);
  });

  it('feeds a release synthesized with a commit id (as the pipeline\'s Synth does) to the validator as it is', async () => {
    const commit = 'c0ffee0000000000000000000000000000000001';
    const dir = copyEdited('commit-release', (d) => {
      for (const nested of ['assembly-Pipeline-Staging', 'assembly-Pipeline-Production']) {
        for (const f of readdirSync(join(d, nested)).filter((x) => x.endsWith('.template.json'))) {
          const file = join(d, nested, f);
          writeFileSync(file, readFileSync(file, 'utf8').replaceAll('"test-version"', JSON.stringify(commit)));
        }
      }
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    expect(guardrail.lines[0]).toMatch(new RegExp(`release ${commit} as synthesized$`));
    expect(guardrail.validation!.release.commit).toBe(commit);
    expect(failures(results)).toEqual([]);
  });

  it('refuses the real deploy when a decoy stage labelled Pipeline/Production stands beside the real one, relabelled (the deploy action\'s template is not the attested one)', async () => {
    const dir = copyEdited('decoy-stage', (d) => {
      const tiers = templateOf(d, 'Tiers');
      // The decoy: the clean template, under the label the request looks for.
      cpSync(join(production(d), tiers), join(production(d), 'Decoy.template.json'));
      // The real one, which the pipeline's deploy action names: an administrator role trusting anyone.
      editJson(join(production(d), tiers), (t) => (t.Resources.BreakGlass = breakGlass));
      editJson(join(production(d), 'manifest.json'), (manifest) => {
        const [id, real] = Object.entries<any>(manifest.artifacts).find(([, a]) => a.properties?.templateFile === tiers)!;
        real.displayName = 'Pipeline/Prod/Tiers';
        manifest.artifacts[`${id}Decoy`] = { ...structuredClone(real), displayName: 'Pipeline/Production/Tiers', properties: { ...real.properties, templateFile: 'Decoy.template.json' } };
      });
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    // The validator was asked about the decoy, which is the clean release: it passes (the same run as the unmodified one).
    expect(guardrail.validation).toBe(base.guardrail.validation);
    expect(lineOf(results, 'Guardrail/GuardrailValidation').status).toBe('RAN');
    expect(failures(results)).toEqual(['Production/Tiers.Deploy', 'Production/Tiers.Prepare']);
    expect(lineOf(results, 'Production/Tiers.Prepare').detail).toMatch(/refuses the change set of Production-Tiers: guardrail hook: stack Production-Tiers \(account 333333333333, eu-west-1\), template sha256 [0-9a-f]{64}: no attestation/);
  });

  it('refuses a production template changed by one byte after it was validated', async () => {
    const dir = copyEdited('one-byte', (d) => {
      const file = join(production(d), templateOf(d, 'Tiers'));
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, `${text.slice(0, 1)} ${text.slice(1)}`);
    });
    // The hooks decide on the validation of the release as it was (the template changes between the two).
    const { results } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validation: base.guardrail.validation });
    expect(failures(results)).toEqual(['Production/Tiers.Deploy', 'Production/Tiers.Prepare']);
    expect(lineOf(results, 'Production/Tiers.Deploy').detail).toMatch(/refuses the stack update of Production-Tiers: .*no attestation \(s3 key attestations\/333333333333\/eu-west-1\/Production-Tiers\//);
    expect(lineOf(results, 'Production/EdgeWaf.Prepare').status).toBe('RAN');
  });

  it('refuses the production deploy whose file asset changed between validation and deploy (the object the file-publishing role overwrote)', async () => {
    const key = /"S3Key":\s*"([0-9a-f]{64})\.zip"/.exec(readFileSync(join(production(assembly), templateOf(assembly, 'Tiers')), 'utf8'))![1]!;
    const dir = copyEdited('file-asset', (d) => {
      const code = join(d, `asset.${key}`);
      const file = join(code, readdirSync(code).sort()[0]!);
      writeFileSync(file, `${readFileSync(file, 'utf8')}\n;globalThis.exfiltrate = true;\n`);
    });
    const { results } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validation: base.guardrail.validation });
    expect(failures(results)).toEqual(['Production/Tiers.Deploy', 'Production/Tiers.Prepare']);
    expect(lineOf(results, 'Production/Tiers.Prepare').detail).toMatch(new RegExp(`file asset s3://cdk-hnb659fds-assets-333333333333-eu-west-1/${key}\\.zip \\(\\w+\\) has sha256 [0-9a-f]{64}, not the attested [0-9a-f]{64}: it was written after validation`));
    expect(lineOf(results, 'Production/EdgeWaf.Deploy').status).toBe('RAN');
  });

  it('fails validation of a production template with an administrator role trusting "AWS": "*": nothing is attested and no production deploy is admitted', async () => {
    const dir = copyEdited('public-admin', (d) => editJson(join(production(d), templateOf(d, 'Tiers')), (t) => (t.Resources.BreakGlass = breakGlass)));
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    const run = guardrail.validation!;
    expect(run.response.passed).toBe(false);
    expect(run.store.size).toBe(0);
    expect(run.response.checks.find((c) => c.name === 'compliance-project-rules')).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/iam_no_public_trust on BreakGlass/) });
    expect(guardrail.lines).toContainEqual(expect.stringMatching(/^FAIL +guardrail validation compliance-project-rules: /));
    expect(failures(results)).toEqual(['Guardrail/GuardrailValidation', ...PRODUCTION_DEPLOYS].sort());
    expect(lineOf(results, 'Guardrail/GuardrailValidation').detail).toMatch(/the validator \(run here\) refused release [0-9a-f]{40}, nothing attested: .*compliance-project-rules/);
    for (const name of PRODUCTION_DEPLOYS) expect(lineOf(results, name).detail).toMatch(/: no attestation/);
  });

  it('fails validation of a production-only change outside the allowances (another OIDC issuer): no production deploy is admitted', async () => {
    const dir = copyEdited('production-only', (d) => {
      const file = join(production(d), templateOf(d, 'Tiers'));
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('https://auth.example.com/');
      writeFileSync(file, text.replaceAll('https://auth.example.com/', 'https://attacker.example.net/'));
    });
    const { results, guardrail } = await rehearseAll({ assemblyDir: dir, repoRoot: REPO_ROOT, cache, validations });
    const run = guardrail.validation!;
    expect(run.response.passed).toBe(false);
    expect(run.store.size).toBe(0);
    expect(run.response.checks.find((c) => c.name === 'template-parity')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('https://attacker.example.net/') });
    expect(failures(results)).toEqual(['Guardrail/GuardrailValidation', ...PRODUCTION_DEPLOYS].sort());
  });
});
