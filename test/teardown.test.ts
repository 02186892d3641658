// The README's teardown procedure, checked against the synthesized templates: it lists every
// resource CloudFormation keeps when a stack is deleted (DeletionPolicy Retain), says which
// buckets are versioned (every version must go), switches every protection off before the
// delete that it would refuse, and deletes stacks in an order their dependencies allow.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listStacks, readManifest } from '../pipeline/cloud-assembly.ts';
import { REPO_ROOT, sharedAssembly } from './support/app';

type Json = any;

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The README's teardown section: from its heading to the next heading of its level or higher. */
function teardownSection(): string {
  const start = README.indexOf('### Teardown');
  expect(start, 'README has a "### Teardown" section').toBeGreaterThan(-1);
  const body = README.indexOf('\n', start) + 1;
  const end = README.slice(body).search(/^#{2,3} /m);
  return end < 0 ? README.slice(start) : README.slice(start, body + end);
}

/** The row label of the retained-resources table a stack belongs to. */
function rowOf(stackName: string, displayName: string): string {
  if (displayName.endsWith('/Tiers')) return '*-Tiers';
  if (displayName.endsWith('/EdgeWaf')) return '*-EdgeWaf';
  return stackName;
}

interface Retained {
  readonly row: string;
  readonly type: string;
  readonly versioned: boolean;
}

/** Every retained resource of the assembly, staging and production alike counted once per row. */
function retainedResources(assemblyDir: string): Map<string, Map<string, number>> {
  const perTemplate: Array<{ stack: string; list: Retained[] }> = [];
  for (const stack of listStacks(assemblyDir)) {
    const template = JSON.parse(readFileSync(stack.templateFile, 'utf8'));
    const list: Retained[] = [];
    for (const resource of Object.values(template.Resources ?? {}) as Json[]) {
      if (!['Retain', 'RetainExceptOnCreate'].includes(resource.DeletionPolicy)) continue;
      const versioned = resource.Type === 'AWS::S3::Bucket' && resource.Properties?.VersioningConfiguration?.Status === 'Enabled';
      list.push({ row: rowOf(stack.stackName, stack.displayName), type: resource.Type, versioned });
    }
    perTemplate.push({ stack: stack.displayName, list });
  }
  // Staging's and production's stacks of a kind retain the same resources: one row each kind.
  const rows = new Map<string, Map<string, number>>();
  for (const { list } of perTemplate) {
    const counts = new Map<string, number>();
    for (const r of list) {
      const key = r.versioned ? `${r.type} (versioned)` : r.type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const row = list[0]?.row;
    if (!row) continue;
    const known = rows.get(row);
    if (known) expect(Object.fromEntries(counts), `every ${row} stack retains the same`).toEqual(Object.fromEntries(known));
    rows.set(row, counts);
  }
  return rows;
}

/** The README's table: `| stack | retained | ... |` rows with `N × \`Type\`` (`, versioned` inside the parentheses that follow). */
function documentedRetained(section: string): Map<string, Map<string, number>> {
  const rows = new Map<string, Map<string, number>>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !/^`[^`]+`$/.test(cells[1]!)) continue;
    const row = cells[1]!.slice(1, -1);
    const counts = new Map<string, number>();
    for (const m of cells[2]!.matchAll(/(\d+) × `(AWS::[A-Za-z0-9:]+)`(?: \(([^)]*)\))?/g)) {
      const key = /\bversioned\b/.test(m[3] ?? '') ? `${m[2]} (versioned)` : m[2]!;
      counts.set(key, (counts.get(key) ?? 0) + Number(m[1]));
    }
    if (counts.size) rows.set(row, counts);
  }
  return rows;
}

describe('README teardown, against the synthesized templates', () => {
  const assembly = sharedAssembly();
  const section = teardownSection();

  it('lists every retained resource of every stack, by type and count, and nothing more', () => {
    const actual = retainedResources(assembly);
    const documented = documentedRetained(section);
    const asObject = (m: Map<string, Map<string, number>>) => Object.fromEntries([...m].map(([k, v]) => [k, Object.fromEntries(v)]));
    expect(asObject(documented)).toEqual(asObject(actual));
  });

  it('says how to empty a versioned bucket (every version and delete marker), not just its current objects', () => {
    expect(section).toMatch(/list-object-versions/);
    expect(section).toMatch(/DeleteMarkers/);
  });

  it('switches each protection off before the delete it would refuse', () => {
    const commands = section;
    for (const stack of listStacks(assembly)) {
      const template = JSON.parse(readFileSync(stack.templateFile, 'utf8'));
      for (const resource of Object.values(template.Resources ?? {}) as Json[]) {
        if (resource.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer') {
          const on = (resource.Properties?.LoadBalancerAttributes ?? []).some((a: Json) => a.Key === 'deletion_protection.enabled' && a.Value === 'true');
          if (!on) continue;
          const off = commands.indexOf('Key=deletion_protection.enabled,Value=false');
          expect(off, `${stack.displayName}: its load balancer is deletion-protected; the teardown must switch it off`).toBeGreaterThan(-1);
          const del = commands.search(new RegExp(`delete-stack[^\\n]*--stack-name [^\\n]*${stack.stackName.replace(/^(Staging|Production)-/, '')}`));
          expect(del, `${stack.displayName}: a delete-stack command`).toBeGreaterThan(-1);
          expect(off, 'the protection goes off before the stack is deleted').toBeLessThan(del);
        }
        if (resource.Type === 'AWS::DynamoDB::Table' && resource.Properties?.DeletionProtectionEnabled === true) {
          expect(commands, `${stack.displayName}: a deletion-protected table`).toMatch(/--no-deletion-protection-enabled/);
        }
      }
    }
    const manifest = readManifest(assembly);
    for (const artifact of Object.values(manifest.artifacts ?? {})) {
      if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.terminationProtection) continue;
      const name = artifact.properties.stackName ?? artifact.displayName;
      expect(commands, `${name} has termination protection`).toContain(`update-termination-protection --no-enable-termination-protection --stack-name ${name}`);
    }
  });

  it('deletes a stack only after every stack that depends on it', () => {
    // The order of first mention of each stack in a delete command.
    const order: string[] = [];
    for (const m of section.matchAll(/(?:delete-stack[^\n]*--stack-name |cdk destroy )'?([A-Za-z0-9*-]+)'?/g)) if (!order.includes(m[1]!)) order.push(m[1]!);
    const position = (name: string) => order.findIndex((o) => o === name || (o.includes('*') && new RegExp(`^${o.replace(/\*/g, '.*')}$`).test(name)));
    const dirs = [...new Set(listStacks(assembly).map((s) => s.assemblyDir))];
    for (const dir of dirs) {
      const artifacts = readManifest(dir).artifacts ?? {};
      // A stack is named by its construct id (cdk destroy), display name or CloudFormation name.
      const namesOf = (id: string) => [id, artifacts[id]?.displayName, artifacts[id]?.properties?.stackName].filter((n): n is string => !!n);
      const positionOf = (id: string) => Math.max(...namesOf(id).map(position));
      for (const [id, artifact] of Object.entries(artifacts)) {
        if (artifact.type !== 'aws:cloudformation:stack') continue;
        for (const dependency of (artifact as Json).dependencies ?? []) {
          if (artifacts[dependency]?.type !== 'aws:cloudformation:stack') continue;
          const a = positionOf(id);
          const b = positionOf(dependency);
          expect(a, `${id} is deleted in the teardown`).toBeGreaterThan(-1);
          expect(b, `${dependency} is deleted in the teardown`).toBeGreaterThan(-1);
          expect(a, `${id} depends on ${dependency}: delete it first`).toBeLessThan(b);
        }
      }
    }
    // Each stage's Tiers stack uses its EdgeWaf stack's web ACL (a cross-region reference).
    for (const stage of ['Staging', 'Production']) {
      const tiers = order.findIndex((o) => o === `${stage}-Tiers`);
      const waf = order.findIndex((o) => o === `${stage}-EdgeWaf`);
      expect(tiers, `${stage}-Tiers is deleted`).toBeGreaterThan(-1);
      expect(tiers, `${stage}-Tiers before ${stage}-EdgeWaf`).toBeLessThan(waf);
    }
  });
});
