import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * An SQS client configured only by the SDK's own environment (AWS_REGION, AWS_ENDPOINT_URL_SQS,
 * the credential chain). useQueueUrlAsEndpoint is off so that calls go to the configured endpoint
 * rather than to each queue URL's host: harmless against real SQS (same host), and it lets a local
 * emulator whose queue URLs name an unresolvable host work through AWS_ENDPOINT_URL_SQS.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({ useQueueUrlAsEndpoint: false });
}
