// The rehearsal's IAM step on the guardrail's enforcement in the production account: the
// validator's invocation and reads, the hooks at every production stack operation, the enforcement's
// own deploy through its `grdenf` bootstrap, and enforcement/scp.json applied to the production
// account. The shipped assembly passes; copies with one defect seeded each fail with the statement
// that decided.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../pipeline/cloud-assembly';
import { buildWorld, type IamActionResult, type IamOptions, rehearseIam, releaseCalls, releaseScps } from '../pipeline/rehearsal/iam/index';
import type { Call } from '../pipeline/rehearsal/iam/calls';
import { readPipeline } from '../pipeline/rehearsal/model';
import { REPO_ROOT, sharedAssembly } from './support/app';
import { assemblyCopies, editJson } from './support/assembly-copies';
import { shippedIam } from './support/validations';

let assembly: string;
// The defects are seeded into copies: the shared assembly is read only.
const copies = assemblyCopies('rehearsal-iam-enforcement-', () => assembly);
const workDir = copies.dir;

beforeAll(() => {
  assembly = sharedAssembly();
});
afterAll(() => copies.dispose());

/** A copy of the assembly with `edit` applied to the template of its stack `displayName`. */
function copyEdited(name: string, displayName: string, edit: (template: any) => void): string {
  return copies.copyEdited(name, (dir) => editJson(listStacks(dir).find((s) => s.displayName === displayName)!.templateFile, edit));
}

const options = (extra: Partial<IamOptions> = {}): IamOptions => ({ repoRoot: REPO_ROOT, scpDir: join(workDir, 'no-scps'), ...extra });
const rehearse = (dir: string, extra: Partial<IamOptions> = {}) => rehearseIam(readPipeline(dir), options(extra));
const of = (results: IamActionResult[], action: string) => results.find((r) => r.action === action)!;
const denials = (results: IamActionResult[], match: (c: Call) => boolean) => results.flatMap((r) => r.denied).filter((d) => match(d.call));

const PROD = '333333333333';
const VALIDATOR_ROLE = `arn:aws:iam::${PROD}:role/br-fagq2-guardrail-validator`;
const VALIDATOR = `arn:aws:lambda:eu-west-1:${PROD}:function:br-fagq2-guardrail-validator`;
const VALIDATION_ROLE = 'arn:aws:iam::111111111111:role/br-fagq2-guardrail-validation';
const GRDENF_EXEC = `arn:aws:iam::${PROD}:role/cdk-grdenf-cfn-exec-role-${PROD}-eu-west-1`;
const ADMIN = `arn:aws:iam::${PROD}:role/br-fagq2-guardrail-administrator`;
const PIPELINE_EXEC = `arn:aws:iam::${PROD}:role/cdk-hnb659fds-cfn-exec-role-${PROD}-eu-west-1`;
const PIPELINE_DEPLOY = `arn:aws:iam::${PROD}:role/cdk-hnb659fds-deploy-role-${PROD}-eu-west-1`;
const ENFORCEMENT_ACTIONS = ['Guardrail/GuardrailValidation', 'hand/Enforcement', 'hand/Enforcement-us-east-1', 'Production/Tiers.Prepare', 'Production/Tiers.Deploy', 'Production/EdgeWaf.Prepare', 'Production/EdgeWaf.Deploy'];

describe("the rehearsal's IAM evaluation of the enforcement", () => {
  it('evaluates every enforcement call on the shipped assembly, under the SCP, and denies none', async () => {
    const model = readPipeline(assembly);
    const world = buildWorld(model, REPO_ROOT);
    const calls = releaseCalls(model, world, options());
    const has = (action: string, principal: string, permission: string, resource: RegExp | string) =>
      expect(calls.some((c) => c.action === action && c.principal === principal && c.permission === permission && (typeof resource === 'string' ? c.resource === resource : resource.test(c.resource))), `${action} ${principal} ${permission} ${resource}`).toBe(true);
    const lookup = 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1';
    const v = 'Guardrail/GuardrailValidation';
    has(v, VALIDATION_ROLE, 'lambda:InvokeFunction', VALIDATOR);
    has(v, VALIDATOR_ROLE, 'sts:AssumeRole', lookup);
    has(v, lookup, 'cloudformation:GetTemplate', 'arn:aws:cloudformation:eu-west-1:222222222222:stack/Staging-Tiers/*');
    has(v, lookup, 'cloudformation:ListStackResources', 'arn:aws:cloudformation:us-east-1:222222222222:stack/Staging-EdgeWaf/*');
    has(v, lookup, 'ecs:ListServiceDeployments', /^arn:aws:ecs:eu-west-1:222222222222:service\//);
    has(v, lookup, 'ecs:DescribeServiceRevisions', /^arn:aws:ecs:eu-west-1:222222222222:service-revision\//);
    has(v, VALIDATOR_ROLE, 'ecr:DescribeImages', `arn:aws:ecr:eu-west-1:${PROD}:repository/cdk-hnb659fds-container-assets-${PROD}-eu-west-1`);
    has(v, VALIDATOR_ROLE, 's3:GetObject', new RegExp(`^arn:aws:s3:::cdk-hnb659fds-assets-${PROD}-eu-west-1/[0-9a-f]{64}\\.zip$`));
    has(v, VALIDATOR_ROLE, 'kms:Sign', new RegExp(`^arn:aws:kms:eu-west-1:${PROD}:key/`));
    has(v, VALIDATOR_ROLE, 's3:PutObject', new RegExp(`^arn:aws:s3:::br-fagq2-attestations-${PROD}-eu-west-1/attestations/${PROD}/us-east-1/Production-EdgeWaf/[0-9a-f]{64}\\.dsse\\.json$`));
    for (const [action, region] of [['Production/Tiers.Prepare', 'eu-west-1'], ['Production/EdgeWaf.Deploy', 'us-east-1']]) {
      has(action, 'hooks.cloudformation.amazonaws.com', 'sts:AssumeRole', new RegExp(`^arn:aws:iam::${PROD}:role/`));
      const invoke = calls.find((c) => c.action === action && c.permission === 'lambda:InvokeFunction' && c.resource === `arn:aws:lambda:${region}:${PROD}:function:br-fagq2-guardrail-hook`);
      expect(invoke?.principal, action).toMatch(new RegExp(`^arn:aws:iam::${PROD}:role/`));
    }
    // the hook re-reads each file asset the production template names, from its region's asset bucket, at each operation
    for (const action of ['Production/Tiers.Prepare', 'Production/Tiers.Deploy']) {
      const reads = calls.filter((c) => c.action === action && c.permission === 's3:GetObject' && c.resource.startsWith(`arn:aws:s3:::cdk-hnb659fds-assets-${PROD}-eu-west-1/`));
      expect(reads.map((c) => c.resource), action).toEqual([expect.stringMatching(/\/[0-9a-f]{64}\.zip$/), expect.stringMatching(/\/[0-9a-f]{64}\.zip$/)]);
      for (const c of reads) expect(c.principal, action).toMatch(new RegExp(`^arn:aws:iam::${PROD}:role/`));
    }
    expect(calls.filter((c) => c.action === 'Production/EdgeWaf.Prepare' && c.permission === 'kms:GetPublicKey').map((c) => c.context['kms:ResourceAliases'])).toEqual([['alias/br-fagq2-guardrail-signing-k1']]);
    // the Guard hook runs on STACK operations only: Deploy, not Prepare
    expect(calls.some((c) => c.action === 'Production/Tiers.Deploy' && c.permission === 's3:GetObjectVersion')).toBe(true);
    expect(calls.some((c) => c.action === 'Production/Tiers.Prepare' && c.permission === 's3:GetObjectVersion')).toBe(false);
    // the enforcement is deployed through its own bootstrap: the administrator assumes grdenf's deploy role
    has('hand/Enforcement', ADMIN, 'sts:AssumeRole', `arn:aws:iam::${PROD}:role/cdk-grdenf-deploy-role-${PROD}-eu-west-1`);
    has('hand/Enforcement', GRDENF_EXEC, 'kms:PutKeyPolicy', new RegExp(`^arn:aws:kms:eu-west-1:${PROD}:key/`));
    has('hand/Enforcement', GRDENF_EXEC, 'cloudformation:ActivateType', '*');
    // every production call carries the region the SCP's region deny reads
    for (const c of calls.filter((x) => x.principal.includes(`::${PROD}:`))) expect(c.context['aws:RequestedRegion'], `${c.permission} ${c.resource}`).toMatch(/^(eu-west-1|us-east-1)$/);

    expect(releaseScps(options()).map((s) => [s.name, s.accounts])).toEqual([['enforcement/scp.json', [PROD]]]);
    expect(JSON.stringify(releaseScps(options())[0].policy)).toContain(':role/br-fagq2-guardrail-administrator');
    const results = await shippedIam();
    for (const action of ENFORCEMENT_ACTIONS) {
      expect(of(results, action).evaluated, action).toBeGreaterThan(0);
      expect(of(results, action).denied.map((d) => `${d.call.principal} ${d.call.permission} ${d.call.resource}: ${d.decidedBy}`), action).toEqual([]);
    }
  });

  it("the SCP denies the pipeline's execution and deploy roles hook management and changes to the enforcement's stacks; not the administrator", async () => {
    const stack = (name: string, region = 'eu-west-1') => `arn:aws:cloudformation:${region}:${PROD}:stack/${name}/*`;
    const tries = (principal: string): Call[] => [
      ...['cloudformation:SetTypeConfiguration', 'cloudformation:ActivateType', 'cloudformation:DeactivateType'].map((permission) => ({ principal, permission, resource: '*' })),
      { principal, permission: 'cloudformation:UpdateStack', resource: stack('br-fagq2-guardrail-enforcement') },
      { principal, permission: 'cloudformation:CreateChangeSet', resource: stack('br-fagq2-guardrail-enforcement-us-east-1', 'us-east-1') },
      { principal, permission: 'cloudformation:UpdateStack', resource: stack('CDKToolkit-grdenf') },
      { principal, permission: 'iam:PutRolePolicy', resource: VALIDATOR_ROLE },
    ].map((c) => ({ ...c, action: `try/${principal.split('/').pop()}`, context: { 'aws:PrincipalArn': principal, 'aws:SecureTransport': 'true' }, why: 'test', citation: 'test' }));
    const results = await rehearse(assembly, { extraCalls: () => [...tries(PIPELINE_EXEC), ...tries(PIPELINE_DEPLOY), ...tries(ADMIN)] });
    const exec = of(results, `try/${PIPELINE_EXEC.split('/').pop()}`);
    expect(exec.evaluated).toBe(7);
    expect(exec.denied.map((d) => [d.call.permission, d.result, d.decidedBy.match(/statement "(\w+)"/)?.[1]])).toEqual([
      ['cloudformation:SetTypeConfiguration', 'ExplicitlyDenied', 'DenyHookAndTypeManagement'],
      ['cloudformation:ActivateType', 'ExplicitlyDenied', 'DenyHookAndTypeManagement'],
      ['cloudformation:DeactivateType', 'ExplicitlyDenied', 'DenyHookAndTypeManagement'],
      ['cloudformation:UpdateStack', 'ExplicitlyDenied', 'DenyEnforcementStackChanges'],
      ['cloudformation:CreateChangeSet', 'ExplicitlyDenied', 'DenyEnforcementStackChanges'],
      ['cloudformation:UpdateStack', 'ExplicitlyDenied', 'DenyEnforcementStackChanges'],
      ['iam:PutRolePolicy', 'ExplicitlyDenied', 'DenyEnforcementRoleUse'],
    ]);
    expect(of(results, `try/${PIPELINE_DEPLOY.split('/').pop()}`).denied.filter((d) => d.call.permission === 'cloudformation:UpdateStack')).toHaveLength(2);
    expect(of(results, `try/${ADMIN.split('/').pop()}`).denied).toEqual([]);
  });

  it("the shipped SCP lets the enforcement's own bootstrap roles create and update it (hook types, functions, roles, buckets): the grdenf execution role is not denied", async () => {
    const results = await shippedIam();
    const own = [...of(results, 'hand/Enforcement').denied, ...of(results, 'hand/Enforcement-us-east-1').denied];
    expect(own).toEqual([]);
    // and without the SCP's exemptions (the policy as first written), it is: the defect the rehearsal found
    const shipped = JSON.parse(readFileSync(join(REPO_ROOT, 'enforcement', 'scp.json'), 'utf8'));
    for (const s of shipped.Statement) {
      const list = s.Condition?.ArnNotLike?.['aws:PrincipalArn'];
      if (Array.isArray(list)) s.Condition.ArnNotLike['aws:PrincipalArn'] = list.filter((p: string) => !p.includes('cdk-grdenf-'));
    }
    const file = join(workDir, 'scp-without-grdenf.json');
    writeFileSync(file, JSON.stringify(shipped));
    const without = await rehearse(assembly, { enforcementScp: file });
    const denied = of(without, 'hand/Enforcement').denied;
    const sids = new Set(denied.map((d) => d.decidedBy.match(/statement "(\w+)"/)?.[1]));
    expect(sids).toEqual(new Set(['DenyHookAndTypeManagement', 'DenyEnforcementStackChanges', 'DenyEnforcementRoleUse', 'DenyEnforcementFunctionChanges', 'DenyEnforcementBucketWrites']));
    expect(denied.some((d) => d.call.principal === GRDENF_EXEC && d.call.permission === 'cloudformation:SetTypeConfiguration')).toBe(true);
  });

  it("seeded: the validator's resource policy naming another principal denies the GuardrailValidation step's invoke", async () => {
    const dir = copyEdited('invoke', 'Enforcement', (t) => {
      for (const r of Object.values(t.Resources) as any[]) if (r.Type === 'AWS::Lambda::Permission') r.Properties.Principal = 'arn:aws:iam::111111111111:role/someone-else';
    });
    const denied = of(await rehearse(dir), 'Guardrail/GuardrailValidation').denied;
    expect(denied).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', call: expect.objectContaining({ principal: VALIDATION_ROLE, permission: 'lambda:InvokeFunction', resource: VALIDATOR }) })]);
    expect(denied[0].decidedBy).toMatch(/no Allow in the resource policy Enforcement ValidatorPipelineGuardrailValidation/);
  });

  it("seeded: a signing key policy without the validator's kms:Sign denies the signature", async () => {
    const dir = copyEdited('sign', 'Enforcement', (t) => {
      const policy = t.Resources.SigningKeyk1.Properties.KeyPolicy;
      policy.Statement = policy.Statement.filter((s: any) => s.Sid !== 'TheValidatorSigns');
    });
    const denied = denials(await rehearse(dir), (c) => c.permission === 'kms:Sign');
    expect(denied).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', call: expect.objectContaining({ principal: VALIDATOR_ROLE, action: 'Guardrail/GuardrailValidation' }) })]);
    expect(denied[0].decidedBy).toMatch(/no Allow in the resource policy Enforcement SigningKeyk1/);
  });

  it('seeded (defect-1 class): a signing key policy locking out the grdenf execution role fails the enforcement\'s own create and update', async () => {
    const dir = copyEdited('lockout', 'Enforcement', (t) => {
      const admin = t.Resources.SigningKeyk1.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'KeyAdministration');
      admin.Principal.AWS = [ADMIN];
    });
    const denied = of(await rehearse(dir), 'hand/Enforcement').denied.filter((d) => d.call.principal === GRDENF_EXEC && d.call.permission.startsWith('kms:'));
    const permissions = new Set(denied.map((d) => d.call.permission));
    for (const p of ['kms:PutKeyPolicy', 'kms:TagResource', 'kms:UntagResource', 'kms:EnableKeyRotation', 'kms:ScheduleKeyDeletion']) expect(permissions, p).toContain(p);
    expect(permissions).not.toContain('kms:DescribeKey'); // still allowed: the account may read the key (AnyoneOfTheAccountMayReadThePublicKey)
    for (const d of denied) expect(d).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/no Allow in the resource policy Enforcement SigningKeyk1/) });
  });

  it("seeded: an attestation bucket policy denying the validator's PutObject denies its attestations, by that statement", async () => {
    const dir = copyEdited('attest', 'Enforcement', (t) => {
      const policy = t.Resources.AttestationsPolicy521013AD.Properties.PolicyDocument;
      const s = policy.Statement.find((x: any) => x.Sid === 'OnlyTheValidatorAttests');
      s.Condition.ArnNotEquals['aws:PrincipalArn'] = [ADMIN];
    });
    const denied = denials(await rehearse(dir), (c) => c.permission === 's3:PutObject' && c.principal === VALIDATOR_ROLE);
    expect(denied.length).toBe(3); // Production-Tiers, Production-EdgeWaf and the release
    for (const d of denied) expect(d).toMatchObject({ result: 'ExplicitlyDenied', decidedBy: expect.stringContaining('explicit Deny in the resource policy Enforcement AttestationsPolicy521013AD: statement "OnlyTheValidatorAttests"') });
  });

  it("seeded: staging bootstrapped without --trust-for-lookup <production> denies the validator's reads of staging", async () => {
    const results = await rehearse(assembly, { bootstrapTrustForLookup: { '222222222222': [] } });
    const denied = of(results, 'Guardrail/GuardrailValidation').denied;
    expect(denied).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', call: expect.objectContaining({ principal: VALIDATOR_ROLE, permission: 'sts:AssumeRole', resource: 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1' }) })]);
    expect(denied[0].decidedBy).toMatch(/no Allow in the trust policy of arn:aws:iam::222222222222:role\/cdk-hnb659fds-lookup-role-/);
  });

  it("seeded: a Lambda hook execution role trusting another service denies CloudFormation Hooks at every production operation of that region", async () => {
    const dir = copyEdited('hook-trust', 'Enforcement', (t) => {
      const role = t.Resources.HooksLambdaHookExecutionRoleCB447BAC.Properties.AssumeRolePolicyDocument;
      for (const s of role.Statement) s.Principal = { Service: 'lambda.amazonaws.com' };
    });
    const results = await rehearse(dir);
    const assume = (action: string) => of(results, action).denied.filter((d) => d.call.principal === 'hooks.cloudformation.amazonaws.com' && d.call.permission === 'sts:AssumeRole');
    for (const action of ['Production/Tiers.Prepare', 'Production/Tiers.Deploy']) {
      expect(assume(action), action).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(new RegExp(`^no Allow in the trust policy of arn:aws:iam::${PROD}:role/`)) })]);
    }
    // us-east-1's hooks are another stack's: untouched
    expect(assume('Production/EdgeWaf.Prepare')).toEqual([]);
  });

  it("seeded: an SCP whose region deny leaves out a production stack's region denies that stack's deploy", async () => {
    const scp = readFileSync(join(REPO_ROOT, 'enforcement', 'scp.json'), 'utf8');
    const parsed = JSON.parse(scp);
    parsed.Statement.find((s: any) => s.Sid === 'DenyCloudFormationOutsideHookedRegions').Condition.StringNotEquals['aws:RequestedRegion'] = ['eu-west-1'];
    const file = join(workDir, 'scp-eu-west-1-only.json');
    writeFileSync(file, JSON.stringify(parsed));
    const results = await rehearse(assembly, { enforcementScp: file });
    for (const action of ['Production/EdgeWaf.Prepare', 'Production/EdgeWaf.Deploy']) {
      const denied = of(results, action).denied.filter((d) => d.call.permission.startsWith('cloudformation:'));
      expect(denied.length, action).toBeGreaterThan(0);
      for (const d of denied) expect(d).toMatchObject({ result: 'ExplicitlyDenied', decidedBy: expect.stringContaining('statement "DenyCloudFormationOutsideHookedRegions" of enforcement/scp.json') });
    }
    expect(of(results, 'Production/EdgeWaf.Prepare').denied.map((d) => d.call.principal)).toContain(`arn:aws:iam::${PROD}:role/cdk-hnb659fds-deploy-role-${PROD}-us-east-1`);
    expect(of(results, 'Production/Tiers.Prepare').denied).toEqual([]);
  });
});
