import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The uid:gid the services run as (the `node` user of the official Node images). */
export const CONTAINER_USER = '1000:1000';

/**
 * Deployment settings shared by every tier's service: new tasks start before
 * old ones stop, and the circuit breaker rolls back a deployment whose tasks
 * never become healthy.
 */
export const SAFE_DEPLOYMENT: Pick<ecs.FargateServiceProps, 'minHealthyPercent' | 'maxHealthyPercent' | 'circuitBreaker' | 'propagateTags'> = {
  minHealthyPercent: 100,
  maxHealthyPercent: 200,
  circuitBreaker: { enable: true, rollback: true },
  propagateTags: ecs.PropagatedTagSource.SERVICE,
};

/** A Linux/x86-64 Fargate task definition (the images are built on x86-64 CodeBuild hosts). */
export function fargateTaskDefinition(scope: Construct, cpu: number, memoryMiB: number): ecs.FargateTaskDefinition {
  return new ecs.FargateTaskDefinition(scope, 'Task', {
    cpu,
    memoryLimitMiB: memoryMiB,
    runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
  });
}

/**
 * Container settings shared by every tier's task: a non-root user, a read-only
 * root filesystem, and JSON logs to a log group with a retention.
 */
export function hardenedContainer(scope: Construct, logRetention: logs.RetentionDays): Pick<ecs.ContainerDefinitionOptions, 'user' | 'readonlyRootFilesystem' | 'logging'> {
  const logGroup = new logs.LogGroup(scope, 'Logs', { retention: logRetention });
  return {
    user: CONTAINER_USER,
    readonlyRootFilesystem: true,
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'task', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
  };
}
