// The rehearsal's IAM step on a real synth of the app, and on copies of it with the defects it
// exists to catch seeded in: each must fail its action with the statement that decided it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../pipeline/cloud-assembly';
import { buildWorld, type IamActionResult, rehearseIam, releaseCalls } from '../pipeline/rehearsal/iam/index';
import { readPipeline } from '../pipeline/rehearsal/model';
import { REPO_ROOT, sharedAssembly } from './support/app';
import { assemblyCopies, editJson } from './support/assembly-copies';
import { shippedIam } from './support/validations';

let assembly: string;
// The defects are seeded into copies: the shared assembly is read only.
const copies = assemblyCopies('rehearsal-iam-test-', () => assembly);
const copyEdited = copies.copyEdited;
const workDir = copies.dir;

beforeAll(() => {
  assembly = sharedAssembly();
});
afterAll(() => copies.dispose());

function editTemplate(dir: string, displayName: string, edit: (template: any) => void): void {
  editJson(listStacks(dir).find((s) => s.displayName === displayName)!.templateFile, edit);
}

const rehearse = (dir: string, scpDir?: string, bootstrapTrust?: Record<string, string[]>) => rehearseIam(readPipeline(dir), { repoRoot: REPO_ROOT, scpDir: scpDir ?? join(workDir, 'no-scps'), bootstrapTrust });
const of = (results: IamActionResult[], action: string) => results.find((r) => r.action === action)!;
const EXEC_333 = 'arn:aws:iam::333333333333:role/cdk-hnb659fds-cfn-exec-role-333333333333-eu-west-1';

describe('the rehearsal\'s IAM evaluation', () => {
  it('evaluates the calls of every pipeline action and of every stack deployed by hand, the source connection\'s among them', async () => {
    const model = readPipeline(assembly);
    const results = await shippedIam();
    const actions = model.stages.flatMap((s) => s.actions).map((a) => `${a.stage}/${a.name}`);
    for (const action of actions) expect(of(results, action)?.evaluated, action).toBeGreaterThan(0);
    expect(results.map((r) => r.action)).toEqual(expect.arrayContaining(['hand/Pipeline', ...model.handDeployed.map((s) => `hand/${s.displayName}`)]));
    // the stage deploys evaluate every resource's handler permissions: hundreds each
    expect(of(results, 'Production/Tiers.Deploy').evaluated).toBeGreaterThan(500);

    const calls = releaseCalls(model, buildWorld(model, REPO_ROOT), { repoRoot: REPO_ROOT });
    const connection = calls.filter((c) => c.permission === 'codeconnections:UseConnection');
    expect(connection.map((c) => c.resource)).toEqual(connection.map(() => expect.stringMatching(/^arn:aws:codeconnections:/)));
    // the Source action, and every CodeBuild action reading its full clone
    expect(new Set(connection.map((c) => c.action))).toEqual(new Set(['Source/example_br-fagq2', ...actions.filter((a) => calls.some((c) => c.action === a && c.why.includes('full clone')))]));
    expect(connection.length).toBeGreaterThanOrEqual(6);
    // every alarm's notification is a call of CloudWatch to its topic
    const publishes = calls.filter((c) => c.action === 'Production/Tiers.Deploy' && c.principal === 'cloudwatch.amazonaws.com' && c.permission === 'sns:Publish');
    expect(publishes.length).toBeGreaterThanOrEqual(9);
    // the deploy roles are assumed across accounts, through the bootstrap template's trust policies
    expect(calls).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'Production/Tiers.Prepare', permission: 'sts:AssumeRole', resource: 'arn:aws:iam::333333333333:role/cdk-hnb659fds-deploy-role-333333333333-eu-west-1' })]));
    const prepare = of(results, 'Production/Tiers.Prepare');
    expect(prepare.denied).toEqual([]);
  });

  it('defect 1: a key policy denying kms:Decrypt to all but two roles fails the deploy that creates a secret under that key: ExplicitlyDenied, by that statement', async () => {
    const dir = copyEdited('defect1', (d) => editTemplate(d, 'Pipeline/Production/Tiers', (t) => {
      t.Resources.SeededTokenKey = {
        Type: 'AWS::KMS::Key',
        Properties: {
          KeyPolicy: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::333333333333:root' }, Action: 'kms:*', Resource: '*' },
              { Sid: 'OnlyTheGuardrailRolesDecrypt', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::333333333333:role/sign', 'arn:aws:iam::333333333333:role/verify'] } } },
            ],
          },
        },
      };
      t.Resources.SeededToken = { Type: 'AWS::SecretsManager::Secret', Properties: { KmsKeyId: { 'Fn::GetAtt': ['SeededTokenKey', 'Arn'] } } };
    }));
    const deploy = of(await rehearse(dir), 'Production/Tiers.Deploy');
    const decrypt = deploy.denied.find((d) => d.call.permission === 'kms:Decrypt' && d.call.principal === EXEC_333);
    expect(decrypt).toMatchObject({ result: 'ExplicitlyDenied', decidedBy: expect.stringContaining('statement "OnlyTheGuardrailRolesDecrypt"') });
    expect(decrypt!.call.context['kms:ViaService']).toBe('secretsmanager.eu-west-1.amazonaws.com');
    expect(deploy.denied.some((d) => d.call.permission === 'kms:GenerateDataKey')).toBe(false); // only Decrypt is denied
  });

  it('defect 2: roles holding only codestar-connections:UseConnection cannot use an arn:aws:codeconnections: connection: ImplicitlyDenied', async () => {
    const dir = copyEdited('defect2', (d) => editTemplate(d, 'Pipeline', (t) => {
      for (const r of Object.values(t.Resources) as any[]) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        for (const s of r.Properties.PolicyDocument.Statement) {
          const actions = [s.Action].flat().map((a: string) => (a === 'codeconnections:UseConnection' ? 'codestar-connections:UseConnection' : a));
          s.Action = actions.length === 1 ? actions[0] : actions;
        }
      }
    }));
    const results = await rehearse(dir);
    const source = of(results, 'Source/example_br-fagq2').denied.find((d) => d.call.permission === 'codeconnections:UseConnection');
    expect(source).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/^no Allow in the identity policies of arn:aws:iam::111111111111:role\//) });
    const builds = results.filter((r) => r.denied.some((d) => d.call.permission === 'codeconnections:UseConnection'));
    expect(builds.length).toBeGreaterThanOrEqual(6); // the Source action's role and the CodeBuild roles reading its clone
  });

  it('defect 4: an alarm topic whose policy allows EventBridge but not CloudWatch loses every alarm: sns:Publish by cloudwatch.amazonaws.com ImplicitlyDenied, and its key too', async () => {
    const dir = copyEdited('defect4', (d) => editTemplate(d, 'Pipeline/Production/Tiers', (t) => {
      const [, topicPolicy] = Object.entries(t.Resources).find(([, r]: [string, any]) => r.Type === 'AWS::SNS::TopicPolicy') as [string, any];
      const topicId = topicPolicy.Properties.Topics[0].Ref;
      topicPolicy.Properties.PolicyDocument.Statement = [
        { Sid: 'AllowPublishThroughSSLOnly', Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: { Ref: topicId }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { Sid: '1', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Resource: { Ref: topicId } },
      ];
      const keyId = t.Resources[topicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
      const key = t.Resources[keyId].Properties.KeyPolicy;
      key.Statement = key.Statement.filter((s: any) => s.Principal?.Service !== 'cloudwatch.amazonaws.com');
    }));
    const deploy = of(await rehearse(dir), 'Production/Tiers.Deploy');
    const publish = deploy.denied.filter((d) => d.call.principal === 'cloudwatch.amazonaws.com' && d.call.permission === 'sns:Publish');
    expect(publish.length).toBeGreaterThanOrEqual(9);
    for (const d of publish) expect(d).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/no Allow in the resource policy Pipeline\/Production\/Tiers AlarmsTopicPolicy/) });
    expect(deploy.denied.some((d) => d.call.principal === 'cloudwatch.amazonaws.com' && d.call.permission === 'kms:GenerateDataKey')).toBe(true);
    // EventBridge's publishing is still allowed: the same topic policy allows it
    expect(deploy.denied.some((d) => d.call.principal === 'events.amazonaws.com')).toBe(false);
  });

  it('an explicit Deny in an SCP file beats the execution role\'s AdministratorAccess', async () => {
    const scps = join(workDir, 'scps');
    mkdirSync(scps, { recursive: true });
    writeFileSync(join(scps, 'deny-secrets.json'), JSON.stringify({
      name: 'NoDynamoDbDeletes',
      accounts: ['333333333333'],
      policy: { Version: '2012-10-17', Statement: [{ Sid: 'NoTableDeletes', Effect: 'Deny', Action: 'dynamodb:DeleteTable', Resource: '*' }] },
    }));
    const results = await rehearse(assembly, scps);
    const denied = of(results, 'Production/Tiers.Deploy').denied.filter((d) => d.call.permission === 'dynamodb:DeleteTable');
    expect(denied).toEqual([expect.objectContaining({ result: 'ExplicitlyDenied', decidedBy: expect.stringContaining('statement "NoTableDeletes" of NoDynamoDbDeletes') })]);
    expect(denied[0].call.principal).toBe(EXEC_333);
    // the SCP names only production's account: staging's deploy is untouched
    expect(of(results, 'Staging/Tiers.Deploy').denied.some((d) => d.call.permission === 'dynamodb:DeleteTable')).toBe(false);
  });

  it('a condition decides: the scheduler role\'s trust policy with another aws:SourceArn denies EventBridge Scheduler', async () => {
    const assume = (r: IamActionResult) => r.denied.filter((d) => d.call.principal === 'scheduler.amazonaws.com' && d.call.permission === 'sts:AssumeRole');
    expect(assume(of(await shippedIam(), 'Production/Tiers.Deploy'))).toEqual([]);
    const dir = copyEdited('source-arn', (d) => editTemplate(d, 'Pipeline/Production/Tiers', (t) => {
      for (const r of Object.values(t.Resources) as any[]) {
        for (const s of r.Type === 'AWS::IAM::Role' ? r.Properties.AssumeRolePolicyDocument.Statement : []) {
          if (s.Condition?.StringEquals?.['aws:SourceArn']) s.Condition.StringEquals['aws:SourceArn'] = 'arn:aws:scheduler:eu-west-1:333333333333:schedule-group/another';
        }
      }
    }));
    const denied = assume(of(await rehearse(dir), 'Production/Tiers.Deploy'));
    expect(denied).toHaveLength(1); // both schedules share the role and the schedule group: one call
    for (const d of denied) expect(d).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/^no Allow in the trust policy of arn:aws:iam::333333333333:role\//) });
  });

  it('the bootstrap trust policies decide the cross-account roles: production bootstrapped without --trust denies every role the pipeline assumes there', async () => {
    const results = await rehearse(assembly, undefined, { '333333333333': [] });
    const assumed = results.flatMap((r) => r.denied).filter((d) => d.call.permission === 'sts:AssumeRole' && d.call.resource.includes(':iam::333333333333:role/cdk-hnb659fds-'));
    const roles = new Set(assumed.map((d) => d.call.resource.split('/').pop()!.replace(/-333333333333-.*/, '')));
    expect(roles).toEqual(new Set(['cdk-hnb659fds-deploy-role', 'cdk-hnb659fds-file-publishing-role', 'cdk-hnb659fds-image-publishing-role', 'cdk-hnb659fds-lookup-role']));
    for (const d of assumed) expect(d).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringContaining('no Allow in the trust policy of arn:aws:iam::333333333333:role/cdk-hnb659fds-') });
    expect(of(results, 'Production/Tiers.Prepare').denied.map((d) => d.call.permission)).toContain('sts:AssumeRole');
    // staging keeps its trust
    expect(of(results, 'Staging/Tiers.Prepare').denied).toEqual([]);
  });

  it('a bucket policy decides a cross-account read: the artifact bucket\'s policy without production\'s deploy role denies its template read', async () => {
    const dir = copyEdited('bucket-policy', (d) => editTemplate(d, 'Pipeline', (t) => {
      for (const r of Object.values(t.Resources) as any[]) {
        if (r.Type !== 'AWS::S3::BucketPolicy') continue;
        for (const s of r.Properties.PolicyDocument.Statement) {
          if (Array.isArray(s.Principal?.AWS)) s.Principal.AWS = s.Principal.AWS.filter((p: any) => !JSON.stringify(p).includes('333333333333'));
        }
      }
    }));
    const results = await rehearse(dir);
    const read = of(results, 'Production/Tiers.Prepare').denied.filter((d) => d.call.permission === 's3:GetObject');
    expect(read).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/no Allow in the resource policy Pipeline PipelineArtifactsBucketPolicy/) })]);
    expect(read[0].call.principal).toBe('arn:aws:iam::333333333333:role/cdk-hnb659fds-deploy-role-333333333333-eu-west-1');
    expect(of(results, 'Staging/Tiers.Prepare').denied).toEqual([]);
  });

  it('takes further calls as data (extraCalls): the production deploy-checks role, which holds no lambda:InvokeFunction and which the validator\'s resource policy does not name, is denied invoking the validator, in its action', async () => {
    const validator = 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator';
    const results = await rehearseIam(readPipeline(assembly), {
      repoRoot: REPO_ROOT,
      scpDir: join(workDir, 'no-scps'),
      extraCalls: (world) => {
        const role = [...world.roles.keys()].find((arn) => arn.endsWith(':role/br-fagq2-production-deploy-checks'))!;
        expect(role).toBeDefined();
        return [{ action: 'Guardrail/GuardrailValidation', principal: role, permission: 'lambda:InvokeFunction', resource: validator, context: { 'aws:PrincipalArn': role, 'aws:SecureTransport': 'true' }, why: 'the validation step invokes the production validator', citation: 'test' }];
      },
    });
    const validation = of(results, 'Guardrail/GuardrailValidation');
    // the step's own role invokes it (allowed); the extra call alone is denied
    expect(validation.denied).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', call: expect.objectContaining({ resource: validator, principal: 'arn:aws:iam::333333333333:role/br-fagq2-production-deploy-checks' }) })]);
    expect(validation.denied[0].decidedBy).toMatch(/no Allow in the identity policies of arn:aws:iam::333333333333:role\/br-fagq2-production-deploy-checks/);
  });

  it('the deploy checks read their OIDC client secret (created by the operator: identity side): allowed as shipped, denied when the role names another secret', async () => {
    const secretCalls = (r: IamActionResult[]) => r.flatMap((x) => x.denied).filter((d) => d.call.permission === 'secretsmanager:GetSecretValue');
    const model = readPipeline(assembly);
    const calls = releaseCalls(model, buildWorld(model, REPO_ROOT), { repoRoot: REPO_ROOT }).filter((c) => c.permission === 'secretsmanager:GetSecretValue');
    expect(calls.map((c) => [c.action, c.principal, c.resource])).toEqual([
      ['Staging/StagingDeployChecks', 'arn:aws:iam::222222222222:role/br-fagq2-staging-deploy-checks', 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:br-fagq2-staging/deploy-checks/oidc-client-AbCdEf'],
      ['Production/ProductionDeployChecks', 'arn:aws:iam::333333333333:role/br-fagq2-production-deploy-checks', 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:br-fagq2-production/deploy-checks/oidc-client-AbCdEf'],
    ]);
    expect(secretCalls(await shippedIam())).toEqual([]);
    const dir = copyEdited('secret', (d) => editTemplate(d, 'Pipeline/Production/Tiers', (t) => {
      for (const r of Object.values(t.Resources) as any[]) {
        for (const st of r.Type === 'AWS::IAM::Policy' ? r.Properties.PolicyDocument.Statement : []) {
          if (st.Sid === 'WriteCredential') st.Resource = 'arn:aws:secretsmanager:eu-west-1:333333333333:secret:br-fagq2-staging/deploy-checks/oidc-client-??????';
        }
      }
    }));
    const denied = secretCalls(await rehearse(dir));
    expect(denied).toEqual([expect.objectContaining({ result: 'ImplicitlyDenied', call: expect.objectContaining({ action: 'Production/ProductionDeployChecks' }) })]);
    expect(denied[0].decidedBy).toMatch(/no Allow in the identity policies of arn:aws:iam::333333333333:role\/br-fagq2-production-deploy-checks/);
  });

  it('CloudWatch publishes to the alarm topic with aws:SourceAccount and aws:SourceArn (the topic policy\'s conditions): allowed as shipped, denied when the policy names other alarms', async () => {
    const model = readPipeline(assembly);
    const publishes = releaseCalls(model, buildWorld(model, REPO_ROOT), { repoRoot: REPO_ROOT }).filter((c) => c.action === 'Production/Tiers.Deploy' && c.principal === 'cloudwatch.amazonaws.com' && c.permission === 'sns:Publish');
    expect(publishes.length).toBeGreaterThanOrEqual(9);
    for (const c of publishes) {
      expect(c.context['aws:SourceAccount']).toBe('333333333333');
      expect(c.context['aws:SourceArn']).toMatch(/^arn:aws:cloudwatch:eu-west-1:333333333333:alarm:/);
    }
    const denied = (r: IamActionResult[]) => of(r, 'Production/Tiers.Deploy').denied.filter((d) => d.call.principal === 'cloudwatch.amazonaws.com' && d.call.permission === 'sns:Publish');
    expect(denied(await shippedIam())).toEqual([]);
    const dir = copyEdited('alarm-source-arn', (d) => editTemplate(d, 'Pipeline/Production/Tiers', (t) => {
      for (const r of Object.values(t.Resources) as any[]) {
        for (const st of r.Type === 'AWS::SNS::TopicPolicy' ? r.Properties.PolicyDocument.Statement : []) {
          if (st.Sid === 'CloudWatchAlarmsOfThisAccount') st.Condition.ArnLike['aws:SourceArn'] = 'arn:aws:cloudwatch:eu-west-1:222222222222:alarm:*';
        }
      }
    }));
    const seeded = denied(await rehearse(dir));
    expect(seeded.length).toBe(publishes.length);
    for (const d of seeded) expect(d).toMatchObject({ result: 'ImplicitlyDenied', decidedBy: expect.stringMatching(/no Allow in the resource policy Pipeline\/Production\/Tiers AlarmsTopicPolicy/) });
  });
});
