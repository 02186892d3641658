// compareStages on real synthesized templates: the configurations users need pass; what the
// allowances do not name fails, with the allowances' reason. The allowed configurations are built
// through the app (`-c` overrides); the refused ones cannot be (the synth refuses them first, see
// allowances.test.ts), so they are written into production's template, as a hostile commit's code would.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Allowances, loadAllowances } from '../../enforcement/allowances';
import { stageOfAssembly } from '../../enforcement/parity/cli';
import { compareStages, describeDifferences, type ParityDifference, type StageTemplates } from '../../enforcement/parity/index';
import { buildStages, REPO_ROOT, sharedAssembly } from '../support/app';
import type { DataProductStage } from '../../lib/stage';

const allowances: Allowances = loadAllowances(join(REPO_ROOT, 'enforcement/allowances.json'));

function side(stage: DataProductStage): StageTemplates & { templates: Record<string, any> } {
  return {
    account: stage.account!,
    region: stage.region!,
    templates: { Tiers: Template.fromStack(stage.tiersStack).toJSON(), EdgeWaf: Template.fromStack(stage.edgeWafStack).toJSON() },
  };
}

/** Both stages built from cdk.json plus `overrides`, compared. */
function compareBuilt(overrides: Record<string, unknown> = {}) {
  const { staging, production } = buildStages(overrides);
  return compareStages({ staging: side(staging), production: side(production), allowances });
}

/** The shipped stages, with production's templates (a copy) edited by `edit`, compared. */
function compareEdited(edit: (production: Record<string, any>) => void) {
  const { staging, production } = buildStages();
  const edited = side(production);
  edited.templates = structuredClone(edited.templates);
  edit(edited.templates);
  return compareStages({ staging: side(staging), production: edited, allowances });
}

/** The one resource of `type` in a template whose logical id starts with `prefix`. */
function resource(template: any, type: string, prefix: string): any {
  const found = Object.entries<any>(template.Resources).filter(([id, r]) => r.Type === type && id.startsWith(prefix));
  expect(found, `${type} ${prefix}*`).toHaveLength(1);
  return found[0]![1];
}

const apiTask = (t: any) => resource(t.Tiers, 'AWS::ECS::TaskDefinition', 'apiid6pe9zboaTask');
const env = (task: any, name: string) => task.Properties.ContainerDefinitions[0].Environment.find((e: any) => e.Name === name);

function lines(differences: readonly ParityDifference[]): string {
  return describeDifferences(differences).join('\n');
}

describe('compareStages: what the allowances let differ passes', () => {
  it('passes the shipped configuration, which already differs in sizing, retention and release timing', () => {
    const result = compareBuilt();
    expect(lines(result.differences)).toBe('');
    expect(result.ok).toBe(true);
  });

  it('passes the shipped pipeline assembly itself (stages under Pipeline/, as the validator reads them)', () => {
    const root = sharedAssembly();
    const [staging, production] = [stageOfAssembly(root, 'Staging'), stageOfAssembly(root, 'Production')];
    expect(Object.keys(production.templates).sort()).toEqual(['EdgeWaf', 'Tiers']);
    expect(production).toMatchObject({ account: '333333333333', region: 'eu-west-1' });
    expect(lines(compareStages({ staging, production, allowances }).differences)).toBe('');
    // And the developer's command says so (exit 0), from the repository root.
    const run = spawnSync('node', ['enforcement/parity/cli.ts', root], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run.stdout).toMatch(/^PASS template parity/);
    expect(run.status).toBe(0);
  });

  // The configurations of issue 20's report, each on its own.
  it.each<[string, Record<string, unknown>]>([
    ['staging without deletion protection', { 'staging.deletionProtection': 'false' }],
    ['production refreshing every 5 minutes', { 'production.data.refreshMinutes': '5' }],
    ['staging with 5 deliveries before the DLQ', { 'staging.worker.maxReceiveCount': '5' }],
    ['staging on PriceClass_100', { 'staging.edge.priceClass': 'PriceClass_100' }],
    ['an alarm e-mail per stage', { 'staging.alarms.email': 'staging-team@example.com', 'production.alarms.email': 'on-call@example.com' }],
    ['two availability zones in staging only', { 'staging.availabilityZones': '["eu-west-1a","eu-west-1b"]' }],
    ['two other zones in staging', { 'staging.availabilityZones': '["eu-west-1b","eu-west-1c"]' }],
    ['a NAT gateway per zone in production only', { 'production.network.natGatewayPerAz': 'true' }],
    ['a NAT gateway per zone in production, one NAT gateway and two zones in staging', { 'production.network.natGatewayPerAz': 'true', 'staging.availabilityZones': '["eu-west-1a","eu-west-1b"]' }],
    ['a NAT gateway per zone in staging only, with two zones', { 'staging.network.natGatewayPerAz': 'true', 'staging.availabilityZones': '["eu-west-1a","eu-west-1b"]' }],
    ['no schedules in staging', { 'staging.worker.schedules': '[]' }],
    [
      'a production-only schedule',
      { 'production.worker.schedules': JSON.stringify([{ name: 'hourly-sum', cron: 'rate(1 hour)', jobType: 'checksum', payload: { data: 'h', rounds: 5 } }]) },
    ],
    ['a staging audience of its own', { 'staging.auth.oidcAudience': 'br-fagq2-api-staging' }],
    [
      'production in eu-central-1 (its own zones and CloudFront prefix list)',
      { 'production.region': 'eu-central-1', 'production.availabilityZones': '["eu-central-1a","eu-central-1b","eu-central-1c"]', 'production.cloudFrontPrefixListId': 'pl-a3a144ca' },
    ],
    [
      'production in ap-south-2, where load balancers write their logs as a service principal, not an account',
      { 'production.region': 'ap-south-2', 'production.availabilityZones': '["ap-south-2a","ap-south-2b","ap-south-2c"]', 'production.cloudFrontPrefixListId': 'pl-0123abcd' },
    ],
    [
      'staging in us-east-1, the web ACL stacks\' region',
      { 'staging.region': 'us-east-1', 'staging.availabilityZones': '["us-east-1a","us-east-1b"]', 'staging.cloudFrontPrefixListId': 'pl-3b927c52' },
    ],
    [
      'a custom domain in production only',
      { 'production.edge.domainName': 'data.example.com', 'production.edge.certificateArn': 'arn:aws:acm:us-east-1:333333333333:certificate/11111111-2222-3333-4444-555555555555' },
    ],
    ['bigger production tasks', { 'production.api.cpu': '1024', 'production.api.memoryMiB': '2048', 'production.worker.concurrency': '8', 'production.api.requestsPerTargetPerMinute': '6000' }],
  ])('passes %s', (_name, overrides) => {
    const result = compareBuilt(overrides);
    expect(lines(result.differences)).toBe('');
    expect(result.ok).toBe(true);
  });

  it('passes a stage with no alarm e-mail beside one with an address', () => {
    const result = compareEdited((t) => {
      const [id] = Object.entries<any>(t.Tiers.Resources).find(([, r]) => r.Type === 'AWS::SNS::Subscription')!;
      delete t.Tiers.Resources[id];
    });
    expect(lines(result.differences)).toBe('');
  });
});

describe('compareStages: what the allowances do not name fails, with their reason', () => {
  it('refuses a production-only 100 % canary (api.deployment.trafficStepPercent stays equal)', () => {
    const result = compareEdited((t) => {
      resource(t.Tiers, 'AWS::ECS::Service', 'apiid6pe9zboaService').Properties.DeploymentConfiguration.CanaryConfiguration.CanaryPercent = 100;
    });
    expect(result.ok).toBe(false);
    expect(result.differences).toEqual([
      expect.objectContaining({
        stackId: 'Tiers',
        path: expect.stringMatching(/^Resources\/apiid6pe9zboaService[0-9A-F]{8}\/Properties\/DeploymentConfiguration\/CanaryConfiguration\/CanaryPercent$/),
        staging: 10,
        production: 100,
        why: expect.stringMatching(/^api\.deployment\.trafficStepPercent must be the same in staging and production \(enforcement\/allowances\.json\): the share of users/),
      }),
    ]);
  });

  it('refuses a production-only deployment strategy', () => {
    const result = compareEdited((t) => {
      const config = resource(t.Tiers, 'AWS::ECS::Service', 'apiid6pe9zboaService').Properties.DeploymentConfiguration;
      config.Strategy = 'LINEAR';
      config.LinearConfiguration = { StepPercent: 10, StepBakeTimeInMinutes: 5 };
      delete config.CanaryConfiguration;
    });
    expect(result.differences.map((d) => d.path.split('/').slice(-1)[0])).toEqual(['CanaryConfiguration', 'LinearConfiguration', 'Strategy']);
    for (const d of result.differences) expect(d.why).toMatch(/^api\.deployment\.strategy must be the same in staging and production/);
  });

  it('refuses a production-only OIDC issuer (who may write stays equal)', () => {
    const result = compareEdited((t) => (env(apiTask(t), 'OIDC_ISSUER').Value = 'https://idp.attacker.example/'));
    expect(result.differences).toHaveLength(1);
    expect(result.differences[0]!.why).toMatch(/^auth\.oidcIssuer must be the same in staging and production/);
  });

  it('refuses a production-only WAF rate limit', () => {
    const result = compareEdited((t) => {
      const acl = resource(t.EdgeWaf, 'AWS::WAFv2::WebACL', '');
      acl.Properties.Rules.find((r: any) => r.Statement.RateBasedStatement).Statement.RateBasedStatement.Limit = 2_000_000_000;
    });
    expect(result.differences).toEqual([expect.objectContaining({ stackId: 'EdgeWaf', production: 2_000_000_000, why: expect.stringMatching(/^edge\.rateLimitPer5Minutes must be the same/) })]);
  });

  it('refuses a production-only rollback alarm threshold', () => {
    const result = compareEdited((t) => (resource(t.Tiers, 'AWS::CloudWatch::Alarm', 'apiid6pe9zboaErrorRateAlarm').Properties.Threshold = 50));
    expect(result.differences).toEqual([expect.objectContaining({ staging: 5, production: 50, why: expect.stringMatching(/^alarms\.api5xxPercent must be the same/) })]);
  });

  it('refuses a listed setting\'s kind of value at an unlisted place (a value allowance is checked where it lands)', () => {
    // CONCURRENCY may differ; PORT, beside it in the same task definition, may not. So may Cpu on the
    // API's task, but not on the release-checks function, nor deletion protection's value on another attribute.
    const result = compareEdited((t) => {
      env(apiTask(t), 'PORT').Value = '9090';
      const lb = resource(t.Tiers, 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'apiid6pe9zboaLoadBalancer');
      lb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'routing.http.drop_invalid_header_fields.enabled').Value = 'false';
    });
    expect(result.differences).toHaveLength(2);
    for (const d of result.differences) expect(d.why).toMatch(/where no allowance lets the stages differ/);
  });

  it('refuses a production-only resource of a type no resource set names', () => {
    const result = compareEdited((t) => {
      t.Tiers.Resources.BreakGlassRole = {
        Type: 'AWS::IAM::Role',
        Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }] } },
      };
    });
    expect(result.differences).toEqual([
      expect.objectContaining({ path: 'Resources/BreakGlassRole', staging: undefined, why: expect.stringMatching(/^a AWS::IAM::Role in production only: no resource set of the allowances/) }),
    ]);
  });

  it('refuses a production-only schedule shaped unlike the others (another target)', () => {
    const result = compareEdited((t) => {
      const refresh = Object.entries<any>(t.Tiers.Resources).find(([id]) => id.startsWith('workersskbsaupScheduledatasetrefresh'))![1];
      const planted = structuredClone(refresh);
      planted.Properties.Target.Arn = 'arn:aws:sqs:eu-west-1:444444444444:elsewhere';
      t.Tiers.Resources.workersskbsaupScheduleexfil0A1B2C3D = planted;
    });
    expect(result.differences).toHaveLength(1);
    expect(result.differences[0]!.why).toMatch(/^a AWS::Scheduler::Schedule in production only: worker\.schedules: not shaped like any other AWS::Scheduler::Schedule .*Target\/Arn/);
  });

  it('refuses two planted schedules alike (resources in one stage only cannot vouch for each other)', () => {
    const result = compareEdited((t) => {
      const refresh = Object.entries<any>(t.Tiers.Resources).find(([id]) => id.startsWith('workersskbsaupScheduledatasetrefresh'))![1];
      const planted = structuredClone(refresh);
      planted.Properties.Target.Arn = 'arn:aws:sqs:eu-west-1:444444444444:elsewhere';
      t.Tiers.Resources.workersskbsaupScheduleone0A1B2C3D = planted;
      t.Tiers.Resources.workersskbsaupScheduletwo0A1B2C3D = structuredClone(planted);
    });
    expect(result.differences.map((d) => d.path)).toEqual(['Resources/workersskbsaupScheduleone0A1B2C3D', 'Resources/workersskbsaupScheduletwo0A1B2C3D']);
  });

  it('refuses a production-only subscription that is not an e-mail, and a second one', () => {
    const https = compareEdited((t) => {
      const [id, sub] = Object.entries<any>(t.Tiers.Resources).find(([, r]) => r.Type === 'AWS::SNS::Subscription')!;
      delete t.Tiers.Resources[id];
      t.Tiers.Resources.AlarmsTopiccollectorexamplecomABCDEF12 = { ...sub, Properties: { ...sub.Properties, Protocol: 'https', Endpoint: 'https://collector.example.com/' } };
    });
    expect(lines(https.differences)).toMatch(/AlarmsTopiccollectorexamplecomABCDEF12: .*alarms\.email: not the shape the allowances require: Properties\/Protocol/);
    const second = compareEdited((t) => {
      const [, sub] = Object.entries<any>(t.Tiers.Resources).find(([, r]) => r.Type === 'AWS::SNS::Subscription')!;
      t.Tiers.Resources.AlarmsTopicsecondexamplecomABCDEF12 = { ...sub, Properties: { ...sub.Properties, Endpoint: 'second@example.com' } };
    });
    expect(lines(second.differences)).toMatch(/alarms\.email allows at most 1 such resource per stage, production has 2/);
  });

  it('refuses a production-only default route from a workload subnet (only the edge subnets route to the internet)', () => {
    const result = compareEdited((t) => {
      const route = Object.entries<any>(t.Tiers.Resources).find(([id]) => /^NetworkVpcedgeSubnet1DefaultRoute/.test(id))![1];
      const table = Object.keys(t.Tiers.Resources).find((id) => /^NetworkVpcworkloadSubnet1RouteTable[0-9A-F]{8}$/.test(id))!;
      t.Tiers.Resources.NetworkVpcworkloadSubnet1DefaultRoute0A1B2C3D = { ...route, Properties: { ...route.Properties, RouteTableId: { Ref: table } } };
    });
    expect(lines(result.differences)).toMatch(/NetworkVpcworkloadSubnet1DefaultRoute0A1B2C3D: .*no resource set of the allowances/);
  });

  it('refuses an egress route that leaves through anything but one of the VPC\'s NAT gateways (network.natGatewayPerAz)', () => {
    const result = compareEdited((t) => {
      const route = Object.entries<any>(t.Tiers.Resources).find(([id]) => /^NetworkVpcegressSubnet2DefaultRoute[0-9A-F]{8}$/.test(id))![1];
      route.Properties.NatGatewayId = { Ref: Object.keys(t.Tiers.Resources).find((id) => /^NetworkVpcIGW/.test(id))! };
    });
    expect(result.differences).toEqual([
      expect.objectContaining({
        path: expect.stringMatching(/^Resources\/NetworkVpcegressSubnet2DefaultRoute[0-9A-F]{8}\/Properties\/NatGatewayId\/Ref$/),
        production: expect.stringMatching(/^NetworkVpcIGW/),
        why: expect.stringMatching(/^network\.natGatewayPerAz may only name another \^NetworkVpcedgeSubnet/),
      }),
    ]);
  });

  it('refuses a production-only NAT gateway outside the edge subnets, or one whose route leaves elsewhere', () => {
    const result = compareEdited((t) => {
      const resources = t.Tiers.Resources;
      const [natId, nat] = Object.entries<any>(resources).find(([, r]) => r.Type === 'AWS::EC2::NatGateway')!;
      const eip = Object.keys(resources).find((id) => /^NetworkVpcedgeSubnet1EIP/.test(id))!;
      const workloadSubnet = Object.keys(resources).find((id) => /^NetworkVpcworkloadSubnet2Subnet[0-9A-F]{8}$/.test(id))!;
      // A second gateway in a workload subnet: that subnet is no edge subnet.
      resources.NetworkVpcedgeSubnet2NATGateway0A1B2C3D = { ...nat, Properties: { ...nat.Properties, SubnetId: { Ref: workloadSubnet }, AllocationId: { 'Fn::GetAtt': [eip, 'AllocationId'] } } };
      // A second gateway of another kind (private NAT: no way out to the internet), in an edge subnet.
      resources.NetworkVpcedgeSubnet3NATGateway0A1B2C3D = { ...nat, Properties: { ...nat.Properties, ConnectivityType: 'private' } };
      expect(natId).toMatch(/^NetworkVpcedgeSubnet1NATGateway/);
    });
    expect(result.differences.map((d) => `${d.path}: ${d.why}`)).toEqual([
      expect.stringMatching(/^Resources\/NetworkVpcedgeSubnet2NATGateway0A1B2C3D: a AWS::EC2::NatGateway in production only: network\.natGatewayPerAz: not shaped like any other AWS::EC2::NatGateway .*SubnetId\/Ref/),
      expect.stringMatching(/^Resources\/NetworkVpcedgeSubnet3NATGateway0A1B2C3D: a AWS::EC2::NatGateway in production only: network\.natGatewayPerAz: not shaped like any other AWS::EC2::NatGateway .*ConnectivityType/),
    ]);
  });

  it('refuses a subnet list that grew by anything but a zone\'s own subnet', () => {
    const result = compareEdited((t) => {
      const service = resource(t.Tiers, 'AWS::ECS::Service', 'apiid6pe9zboaService');
      service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets.push({ Ref: Object.keys(t.Tiers.Resources).find((id) => /^NetworkVpcedgeSubnet1Subnet/.test(id))! });
    });
    expect(result.differences).toEqual([expect.objectContaining({ path: expect.stringMatching(/AwsvpcConfiguration\/Subnets$/), why: expect.stringMatching(/a shape difference/) })]);
  });

  it('refuses another account or region hidden in a string (only each stage\'s own are set aside)', () => {
    const result = compareEdited((t) => {
      const policy = resource(t.Tiers, 'AWS::S3::BucketPolicy', 'AccessLogsBucketPolicy');
      policy.Properties.PolicyDocument.Statement[1].Condition.StringEquals['aws:SourceAccount'] = '444444444444';
      const task = apiTask(t);
      task.Properties.ContainerDefinitions[0].LogConfiguration.Options['awslogs-region'] = 'us-west-2';
    });
    expect(result.differences.map((d) => d.production)).toEqual(['444444444444', 'us-west-2']);
  });

  it('refuses a stack in one stage only', () => {
    const result = compareEdited((t) => (t.Extra = { Resources: {} }));
    expect(result.differences).toEqual([expect.objectContaining({ stackId: 'Extra', path: '', why: 'stack Extra is in production only' })]);
  });
});
