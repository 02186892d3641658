import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TIER_IDS } from '../lib/tiers';
import { buildStages, shippedConfig, stageTemplates } from './support/app';
import type { DataProductStage } from '../lib/stage';

let staging: ReturnType<typeof stageTemplates>;
let production: ReturnType<typeof stageTemplates>;
let stages: ReturnType<typeof buildStages>;

beforeAll(() => {
  stages = buildStages();
  staging = stageTemplates(stages.staging);
  production = stageTemplates(stages.production);
});

/** Resource type → count of a template. */
function resourceCounts(template: Template): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of Object.values(template.toJSON().Resources as Record<string, { Type: string }>)) {
    counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
  }
  return counts;
}

describe('the stage', () => {
  it('builds staging and production with the same resource types and counts', () => {
    expect(resourceCounts(production.tiers)).toEqual(resourceCounts(staging.tiers));
    expect(resourceCounts(production.edgeWaf)).toEqual(resourceCounts(staging.edgeWaf));
  });

  it('differs between staging and production only in sizing values', () => {
    staging.tiers.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 4 });
    production.tiers.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 20 });
  });

  it('puts the web ACL in us-east-1 and the tiers in the configured region', () => {
    expect(stages.staging.edgeWafStack.region).toBe('us-east-1');
    expect(stages.staging.tiersStack.region).toBe('eu-west-1');
    staging.edgeWaf.resourceCountIs('AWS::WAFv2::WebACL', 1);
    staging.tiers.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('outputs what the pipeline checks read', () => {
    const outputs = Object.keys(staging.tiers.toJSON().Outputs);
    for (const name of ['EdgeUrl', 'DistributionId', 'QueueUrl', 'DeadLetterQueueUrl', 'ClusterName', 'ApiServiceName', 'WorkerServiceName', 'ApiTargetGroupArn']) {
      expect(outputs).toContain(name);
    }
  });

  it('tags resources with the project, the stage and the tier ids', () => {
    production.tiers.hasResourceProperties('AWS::SQS::Queue', {
      Tags: [
        { Key: 'project', Value: 'br-fagq2' },
        { Key: 'stage', Value: 'production' },
        { Key: 'tier', Value: TIER_IDS.worker },
      ],
    });
    production.tiers.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Tags: [
        { Key: 'project', Value: 'br-fagq2' },
        { Key: 'stage', Value: 'production' },
        { Key: 'tier', Value: TIER_IDS.api },
      ],
    });
    production.edgeWaf.hasResourceProperties('AWS::WAFv2::WebACL', {
      Tags: [
        { Key: 'project', Value: 'br-fagq2' },
        { Key: 'stage', Value: 'production' },
        { Key: 'tier', Value: TIER_IDS.edge },
      ],
    });
  });

  it('shows every tier on one dashboard', () => {
    const dashboards = Object.values(staging.tiers.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const metric of ['CacheHitRate', 'TargetResponseTime', 'HTTPCode_Target_5XX_Count', 'ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'RunningTaskCount']) {
      expect(body).toContain(metric);
    }
    for (const tier of Object.values(TIER_IDS)) expect(body).toContain(tier);
    expect(body).toContain('p50');
    expect(body).toContain('p99');
  });

  it("graphs both of the API's target groups, since a canary release leaves production traffic on the other one", () => {
    const body = JSON.stringify(Object.values(production.tiers.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    const groups = Object.keys(production.tiers.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).filter((id) => /apiid6pe9zboa/.test(id));
    expect(groups).toHaveLength(2);
    for (const group of groups) expect(body).toContain(`"${group}","TargetGroupFullName"`);
    expect(body).toContain('group 2 p99');
    expect(body).toContain('group 2 target 5xx');
    // Every deployment alarm of the API is on the alarm widget.
    for (const alarm of ['AlternateErrorRateAlarm', 'LoadBalancerErrorRateAlarm', 'AlternateUnhealthyTasksAlarm']) expect(body).toMatch(new RegExp(`"apiid6pe9zboa${alarm}[0-9A-F]{8}","Arn"`));
  });

  it('creates both services only after every VPC endpoint their first tasks need (images, logs, queue)', () => {
    const endpoints = Object.keys(production.tiers.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoints.length).toBeGreaterThanOrEqual(7);
    const services = Object.values(production.tiers.findResources('AWS::ECS::Service'));
    expect(services).toHaveLength(2);
    for (const service of services) expect(service.DependsOn).toEqual(expect.arrayContaining(endpoints));
  });

  it("names the retained WAF log group after the stack's creation, so a stack created again does not collide with it", () => {
    for (const [template, stage] of [[production.edgeWaf, 'production'], [staging.edgeWaf, 'staging']] as const) {
      const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
      expect(groups).toHaveLength(1);
      expect(groups[0].DeletionPolicy).toBe('Retain');
      expect(groups[0].Properties.LogGroupName).toEqual({
        'Fn::Join': ['', [`aws-waf-logs-br-fagq2-${stage}-`, { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }]],
      });
    }
  });

  it('gives no retained resource a fixed name, so a stack deleted after a failed create can be created again', () => {
    let retained = 0;
    for (const stage of [production, staging]) {
      for (const template of [stage.tiers, stage.edgeWaf]) {
        for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, { DeletionPolicy?: string; Properties?: Record<string, unknown> }>)) {
          if (!resource.DeletionPolicy || resource.DeletionPolicy === 'Delete') continue;
          retained += 1;
          for (const [key, value] of Object.entries(resource.Properties ?? {})) {
            if (/Name$/.test(key)) expect(JSON.stringify(value), `${id}.${key}`).toContain('{"Ref":"AWS::StackId"}');
          }
        }
      }
    }
    expect(retained).toBeGreaterThan(5);
  });

  it('spans the configured availability zones with flow logs, and one NAT gateway as the route out of the API\'s subnets only', () => {
    // Per zone: an edge (public), an isolated workload and an egress subnet.
    staging.tiers.resourceCountIs('AWS::EC2::Subnet', 9);
    // The API's OIDC issuer is outside AWS: one NAT gateway per stage (network.natGatewayPerAz: one per zone).
    staging.tiers.resourceCountIs('AWS::EC2::NatGateway', 1);
    production.tiers.resourceCountIs('AWS::EC2::NatGateway', 1);
    const nat = Object.keys(staging.tiers.findResources('AWS::EC2::NatGateway'))[0];
    const natRoutes = Object.values(staging.tiers.findResources('AWS::EC2::Route')).filter((r) => r.Properties.NatGatewayId?.Ref === nat);
    expect(natRoutes.map((r) => r.Properties.DestinationCidrBlock)).toEqual(['0.0.0.0/0', '0.0.0.0/0', '0.0.0.0/0']);
    expect(natRoutes.every((r) => /egressSubnet\d/.test(r.Properties.RouteTableId.Ref))).toBe(true);
    // The workload (worker) subnets have no default route at all.
    const defaults = Object.values(staging.tiers.findResources('AWS::EC2::Route')).filter((r) => r.Properties.DestinationCidrBlock === '0.0.0.0/0');
    expect(defaults.filter((r) => /workloadSubnet\d/.test(r.Properties.RouteTableId.Ref))).toEqual([]);
    // The API (tasks, load balancer, release-check hook) is in the egress subnets, the worker in the isolated ones.
    const subnetsOf = (type: string, pick: (p: any) => any[]) => Object.values(staging.tiers.findResources(type)).map((r) => pick(r.Properties).map((x: any) => x.Ref).join());
    const [workerService, apiService] = ['worker', 'api'].map((tier) => Object.entries(staging.tiers.findResources('AWS::ECS::Service')).find(([id]) => id.startsWith(tier))![1].Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.map((x: any) => x.Ref));
    expect(workerService.every((id: string) => /workloadSubnet\d/.test(id))).toBe(true);
    expect(apiService.every((id: string) => /egressSubnet\d/.test(id))).toBe(true);
    expect(subnetsOf('AWS::ElasticLoadBalancingV2::LoadBalancer', (p) => p.Subnets)).toEqual([apiService.join()]);
    staging.tiers.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', ResourceType: 'VPC' });
    staging.tiers.hasResourceProperties('AWS::EC2::Subnet', { AvailabilityZone: 'eu-west-1c', MapPublicIpOnLaunch: false });
  });

  it('puts one NAT gateway in each availability zone with network.natGatewayPerAz, each zone routed to its own', () => {
    const { production } = shippedConfig();
    const { production: stage } = buildStages({ production: { ...production, network: { natGatewayPerAz: true } } });
    const tiers = stageTemplates(stage).tiers;
    const nats = Object.keys(tiers.findResources('AWS::EC2::NatGateway'));
    expect(nats).toHaveLength(3);
    const routed = Object.values(tiers.findResources('AWS::EC2::Route')).filter((r) => r.Properties.NatGatewayId).map((r) => r.Properties.NatGatewayId.Ref);
    expect(new Set(routed)).toEqual(new Set(nats));
  });

  it('lays subnets out for six zones, so that no subnet\'s range depends on how many zones the stage spans', () => {
    const { staging: two, production: three } = buildStages({ 'staging.availabilityZones': '["eu-west-1a","eu-west-1b"]' });
    const ranges = (stage: DataProductStage) =>
      new Map(Object.entries(stageTemplates(stage).tiers.findResources('AWS::EC2::Subnet')).map(([id, r]) => [id, r.Properties.CidrBlock as string]));
    const [a, b] = [ranges(two), ranges(three)];
    expect([a.size, b.size]).toEqual([6, 9]);
    // Every subnet of the two-zone stage has the range of the three-zone stage's subnet of the same id
    // (without the reserved zones the egress subnets would start after two workload subnets instead of three).
    for (const [id, cidr] of a) expect(b.get(id), id).toBe(cidr);
    expect([...b.values()].filter((cidr) => cidr.endsWith('/22'))).toEqual(['10.0.112.0/22', '10.0.116.0/22', '10.0.120.0/22']);
    // ec2.Vpc appends its reserved zones to the list it gets: the stage's settings keep theirs.
    expect(two.tiersStack.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  it('gives the tasks VPC endpoints for everything they call', () => {
    const services = Object.values(staging.tiers.findResources('AWS::EC2::VPCEndpoint')).map((e) => JSON.stringify(e.Properties.ServiceName));
    // .ecs: task scale-in protection goes through the agent to the ECS API.
    for (const service of ['.s3', '.ecr.api', '.ecr.dkr', '.logs', '.sqs', '.ecs"']) {
      expect(services.some((s) => s.includes(service))).toBe(true);
    }
  });

  it('keeps interface endpoints open to the VPC only', () => {
    staging.tiers.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'VPC interface endpoints: HTTPS from inside the VPC',
      SecurityGroupIngress: [{ CidrIp: '10.0.0.0/16', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }],
    });
  });

  it('gives every log group a retention from configuration', () => {
    const groups = Object.values(production.tiers.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
  });

  it('builds each service image from services/ with its own Dockerfile, the shared contract and not the other service', () => {
    const assembly = stages.staging.synth();
    const stack = assembly.getStackByName(stages.staging.tiersStack.stackName);
    const manifest = JSON.parse(readFileSync(path.join(assembly.directory, `${stack.id}.assets.json`), 'utf8'));
    const images = Object.values(manifest.dockerImages as Record<string, { source: { directory: string; dockerFile: string } }>).map(({ source }) => ({
      dockerFile: source.dockerFile,
      entries: readdirSync(path.join(assembly.directory, source.directory)).sort(),
      shared: readdirSync(path.join(assembly.directory, source.directory, 'shared')).sort(),
    }));
    expect(images.sort((a, b) => a.dockerFile.localeCompare(b.dockerFile))).toEqual([
      { dockerFile: 'api/Dockerfile', entries: ['.dockerignore', 'api', 'shared'], shared: ['dataset.ts', 'job-schemas.ts', 'job-store.ts', 'jobs.ts', 'seed'] },
      { dockerFile: 'worker/Dockerfile', entries: ['.dockerignore', 'shared', 'worker'], shared: ['dataset.ts', 'job-schemas.ts', 'job-store.ts', 'jobs.ts', 'seed'] },
    ]);
  });
});
