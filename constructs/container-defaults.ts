import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The uid:gid the services run as (the `node` user of the official Node images). */
export const CONTAINER_USER = '1000:1000';

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
