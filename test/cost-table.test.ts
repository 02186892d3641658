// The README's cost table ("What it costs, roughly"), recounted from the synthesized stage
// templates and the shipped configuration, so it cannot drift from what the stages deploy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStages, cdkJsonContext, REPO_ROOT, stageTemplates } from './support/app';

type Json = any;

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The table's rows: first cell → [staging cell, production cell]. */
function costTable(): Map<string, [string, string]> {
  const start = README.indexOf('| item | staging | production |');
  expect(start, 'README has the cost table').toBeGreaterThan(-1);
  const rows = new Map<string, [string, string]>();
  for (const line of README.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    rows.set(cells[0]!, [cells[1]!, cells[2]!]);
  }
  return rows;
}

function row(label: RegExp): [string, string] {
  const found = [...costTable()].find(([k]) => label.test(k));
  expect(found, `a cost-table row matching ${label}`).toBeDefined();
  return found![1];
}

/** `a × b × … = $x` or `a + b × c = $x`: the numbers and the stated result, whose arithmetic must hold. */
function formula(cell: string, shape: RegExp): number[] {
  const m = shape.exec(cell);
  expect(m, `"${cell}" has the shape ${shape}`).not.toBeNull();
  return m!.slice(1).map((n) => Number(n.replace(/,/g, '')));
}

/** A cell's amount: the result of its formula (`= $x`), else the first amount it names. */
const money = (cell: string) => Number((/= \$([\d,.]+)/.exec(cell) ?? /\$([\d,.]+)/.exec(cell))![1]!.replace(/,/g, ''));

function resources(template: Json, type: string): Json[] {
  return Object.values(template.Resources ?? {}).filter((r: Json) => r.Type === type) as Json[];
}

const STAGES = ['staging', 'production'] as const;

describe('README cost table, recounted from the templates', () => {
  const built = buildStages();
  const config = cdkJsonContext() as Json;
  const templates = Object.fromEntries(
    STAGES.map((stage) => {
      const t = stageTemplates(built[stage]);
      return [stage, { tiers: t.tiers.toJSON(), edgeWaf: t.edgeWaf.toJSON() }];
    }),
  ) as Record<(typeof STAGES)[number], { tiers: Json; edgeWaf: Json }>;

  it.for(STAGES)('%s: API tasks at the configured count and size', (stage) => {
    const cell = row(/^API tasks/)[STAGES.indexOf(stage)];
    const api = config[stage].api;
    const [count, vcpu, gb] = formula(cell, /^(\d+) × \(([\d.]+) vCPU, ([\d.]+) GB\)/);
    expect([count, vcpu, gb]).toEqual([api.minTasks, api.cpu / 1024, api.memoryMiB / 1024]);
    expect(money(cell)).toBeCloseTo(count! * 730 * (vcpu! * 0.04048 + gb! * 0.004445), 1);
  });

  it.for(STAGES)('%s: load balancers', (stage) => {
    const cell = row(/^load balancers/)[STAGES.indexOf(stage)];
    const [count, hours, rate, total] = formula(cell, /^(\d+) × (730) × ([\d.]+) = \$([\d.,]+)/);
    expect(count).toBe(resources(templates[stage].tiers, 'AWS::ElasticLoadBalancingV2::LoadBalancer').length);
    expect(total).toBeCloseTo(count! * hours! * rate!, 2);
  });

  it.for(STAGES)('%s: interface VPC endpoints, each in every AZ of its subnets', (stage) => {
    const cell = row(/^interface VPC endpoints/)[STAGES.indexOf(stage)];
    const [count, azs, hours, rate, total] = formula(cell, /^(\d+) × (\d+) × (730) × ([\d.]+) = \$([\d.,]+)/);
    const endpoints = resources(templates[stage].tiers, 'AWS::EC2::VPCEndpoint').filter((e) => e.Properties.VpcEndpointType === 'Interface');
    expect(count).toBe(endpoints.length);
    for (const e of endpoints) expect(e.Properties.SubnetIds).toHaveLength(azs!);
    expect(azs).toBe(config[stage].availabilityZones.length);
    expect(total).toBeCloseTo(count! * azs! * hours! * rate!, 2);
  });

  it.for(STAGES)('%s: NAT gateways, each with its public IPv4 address', (stage) => {
    const cell = row(/^NAT gateways/)[STAGES.indexOf(stage)];
    const [count, hours, nat, ip, total] = formula(cell, /^(\d+) × (730) × \(([\d.]+) \+ ([\d.]+)\) = \$([\d.,]+)/);
    expect(count).toBe(resources(templates[stage].tiers, 'AWS::EC2::NatGateway').length);
    expect(resources(templates[stage].tiers, 'AWS::EC2::EIP')).toHaveLength(count!);
    expect(total).toBeCloseTo(count! * hours! * (nat! + ip!), 2);
  });

  it.for(STAGES)('%s: WAF web ACL and its rules', (stage) => {
    const cell = row(/^WAF/)[STAGES.indexOf(stage)];
    const [acl, rules, rate, total] = formula(cell, /^(\d+) \+ (\d+) × (\d+) = \$([\d.,]+)/);
    const acls = resources(templates[stage].edgeWaf, 'AWS::WAFv2::WebACL');
    expect(acls).toHaveLength(1);
    expect(rules).toBe(acls[0].Properties.Rules.length);
    expect(total).toBe(acl! + rules! * rate!);
  });

  it.for(STAGES)('%s: the dashboard and every alarm, those Application Auto Scaling creates included', (stage) => {
    const cell = row(/^dashboard \+ alarms/)[STAGES.indexOf(stage)];
    const [dashboard, alarms, rate, total] = formula(cell, /^(\d+) \+ (\d+) × ([\d.]+) = \$([\d.,]+)/);
    const tiers = templates[stage].tiers;
    expect(resources(tiers, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(dashboard).toBe(3);
    // A target-tracking policy comes with two alarms (scale out, scale in) that the service makes.
    const targetTracking = resources(tiers, 'AWS::ApplicationAutoScaling::ScalingPolicy').filter((p) => p.Properties.PolicyType === 'TargetTrackingScaling');
    const inTemplates = resources(tiers, 'AWS::CloudWatch::Alarm').length + resources(templates[stage].edgeWaf, 'AWS::CloudWatch::Alarm').length;
    expect(alarms).toBe(inTemplates + 2 * targetTracking.length);
    expect(total).toBeCloseTo(dashboard! + alarms! * rate!, 2);
  });

  it.for(STAGES)('%s: KMS keys', (stage) => {
    const cell = row(/^KMS keys/)[STAGES.indexOf(stage)];
    const [count, total] = formula(cell, /^(\d+) × \$1 = \$([\d.,]+)/);
    const keys = resources(templates[stage].tiers, 'AWS::KMS::Key').length + resources(templates[stage].edgeWaf, 'AWS::KMS::Key').length;
    expect(count).toBe(keys);
    expect(total).toBe(count);
  });

  it.for(STAGES)('%s: the fixed total is the sum of the rows', (stage) => {
    const column = STAGES.indexOf(stage);
    let sum = 0;
    let fixed: number | undefined;
    for (const [label, cells] of costTable()) {
      const cell = cells[column];
      if (/fixed/.test(label)) fixed = money(cell);
      else if (/^worker tasks/.test(label) && /when idle/.test(cell)) continue; // scales from zero
      else if (/\$/.test(cell)) sum += money(cell);
    }
    expect(fixed, 'a fixed-total row').toBeDefined();
    expect(fixed).toBe(Math.round(sum));
  });
});
