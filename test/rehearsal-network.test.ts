// The network rehearsal (pipeline/rehearsal/network.ts) on the real synth, and on copies with a
// path removed: every endpoint each task and VPC function calls is reachable from its subnets.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listStacks } from '../pipeline/cloud-assembly';
import { checkNetworkPaths, cidrContains, formatNetwork, readEndpointLists, type WorkloadPaths } from '../pipeline/rehearsal/network';
import { REPO_ROOT, sharedAssembly } from './support/app';

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'rehearsal-network-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const lists = () => readEndpointLists(REPO_ROOT);

/** The network results of a copy of the assembly whose staging Tiers template was edited. */
function checkEdited(name: string, edit: (resources: Record<string, any>) => void): WorkloadPaths[] {
  const staging = editedCopy(name, edit);
  return checkNetworkPaths([staging], lists());
}

/** A copy of the assembly with its staging Tiers template edited; that stack of the copy. */
function editedCopy(name: string, edit: (resources: Record<string, any>) => void) {
  const dir = join(workDir, name);
  cpSync(sharedAssembly(), dir, { recursive: true });
  const staging = listStacks(dir).find((s) => s.displayName === 'Pipeline/Staging/Tiers')!;
  const template = JSON.parse(readFileSync(staging.templateFile, 'utf8'));
  edit(template.Resources);
  writeFileSync(staging.templateFile, JSON.stringify(template));
  return staging;
}

/** `npm run rehearsal -- <dir>` as a process: its exit code and output lines. */
function rehearsalCli(dir: string): { code: number | null; lines: string[] } {
  const run = spawnSync(process.execPath, [join('pipeline', 'rehearsal', 'cli.ts'), dir], { cwd: REPO_ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  // Nothing hides Node's warnings (no NODE_NO_WARNINGS): the command prints none.
  expect(run.stderr).not.toMatch(/\(node:\d+\) \w*Warning:/);
  return { code: run.status, lines: run.stdout.trim().split('\n') };
}

const unreachable = (results: WorkloadPaths[]) =>
  results.flatMap((w) => [...(w.problem ? [`${w.workload}: ${w.problem}`] : []), ...w.paths.filter((p) => !p.ok).map((p) => `${w.workload} → ${p.endpoint}: ${p.via}`)]);
const byType = (resources: Record<string, any>, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

describe('the network rehearsal', () => {
  it('finds every endpoint of every task and VPC function reachable in the synthesized stages', () => {
    const results = checkNetworkPaths(listStacks(sharedAssembly()), lists());
    expect(unreachable(results)).toEqual([]);
    for (const stage of ['Staging', 'Production']) {
      const workloads = results.filter((r) => r.stack === `Pipeline/${stage}/Tiers`);
      expect(workloads.map((w) => w.workload).sort()).toEqual(['API task (api-id6pe9zboa)', 'release-check hook function', 'worker task (worker-sskbsaup)']);
      const api = workloads.find((w) => w.workload.startsWith('API'))!;
      expect(api.paths).toEqual(expect.arrayContaining([
        { endpoint: 'OIDC_ISSUER=https://auth.example.com/', ok: true, via: 'NAT gateway' },
        { endpoint: 'sqs', ok: true, via: 'interface endpoint' },
        { endpoint: 'dynamodb', ok: true, via: 'gateway endpoint' },
        { endpoint: 'ecr.dkr', ok: true, via: 'interface endpoint' },
        { endpoint: 'logs', ok: true, via: 'interface endpoint' },
      ]));
      const worker = workloads.find((w) => w.workload.startsWith('worker'))!;
      expect(worker.paths).toContainEqual({ endpoint: 'ecs', ok: true, via: 'interface endpoint' });
      const hook = workloads.find((w) => w.workload.startsWith('release-check'))!;
      expect(hook.paths).toEqual([{ endpoint: 'TEST_URL=http://…:9080', ok: true, via: expect.stringMatching(/^load balancer \w+ in the VPC, port 9080$/) }]);
    }
    const { lines, failed } = formatNetwork(results);
    expect(failed).toBe(0);
    expect(lines).toEqual([expect.stringMatching(/^CHECKED network Pipeline\/Staging\/Tiers: 3 workloads, 15 endpoints reachable/), expect.stringMatching(/^CHECKED network Pipeline\/Production\/Tiers: 3 workloads, 15 endpoints reachable/)]);
  });

  it('fails the API and the worker when the SQS endpoint is removed (no route out would do either)', () => {
    const results = checkEdited('no-sqs-endpoint', (resources) => {
      for (const [id, r] of byType(resources, 'AWS::EC2::VPCEndpoint')) if (JSON.stringify(r.Properties.ServiceName).endsWith('.sqs"')) delete resources[id];
      // Without the NAT as well: the endpoint is then the only way.
      for (const [id, r] of byType(resources, 'AWS::EC2::Route')) if (r.Properties.NatGatewayId) delete resources[id];
    });
    expect(unreachable(results)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^API task .* → sqs: no VPC endpoint for sqs in its VPC and no route out of subnet/),
      expect.stringMatching(/^worker task .* → sqs: no VPC endpoint for sqs in its VPC and no route out of subnet/),
    ]));
    expect(formatNetwork(results).lines[0]).toMatch(/^FAIL {4}network Pipeline\/Staging\/Tiers: \d+ of 15 endpoint\(s\) unreachable: .*sqs/);
  });

  it('with the SQS endpoint removed, fails the worker (its subnets are isolated) and lets the API reach SQS through its NAT gateway', () => {
    const results = checkEdited('sqs-through-nat', (resources) => {
      for (const [id, r] of byType(resources, 'AWS::EC2::VPCEndpoint')) if (JSON.stringify(r.Properties.ServiceName).endsWith('.sqs"')) delete resources[id];
    });
    expect(unreachable(results)).toEqual([expect.stringMatching(/^worker task \(worker-sskbsaup\) → sqs: no VPC endpoint for sqs in its VPC and no route out of subnet NetworkVpcworkloadSubnet1\w+/)]);
    expect(results.find((w) => w.workload.startsWith('API'))!.paths).toContainEqual({ endpoint: 'sqs', ok: true, via: 'NAT gateway' });
  });

  it('fails the API when its OIDC issuer is outside AWS and its subnets have no route out (the landed defect)', () => {
    const results = checkEdited('no-route-out', (resources) => {
      for (const [id, r] of byType(resources, 'AWS::EC2::Route')) if (r.Properties.NatGatewayId) delete resources[id];
      for (const [id] of [...byType(resources, 'AWS::EC2::NatGateway'), ...byType(resources, 'AWS::EC2::EIP')]) delete resources[id];
    });
    expect(unreachable(results)).toEqual([expect.stringMatching(/^API task \(api-id6pe9zboa\) → OIDC_ISSUER=https:\/\/auth\.example\.com\/: no route out of subnet NetworkVpcegressSubnet1\w+ \(no 0\.0\.0\.0\/0 to a NAT gateway in its route table\)$/)]);
  });

  it('fails an endpoint whose security group stops admitting the tasks, and an endpoint without private DNS', () => {
    const results = checkEdited('endpoint-closed', (resources) => {
      const [, group] = byType(resources, 'AWS::EC2::SecurityGroup').find(([, r]) => r.Properties.GroupDescription.startsWith('VPC interface endpoints'))!;
      group.Properties.SecurityGroupIngress[0].CidrIp = '10.1.0.0/16';
      for (const [id, r] of byType(resources, 'AWS::EC2::Route')) if (r.Properties.NatGatewayId) delete resources[id];
    });
    expect(unreachable(results)).toEqual(expect.arrayContaining([expect.stringMatching(/^worker task .* → logs: no VPC endpoint for logs in its VPC that works \(its interface endpoint's security groups do not admit HTTPS from the workload\)/)]));
    const noDns = checkEdited('endpoint-no-dns', (resources) => {
      for (const [, r] of byType(resources, 'AWS::EC2::VPCEndpoint')) if (r.Properties.VpcEndpointType === 'Interface') r.Properties.PrivateDnsEnabled = false;
      for (const [id, r] of byType(resources, 'AWS::EC2::Route')) if (r.Properties.NatGatewayId) delete resources[id];
    });
    expect(unreachable(noDns)).toEqual(expect.arrayContaining([expect.stringMatching(/→ ecr\.dkr: .*its interface endpoint has no private DNS/)]));
  });

  it('fails a task that no endpoint list describes, and the hook when its egress to the test listener is removed', () => {
    const results = checkEdited('unknown-task', (resources) => {
      const [, task] = byType(resources, 'AWS::ECS::TaskDefinition').find(([id]) => id.startsWith('worker'))!;
      task.Metadata['aws:cdk:path'] = 'Pipeline/Staging/Tiers/reports/Task/Resource';
      const [, hookGroup] = byType(resources, 'AWS::EC2::SecurityGroup').find(([, r]) => r.Properties.GroupDescription.startsWith('API release checks'))!;
      hookGroup.Properties.SecurityGroupEgress[0].ToPort = 9079;
    });
    expect(unreachable(results)).toEqual([
      expect.stringMatching(/^task definition workersskbsaup\w+: no endpoint list names its construct path \(Pipeline\/Staging\/Tiers\/reports\/Task\/Resource\)/),
      expect.stringMatching(/^release-check hook function → TEST_URL=http:\/\/…:9080: load balancer \w+ port 9080: the workload's egress does not allow it$/),
    ]);
  });

  it('is part of the rehearsal command: a line per stage, and an unreachable endpoint fails the run', () => {
    const landed = rehearsalCli(sharedAssembly());
    expect(landed.code, landed.lines.join('\n')).toBe(0);
    expect(landed.lines.filter((l) => l.includes(' network '))).toEqual([expect.stringMatching(/^CHECKED network Pipeline\/Staging\/Tiers: /), expect.stringMatching(/^CHECKED network Pipeline\/Production\/Tiers: /)]);

    const staging = editedCopy('cli-no-route-out', (resources) => {
      for (const [id, r] of byType(resources, 'AWS::EC2::Route')) if (r.Properties.NatGatewayId) delete resources[id];
    });
    const seeded = rehearsalCli(staging.assemblyDir.replace(/\/assembly-Pipeline-Staging$/, ''));
    expect(seeded.code).toBe(1);
    expect(seeded.lines).toContainEqual(expect.stringMatching(/^FAIL {4}network Pipeline\/Staging\/Tiers: 1 of 15 endpoint\(s\) unreachable: API task \(api-id6pe9zboa\) → OIDC_ISSUER=/));
    // The summary counts every FAIL line; the IAM evaluation still passes. (Staging's template now
    // differs from production's, so the guardrail's parity and the production hooks fail too.)
    const failures = seeded.lines.filter((l) => l.startsWith('FAIL'));
    expect(seeded.lines.at(-1)).toMatch(new RegExp(`^rehearsal: \\d+ actions, \\d+ permissions evaluated \\(IAM\\), ${failures.length} failed$`));
    expect(failures.filter((l) => / IAM /.test(l))).toEqual([]);
  });

  it('compares address ranges', () => {
    expect(cidrContains('10.0.0.0/16', '10.0.32.0/20')).toBe(true);
    expect(cidrContains('0.0.0.0/0', '10.0.0.0/16')).toBe(true);
    expect(cidrContains('10.1.0.0/16', '10.0.32.0/20')).toBe(false);
    expect(cidrContains('10.0.32.0/20', '10.0.0.0/16')).toBe(false);
  });
});
