import { App, Stack, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { defineApp } from '../lib/app';
import { GUARDRAIL } from '../lib/guardrail-stack';
import { newApp } from './support/app';

interface Statement { Effect: string; Action: string | string[]; Resource?: unknown; Principal?: unknown; Condition?: Record<string, any> }

/** Every stack of the app, stages included. */
function allStacks(app: App): Stack[] {
  return app.node.findAll().filter((c): c is Stack => Stack.isStack(c) && !Stage.isStage(c));
}

/** Allow statements of identity policies, with the roles they are attached to (logical ids or names). */
function identityStatements(template: Template): Array<{ roles: string; statement: Statement }> {
  const out: Array<{ roles: string; statement: Statement }> = [];
  for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of policy.Properties.PolicyDocument.Statement) out.push({ roles: JSON.stringify(policy.Properties.Roles ?? id), statement });
  }
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const inline of role.Properties.Policies ?? []) for (const statement of inline.PolicyDocument.Statement) out.push({ roles: id, statement });
  }
  for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))) {
    for (const statement of policy.Properties.PolicyDocument.Statement) out.push({ roles: JSON.stringify(policy.Properties.Roles ?? id), statement });
  }
  return out;
}

const readsSecrets = (actions: string[]) => actions.some((a) => /^(\*|secretsmanager:\*|secretsmanager:GetSecretValue|secretsmanager:Get\*)$/i.test(a));

let app: App;
let guardrail: Template;
beforeAll(() => {
  app = newApp();
  const defined = defineApp(app, 'test-version');
  guardrail = Template.fromStack(defined.guardrailStack!);
});

describe('the guardrail stack (key material out of the self-mutating stack\'s reach)', () => {
  it('lets no role but the sign and verify roles read any secret, in any stack of the app, but each stage\'s deploy-checks role its own write credential', () => {
    const readers: string[] = [];
    for (const stack of allStacks(app)) {
      for (const { roles, statement } of identityStatements(Template.fromStack(stack))) {
        if (statement.Effect === 'Allow' && readsSecrets([statement.Action].flat())) readers.push(`${stack.stackName}: ${roles} ${JSON.stringify(statement.Resource)}`);
      }
    }
    // The guardrail stack's two roles, attached by logical id; and the deploy checks' OIDC client
    // secret of each stage, by its exact name (docs/first-deploy-paths.md, "The deploy checks' write credential").
    expect(readers.sort()).toEqual([
      expect.stringMatching(/^Production-Tiers: .*DeployChecksRole\w*"\}\] "arn:aws:secretsmanager:eu-west-1:333333333333:secret:br-fagq2-production\/deploy-checks\/oidc-client-\?{6}"$/),
      expect.stringMatching(/^Staging-Tiers: .*DeployChecksRole\w*"\}\] "arn:aws:secretsmanager:eu-west-1:222222222222:secret:br-fagq2-staging\/deploy-checks\/oidc-client-\?{6}"$/),
      expect.stringMatching(/^br-fagq2-guardrail: .*SignRole/),
      expect.stringMatching(/^br-fagq2-guardrail: .*VerifyRole/),
    ]);
  });

  it('denies kms:Decrypt of the token key, and reading the secret, to every principal but those two roles', () => {
    const roles = [
      { 'Fn::GetAtt': [expect.stringMatching(/^SignRole/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^VerifyRole/), 'Arn'] },
    ];
    const [key] = Object.values(guardrail.findResources('AWS::KMS::Key'));
    const deny = key.Properties.KeyPolicy.Statement.find((s: Statement) => s.Effect === 'Deny' && [s.Action].flat().includes('kms:Decrypt'));
    expect(deny).toMatchObject({ Principal: { AWS: '*' }, Condition: { ArnNotEquals: { 'aws:PrincipalArn': roles } } });
    const [policy] = Object.values(guardrail.findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(policy.Properties.ResourcePolicy.Statement).toContainEqual(expect.objectContaining({
      Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Condition: { ArnNotEquals: { 'aws:PrincipalArn': roles } },
    }));
  });

  it('generates a strong token in the secret, encrypted with that key, with a slot for the previous token during a rotation', () => {
    const [secret] = Object.values(guardrail.findResources('AWS::SecretsManager::Secret'));
    expect(secret.Properties).toMatchObject({
      Name: GUARDRAIL.tokenSecretName,
      KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^TokenKey/), 'Arn'] },
      GenerateSecretString: { GenerateStringKey: 'current', SecretStringTemplate: '{"previous":""}', PasswordLength: 40 },
    });
    guardrail.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('gives only the sign and verify CodeBuild projects the token (or any secret) in their environment', () => {
    const pipeline = Template.fromStack(app.node.findChild('Pipeline') as Stack);
    const withSecrets = Object.values(pipeline.findResources('AWS::CodeBuild::Project'))
      .filter((p) => (p.Properties.Environment.EnvironmentVariables ?? []).some((v: { Type: string; Value: string }) => v.Type === 'SECRETS_MANAGER' || /guardrail-token/.test(v.Value)))
      .map((p) => String(p.Properties.Description).split('/').at(-1));
    expect(withSecrets.sort()).toEqual(['GuardrailValidation', 'Sign']);
  });
});
