// A local SQS (fauxqs, in-process) for `npm run local`, the integration tests and the benchmarks.
// Development only: neither service image contains this file.
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface SqsEmulator {
  /** Where AWS_ENDPOINT_URL_SQS should point. */
  readonly endpoint: string;
  /** The SDK environment a service needs to talk to the emulator. */
  readonly sdkEnv: Readonly<Record<string, string>>;
  /** A client for the emulator (the same configuration the services use). */
  readonly client: SQSClient;
  /** Creates a queue and its DLQ with a redrive policy. */
  createQueueWithDlq(name: string, options?: QueueOptions): Promise<QueuePair>;
  stop(): Promise<void>;
}

export interface QueueOptions {
  /** @default 3 */
  readonly maxReceiveCount?: number;
  /** @default 30 */
  readonly visibilityTimeoutSeconds?: number;
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly dlqUrl: string;
}

const REGION = 'us-east-1';

/** Starts fauxqs on 127.0.0.1 (a random free port unless one is given). */
export async function startSqsEmulator(port = 0): Promise<SqsEmulator> {
  // fauxqs is an ES module; a dynamic import loads it from this CommonJS code.
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false, defaultRegion: REGION });
  const address = await app.listen({ host: '127.0.0.1', port });
  const endpoint = new URL(address).origin;
  const sdkEnv = {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_SQS: endpoint,
    // The emulator accepts any credentials; these keep the SDK from searching for real ones.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  };
  const client = new SQSClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    useQueueUrlAsEndpoint: false,
  });

  return {
    endpoint,
    sdkEnv,
    client,
    async createQueueWithDlq(name, options = {}) {
      const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
      const dlqAttributes = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      const queue = await client.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqAttributes.Attributes?.QueueArn,
              maxReceiveCount: options.maxReceiveCount ?? 3,
            }),
          },
        }),
      );
      return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
    },
    async stop() {
      client.destroy();
      await app.close();
    },
  };
}
