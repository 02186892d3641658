// The source connection: every role CDK gives codestar-connections:UseConnection on the connection
// also holds the action whose prefix matches the connection's ARN (codeconnections:), which is the
// one IAM evaluates for an arn:aws:codeconnections: resource.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useConnectionAction } from '../lib/connection-grants';
import { cdkJsonContext, sharedAssembly } from './support/app';

interface Statement { Effect: string; Action: string | string[]; Resource: unknown }

function policiesOnConnection(template: any, connectionArn: string, action: string): Map<string, string[]> {
  const byRole = new Map<string, string[]>();
  for (const [id, resource] of Object.entries<any>(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const statements = resource.Properties.PolicyDocument.Statement as Statement[];
    const grants = statements.some((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action) && [s.Resource].flat().includes(connectionArn));
    if (grants) byRole.set(JSON.stringify(resource.Properties.Roles), [...(byRole.get(JSON.stringify(resource.Properties.Roles)) ?? []), id]);
  }
  return byRole;
}

describe('the source connection', () => {
  const connectionArn = (cdkJsonContext().pipeline as { connectionArn: string }).connectionArn;

  it('is a codeconnections ARN in the shipped configuration (the case CDK gets wrong)', () => {
    expect(connectionArn).toMatch(/^arn:aws:codeconnections:/);
    expect(useConnectionAction(connectionArn)).toBe('codeconnections:UseConnection');
    expect(useConnectionAction('arn:aws:codestar-connections:eu-west-1:111111111111:connection/x')).toBe('codestar-connections:UseConnection');
    expect(() => useConnectionAction('arn:aws:s3:::bucket')).toThrow(/not a connection ARN/);
  });

  it('every role with codestar-connections:UseConnection on the connection also has codeconnections:UseConnection', () => {
    const template = JSON.parse(readFileSync(path.join(sharedAssembly(), 'Pipeline.template.json'), 'utf8'));
    const legacy = policiesOnConnection(template, connectionArn, 'codestar-connections:UseConnection');
    const matching = policiesOnConnection(template, connectionArn, 'codeconnections:UseConnection');
    // The Source action's role, Synth's and the four check steps' CodeBuild roles. Not
    // GuardrailValidation's: it runs the Synth step's bundle of its program, no clone of the source.
    expect(legacy.size).toBe(6);
    const missing = [...legacy.keys()].filter((roles) => !matching.has(roles));
    expect(missing).toEqual([]);
    // Granted on the connection only, never on a wildcard.
    for (const resource of Object.values<any>(template.Resources)) {
      if (resource.Type !== 'AWS::IAM::Policy') continue;
      for (const s of resource.Properties.PolicyDocument.Statement as Statement[]) {
        if ([s.Action].flat().includes('codeconnections:UseConnection')) expect(s.Resource).toBe(connectionArn);
      }
    }
  });
});
