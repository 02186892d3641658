// What the Production stage's rollback does after ECS already rolled back, and after a failure
// that came once ECS completed: two releases synthesized as the pipeline deploys them, differing
// only in the release (the commit id), and the resource-level diff of their production templates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../pipeline/cloud-assembly';
import { rehearseRollback } from '../pipeline/rehearsal/cli';
import { readTemplate } from '../pipeline/rehearsal/model';
import { formatRollback, stageRollback, STATEFUL_TYPES, statefulChanges, templateChanges } from '../pipeline/rehearsal/rollback';
import { sharedAssembly, synthApp } from './support/app';

let workDir: string;
/** The release production ran before (the one a stage rollback redeploys). */
let previous: string;
/** The release that failed in production. */
let next: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'rollback-test-'));
  previous = synthApp(join(workDir, 'previous'), '0a1b2c3d4e5f');
  next = sharedAssembly(); // the release 'test-version'
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const productionTemplate = (assembly: string, stack: 'Tiers' | 'EdgeWaf') =>
  readTemplate(listStacks(assembly).find((s) => s.displayName === `Pipeline/Production/${stack}`)!);

/** The API's release-specific resources, as the app names them. */
const RELEASE_SPECIFIC = ['apiid6pe9zboaReleaseChecksFunction1DF0C65D', 'apiid6pe9zboaService27E2EBC6', 'apiid6pe9zboaTask5698D822'];

describe('the Production stage rollback', () => {
  it('after ECS rolled back (CloudFormation rolled Tiers back; EdgeWaf had deployed the new release): changes nothing', () => {
    // The state production is in: Tiers back on the previous template, EdgeWaf on the new one (its
    // deploy ran, and succeeded, before Tiers'). The rollback redeploys the previous release's.
    expect(templateChanges(productionTemplate(previous, 'Tiers'), productionTemplate(previous, 'Tiers'))).toEqual([]);
    expect(templateChanges(productionTemplate(next, 'EdgeWaf'), productionTemplate(previous, 'EdgeWaf'))).toEqual([]);
  });

  it('after a failure that came once ECS completed: changes exactly the release-specific resources of the API', () => {
    const rollback = stageRollback(next, previous);
    expect(rollback.map((s) => s.stack)).toEqual(['Production/EdgeWaf', 'Production/Tiers']);
    expect(rollback.find((s) => s.stack === 'Production/EdgeWaf')!.changes).toEqual([]);
    const changes = rollback.find((s) => s.stack === 'Production/Tiers')!.changes;
    expect(changes.map((c) => c.logicalId)).toEqual(RELEASE_SPECIFIC);
    expect(changes).toEqual([
      // The hook checks for the release rolled back to: its EXPECTED_VERSION, updated in place.
      expect.objectContaining({ type: 'AWS::Lambda::Function', action: 'Modify', replaced: false, properties: ['Environment'], because: [] }),
      // The service moves to the previous task definition (a new deployment, a canary again).
      expect.objectContaining({ type: 'AWS::ECS::Service', action: 'Modify', replaced: false, properties: [], because: ['apiid6pe9zboaTask5698D822'] }),
      // The API's task definition: APP_VERSION differs; a task definition is immutable, so a new revision.
      expect.objectContaining({ type: 'AWS::ECS::TaskDefinition', action: 'Modify', replaced: true, properties: ['ContainerDefinitions'] }),
    ]);
  });

  it('changes and replaces no stateful resource (table, bucket, queue, key, log group), which both templates hold', () => {
    const template = productionTemplate(previous, 'Tiers');
    const types = new Set(Object.values(template.Resources).map((r: any) => r.Type));
    for (const type of STATEFUL_TYPES) expect(types).toContain(type);
    for (const stack of stageRollback(next, previous)) expect(statefulChanges(stack.changes)).toEqual([]);
  });

  it('is what the rehearsal reports with --rollback-to', () => {
    expect(rehearseRollback(next, previous)).toEqual({
      line: `Production stage rollback: 3 resources change (Production/EdgeWaf: no change; Production/Tiers: ${RELEASE_SPECIFIC[0]}, ${RELEASE_SPECIFIC[1]}, ${RELEASE_SPECIFIC[2]} (replaced))`,
      failed: false,
    });
    expect(rehearseRollback(previous, previous).line).toBe('Production stage rollback: 0 resources change (Production/EdgeWaf: no change; Production/Tiers: no change)');
  });
});

describe('the template diff', () => {
  const table = { Type: 'AWS::DynamoDB::Table', Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' } };
  const task = { Type: 'AWS::ECS::TaskDefinition', Properties: { ContainerDefinitions: [{ Image: 'a' }] } };
  const service = { Type: 'AWS::ECS::Service', Properties: { TaskDefinition: { Ref: 'Task' } } };
  const alarm = { Type: 'AWS::CloudWatch::Alarm', Properties: { Dimensions: [{ Value: { 'Fn::GetAtt': ['Service', 'Name'] } }] } };
  const policy = { Type: 'AWS::IAM::Policy', Properties: { Document: { 'Fn::Sub': 'arn:${Table.Arn}' } } };
  const template = { Resources: { Table: table, Task: task, Service: service, Alarm: alarm, Policy: policy } };

  it('updates what references a replaced resource, and only that', () => {
    const changed = structuredClone(template);
    changed.Resources.Task.Properties.ContainerDefinitions[0].Image = 'b';
    expect(templateChanges(template, changed).map((c) => [c.logicalId, c.replaced, c.because])).toEqual([
      ['Service', false, ['Task']],
      ['Task', true, []],
    ]);
  });

  it('replaces a table whose key changes, and updates what references it through Fn::Sub; flags it as stateful', () => {
    const changed = structuredClone(template);
    changed.Resources.Table.Properties.KeySchema[0].AttributeName = 'pk';
    const changes = templateChanges(template, changed);
    expect(changes.map((c) => [c.logicalId, c.replaced])).toEqual([['Policy', false], ['Table', true]]);
    expect(statefulChanges(changes).map((c) => c.logicalId)).toEqual(['Table']);
    expect(formatRollback('Production', [{ stack: 'Production/Tiers', changes }])).toMatch(/STATEFUL resources change: Production\/Tiers\/Table$/);
  });

  it('updates a table in place when a mutable property changes', () => {
    const changed = structuredClone(template);
    changed.Resources.Table.Properties.BillingMode = 'PROVISIONED';
    expect(templateChanges(template, changed)).toEqual([
      { logicalId: 'Table', type: 'AWS::DynamoDB::Table', action: 'Modify', replaced: false, properties: ['BillingMode'], because: [] },
    ]);
  });

  it('sees added and removed resources, and ignores Metadata', () => {
    const changed: any = structuredClone(template);
    delete changed.Resources.Alarm;
    changed.Resources.Queue = { Type: 'AWS::SQS::Queue', Properties: {} };
    changed.Resources.Table.Metadata = { 'aws:cdk:path': 'elsewhere' };
    expect(templateChanges(template, changed).map((c) => [c.logicalId, c.action])).toEqual([['Alarm', 'Remove'], ['Queue', 'Add']]);
  });
});
