import { describe, expect, it } from 'vitest';
import { evaluateRelease } from '../../pipeline/checks/health/api-release';

const revision = { arn: 'arn:aws:ecs:eu-west-1:123456789012:service-revision/c/api-id6pe9zboa/7' };

describe('evaluateRelease: what ECS did with the last API release', () => {
  it('passes a completed release and a service never deployed', () => {
    expect(evaluateRelease({ status: 'SUCCESSFUL', targetServiceRevision: revision })).toEqual({ status: 'PASS', detail: 'last release (service revision 7) completed' });
    expect(evaluateRelease(undefined)).toEqual({ status: 'PASS', detail: 'no deployment of the API recorded yet' });
  });

  it('names the cause of a rollback: an alarm, the circuit breaker, or the release-check hook', () => {
    expect(evaluateRelease({ status: 'ROLLBACK_SUCCESSFUL', targetServiceRevision: revision, alarms: { status: 'TRIGGERED', triggeredAlarmNames: ['x-p99-latency'] } }).detail).toBe(
      'last release (service revision 7) ROLLED BACK by deployment alarm(s) x-p99-latency; the previous release serves',
    );
    expect(evaluateRelease({ status: 'ROLLBACK_SUCCESSFUL', targetServiceRevision: revision, deploymentCircuitBreaker: { status: 'TRIGGERED' } }).detail).toMatch(
      /ROLLED BACK by the circuit breaker/,
    );
    const hooked = evaluateRelease({
      status: 'ROLLBACK_SUCCESSFUL',
      targetServiceRevision: revision,
      statusReason: 'lifecycle hook returned FAILED',
      lifecycleHookDetails: [{ status: 'FAILED', targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Production-Tiers-apiReleaseChecks' }],
    });
    expect(hooked).toEqual({
      status: 'PASS',
      detail:
        'last release (service revision 7) ROLLED BACK by the lifecycle hook Production-Tiers-apiReleaseChecks (the release checks on test traffic): lifecycle hook returned FAILED; the previous release serves',
    });
  });

  it('fails a rollback that failed, and reports a release in progress with its stage', () => {
    expect(evaluateRelease({ status: 'ROLLBACK_FAILED', statusReason: 'no capacity' })).toEqual({ status: 'FAIL', detail: 'last release (service revision ?): its rollback FAILED: no capacity' });
    expect(evaluateRelease({ status: 'IN_PROGRESS', lifecycleStage: 'BAKE_TIME', targetServiceRevision: revision })).toEqual({
      status: 'PASS',
      detail: 'last release (service revision 7) is IN_PROGRESS at BAKE_TIME',
    });
  });
});
