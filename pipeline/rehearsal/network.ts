// Network paths, checked offline: for every ECS task and every VPC-attached Lambda function of a
// synthesized template, each endpoint it calls is reachable from its subnets through its security
// groups. What each one calls is data kept next to its code (NETWORK_ENDPOINT_LISTS: the AWS SDK
// clients it builds, the URL variables of its configuration); what ECS itself needs to start a task
// (ECR image pulls, the awslogs driver, injected secrets) is read from the task definition.
//
// An AWS service is reachable through
//   - an interface VPC endpoint of that service in the workload's VPC with private DNS on (the
//     SDK's default hostname then resolves to it), whose security groups admit HTTPS from the
//     workload's subnets or security groups, and the workload's egress allows HTTPS to it;
//   - a gateway endpoint (S3, DynamoDB) on the route table of every workload subnet, with HTTPS
//     egress to anywhere or to a prefix list (the endpoint's prefix list id is unknown offline);
//   - or a route out (below).
// Anything else (a URL outside AWS, such as the OIDC issuer) needs a route out: 0.0.0.0/0 in the
// route table of every workload subnet to a NAT gateway that sits in a subnet whose own 0.0.0.0/0
// goes to an internet gateway attached to the VPC (Amazon VPC user guide, "NAT gateways",
// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html), or to the internet
// gateway directly for an ECS task with a public IP. A Lambda function attached to a VPC gets no
// public IP, so only a NAT gives it the internet; a function not attached to a VPC runs in
// Lambda's own network, which has it (AWS Lambda developer guide, "Enable internet access for
// VPC-connected Lambda functions", https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html).
// A URL whose host is a load balancer of the same template is reached inside the VPC: the egress
// must allow its port and the load balancer's security groups admit it.
//
// Fargate tasks that pull from ECR need ecr.api, ecr.dkr and S3 (the image layers), and logs for
// the awslogs driver (Amazon ECR user guide, "Amazon ECR interface VPC endpoints (AWS
// PrivateLink)", https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html); secrets
// and parameters injected into the container need secretsmanager / ssm (AWS re:Post, "How do I
// resolve the Fargate 'dockertimeouterror'…", https://repost.aws/knowledge-center/ecs-fargate-docker-timeout-error).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AssemblyStack } from '../cloud-assembly.ts';
import { readTemplate } from './model.ts';

type Json = any;

/** The endpoint lists, one per workload, relative to the repository root. */
export const NETWORK_ENDPOINT_LISTS = [
  'services/api/network-endpoints.json',
  'services/worker/network-endpoints.json',
  'pipeline/checks/test-traffic/network-endpoints.json',
] as const;

/** What one workload's code calls (the JSON of an endpoint list). */
export interface EndpointList {
  /** How the report names it. */
  readonly workload: string;
  /** The construct path (inside the stage's stack) of its task definition or function, e.g. `api-id6pe9zboa/Task`. */
  readonly constructPath: string;
  /** The program's entry file, relative to the list's folder: the test scans its imports for AWS SDK clients. */
  readonly entry: string;
  /** The AWS services it calls: the VPC endpoint service name (`sqs`, `s3`, `ecr.api`), the SDK client, why. */
  readonly awsServices: readonly { readonly service: string; readonly client?: string; readonly why: string }[];
  /** Configuration variables holding URLs it calls (OIDC_ISSUER). */
  readonly urlVariables: readonly string[];
}

export function readEndpointLists(repoRoot: string): EndpointList[] {
  return NETWORK_ENDPOINT_LISTS.map((file) => JSON.parse(readFileSync(join(repoRoot, file), 'utf8')) as EndpointList);
}

/** One endpoint of one workload and how (or why not) it is reached. */
export interface NetworkPath {
  readonly endpoint: string;
  readonly ok: boolean;
  /** `interface endpoint`, `gateway endpoint`, `NAT gateway`, … or the reason it is not reachable. */
  readonly via: string;
}

export interface WorkloadPaths {
  readonly stack: string;
  readonly workload: string;
  readonly paths: readonly NetworkPath[];
  /** Set when the workload could not be checked at all (no endpoint list, no network configuration). */
  readonly problem?: string;
}

/** Checks every workload of every stack given. */
export function checkNetworkPaths(stacks: readonly AssemblyStack[], lists: readonly EndpointList[]): WorkloadPaths[] {
  return stacks.flatMap((stack) => new TemplateNetwork(stack, readTemplate(stack)).check(lists));
}

/** One report line per stack that has workloads, and whether anything failed. */
export function formatNetwork(results: readonly WorkloadPaths[]): { lines: string[]; failed: number } {
  const lines: string[] = [];
  let failed = 0;
  for (const stack of [...new Set(results.map((r) => r.stack))]) {
    const workloads = results.filter((r) => r.stack === stack);
    const bad = workloads.flatMap((w) => (w.problem ? [`${w.workload}: ${w.problem}`] : w.paths.filter((p) => !p.ok).map((p) => `${w.workload} → ${p.endpoint}: ${p.via}`)));
    const count = workloads.reduce((n, w) => n + w.paths.length, 0);
    const summary = workloads.map((w) => `${w.workload}: ${w.paths.map((p) => `${p.endpoint} (${p.via})`).join(', ')}`).join('; ');
    if (bad.length) failed++;
    lines.push(
      bad.length
        ? `FAIL    network ${stack}: ${bad.length} of ${count} endpoint(s) unreachable: ${bad.join('; ')}`
        : `CHECKED network ${stack}: ${workloads.length} workloads, ${count} endpoints reachable from their subnets (${summary})`,
    );
  }
  return { lines, failed };
}

interface Rule { readonly protocol: string; readonly from?: number; readonly to?: number; readonly cidr?: string; readonly group?: string; readonly prefixList?: boolean }

class TemplateNetwork {
  private readonly resources: Record<string, Json>;
  private readonly name: string;
  private readonly region: string | undefined;

  constructor(stack: AssemblyStack, template: Json) {
    this.resources = template.Resources ?? {};
    this.name = stack.displayName;
    this.region = stack.region;
  }

  check(lists: readonly EndpointList[]): WorkloadPaths[] {
    const out: WorkloadPaths[] = [];
    for (const [id, resource] of Object.entries(this.resources)) {
      if (resource.Type === 'AWS::ECS::TaskDefinition') out.push(this.checkTask(id, resource, lists));
      // A function outside a VPC runs in Lambda's network, which reaches AWS and the internet.
      if (resource.Type === 'AWS::Lambda::Function' && resource.Properties?.VpcConfig?.SubnetIds) out.push(this.checkFunction(id, resource, lists));
    }
    return out;
  }

  private listFor(resource: Json, lists: readonly EndpointList[]): EndpointList | undefined {
    const path = String(resource.Metadata?.['aws:cdk:path'] ?? '');
    return lists.find((l) => path.includes(`/${l.constructPath}/`));
  }

  private checkTask(id: string, task: Json, lists: readonly EndpointList[]): WorkloadPaths {
    const list = this.listFor(task, lists);
    const workload = list?.workload ?? `task definition ${id}`;
    if (!list) return { stack: this.name, workload, paths: [], problem: `no endpoint list names its construct path (${task.Metadata?.['aws:cdk:path']}): add one to ${NETWORK_ENDPOINT_LISTS.join(', ')}` };
    const service = Object.values(this.resources).find((r) => r.Type === 'AWS::ECS::Service' && r.Properties?.TaskDefinition?.Ref === id);
    const network = service?.Properties?.NetworkConfiguration?.AwsvpcConfiguration;
    if (!network) return { stack: this.name, workload, paths: [], problem: 'no ECS service runs it with an awsvpc network configuration' };
    const where = { subnets: refs(network.Subnets), groups: refs(network.SecurityGroups), publicIp: network.AssignPublicIp === 'ENABLED' };

    const services = new Map<string, string>();
    for (const container of task.Properties.ContainerDefinitions ?? []) {
      if (JSON.stringify(container.Image).includes('.dkr.ecr.')) {
        services.set('ecr.api', 'image pull (ECS)');
        services.set('ecr.dkr', 'image pull (ECS)');
        services.set('s3', 'image layers (ECS)');
      }
      if (container.LogConfiguration?.LogDriver === 'awslogs') services.set('logs', 'awslogs driver (ECS)');
      for (const secret of container.Secrets ?? []) {
        const from = JSON.stringify(secret.ValueFrom);
        services.set(from.includes(':ssm:') ? 'ssm' : 'secretsmanager', `secret ${secret.Name} (ECS)`);
      }
    }
    const environment = Object.fromEntries((task.Properties.ContainerDefinitions ?? []).flatMap((c: Json) => (c.Environment ?? []).map((e: Json) => [e.Name, e.Value])));
    return { stack: this.name, workload, paths: this.paths(list, services, environment, where) };
  }

  private checkFunction(id: string, fn: Json, lists: readonly EndpointList[]): WorkloadPaths {
    const list = this.listFor(fn, lists);
    const workload = list?.workload ?? `function ${id}`;
    if (!list) return { stack: this.name, workload, paths: [], problem: `no endpoint list names its construct path (${fn.Metadata?.['aws:cdk:path']}): add one to ${NETWORK_ENDPOINT_LISTS.join(', ')}` };
    const vpc = fn.Properties.VpcConfig;
    const where = { subnets: refs(vpc.SubnetIds), groups: refs(vpc.SecurityGroupIds), publicIp: false };
    return { stack: this.name, workload, paths: this.paths(list, new Map(), fn.Properties.Environment?.Variables ?? {}, where) };
  }

  private paths(list: EndpointList, platform: Map<string, string>, environment: Record<string, Json>, where: Where): NetworkPath[] {
    const services = new Map(platform);
    for (const s of list.awsServices) services.set(s.service, s.why);
    const paths = [...services.keys()].map((service) => ({ endpoint: service, ...this.awsService(service, where) }));
    const urlVariables = new Set([...list.urlVariables, ...Object.keys(environment).filter((k) => typeof environment[k] === 'string' && /^https?:\/\//.test(environment[k]))]);
    for (const variable of urlVariables) {
      const value = environment[variable];
      if (value === undefined) {
        paths.push({ endpoint: variable, ok: false, via: 'not in its configuration (the endpoint list names it)' });
        continue;
      }
      paths.push({ endpoint: `${variable}=${typeof value === 'string' ? value : this.describe(value)}`, ...this.url(value, where) });
    }
    return paths;
  }

  private awsService(service: string, where: Where): { ok: boolean; via: string } {
    const vpc = this.vpcOf(where.subnets);
    const endpoints = Object.entries(this.resources).filter(([, r]) => r.Type === 'AWS::EC2::VPCEndpoint' && this.serviceOf(r) === service && r.Properties.VpcId?.Ref === vpc);
    const notes: string[] = [];
    for (const [, endpoint] of endpoints) {
      const p = endpoint.Properties;
      if ((p.VpcEndpointType ?? 'Gateway') === 'Interface') {
        if (p.PrivateDnsEnabled !== true) {
          notes.push('its interface endpoint has no private DNS (the SDK resolves the public name)');
          continue;
        }
        const endpointGroups = refs(p.SecurityGroupIds);
        const admitted = endpointGroups.some((g) => this.rules(g, 'ingress').some((r) => allowsPort(r, 443) && this.admits(r, where)));
        if (!admitted) {
          notes.push('its interface endpoint\'s security groups do not admit HTTPS from the workload');
          continue;
        }
        const endpointCidrs = refs(p.SubnetIds).map((s) => this.subnetCidr(s));
        const egress = where.groups.some((g) => this.rules(g, 'egress').some((r) => allowsPort(r, 443) && (r.group ? endpointGroups.includes(r.group) : r.cidr !== undefined && endpointCidrs.every((c) => c !== undefined && cidrContains(r.cidr!, c)))));
        if (!egress) {
          notes.push('the workload\'s security groups allow no HTTPS to its interface endpoint');
          continue;
        }
        return { ok: true, via: 'interface endpoint' };
      }
      const tables = new Set(refs(p.RouteTableIds));
      if (!where.subnets.every((s) => tables.has(this.routeTableOf(s) ?? ''))) {
        notes.push('its gateway endpoint is not on the route table of every workload subnet');
        continue;
      }
      if (!this.egressTo(where, 443, true)) {
        notes.push('the workload\'s security groups allow no HTTPS out');
        continue;
      }
      return { ok: true, via: 'gateway endpoint' };
    }
    const out = this.routeOut(where, 443);
    if (out.ok) return { ok: true, via: `${out.via}${notes.length ? `; ${notes.join('; ')}` : ''}` };
    return { ok: false, via: `no VPC endpoint for ${service} in its VPC${notes.length ? ` that works (${notes.join('; ')})` : ''} and ${out.via}` };
  }

  private url(value: Json, where: Where): { ok: boolean; via: string } {
    const loadBalancer = this.loadBalancerIn(value);
    const text = typeof value === 'string' ? value : this.describe(value, 'lb.internal');
    if (!URL.canParse(text)) return { ok: false, via: `not a URL: ${text}` };
    const url = new URL(text);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (loadBalancer) {
      const lbGroups = refs(this.resources[loadBalancer].Properties.SecurityGroups);
      const admitted = lbGroups.some((g) => this.rules(g, 'ingress').some((r) => allowsPort(r, port) && this.admits(r, where)));
      const vpcCidr = this.vpcCidr(this.vpcOf(where.subnets));
      const egress = where.groups.some((g) => this.rules(g, 'egress').some((r) => allowsPort(r, port) && (r.group ? lbGroups.includes(r.group) : r.cidr !== undefined && vpcCidr !== undefined && cidrContains(r.cidr, vpcCidr))));
      if (admitted && egress) return { ok: true, via: `load balancer ${loadBalancer} in the VPC, port ${port}` };
      return { ok: false, via: `load balancer ${loadBalancer} port ${port}: ${admitted ? '' : 'its security groups do not admit the workload; '}${egress ? '' : 'the workload\'s egress does not allow it'}`.replace(/; $/, '') };
    }
    return this.routeOut(where, port);
  }

  /** A default route out of every workload subnet, and egress to anywhere on the port. */
  private routeOut(where: Where, port: number): { ok: boolean; via: string } {
    const vias = new Set<string>();
    for (const subnet of where.subnets) {
      const route = this.defaultRoute(this.routeTableOf(subnet));
      const nat = route?.NatGatewayId?.Ref;
      if (nat && this.resources[nat]?.Type === 'AWS::EC2::NatGateway') {
        const natRoute = this.defaultRoute(this.routeTableOf(this.resources[nat].Properties.SubnetId?.Ref));
        if (!this.isAttachedInternetGateway(natRoute?.GatewayId?.Ref, this.vpcOf(where.subnets))) return { ok: false, via: `the NAT gateway ${nat} of subnet ${subnet} has no route to an internet gateway` };
        vias.add('NAT gateway');
      } else if (route?.GatewayId?.Ref && this.isAttachedInternetGateway(route.GatewayId.Ref, this.vpcOf(where.subnets))) {
        if (!where.publicIp) return { ok: false, via: `subnet ${subnet} routes to the internet gateway but the workload has no public IP` };
        vias.add('internet gateway');
      } else {
        return { ok: false, via: `no route out of subnet ${subnet} (no 0.0.0.0/0 to a NAT gateway in its route table)` };
      }
    }
    if (!this.egressTo(where, port, false)) return { ok: false, via: `its security groups allow no egress to 0.0.0.0/0 on port ${port}` };
    return { ok: true, via: [...vias].join(' and ') };
  }

  private egressTo(where: Where, port: number, prefixListWillDo: boolean): boolean {
    return where.groups.some((g) => this.rules(g, 'egress').some((r) => allowsPort(r, port) && ((r.cidr !== undefined && cidrContains(r.cidr, '0.0.0.0/0')) || (prefixListWillDo && r.prefixList === true))));
  }

  /** An ingress rule admits the workload: its source group is one of the workload's, or its CIDR holds every workload subnet. */
  private admits(rule: Rule, where: Where): boolean {
    if (rule.group) return where.groups.includes(rule.group);
    if (rule.cidr === undefined) return false;
    return where.subnets.every((s) => {
      const cidr = this.subnetCidr(s);
      return cidr !== undefined && cidrContains(rule.cidr!, cidr);
    });
  }

  private rules(group: string, direction: 'ingress' | 'egress'): Rule[] {
    const inline = (this.resources[group]?.Properties?.[direction === 'ingress' ? 'SecurityGroupIngress' : 'SecurityGroupEgress'] ?? []) as Json[];
    const type = direction === 'ingress' ? 'AWS::EC2::SecurityGroupIngress' : 'AWS::EC2::SecurityGroupEgress';
    const separate = Object.values(this.resources).filter((r) => r.Type === type && groupId(r.Properties.GroupId) === group).map((r) => r.Properties);
    return [...inline, ...separate].map((r) => ({
      protocol: String(r.IpProtocol),
      from: r.FromPort,
      to: r.ToPort,
      cidr: typeof r.CidrIp === 'string' ? r.CidrIp : undefined,
      group: groupId(direction === 'ingress' ? r.SourceSecurityGroupId : r.DestinationSecurityGroupId),
      prefixList: (direction === 'ingress' ? r.SourcePrefixListId : r.DestinationPrefixListId) !== undefined,
    }));
  }

  private serviceOf(endpoint: Json): string | undefined {
    const name = this.resolve(endpoint.Properties.ServiceName);
    const prefix = `com.amazonaws.${this.region}.`;
    return name?.startsWith(prefix) ? name.slice(prefix.length) : undefined;
  }

  private routeTableOf(subnet: string | undefined): string | undefined {
    const association = Object.values(this.resources).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties.SubnetId?.Ref === subnet);
    return association?.Properties.RouteTableId?.Ref;
  }

  private defaultRoute(routeTable: string | undefined): Json | undefined {
    return Object.values(this.resources).find((r) => r.Type === 'AWS::EC2::Route' && r.Properties.RouteTableId?.Ref === routeTable && r.Properties.DestinationCidrBlock === '0.0.0.0/0')?.Properties;
  }

  private isAttachedInternetGateway(gateway: string | undefined, vpc: string | undefined): boolean {
    if (!gateway || this.resources[gateway]?.Type !== 'AWS::EC2::InternetGateway') return false;
    return Object.values(this.resources).some((r) => r.Type === 'AWS::EC2::VPCGatewayAttachment' && r.Properties.InternetGatewayId?.Ref === gateway && r.Properties.VpcId?.Ref === vpc);
  }

  private vpcOf(subnets: readonly string[]): string | undefined {
    return this.resources[subnets[0]]?.Properties?.VpcId?.Ref;
  }

  private vpcCidr(vpc: string | undefined): string | undefined {
    const cidr = vpc ? this.resources[vpc]?.Properties?.CidrBlock : undefined;
    return typeof cidr === 'string' ? cidr : undefined;
  }

  private subnetCidr(subnet: string): string | undefined {
    const cidr = this.resources[subnet]?.Properties?.CidrBlock;
    return typeof cidr === 'string' ? cidr : undefined;
  }

  private loadBalancerIn(value: Json): string | undefined {
    const ids = JSON.stringify(value).match(/"Fn::GetAtt":\["([^"]+)","DNSName"\]/);
    return ids && this.resources[ids[1]]?.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer' ? ids[1] : undefined;
  }

  /** A value as text: literals kept, pseudo parameters resolved, anything else as `placeholder`. */
  private describe(value: Json, placeholder = '…'): string {
    if (typeof value === 'string') return value;
    const resolved = this.resolve(value);
    if (resolved !== undefined) return resolved;
    if (Array.isArray(value?.['Fn::Join'])) return (value['Fn::Join'][1] as Json[]).map((p) => this.describe(p, placeholder)).join(value['Fn::Join'][0]);
    return placeholder;
  }

  private resolve(value: Json): string | undefined {
    if (typeof value === 'string') return value;
    if (value?.Ref === 'AWS::Region') return this.region;
    if (value?.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
    if (Array.isArray(value?.['Fn::Join'])) {
      const parts = (value['Fn::Join'][1] as Json[]).map((p) => this.resolve(p));
      return parts.every((p) => p !== undefined) ? parts.join(value['Fn::Join'][0]) : undefined;
    }
    return undefined;
  }
}

interface Where { readonly subnets: readonly string[]; readonly groups: readonly string[]; readonly publicIp: boolean }

function refs(values: Json): string[] {
  return ([values ?? []].flat() as Json[]).map((v) => v?.Ref ?? groupId(v)).filter((v): v is string => typeof v === 'string');
}

function groupId(value: Json): string | undefined {
  const getAtt = value?.['Fn::GetAtt'];
  return Array.isArray(getAtt) && getAtt[1] === 'GroupId' ? getAtt[0] : undefined;
}

function allowsPort(rule: Rule, port: number): boolean {
  if (rule.protocol === '-1') return true;
  return rule.protocol === 'tcp' && rule.from !== undefined && rule.to !== undefined && rule.from <= port && port <= rule.to;
}

/** Whether IPv4 range `outer` holds range `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const parse = (cidr: string) => {
    const [address, bits] = cidr.split('/');
    const octets = address.split('.').map(Number);
    return { value: octets.reduce((n, o) => n * 256 + o, 0), bits: Number(bits) };
  };
  const o = parse(outer);
  const i = parse(inner);
  if (o.bits > i.bits) return false;
  const size = 2 ** (32 - o.bits);
  return Math.floor(o.value / size) === Math.floor(i.value / size);
}

/** The rehearsal's network lines for an assembly: every stack of it, the endpoint lists of `repoRoot`. */
export function rehearseNetwork(stacks: readonly AssemblyStack[], repoRoot: string): { lines: string[]; failed: number } {
  return formatNetwork(checkNetworkPaths(stacks, readEndpointLists(repoRoot)));
}
