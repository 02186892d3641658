// The guardrail validator (enforcement/validator) on the real synthesized templates, with the
// AWS reads faked in process and a local P-256 signer. Each attack of issue 19 that concerns the
// validator is a test: today's pipeline/guardrail verify read the commit's own description of
// production (its assembly, its validation-report.json, its cdk.json tolerances, its
// acknowledgements); the validator reads staging and production itself and holds the templates
// to its own rules, so each attack is refused and nothing is signed.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admits, readAllowList, unacknowledged } from '../../enforcement/compliance/allow-list';
import { nagFindings } from '../../enforcement/compliance/nag';
import { unapprovedAcknowledgements } from '../../pipeline/compliance/acknowledgements';
import { loadValidatorConfig, validatorAllowances } from '../../enforcement/validator/config';
import { createHandler, handler } from '../../enforcement/validator/handler';
import { hookManagementProblems } from '../../enforcement/validator/templates';
import { attestationKey, releaseKey } from '../../enforcement/attestation/statement';
import { validate, type ValidationResponse } from '../../enforcement/validator/validate';
import { COMMIT, EXECUTION_ID, OTHER_COMMIT, editTemplate, localSigner, shippedAllowances, testConfig, verifyLocal, world } from './validator-support';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const status = (response: ValidationResponse) => Object.fromEntries(response.checks.map((c) => [c.name, c.status]));
const detail = (response: ValidationResponse, name: string) => response.checks.find((c) => c.name === name)?.detail ?? '';
const failing = (response: ValidationResponse) => response.checks.filter((c) => c.status === 'FAIL').map((c) => c.name);

/** Refused, and nothing written. */
function expectRefused(response: ValidationResponse, store: { objects: Map<string, Buffer> }) {
  expect(response.passed).toBe(false);
  expect(response.envelopeKey).toBeUndefined();
  expect([...store.objects.keys()]).toEqual([]);
}

const resourcesOfType = (template: any, type: string) => Object.entries(template.Resources as Record<string, any>).filter(([, r]) => r.Type === type);

describe('the validator signs a release it checked itself', () => {
  it('signs the shipped release: every check passes, the envelope verifies with the public key and is stored under every subject and the release', async () => {
    const w = world();
    const response = await validate(w.request, w.deps());
    expect(failing(response), JSON.stringify(response.checks, null, 1)).toEqual([]);
    if (process.env.SHOW_CHECKS) console.log(JSON.stringify(response.checks, null, 1));
    expect(response.passed).toBe(true);
    expect(status(response)).toMatchObject({
      release: 'PASS', 'staging-release': 'PASS', 'template-parity': 'PASS', images: 'PASS', 'file-assets': 'PASS',
      'hook-management': 'PASS', 'compliance-nag': 'PASS', 'compliance-project-rules': 'PASS', 'compliance-control-tower': 'PASS',
    });
    const tiersKey = attestationKey('333333333333', 'eu-west-1', 'Production-Tiers', sha256(w.production.tiers));
    const wafKey = attestationKey('333333333333', 'us-east-1', 'Production-EdgeWaf', sha256(w.production.edgeWaf));
    expect(response.envelopeKey).toBe(releaseKey({ commit: COMMIT, executionId: EXECUTION_ID }));
    expect([...w.store.objects.keys()].sort()).toEqual([tiersKey, wafKey, `releases/${COMMIT}/${EXECUTION_ID}.dsse.json`].sort());
    const envelope = w.store.objects.get(tiersKey)!;
    expect(w.store.objects.get(wafKey)).toEqual(envelope);
    const statement = verifyLocal(envelope, w.signer);
    const subjects = Object.fromEntries(statement.subject.map((s: any) => [s.name, s.digest.sha256]));
    expect(subjects['cloudformation:333333333333:eu-west-1:Production-Tiers']).toBe(sha256(w.production.tiers));
    expect(subjects['cloudformation:333333333333:us-east-1:Production-EdgeWaf']).toBe(sha256(w.production.edgeWaf));
    expect(subjects['image:333333333333.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-333333333333-eu-west-1']).toBeDefined();
    // Both images live in production's one CDK asset repository: two subjects of that name, one per digest.
    const images = statement.subject.filter((s: any) => s.name.startsWith('image:'));
    expect(images.map((s: any) => `sha256:${s.digest.sha256}`).sort()).toEqual([w.staging.running.api, w.staging.running.worker].sort());
    expect(Object.keys(subjects).filter((n) => n.startsWith('file:s3://cdk-hnb659fds-assets-333333333333-eu-west-1/'))).toHaveLength(2);
    expect(statement.predicate.release).toEqual({ commit: COMMIT, executionId: EXECUTION_ID });
    expect(statement.predicate.expiresAt).toBe('2027-01-02T10:00:00.000Z');
    // Another key does not verify it.
    expect(() => verifyLocal(envelope, localSigner(w.signer.keyId))).toThrow(/does not verify/);
  });
});

describe('the request, read defensively', () => {
  it.each([
    ['a short commit', (r: any) => (r.release.commit = 'c0ffee'), /40 lowercase hex/],
    ['an execution id that is a path', (r: any) => (r.release.executionId = '../x'), /execution id/],
    ['an extra stack (a decoy)', (r: any) => (r.templates['Production-Decoy'] = r.templates['Production-Tiers']), /Production-Decoy.*is not a production stack/],
    ['a missing stack', (r: any) => delete r.templates['Production-EdgeWaf'], /Production-EdgeWaf is missing/],
    ['a template that is not JSON', (r: any) => (r.templates['Production-Tiers'] = '{'), /not JSON/],
    ['an extra field (a report)', (r: any) => (r.validationReport = { pluginReports: [] }), /Unrecognized key/],
  ])('refuses %s', async (_, edit, message) => {
    const w = world();
    const request = structuredClone(w.request) as any;
    edit(request);
    const response = await validate(request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['request']);
    expect(detail(response, 'request')).toMatch(message);
  });
});

describe('staging, read by the validator', () => {
  it('refuses when staging runs another release (a newer execution reached staging)', async () => {
    const w = world();
    for (const name of Object.keys(w.staging.templates)) w.staging.templates[name] = w.staging.templates[name].replaceAll(COMMIT, OTHER_COMMIT);
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'staging-release')).toContain(`staging runs release ${OTHER_COMMIT}, not ${COMMIT}`);
  });

  it('refuses when production templates carry another release than the request names', async () => {
    const w = world({ commit: OTHER_COMMIT });
    const request = { ...w.request, release: { commit: COMMIT, executionId: EXECUTION_ID } };
    const response = await validate(request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'release')).toContain(`carry release ${OTHER_COMMIT}, not ${COMMIT}`);
  });

  it('fails closed when staging cannot be read', async () => {
    const w = world();
    w.staging.failWith = 'AccessDenied: not authorized to perform sts:AssumeRole';
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'staging')).toContain('AccessDenied');
  });

  it('refuses a production image whose digest differs from the one staging runs (an image built apart for production)', async () => {
    const w = world();
    const apiTag = Object.keys(w.registry.images).find((k) => w.registry.images[k] === w.staging.running.api)!;
    w.registry.images[apiTag] = `sha256:${sha256('a production-only build')}`;
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['images']);
    expect(detail(response, 'images')).toContain(`staging's api runs ${w.staging.running.api}`);
  });

  it('refuses a tag production\'s registry does not hold, and a missing file asset', async () => {
    const w = world();
    w.registry.images = {};
    w.registry.objects = {};
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'images')).toContain("production's registry has no image");
    expect(detail(response, 'file-assets')).toMatch(/s3:\/\/cdk-hnb659fds-assets-333333333333-eu-west-1\/.*\.zip does not exist/);
  });
});

describe('parity under the deployed allowances, not the commit\'s cdk.json', () => {
  const editTiers = (edit: (t: any) => void) => {
    const w = world();
    w.request.templates['Production-Tiers'] = editTemplate(w.production.tiers, edit);
    return w;
  };
  const setEnv = (name: string, value: string) => (t: any) => {
    for (const [, r] of resourcesOfType(t, 'AWS::ECS::TaskDefinition')) for (const c of r.Properties.ContainerDefinitions) for (const e of c.Environment ?? []) if (e.Name === name) e.Value = value;
  };

  it('refuses a production-only oidcIssuer, and admits it when the allowances deployed with the validator say so', async () => {
    const w = editTiers(setEnv('OIDC_ISSUER', 'https://attacker.example.net/'));
    const refused = await validate(w.request, w.deps());
    expectRefused(refused, w.store);
    expect(failing(refused)).toEqual(['template-parity']);
    expect(detail(refused, 'template-parity')).toContain('production "https://attacker.example.net/": auth.oidcIssuer must be the same in staging and production');
    // The deployed allowances, not the commit, decide: moved from `same` to `differ`, it passes.
    const allowances = shippedAllowances();
    const issuer = allowances.same.find((s) => s.key === 'auth.oidcIssuer')!;
    const admitting = { ...allowances, same: allowances.same.filter((s) => s !== issuer), differ: [...allowances.differ, { ...issuer, normalized: false, resources: [] }] };
    const admitted = await validate(w.request, w.deps(testConfig(), admitting));
    expect(failing(admitted)).toEqual([]);
  });

  it('refuses a production-only alarm threshold', async () => {
    const w = editTiers((t) => {
      const [, alarm] = resourcesOfType(t, 'AWS::CloudWatch::Alarm').find(([, r]) => typeof r.Properties.Threshold === 'number')!;
      alarm.Properties.Threshold = alarm.Properties.Threshold * 1000;
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['template-parity']);
    expect(detail(response, 'template-parity')).toMatch(/^Tiers Resources\/\w+Alarm\w+\/Properties\/Threshold: staging has \d+, production \d+000: a value difference in AWS::CloudWatch::Alarm/);
  });

  it('refuses a 100 % canary in production', async () => {
    const w = editTiers((t) => {
      const [, service] = resourcesOfType(t, 'AWS::ECS::Service').find(([, r]) => r.Properties.DeploymentConfiguration?.CanaryConfiguration)!;
      service.Properties.DeploymentConfiguration.CanaryConfiguration.CanaryPercent = 100;
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['template-parity']);
    expect(detail(response, 'template-parity')).toMatch(/CanaryPercent: staging has 10, production 100: api.deployment.trafficStepPercent must be the same/);
  });

  it('refuses a production-only WAF rate limit', async () => {
    const w = world();
    w.request.templates['Production-EdgeWaf'] = editTemplate(w.production.edgeWaf, (t) => {
      const [, acl] = resourcesOfType(t, 'AWS::WAFv2::WebACL')[0];
      const rule = acl.Properties.Rules.find((r: any) => r.Statement.RateBasedStatement);
      rule.Statement.RateBasedStatement.Limit = 2_000_000_000;
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['template-parity']);
    expect(detail(response, 'template-parity')).toMatch(/^EdgeWaf .*RateBasedStatement\/Limit: staging has 2000, production 2000000000: edge.rateLimitPer5Minutes must be the same/);
  });
});

describe('compliance run by the validator itself, on the templates it attests', () => {
  /** The commit's change, deployed to staging too (so parity holds): only compliance stands in the way. */
  function bothStages(stack: 'Tiers' | 'EdgeWaf', edit: (t: any) => void) {
    const w = world();
    w.request.templates[`Production-${stack}`] = editTemplate(w.request.templates[`Production-${stack}`], edit);
    w.staging.templates[`Staging-${stack}`] = editTemplate(w.staging.templates[`Staging-${stack}`], edit);
    return w;
  }

  it('refuses an administrator role trusting "AWS": "*" in a production template (the relabelled decoy stage attack)', async () => {
    const w = bothStages('EdgeWaf', (t) => {
      t.Resources.BreakGlass = {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] },
          ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
        },
      };
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(status(response)['template-parity']).toBe('PASS');
    expect(detail(response, 'compliance-project-rules')).toMatch(/iam_no_public_trust on BreakGlass/);
    expect(detail(response, 'compliance-project-rules')).toMatch(/iam_no_admin_managed_policy on BreakGlass/);
  });

  it('refuses an unacknowledged cdk-nag finding that the commit\'s validation-report.json says is not there', async () => {
    // A queue without a DLQ or a TLS-only policy (AwsSolutions-SQS3, SQS4), acknowledged nowhere.
    const w = bothStages('EdgeWaf', (t) => (t.Resources.Extra = { Type: 'AWS::SQS::Queue', Properties: {} }));
    // The HMAC guardrail's verify read cdk-nag's result from the validation-report.json the commit's
    // synth wrote (a clean one passed it; that code is gone).
    // The validator takes no report (a request with one is refused, above): it runs cdk-nag itself.
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    // (cfn-guard's Control Tower controls find the unencrypted queue too.)
    expect(failing(response)).toContain('compliance-nag');
    expect(detail(response, 'compliance-nag')).toMatch(/EdgeWaf\/Extra \(AWS::SQS::Queue\): AwsSolutions-SQS3 .* is not in the validator's allow-list/);
    expect(detail(response, 'compliance-nag')).toMatch(/AwsSolutions-SQS4/);
  });

  it('ignores the acknowledgements the commit wrote into its templates', async () => {
    const w = bothStages('EdgeWaf', (t) => {
      t.Resources.Extra = {
        Type: 'AWS::SQS::Queue',
        Properties: {},
        Metadata: { cdk_nag: { rules_to_suppress: [{ id: 'AwsSolutions-SQS3', reason: 'acknowledged by the commit' }, { id: 'AwsSolutions-SQS4', reason: 'acknowledged by the commit' }] } },
      };
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    // (cfn-guard's Control Tower controls find the unencrypted queue too.)
    expect(failing(response)).toContain('compliance-nag');
    expect(detail(response, 'compliance-nag')).toMatch(/EdgeWaf\/Extra \(AWS::SQS::Queue\): AwsSolutions-SQS3/);
  });

  it('refuses a new action under an allow-listed IAM5[Resource::*] acknowledgement: the entry names the exact statement', async () => {
    const w = bothStages('Tiers', (t) => {
      const policy = t.Resources.DeployChecksRoleDefaultPolicyC5536F4B.Properties.PolicyDocument;
      const statement = policy.Statement.find((s: any) => s.Resource === '*');
      statement.Action = [].concat(statement.Action, 'kms:Decrypt' as any);
    });
    // The finding id alone is in the allow-list, and today's audit (rule, path and reason of the
    // acknowledgements the commit wrote into the template) admits the edited template.
    expect(readAllowList().acknowledgements.some((a) => a.logicalId === 'DeployChecksRoleDefaultPolicyC5536F4B' && a.finding === 'AwsSolutions-IAM5[Resource::*]')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'validator-today-'));
    try {
      const file = join(dir, 'Production-Tiers.template.json');
      writeFileSync(file, w.request.templates['Production-Tiers']);
      const template = { file, path: 'Production-Tiers.template.json', displayName: 'Pipeline/Production/Tiers', account: '333333333333', region: 'eu-west-1', images: [], fileAssetKeys: [] };
      expect(unapprovedAcknowledgements([template])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(failing(response)).toEqual(['compliance-nag']);
    expect(detail(response, 'compliance-nag')).toMatch(/DeployChecksRoleDefaultPolicyC5536F4B .*AwsSolutions-IAM5\[Resource::\*\].*kms:Decrypt/);
  });
});

describe("the validator's allow-list", () => {
  it('names exact findings: every entry admits a finding of the shipped production templates, and a wildcard entry needs its statements', () => {
    const w = world();
    const stacks = [
      { stackId: 'Tiers', account: '333333333333', region: 'eu-west-1', template: JSON.parse(w.production.tiers) },
      { stackId: 'EdgeWaf', account: '333333333333', region: 'us-east-1', template: JSON.parse(w.production.edgeWaf) },
    ];
    const findings = nagFindings(stacks);
    const env = (id: string) => stacks.find((s) => s.stackId === id)!;
    const unused = readAllowList().acknowledgements.filter((entry) => !findings.some((f) => admits(entry, f, env(f.stackId))));
    expect(unused).toEqual([]);
    expect(unacknowledged(findings, readAllowList(), env)).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'validator-allow-list-'));
    try {
      const file = join(dir, 'acknowledgements.json');
      writeFileSync(file, JSON.stringify({ acknowledgements: [{ stack: 'Tiers', logicalId: 'X', finding: 'AwsSolutions-IAM5[Resource::*]', reason: 'a wildcard acknowledged without its statements' }] }));
      expect(() => readAllowList(file)).toThrow(/names no statements/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hook management', () => {
  it('refuses a template holding a hook resource', async () => {
    const w = world();
    w.request.templates['Production-EdgeWaf'] = editTemplate(w.production.edgeWaf, (t) => {
      t.Resources.Off = { Type: 'AWS::CloudFormation::LambdaHook', Properties: { Alias: 'Attacker::Hook::Off', HookStatus: 'DISABLED', FailureMode: 'WARN', TargetOperations: ['STACK'], LambdaFunction: 'arn:aws:lambda:us-east-1:333333333333:function:x', ExecutionRole: 'arn:aws:iam::333333333333:role/x' } };
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'hook-management')).toContain('Off: a AWS::CloudFormation::LambdaHook resource');
  });

  it("refuses a template declaring an alias of the guardrail's signing keys (the hooks trust keys by alias)", async () => {
    const w = world();
    w.request.templates['Production-Tiers'] = editTemplate(w.production.tiers, (t) => {
      t.Resources.AttackerKey = { Type: 'AWS::KMS::Key', Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', KeyPolicy: {} } };
      t.Resources.Moved = { Type: 'AWS::KMS::Alias', Properties: { AliasName: 'alias/br-fagq2-guardrail-signing-k1', TargetKeyId: { Ref: 'AttackerKey' } } };
    });
    const response = await validate(w.request, w.deps());
    expectRefused(response, w.store);
    expect(detail(response, 'hook-management')).toContain("Moved: an AWS::KMS::Alias named alias/br-fagq2-guardrail-signing-k1 (the guardrail's signing key aliases belong to the enforcement administrator)");
    const alias = (name: unknown) => ({ Resources: { A: { Type: 'AWS::KMS::Alias', Properties: { AliasName: name, TargetKeyId: 'k' } } } });
    expect(hookManagementProblems(alias('alias/br-fagq2-guardrail-signing-k9'))).toHaveLength(1);
    expect(hookManagementProblems(alias('alias/br-fagq2-guardrail'))).toHaveLength(1);
    expect(hookManagementProblems(alias({ 'Fn::Join': ['', ['alias/br-fagq2-', 'guardrail-signing-k1']] }))[0]).toContain('not a plain string');
    expect(hookManagementProblems(alias('alias/Production-Tiers-data'))).toEqual([]);
  });

  it('finds hook-management permissions in every form, and names of the enforcement', () => {
    const policy = (statement: object) => ({ Resources: { P: { Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Resource: '*', ...statement }] } } } } });
    expect(hookManagementProblems(policy({ Action: 'cloudformation:SetTypeConfiguration' }))).toEqual([expect.stringContaining('grants cloudformation:SetTypeConfiguration')]);
    expect(hookManagementProblems(policy({ Action: 'CloudFormation:*' }))[0]).toContain('cloudformation:DeactivateType');
    expect(hookManagementProblems(policy({ Action: '*' }))[0]).toContain('cloudformation:ActivateType');
    expect(hookManagementProblems(policy({ Action: 'cloudformation:Set*' }))[0]).toContain('SetTypeConfiguration');
    expect(hookManagementProblems(policy({ NotAction: 's3:*' }))[0]).toContain('NotAction');
    expect(hookManagementProblems(policy({ Action: { 'Fn::Join': ['', ['cloudformation:', 'ActivateType']] } }))[0]).toContain('intrinsic');
    expect(hookManagementProblems(policy({ Action: 'cloudformation:DescribeStacks' }))).toEqual([]);
    const role = { Resources: { R: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyName: 'p', PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'cloudformation:RegisterType', Resource: '*' }] } }] } } } };
    expect(hookManagementProblems(role)[0]).toContain('RegisterType');
    const admin = { Resources: { A: { Type: 'AWS::IAM::Role', Properties: { ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/PowerUserAccess']] }] } } } };
    expect(hookManagementProblems(admin)).toEqual([expect.stringContaining('PowerUserAccess, which allows hook management')]);
  });
});

describe('the handler', () => {
  it('fails closed with a clear message when it cannot start (no configuration)', async () => {
    const previous = process.env.VALIDATOR_CONFIG_FILE;
    delete process.env.VALIDATOR_CONFIG_FILE;
    try {
      const handler = createHandler(async () => ({ ...world().deps(), config: loadValidatorConfig() }));
      const response = await handler(world().request);
      expect(response).toEqual({ passed: false, checks: [{ name: 'configuration', status: 'FAIL', detail: expect.stringContaining('VALIDATOR_CONFIG_FILE is not set') }] });
    } finally {
      if (previous !== undefined) process.env.VALIDATOR_CONFIG_FILE = previous;
    }
  });

  it('reads its configuration file and refuses a configuration with other stack ids per stage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'validator-config-'));
    try {
      const file = join(dir, 'config.json');
      const config = JSON.parse(JSON.stringify(testConfig()));
      writeFileSync(file, JSON.stringify(config));
      expect(loadValidatorConfig(file).production.stacks.EdgeWaf).toEqual({ stackName: 'Production-EdgeWaf', region: 'us-east-1' });
      delete config.production.stacks.EdgeWaf;
      writeFileSync(file, JSON.stringify(config));
      expect(() => loadValidatorConfig(file)).toThrow(/production.stacks: the stages must have the same stack ids/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes the allowances the enforcement deployed: the configuration's, else ALLOWANCES_FILE; none fails closed", () => {
    const shipped = shippedAllowances();
    const file = join(__dirname, '..', '..', 'enforcement', 'allowances.json');
    expect(validatorAllowances(testConfig(), { ALLOWANCES_FILE: file })).toEqual(shipped);
    const narrowed = { ...shipped, differ: shipped.differ.filter((d) => d.key !== 'api.cpu') };
    expect(validatorAllowances(testConfig({ allowances: narrowed }), { ALLOWANCES_FILE: file }).differ.map((d) => d.key)).not.toContain('api.cpu');
    expect(() => validatorAllowances(testConfig(), {})).toThrow(/no allowances: neither allowances in the configuration nor ALLOWANCES_FILE is set/);
    expect(() => validatorAllowances(testConfig({ allowances: { staging: {}, production: {} } }), { ALLOWANCES_FILE: file })).toThrow(/invalid allowances/);
  });

  it('fails closed without the signing key ARN (the configuration names only its alias)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validator-config-'));
    const saved = { ...process.env };
    try {
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify(testConfig({ keyId: 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-a' })));
      Object.assign(process.env, { VALIDATOR_CONFIG_FILE: file, ATTESTATION_BUCKET: 'br-fagq2-attestations-333333333333-eu-west-1' });
      delete process.env.SIGNING_KEY_ARN;
      const w = world();
      const response = await handler(w.request, { invokedFunctionArn: 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator' });
      expect(response).toEqual({ passed: false, checks: [{ name: 'configuration', status: 'FAIL', detail: expect.stringContaining('SIGNING_KEY_ARN is not a KMS key ARN') }] });
    } finally {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails closed when signing fails, and says so', async () => {
    const w = world();
    const handler = createHandler(async () => ({ ...w.deps(), attest: async () => { throw new Error('KMS: AccessDeniedException'); } }));
    const response = await handler(w.request);
    expectRefused(response, w.store);
    expect(detail(response, 'attestation')).toContain('KMS: AccessDeniedException');
  });
});
