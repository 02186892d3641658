// The API's progressive delivery: each stage's deployment configuration as synthesized, the
// second target group and the test listener, the deployment alarms of each target group, the
// release-check hook, and the misconfigurations that fail the synth.
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiService, type ApiDeployment, progressiveDeliveryProblems } from '../constructs/api-service';
import { loadConfig } from '../lib/config';
import { defineApp } from '../lib/app';
import { buildStages, cdkJsonContext, newApp, stageTemplates, tiersTemplates } from './support/app';

let production: Template;
let staging: Template;

beforeAll(() => {
  ({ staging, production } = tiersTemplates());
});

const apiService = (t: Template) =>
  Object.values(t.findResources('AWS::ECS::Service')).find((r) => JSON.stringify(r.Properties.TaskDefinition).includes('apiid6pe9zboa'))!;
const workerService = (t: Template) =>
  Object.values(t.findResources('AWS::ECS::Service')).find((r) => JSON.stringify(r.Properties.TaskDefinition).includes('workersskbsaup'))!;
const logicalIdOf = (t: Template, type: string, pattern: RegExp) => Object.keys(t.findResources(type)).find((id) => pattern.test(id))!;

describe('API deployment per stage', () => {
  it("rehearses production's canary in staging, faster: 10 % for 1 minute, then the rest, then a 1-minute bake", () => {
    const config = apiService(staging).Properties.DeploymentConfiguration;
    expect(config).toMatchObject({
      Strategy: 'CANARY',
      CanaryConfiguration: { CanaryPercent: 10, CanaryBakeTimeInMinutes: 1 },
      BakeTimeInMinutes: 1,
      MinimumHealthyPercent: 100,
      MaximumPercent: 200,
    });
    expect(config.LinearConfiguration).toBeUndefined();
  });

  it('deploys production as a canary: 10 % for 5 minutes, then the rest, then a 10-minute bake', () => {
    const config = apiService(production).Properties.DeploymentConfiguration;
    expect(config).toMatchObject({
      Strategy: 'CANARY',
      CanaryConfiguration: { CanaryPercent: 10, CanaryBakeTimeInMinutes: 5 },
      BakeTimeInMinutes: 10,
    });
  });

  it('sets the circuit breaker only where ECS documents it: not on the canary API, on the rolling worker', () => {
    // "can only be used for services using the rolling update (ECS) deployment type" (ECS API
    // reference, DeploymentCircuitBreaker); rolling and blue/green ("Amazon ECS deployment failure
    // detection"). The canary's green tasks that fail health checks roll back by an alarm instead.
    for (const template of [production, staging]) {
      expect(apiService(template).Properties.DeploymentConfiguration.DeploymentCircuitBreaker).toBeUndefined();
    }
    const worker = workerService(production).Properties;
    expect(worker.DeploymentConfiguration.Strategy ?? 'ROLLING').toBe('ROLLING');
    expect(worker.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
    expect(worker.DeploymentConfiguration.LifecycleHooks).toBeUndefined();
  });

  it('says why the canary has no circuit breaker, so the synth warns of nothing', () => {
    const { staging: s, production: p } = buildStages();
    for (const stage of [s, p]) Annotations.fromStack(stage.tiersStack).hasNoWarning('*', Match.anyValue());
  });

  it('rolls back a canary whose green tasks fail their health checks, by an alarm on each target group', () => {
    for (const [group, name] of [[/HttpTasksGroup/, 'unhealthy-tasks'], [/HttpAlternateTasksGroup/, 'alternate-unhealthy-tasks']] as const) {
      const targetGroup = logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::TargetGroup', group);
      production.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `Production-Tiers-api-id6pe9zboa-${name}`,
        MetricName: 'UnHealthyHostCount',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Dimensions: Match.arrayWith([{ Name: 'TargetGroup', Value: { 'Fn::GetAtt': [targetGroup, 'TargetGroupFullName'] } }]),
      });
      expect(apiService(production).Properties.DeploymentConfiguration.Alarms.AlarmNames).toContain(`Production-Tiers-api-id6pe9zboa-${name}`);
    }
  });

  it.each([
    ['LINEAR', { Strategy: 'LINEAR', LinearConfiguration: { StepPercent: 20, StepBakeTimeInMinutes: 3 }, BakeTimeInMinutes: 10 }],
    ['BLUE_GREEN', { Strategy: 'BLUE_GREEN', BakeTimeInMinutes: 10 }],
    ['ROLLING', { MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }],
  ])('follows configuration: %s', (strategy, expected) => {
    // Both stages: the strategy and the traffic step must be the same in both (enforcement/allowances.json).
    const stages = buildStages({
      ...Object.fromEntries(['staging', 'production'].flatMap((stage) => [
        [`${stage}.api.deployment.strategy`, strategy],
        [`${stage}.api.deployment.trafficStepPercent`, '20'],
      ])),
      'production.api.deployment.trafficStepMinutes': '3',
    });
    const service = apiService(stageTemplates(stages.production).tiers).Properties;
    expect(service.DeploymentConfiguration).toMatchObject(expected);
    if (strategy === 'BLUE_GREEN') {
      expect(service.DeploymentConfiguration.CanaryConfiguration).toBeUndefined();
      expect(service.DeploymentConfiguration.DeploymentCircuitBreaker).toEqual({ Enable: true, Rollback: true });
    }
    if (strategy === 'LINEAR') expect(service.DeploymentConfiguration.DeploymentCircuitBreaker).toBeUndefined();
    if (strategy === 'ROLLING') {
      expect(service.DeploymentConfiguration.Strategy ?? 'ROLLING').toBe('ROLLING');
      expect(service.DeploymentConfiguration.BakeTimeInMinutes).toBeUndefined();
      expect(service.DeploymentConfiguration.LifecycleHooks).toBeUndefined();
      expect(service.LoadBalancers[0].AdvancedConfiguration).toBeUndefined();
      expect(stageTemplates(stages.production).tiers.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('release checks') } })).toEqual({});
    }
  });
});

describe('two target groups, a production rule and a test listener', () => {
  it('gives ECS the alternate target group, the production and test listener rules and its infrastructure role', () => {
    const [lb] = apiService(production).Properties.LoadBalancers;
    const rule = (pattern: RegExp) => ({ Ref: logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::ListenerRule', pattern) });
    expect(lb.TargetGroupArn).toEqual({ Ref: logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::TargetGroup', /HttpTasksGroup/) });
    expect(lb.AdvancedConfiguration).toEqual({
      AlternateTargetGroupArn: { Ref: logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::TargetGroup', /HttpAlternateTasksGroup/) },
      ProductionListenerRule: rule(/UserTrafficRule/),
      TestListenerRule: rule(/TestRule/),
      RoleArn: { 'Fn::GetAtt': [logicalIdOf(production, 'AWS::IAM::Role', /AlternateTargetRole/), 'Arn'] },
    });
    production.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ecs.amazonaws.com' } })] }),
      ManagedPolicyArns: [Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers'])] })],
    });
  });

  it('sends every path through rules whose weights ECS moves (all to the first group at rest)', () => {
    const rules = Object.values(production.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'));
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.Properties.Conditions).toEqual([{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }]);
      const weights = rule.Properties.Actions[0].ForwardConfig.TargetGroups.map((g: { Weight: number }) => g.Weight);
      expect(weights).toEqual([100, 0]);
    }
  });

  it('gives both listeners forward actions only (ECS does not support listeners that mix forward and non-forward actions)', () => {
    const first = logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::TargetGroup', /HttpTasksGroup/);
    const listeners = Object.values(production.findResources('AWS::ElasticLoadBalancingV2::Listener'));
    expect(listeners.map((l) => l.Properties.Port).sort()).toEqual([80, 9080]);
    for (const listener of listeners) {
      expect(listener.Properties.DefaultActions).toEqual([{ Type: 'forward', TargetGroupArn: { Ref: first } }]);
    }
    const actions = Object.values(production.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).flatMap((r) => r.Properties.Actions);
    expect(actions.map((a: { Type: string }) => a.Type)).toEqual(['forward', 'forward']);
  });

  it('leaves the listeners and their rules unchanged by a release, so a release never resets the weights ECS moved (aws/aws-cdk#36649)', () => {
    const app = newApp({ sandbox: 'true' });
    const other = stageTemplates(defineApp(app, 'release-other').production).tiers;
    const routing = (t: Template) => ({
      ...t.findResources('AWS::ElasticLoadBalancingV2::Listener'),
      ...t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
      ...t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'),
    });
    // The release did change the stack (the hook's expected version), just not the routing.
    expect(JSON.stringify(other.findResources('AWS::Lambda::Function'))).toContain('release-other');
    expect(routing(other)).toEqual(routing(production));
  });

  it('opens the test listener (9080) to the VPC only, never to CloudFront', () => {
    production.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 9080, Protocol: 'HTTP' });
    const lbGroup = Object.values(production.findResources('AWS::EC2::SecurityGroup')).find((g) => /API load balancer/.test(g.Properties.GroupDescription))!;
    const inline = lbGroup.Properties.SecurityGroupIngress ?? [];
    const separate = Object.values(production.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties);
    const rules = [...inline, ...separate].filter((r) => r.SourcePrefixListId || r.CidrIp || r.CidrIpv6);
    // Of the load balancer's address-based rules: CloudFront to 80, the VPC to 9080, nothing else.
    const lbRules = rules.filter((r) => r.SourcePrefixListId === 'pl-4fa04526' || [80, 9080].includes(r.FromPort));
    expect(lbRules.map((r) => [r.SourcePrefixListId ?? r.CidrIp ?? r.CidrIpv6, r.FromPort, r.ToPort]).sort((a, b) => a[1] - b[1])).toEqual([
      ['pl-4fa04526', 80, 80],
      ['10.0.0.0/16', 9080, 9080],
    ]);
  });
});

describe('rollback by traffic: deployment alarms per target group', () => {
  const names = ['5xx-rate', 'p99-latency', 'alternate-5xx-rate', 'alternate-p99-latency', 'elb-5xx-rate', 'unhealthy-tasks', 'alternate-unhealthy-tasks'];

  it('rolls back on the 5xx share and the p99 latency of each target group', () => {
    for (const [template, stage] of [[production, 'Production'], [staging, 'Staging']] as const) {
      expect(apiService(template).Properties.DeploymentConfiguration.Alarms).toEqual({
        Enable: true,
        Rollback: true,
        AlarmNames: names.map((n) => `${stage}-Tiers-api-id6pe9zboa-${n}`),
      });
    }
  });

  it('measures the alternate group on its own requests, so a 10 % canary is not diluted', () => {
    const alternate = logicalIdOf(production, 'AWS::ElasticLoadBalancingV2::TargetGroup', /HttpAlternateTasksGroup/);
    const alarm = Object.values(production.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === 'Production-Tiers-api-id6pe9zboa-alternate-5xx-rate')!;
    const requests = alarm.Properties.Metrics.find((m: { Id: string }) => m.Id === 'requests');
    expect(JSON.stringify(requests.MetricStat.Metric.Dimensions)).toContain(alternate);
    expect(alarm.Properties.Threshold).toBe(5);
    // The group's own 5xx over its own requests, counted only in minutes of at least 20 requests;
    // the load balancer's 5xx (no TargetGroup dimension) are not part of a group's share.
    const expression = alarm.Properties.Metrics.find((m: { Expression?: string }) => m.Expression).Expression;
    expect(expression).toBe('IF(FILL(requests, 0) >= 20, 100 * FILL(target5xx, 0) / requests, 0)');
    const target5xx = alarm.Properties.Metrics.find((m: { Id: string }) => m.Id === 'target5xx');
    expect(target5xx.MetricStat.Metric.MetricName).toBe('HTTPCode_Target_5XX_Count');
    expect(JSON.stringify(target5xx.MetricStat.Metric.Dimensions)).toContain(alternate);
    expect(JSON.stringify(alarm.Properties.Metrics)).not.toContain('HTTPCode_ELB_5XX_Count');
    production.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Production-Tiers-api-id6pe9zboa-alternate-p99-latency',
      ExtendedStatistic: 'p99',
      Threshold: 1.5,
      Dimensions: Match.arrayWith([Match.objectLike({ Name: 'TargetGroup', Value: { 'Fn::GetAtt': [alternate, 'TargetGroupFullName'] } })]),
    });
  });

  it("weighs the load balancer's own 5xx against all its requests, in one alarm, so a stray 502 during a 10 % canary is not a canary failure", () => {
    const alarm = Object.values(production.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === 'Production-Tiers-api-id6pe9zboa-elb-5xx-rate')!;
    const metric = (id: string) => alarm.Properties.Metrics.find((m: { Id: string }) => m.Id === id).MetricStat.Metric;
    expect(metric('elb5xx').MetricName).toBe('HTTPCode_ELB_5XX_Count');
    expect(metric('requests').MetricName).toBe('RequestCount');
    for (const id of ['elb5xx', 'requests']) expect(metric(id).Dimensions.map((d: { Name: string }) => d.Name)).toEqual(['LoadBalancer']);
    expect(alarm.Properties.Metrics.find((m: { Expression?: string }) => m.Expression).Expression).toBe('IF(FILL(requests, 0) >= 20, 100 * FILL(elb5xx, 0) / requests, 0)');
    expect(alarm.Properties).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
  });

  it('scales on the requests of both target groups (which one serves alternates by release)', () => {
    const policies = Object.values(production.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')).filter(
      (p) => p.Properties.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType === 'ALBRequestCountPerTarget',
    );
    expect(JSON.stringify(policies.map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.ResourceLabel))).toMatch(
      /HttpTasksGroup.*HttpAlternateTasksGroup/,
    );
  });
});

describe('release checks on test traffic', () => {
  const hookFunction = (t: Template) =>
    Object.entries(t.findResources('AWS::Lambda::Function')).find(([, f]) => /release checks/.test(f.Properties.Description))!;

  it('runs the hook at POST_TEST_TRAFFIC_SHIFT, invoked by a role that may invoke that function only', () => {
    const [fnId] = hookFunction(production);
    const [hook] = apiService(production).Properties.DeploymentConfiguration.LifecycleHooks;
    expect(hook).toEqual({ HookTargetArn: { 'Fn::GetAtt': [fnId, 'Arn'] }, LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'], RoleArn: expect.anything() });
    const roleId = hook.RoleArn['Fn::GetAtt'][0];
    const policy = Object.values(production.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(roleId))!;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
  });

  it('runs in the API\'s subnets, reaches only the test listener (their route out gives it nothing), knows the release and the latency budget', () => {
    const [, fn] = hookFunction(production);
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Handler).toBe('index.handler');
    expect(fn.Properties.VpcConfig.SubnetIds.every((s: { Ref: string }) => /egressSubnet/.test(s.Ref))).toBe(true);
    const env = fn.Properties.Environment.Variables;
    expect(env).toMatchObject({ EXPECTED_VERSION: 'test-version', LATENCY_BUDGET_MS: '800', LATENCY_REQUESTS: '50' });
    expect(JSON.stringify(env.TEST_URL)).toMatch(/LoadBalancer.*DNSName.*:9080/);
    const groupId = fn.Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
    const group = production.findResources('AWS::EC2::SecurityGroup')[groupId]!;
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '10.0.0.0/16', FromPort: 9080, ToPort: 9080, IpProtocol: 'tcp' })]);
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('writes only its own log group, which keeps the logs for the stage retention', () => {
    const [, fn] = hookFunction(production);
    const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
    production.hasResource('AWS::Logs::LogGroup', { Properties: Match.objectLike({ RetentionInDays: 365 }) });
    expect(production.findResources('AWS::Logs::LogGroup')[logGroupId]!.Properties.RetentionInDays).toBe(365);
    const roleId = fn.Properties.Role['Fn::GetAtt'][0];
    expect(production.findResources('AWS::IAM::Role')[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    const policy = Object.values(production.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(roleId))!;
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements[0]).toEqual({ Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } });
    expect(statements[1].Action.every((a: string) => /^ec2:\w+NetworkInterface|^ec2:Describe|PrivateIpAddresses$/.test(a))).toBe(true);
    expect(statements).toHaveLength(2);
  });
});

describe('misconfiguration fails the synth with a clear error', () => {
  it.each([
    [{ 'production.api.deployment.strategy': 'BLUEGREEN' }, 'production.api.deployment.strategy'],
    [{ 'production.api.deployment.trafficStepPercent': '0.05' }, 'production.api.deployment.trafficStepPercent'],
    [{ 'production.api.deployment.trafficStepPercent': '12.34' }, 'production.api.deployment.trafficStepPercent: expected a multiple of 0.1'],
    [{ 'production.api.deployment.strategy': 'LINEAR', 'production.api.deployment.trafficStepPercent': '2' }, 'production.api.deployment.trafficStepPercent: expected at least 3 for LINEAR'],
    [{ 'staging.api.deployment.bakeMinutes': '-1' }, 'staging.api.deployment.bakeMinutes'],
    [{ 'staging.api.deployment.bakeMinute': '1' }, 'did you mean staging.api.deployment.bakeMinutes?'],
  ])('rejects the configuration %j', (overrides, expected) => {
    expect(() => loadConfig({ ...cdkJsonContext(), ...overrides })).toThrow(expected);
  });

  it('requires the deployment section in both stages', () => {
    const context = cdkJsonContext() as Record<string, any>;
    const staging = structuredClone(context.staging);
    delete staging.api.deployment;
    expect(() => loadConfig({ ...context, staging })).toThrow(/staging\.api\.deployment: missing value/);
  });

  const checks = { expectedVersion: 'v1', latencyBudget: Duration.millis(800) };
  it.each<[string, ApiDeployment, RegExp]>([
    ['CANARY without its traffic shift', { strategy: ecs.DeploymentStrategy.CANARY, bakeTime: Duration.minutes(10), releaseChecks: checks }, /CANARY deployment needs trafficShift/],
    ['CANARY with half a traffic shift', { strategy: ecs.DeploymentStrategy.CANARY, bakeTime: Duration.minutes(10), releaseChecks: checks, trafficShift: { stepPercent: 10 } }, /needs both trafficShift.stepPercent and trafficShift.stepBakeTime/],
    ['LINEAR without its traffic shift', { strategy: ecs.DeploymentStrategy.LINEAR, bakeTime: Duration.minutes(10), releaseChecks: checks }, /LINEAR deployment needs trafficShift/],
    ['BLUE_GREEN without release checks', { strategy: ecs.DeploymentStrategy.BLUE_GREEN, bakeTime: Duration.minutes(1) }, /BLUE_GREEN deployment needs releaseChecks/],
    ['BLUE_GREEN without a bake time', { strategy: ecs.DeploymentStrategy.BLUE_GREEN, releaseChecks: checks }, /BLUE_GREEN deployment needs a bakeTime/],
    ['BLUE_GREEN with a traffic shift', { strategy: ecs.DeploymentStrategy.BLUE_GREEN, bakeTime: Duration.minutes(1), releaseChecks: checks, trafficShift: { stepPercent: 10, stepBakeTime: Duration.minutes(5) } }, /trafficShift applies to CANARY and LINEAR deployments, not BLUE_GREEN/],
    ['ROLLING with a bake time', { strategy: ecs.DeploymentStrategy.ROLLING, bakeTime: Duration.minutes(1) }, /bakeTime applies to BLUE_GREEN, CANARY and LINEAR/],
    ['a test listener on the production port', { strategy: ecs.DeploymentStrategy.BLUE_GREEN, bakeTime: Duration.minutes(1), releaseChecks: checks, testListenerPort: 80 }, /testListenerPort must be a port other than 80/],
  ])('rejects %s', (_name, deployment, message) => {
    expect(() => apiServiceIn(new App(), deployment)).toThrow(message);
  });

  const blueGreen: ApiDeployment = { strategy: ecs.DeploymentStrategy.BLUE_GREEN, bakeTime: Duration.minutes(1), releaseChecks: checks };

  it('synthesizes a blue/green service with every part in place', () => {
    const app = new App();
    apiServiceIn(app, blueGreen);
    expect(() => app.synth()).not.toThrow();
  });

  it.each([
    ['the deployment alarms', 'DeploymentConfiguration.Alarms', /has no deployment alarms that roll back/],
    ['the release-check hook', 'DeploymentConfiguration.LifecycleHooks', /has no POST_TEST_TRAFFIC_SHIFT lifecycle hook: the release would reach users unchecked/],
    ['the test listener rule', 'LoadBalancers.0.AdvancedConfiguration.TestListenerRule', /has no alternate target group with a test listener rule/],
  ])('fails the synth when an escape hatch removes %s', (_what, property, message) => {
    const app = new App();
    const api = apiServiceIn(app, blueGreen);
    (api.service.node.defaultChild as ecs.CfnService).addPropertyDeletionOverride(property);
    expect(() => app.synth()).toThrow(message);
  });

  it('names a deployment alarm that is missing from the service', () => {
    const problems = progressiveDeliveryProblems(
      {
        DeploymentConfiguration: {
          Strategy: 'CANARY',
          Alarms: { Enable: true, Rollback: true, AlarmNames: ['a-5xx-rate', 'a-p99-latency'] },
          CanaryConfiguration: {},
          LifecycleHooks: [{ HookTargetArn: 'arn', LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'] }],
        },
        LoadBalancers: [{ AdvancedConfiguration: { AlternateTargetGroupArn: 'tg', TestListenerRule: 'rule' } }],
      },
      { strategy: ecs.DeploymentStrategy.CANARY, alarmNames: ['a-5xx-rate', 'a-p99-latency', 'a-alternate-5xx-rate', 'a-alternate-p99-latency'] },
    );
    expect(problems).toEqual([
      'a CANARY deployment of the API lacks the deployment alarm(s) a-alternate-5xx-rate, a-alternate-p99-latency (each target group needs its 5xx-share and p99 alarm)',
    ]);
  });
});

/** An ApiService with the given deployment in a stack of its own. */
function apiServiceIn(app: App, deployment: ApiDeployment): ApiService {
  const stack = new Stack(app, 'Api', { env: { account: '111111111111', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  return new ApiService(stack, 'Api', {
    cluster: new ecs.Cluster(stack, 'Cluster', { vpc }),
    subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine'),
    ingressPrefixListId: 'pl-4fa04526',
    accessLogBucket: new s3.Bucket(stack, 'Logs'),
    minTasks: 1,
    maxTasks: 2,
    deployment,
  });
}
