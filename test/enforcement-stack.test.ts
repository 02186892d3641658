// The production account's enforcement (lib/enforcement-stack.ts), on the shipped synth.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { ENFORCEMENT, validationRoleArn } from '../lib/enforcement-names';
import { templateSubjectName } from '../enforcement/attestation/index';
import { loadValidatorConfig, stageStacks, validatorAllowances } from '../enforcement/validator/config';
import { newApp, sharedAssembly } from './support/app';

type Json = any;
let assembly: string;
let main: Json;
let regional: Json;

const ofType = (t: Json, type: string): Array<[string, Json]> => Object.entries(t.Resources).filter(([, r]: [string, Json]) => r.Type === type) as Array<[string, Json]>;
const one = (t: Json, type: string): Json => {
  const found = ofType(t, type);
  expect(found).toHaveLength(1);
  return found[0][1];
};
const list = (x: unknown): unknown[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const ADMIN = 'arn:aws:iam::333333333333:role/br-fagq2-guardrail-administrator';
const DEPLOYER = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/cdk-grdenf-cfn-exec-role-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }]] };

beforeAll(() => {
  assembly = sharedAssembly();
  const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8'));
  expect(manifest.artifacts.Enforcement.environment).toBe('aws://333333333333/eu-west-1');
  expect(manifest.artifacts['Enforcement-us-east-1'].environment).toBe('aws://333333333333/us-east-1');
  main = JSON.parse(readFileSync(join(assembly, 'Enforcement.template.json'), 'utf8'));
  regional = JSON.parse(readFileSync(join(assembly, 'Enforcement-us-east-1.template.json'), 'utf8'));
});

describe('the enforcement stacks', () => {
  it('are stacks of the app root, in the production account, named and bootstrapped apart from the pipeline (qualifier grdenf), termination-protected', () => {
    const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8'));
    expect(manifest.artifacts.Enforcement.properties).toMatchObject({
      stackName: 'br-fagq2-guardrail-enforcement',
      terminationProtection: true,
      assumeRoleArn: expect.stringContaining('cdk-grdenf-deploy-role-333333333333-eu-west-1'),
      cloudFormationExecutionRoleArn: expect.stringContaining('cdk-grdenf-cfn-exec-role-333333333333-eu-west-1'),
    });
    expect(manifest.artifacts['Enforcement-us-east-1'].properties.stackName).toBe('br-fagq2-guardrail-enforcement-us-east-1');
    expect(main.Parameters.BootstrapVersion.Default).toBe('/cdk-bootstrap/grdenf/version');
    // Its code is published to the grdenf bucket, not to the one the pipeline's file-publishing role writes.
    const code = ofType(main, 'AWS::Lambda::Function').map(([, f]) => f.Properties.Code.S3Bucket);
    expect(new Set(code)).toEqual(new Set(['cdk-grdenf-assets-333333333333-eu-west-1']));
    expect(JSON.stringify(main)).not.toContain('hnb659fds-cfn-exec-role');
  });

  it('is no stage of the pipeline: no pipeline action deploys it', () => {
    const pipeline = readFileSync(join(assembly, 'Pipeline.template.json'), 'utf8');
    expect(pipeline).not.toMatch(/Enforcement\.template\.json|br-fagq2-guardrail-enforcement/);
  });
});

describe('the signing key', () => {
  let key: Json;
  let statements: Json[];
  beforeAll(() => {
    const signing = ofType(main, 'AWS::KMS::Key').filter(([, k]) => k.Properties.KeySpec === 'ECC_NIST_P256');
    expect(signing).toHaveLength(1);
    key = signing[0][1];
    statements = key.Properties.KeyPolicy.Statement;
  });

  it('is an asymmetric ECC_NIST_P256 key for SIGN_VERIFY, retained', () => {
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PendingWindowInDays: 30 });
    expect(key.DeletionPolicy).toBe('Retain');
    const alias = one(main, 'AWS::KMS::Alias');
    expect(alias.Properties.AliasName).toBe('alias/br-fagq2-guardrail-signing-k1');
  });

  it('may be used for kms:Sign by the validator role only (with the DSSE digest signing), denied to every other principal', () => {
    const signers = statements.filter((s) => s.Effect === 'Allow' && list(s.Action).some((a) => a === 'kms:Sign' || a === 'kms:*'));
    expect(signers).toEqual([expect.objectContaining({
      Principal: { AWS: { 'Fn::GetAtt': ['ValidatorRole625282C1', 'Arn'] } },
      Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } },
    })]);
    expect(statements).toContainEqual(expect.objectContaining({
      Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Sign', Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['ValidatorRole625282C1', 'Arn'] } } },
    }));
    const validatorRole = main.Resources.ValidatorRole625282C1;
    expect(validatorRole.Properties.RoleName).toBe(ENFORCEMENT.validatorRoleName);
    // The key policy names the role: the key waits for it.
    expect(key.DependsOn).toEqual(expect.arrayContaining(['ValidatorRole625282C1']));
  });

  it('is administered by the configured administrator and its own deployer, not by the account (so not by the shared execution role)', () => {
    const admins = statements.filter((s) => s.Effect === 'Allow' && list(s.Action).includes('kms:Put*'));
    expect(admins).toHaveLength(1);
    expect(admins[0].Principal.AWS).toEqual([ADMIN, DEPLOYER]);
    // CloudFormation must still create and update it (KMS's lockout check): the deployer may put the key policy.
    expect(list(admins[0].Action)).toEqual(expect.arrayContaining(['kms:Put*', 'kms:Describe*', 'kms:Create*', 'kms:ScheduleKeyDeletion']));
    expect(list(admins[0].Action).filter((a) => /^kms:(Sign|Decrypt|\*)$/.test(String(a)))).toEqual([]);
    // The account as a whole may only read the public key.
    const root = statements.filter((s) => JSON.stringify(s.Principal ?? '').includes(':root'));
    expect(root).toHaveLength(1);
    expect(root[0].Effect).toBe('Allow');
    expect(list(root[0].Action).sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey']);
    // Grants only for AWS resources (Control Tower CT.KMS.PR.3).
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'kms:CreateGrant' }));
  });
});

describe('the attestation bucket', () => {
  let bucket: Json;
  let policy: Json[];
  beforeAll(() => {
    bucket = main.Resources.Attestations800FF9F5;
    policy = ofType(main, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === 'Attestations800FF9F5')![1].Properties.PolicyDocument.Statement;
  });
  const deniedExcept = (sid: string) => policy.find((s) => s.Sid === sid);

  it('is versioned, encrypted, private, retained, and refuses requests without TLS', () => {
    expect(bucket.Properties).toMatchObject({
      BucketName: 'br-fagq2-attestations-333333333333-eu-west-1',
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(policy).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
  });

  it('lets only the validator write attestations/ and releases/, only the administrator revoked/ and deletes', () => {
    const validator = { 'Fn::GetAtt': ['ValidatorRole625282C1', 'Arn'] };
    expect(deniedExcept('OnlyTheValidatorAttests')).toMatchObject({
      Effect: 'Deny', Principal: { AWS: '*' }, Action: expect.arrayContaining(['s3:PutObject']),
      Resource: [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Attestations800FF9F5', 'Arn'] }, '/attestations/*']] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Attestations800FF9F5', 'Arn'] }, '/releases/*']] }],
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [validator] } },
    });
    expect(deniedExcept('OnlyTheAdministratorRevokes')).toMatchObject({ Effect: 'Deny', Action: expect.arrayContaining(['s3:PutObject']), Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ADMIN] } } });
    expect(JSON.stringify(deniedExcept('OnlyTheAdministratorRevokes').Resource)).toContain('/revoked/*');
    expect(deniedExcept('OnlyTheAdministratorDeletes')).toMatchObject({ Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ADMIN] } } });
    expect(deniedExcept('OnlyTheAdministratorChangesTheBucket')).toMatchObject({ Action: expect.arrayContaining(['s3:PutBucketPolicy']), Condition: { ArnNotEquals: { 'aws:PrincipalArn': [ADMIN, DEPLOYER] } } });
  });

  it('is read by the hook role of every region (attestations and revocations), which may not write it', () => {
    for (const template of [main, regional]) {
      const [hookRoleId] = ofType(template, 'AWS::IAM::Role').find(([id]) => id.startsWith('HooksHookRole'))!;
      const statements = ofType(template, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles[0].Ref === hookRoleId).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      const s3 = statements.filter((s) => list(s.Action).some((a) => String(a).startsWith('s3:')));
      expect([...new Set(s3.flatMap((s) => list(s.Action)))].sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      const reads = s3.filter((s) => list(s.Action).includes('s3:GetObject')).flatMap((s) => list(s.Resource));
      expect(reads).toEqual(expect.arrayContaining([
        'arn:aws:s3:::br-fagq2-attestations-333333333333-eu-west-1/attestations/*',
        'arn:aws:s3:::br-fagq2-attestations-333333333333-eu-west-1/revoked/*',
      ]));
      // Also the file assets the templates name (CDK's asset bucket of the region), to re-check their digests.
      expect(JSON.stringify(reads)).toMatch(/cdk-hnb659fds-assets-333333333333-(eu-west-1|us-east-1)\/\*/);
    }
  });
});

describe('the validator', () => {
  let fn: Json;
  beforeAll(() => {
    fn = ofType(main, 'AWS::Lambda::Function').find(([, f]) => f.Properties.FunctionName === ENFORCEMENT.validatorFunctionName)![1];
  });

  it('runs on Node.js 22 for up to 15 minutes, with its configuration file and the key it signs with', () => {
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Timeout: 900, Handler: 'index.handler', Architectures: ['x86_64'] });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      VALIDATOR_CONFIG_FILE: '/var/task/validator-config.json',
      CFN_GUARD_BINARY: '/var/task/bin/cfn-guard',
      ATTESTATION_BUCKET: { Ref: 'Attestations800FF9F5' },
      SIGNING_KEY_ARN: { 'Fn::GetAtt': ['SigningKeyk1', 'Arn'] },
    });
  });

  it('ships cfn-guard (linux x86_64, executable), the project\'s and Control Tower\'s rules, and the configuration written from cdk.json', () => {
    const dir = join(assembly, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    expect(statSync(join(dir, 'index.mjs')).isFile()).toBe(true);
    expect(statSync(join(dir, 'bin', 'cfn-guard')).mode & 0o111).not.toBe(0);
    expect(existsSync(join(dir, 'rules', 'project', 'iam.guard'))).toBe(true);
    expect(existsSync(join(dir, 'rules', 'control-tower', 'lambda'))).toBe(true);
    const config = JSON.parse(readFileSync(join(dir, 'validator-config.json'), 'utf8'));
    expect(config).toEqual({
      staging: {
        account: '222222222222', region: 'eu-west-1',
        stacks: { EdgeWaf: { stackName: 'Staging-EdgeWaf', region: 'us-east-1' }, Tiers: { stackName: 'Staging-Tiers' } },
        readRoleArn: 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1',
      },
      production: { account: '333333333333', region: 'eu-west-1', stacks: { EdgeWaf: { stackName: 'Production-EdgeWaf', region: 'us-east-1' }, Tiers: { stackName: 'Production-Tiers' } } },
      validityDays: 30,
      keyId: 'arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k1',
      attestationBucket: 'br-fagq2-attestations-333333333333-eu-west-1',
      pipelineAccount: '111111111111',
    });
  });

  it("writes a configuration the validator's own schema loads, attesting EdgeWaf under us-east-1, where the other hook stack runs", () => {
    const dir = join(assembly, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    const config = loadValidatorConfig(join(dir, 'validator-config.json'));
    const production = stageStacks(config.production);
    expect(production.map((s) => [s.id, s.stackName, s.region])).toEqual([['EdgeWaf', 'Production-EdgeWaf', 'us-east-1'], ['Tiers', 'Production-Tiers', 'eu-west-1']]);
    expect(stageStacks(config.staging).map((s) => s.region)).toEqual(['us-east-1', 'eu-west-1']);
    // Each production stack's region is one a hook stack of the production account runs in.
    const manifest = JSON.parse(readFileSync(join(assembly, 'manifest.json'), 'utf8'));
    const hookRegions = ['Enforcement', 'Enforcement-us-east-1'].map((id) => manifest.artifacts[id].environment.split('/').pop());
    for (const stack of production) expect(hookRegions).toContain(stack.region);
    const edgeWaf = production.find((s) => s.id === 'EdgeWaf')!;
    expect(templateSubjectName(edgeWaf.account, edgeWaf.region, edgeWaf.stackName)).toBe('cloudformation:333333333333:us-east-1:Production-EdgeWaf');
    // The allowances the validator compares with: the bundled file, as loadAllowances reads it.
    expect(existsSync(join(dir, 'allowances.json'))).toBe(true);
    expect(validatorAllowances(config, { ALLOWANCES_FILE: join(dir, 'allowances.json') }).fixedRegionStacks).toEqual({ EdgeWaf: 'us-east-1' });
    expect(fn.Properties.Environment.Variables.ALLOWANCES_FILE).toBe('/var/task/allowances.json');
  });

  it('may be invoked only by the pipeline account\'s GuardrailValidation role, named exactly', () => {
    const permissions = ofType(main, 'AWS::Lambda::Permission');
    expect(permissions.map(([, p]) => p.Properties)).toEqual([{ Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [expect.stringMatching(/^Validator/), 'Arn'] }, Principal: validationRoleArn('111111111111') }]);
    expect(validationRoleArn('111111111111')).toBe('arn:aws:iam::111111111111:role/br-fagq2-guardrail-validation');
  });
});

describe('the hooks, in each region a production stack deploys to', () => {
  it('admit a stack or change-set operation only through the attestation hook, failing closed, on every stack but the enforcement\'s own (CDKToolkit included)', () => {
    for (const template of [main, regional]) {
      const hook = one(template, 'AWS::CloudFormation::LambdaHook');
      expect(hook.Properties).toMatchObject({
        FailureMode: 'FAIL',
        HookStatus: 'ENABLED',
        TargetOperations: ['STACK', 'CHANGE_SET'],
        LambdaFunction: { 'Fn::GetAtt': [expect.stringMatching(/^HooksHookFunction/), 'Arn'] },
        StackFilters: { FilteringCriteria: 'ALL', StackNames: { Exclude: ['br-fagq2-guardrail-enforcement', 'br-fagq2-guardrail-enforcement-us-east-1', 'CDKToolkit-grdenf'] } },
      });
      expect(JSON.stringify(hook.Properties.StackFilters)).not.toMatch(/"CDKToolkit"|Include|StackRoles/);
      const fn = ofType(template, 'AWS::Lambda::Function').find(([, f]) => f.Properties.FunctionName === ENFORCEMENT.hookFunctionName)![1];
      expect(fn.Properties.Timeout).toBeLessThanOrEqual(30);
      expect(fn.Properties.Environment.Variables).toEqual({
        ATTESTATION_BUCKET: 'br-fagq2-attestations-333333333333-eu-west-1',
        ATTESTATION_BUCKET_REGION: 'eu-west-1',
        TRUSTED_KEY_ARNS: JSON.stringify(['arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-k1']),
        PROTECTED_STACKS: JSON.stringify(['Production-EdgeWaf', 'Production-Tiers', 'CDKToolkit']),
      });
      // CloudFormation assumes the hook's execution role (Hooks user guide) and may only invoke the hook function.
      const roleId = hook.Properties.ExecutionRole['Fn::GetAtt'][0];
      expect(template.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'hooks.cloudformation.amazonaws.com' } },
      ]);
      const invoke = ofType(template, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles[0].Ref === roleId).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      expect(invoke).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: hook.Properties.LambdaFunction }]);
    }
  });

  it('run the Guard rules from a versioned bucket that only the stack\'s own deployment writes, pinned to the deployed version, on every stack operation', () => {
    for (const template of [main, regional]) {
      const hook = one(template, 'AWS::CloudFormation::GuardHook');
      expect(hook.Properties).toMatchObject({ FailureMode: 'FAIL', HookStatus: 'ENABLED', TargetOperations: ['STACK'], LogBucket: { Ref: expect.stringMatching(/^LogsBucket/) } });
      expect(JSON.stringify(hook.Properties.RuleLocation.Uri)).toMatch(/HooksRulesBucket.*SourceObjectKeys/);
      expect(JSON.stringify(hook.Properties.RuleLocation.VersionId)).toContain('SourceObjectVersionIds');
      expect(JSON.stringify(hook.Properties.Options.InputParams.Uri)).toContain('/params/params.json');
      const [bucketId, bucket] = ofType(template, 'AWS::S3::Bucket').find(([id]) => id.startsWith('HooksRulesBucket'))!;
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      const policy = ofType(template, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === bucketId)![1].Properties.PolicyDocument.Statement;
      expect(policy).toContainEqual(expect.objectContaining({
        Sid: 'OnlyTheEnforcementWritesRules', Effect: 'Deny', Action: expect.arrayContaining(['s3:PutObject', 's3:DeleteObject']),
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [expect.stringMatching(/^CustomCDKBucketDeployment.*ServiceRole/), 'Arn'] } } },
      }));
    }
  });

  it('ship the project\'s rules (but the per-release images rule) and the Control Tower controls not disabled for every stack', () => {
    const assets = JSON.parse(readFileSync(join(assembly, 'Enforcement.assets.json'), 'utf8')).files as Record<string, { source: { path: string; packaging: string } }>;
    // A directory asset, zipped at publishing: the Guard hook's RuleLocation is that .zip.
    const dirs = Object.values(assets).filter((a) => a.source.packaging === 'zip').map((a) => join(assembly, a.source.path));
    const rulesDir = dirs.find((d) => existsSync(join(d, 'project', 'iam.guard')))!;
    expect(rulesDir).toBeDefined();
    const listing = ['project', 'control-tower'].flatMap((sub) => readdirSync(join(rulesDir, sub)).map((f) => `${sub}/${f}`));
    expect(listing).toEqual(expect.arrayContaining(['project/iam.guard', 'project/template.guard', 'project/logging.guard']));
    expect(listing).not.toContain('project/images.guard');
    expect(listing.filter((f) => f.startsWith('control-tower/')).length).toBeGreaterThan(100);
    expect(listing).not.toContain('control-tower/ct-cloudfront-pr-1.guard'); // disabled for every stack
    expect(listing).toContain('control-tower/ct-codebuild-pr-4.guard'); // disabled for the pipeline stack only
  });

  it('can be switched off by the administrator only through the enforcement\'s configuration (break glass)', () => {
    const app = newApp({ 'enforcement.hookStatus': 'DISABLED' });
    const { enforcementStack } = defineApp(app, 'test-version');
    const template = Template.fromStack(enforcementStack!);
    template.hasResourceProperties('AWS::CloudFormation::LambdaHook', { HookStatus: 'DISABLED', FailureMode: 'FAIL' });
    template.hasResourceProperties('AWS::CloudFormation::GuardHook', { HookStatus: 'DISABLED' });
  });

  it('trust both keys during a rotation; the validator signs with the newer', () => {
    const app = newApp({ 'enforcement.signingKeys': '["k1","k2"]' });
    const { enforcementStack, hooksStacks } = defineApp(app, 'test-version');
    const template = Template.fromStack(enforcementStack!);
    expect(Object.keys(template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }))).toEqual(['SigningKeyk1', 'SigningKeyk2']);
    template.hasResourceProperties('AWS::Lambda::Function', { FunctionName: ENFORCEMENT.validatorFunctionName, Environment: { Variables: Match.objectLike({ SIGNING_KEY_ARN: { 'Fn::GetAtt': ['SigningKeyk2', 'Arn'] } }) } });
    const trusted = JSON.stringify(['k1', 'k2'].map((k) => `arn:aws:kms:eu-west-1:333333333333:alias/br-fagq2-guardrail-signing-${k}`));
    for (const stack of [enforcementStack!, ...hooksStacks!]) {
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { FunctionName: ENFORCEMENT.hookFunctionName, Environment: { Variables: Match.objectLike({ TRUSTED_KEY_ARNS: trusted }) } });
    }
  });
});
