// The AWS SDK clients, configured only by the SDK's standard environment (AWS_REGION, the
// credential chain, AWS_ENDPOINT_URL_<SERVICE>); created only when a check needs one.
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';

const created: { destroy(): void }[] = [];

function lazy<T extends { destroy(): void }>(create: () => T): () => T {
  let client: T | undefined;
  return () => {
    if (client === undefined) {
      client = create();
      created.push(client);
    }
    return client;
  };
}

export const awsClients = {
  // Calls go to AWS_ENDPOINT_URL_SQS (or the regional endpoint), not to each queue URL's host:
  // the same host on AWS, and a local emulator's queue URLs name a host that does not resolve.
  sqs: lazy(() => new SQSClient({ useQueueUrlAsEndpoint: false })),
  cloudFormation: lazy(() => new CloudFormationClient({})),
  cloudFront: lazy(() => new CloudFrontClient({})),
  ecs: lazy(() => new ECSClient({})),
  elbv2: lazy(() => new ElasticLoadBalancingV2Client({})),
  s3: lazy(() => new S3Client({})),
  secretsManager: lazy(() => new SecretsManagerClient({})),
};

/** Closes the clients' connections so the process can exit. */
export function destroyAwsClients(): void {
  for (const client of created.splice(0)) client.destroy();
}
