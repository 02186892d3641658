import { ElasticLoadBalancingV2Client, TargetGroupNotFoundException, type TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { evaluateTargetHealth, targetHealthCheck } from '../../pipeline/checks/health/target-health';

const TARGET_GROUP_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-id6pe9zboa/73e2d6bc24d8a067';

// As DescribeTargetHealth answers for Fargate tasks (ip targets).
function target(id: string, state: string, reason?: string, description?: string): TargetHealthDescription {
  return {
    Target: { Id: id, Port: 8080, AvailabilityZone: 'eu-west-1a' },
    HealthCheckPort: '8080',
    TargetHealth: { State: state as 'healthy', ...(reason && { Reason: reason as 'Target.FailedHealthChecks' }), ...(description && { Description: description }) },
  };
}

describe('evaluateTargetHealth', () => {
  it('passes when every registered target is healthy', () => {
    const outcome = evaluateTargetHealth({ TargetHealthDescriptions: [target('10.0.1.23', 'healthy'), target('10.0.2.41', 'healthy')] });
    expect(outcome).toEqual({ status: 'PASS', detail: '2 of 2 target(s) healthy: 10.0.1.23:8080, 10.0.2.41:8080' });
  });

  it('fails naming the unhealthy target, its state and the reason ELB gives', () => {
    const outcome = evaluateTargetHealth({
      TargetHealthDescriptions: [
        target('10.0.1.23', 'healthy'),
        target('10.0.2.41', 'unhealthy', 'Target.FailedHealthChecks', 'Health checks failed with these codes: [503]'),
      ],
    });
    expect(outcome.status).toBe('FAIL');
    expect(outcome.detail).toBe(
      '1 of 2 target(s) not healthy: 10.0.2.41:8080 unhealthy (Target.FailedHealthChecks: Health checks failed with these codes: [503])',
    );
  });

  it('fails on a target still in its initial health checks (not yet serving)', () => {
    const outcome = evaluateTargetHealth({ TargetHealthDescriptions: [target('10.0.1.23', 'initial', 'Elb.RegistrationInProgress')] });
    expect(outcome).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('10.0.1.23:8080 initial (Elb.RegistrationInProgress') });
  });

  it('fails when no target is registered', () => {
    expect(evaluateTargetHealth({ TargetHealthDescriptions: [] })).toEqual({ status: 'FAIL', detail: 'no registered targets' });
    expect(evaluateTargetHealth({})).toMatchObject({ status: 'FAIL' });
  });

  it('ignores draining targets, but not when nothing else is left', () => {
    const draining = target('10.0.3.7', 'draining', 'Target.DeregistrationInProgress');
    expect(evaluateTargetHealth({ TargetHealthDescriptions: [target('10.0.1.23', 'healthy'), draining] })).toEqual({
      status: 'PASS',
      detail: '1 of 1 target(s) healthy: 10.0.1.23:8080; 1 draining target(s) ignored',
    });
    expect(evaluateTargetHealth({ TargetHealthDescriptions: [draining] })).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^no registered targets/) });
  });
});

describe('targetHealthCheck', () => {
  const clientThat = (send: () => Promise<unknown>) => () => ({ send }) as unknown as ElasticLoadBalancingV2Client;

  it('reports a target group that does not exist as missing', async () => {
    const notFound = new TargetGroupNotFoundException({ message: 'One or more target groups not found', $metadata: { httpStatusCode: 400 } });
    const outcome = await targetHealthCheck(clientThat(() => Promise.reject(notFound)), TARGET_GROUP_ARN).run();
    expect(outcome).toMatchObject({ status: 'FAIL', missing: true, detail: expect.stringContaining(`target group ${TARGET_GROUP_ARN} not found`) });
  });

  it('lets other errors (no permission, throttling) through: they are failures, not a missing stage', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform: elasticloadbalancing:DescribeTargetHealth'), { name: 'AccessDenied' });
    await expect(targetHealthCheck(clientThat(() => Promise.reject(denied)), TARGET_GROUP_ARN).run()).rejects.toThrow(/not authorized/);
  });

  it('is missing when API_TARGET_GROUP_ARN is unset (health --allow-missing)', async () => {
    const outcome = await targetHealthCheck(clientThat(() => Promise.reject(new Error('must not be called'))), undefined).run();
    expect(outcome).toEqual({ status: 'FAIL', missing: true, detail: 'API_TARGET_GROUP_ARN is not set' });
  });

  it('counts the targets of both target groups of a blue/green API: the empty one is normal, an unhealthy one fails', async () => {
    const ALTERNATE = TARGET_GROUP_ARN.replace('73e2d6bc24d8a067', '0a1b2c3d4e5f6071');
    const answers: Record<string, TargetHealthDescription[]> = { [TARGET_GROUP_ARN]: [], [ALTERNATE]: [target('10.0.1.23', 'healthy'), target('10.0.2.41', 'healthy')] };
    const byArn = (input: Record<string, Record<string, string>>) => async (command: { input: { TargetGroupArn: string } }) => ({ TargetHealthDescriptions: input[command.input.TargetGroupArn] });
    const client = (table: Record<string, TargetHealthDescription[]>) => () => ({ send: byArn(table as never) }) as unknown as ElasticLoadBalancingV2Client;

    expect(await targetHealthCheck(client(answers), TARGET_GROUP_ARN, ALTERNATE).run()).toEqual({
      status: 'PASS',
      detail: '2 of 2 target(s) healthy: 10.0.1.23:8080, 10.0.2.41:8080 (both target groups)',
    });
    // Alone, the first group (empty after a release moved the tasks) would fail.
    expect(await targetHealthCheck(client(answers), TARGET_GROUP_ARN).run()).toMatchObject({ status: 'FAIL', detail: 'no registered targets' });
    const unhealthy = { ...answers, [TARGET_GROUP_ARN]: [target('10.0.3.9', 'unhealthy')] };
    expect(await targetHealthCheck(client(unhealthy), TARGET_GROUP_ARN, ALTERNATE).run()).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('10.0.3.9:8080 unhealthy') });
  });

  it('evaluates the answer of the call', async () => {
    const outcome = await targetHealthCheck(clientThat(async () => ({ TargetHealthDescriptions: [target('10.0.1.23', 'unhealthy')] })), TARGET_GROUP_ARN).run();
    expect(outcome).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('10.0.1.23:8080 unhealthy') });
  });
});
