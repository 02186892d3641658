import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
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

/** How a tier's container logs and how much memory it may use. */
export interface ContainerLimits {
  /** How long the container logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /** The key encrypting the log group. @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  /** The container's hard memory limit (MiB): the task's memory, so one container cannot starve the agent's view of the task. */
  readonly memoryLimitMiB: number;
}

/**
 * Container settings shared by every tier's task: a non-root user, a read-only
 * root filesystem, a hard memory limit, and JSON logs to an encrypted log group
 * with a retention.
 */
export function hardenedContainer(
  scope: Construct,
  limits: ContainerLimits,
): Pick<ecs.ContainerDefinitionOptions, 'user' | 'readonlyRootFilesystem' | 'logging' | 'memoryLimitMiB'> {
  const logGroup = new logs.LogGroup(scope, 'Logs', { retention: limits.logRetention, encryptionKey: limits.logEncryptionKey });
  return {
    user: CONTAINER_USER,
    readonlyRootFilesystem: true,
    memoryLimitMiB: limits.memoryLimitMiB,
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'task', mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
  };
}
