// The API's entry point: `node dist/main.js` in the image, `npm run api` from source.
import { ConfigError, parseApiConfig, type ApiConfig } from './config.js';
import { loadDataset } from './dataset.js';
import { createSqsJobQueue } from './job-queue.js';
import { SearchIndex } from './search-index.js';
import { buildServer } from './server.js';
import { createSqsClient } from './sqs-client.js';

function fatal(event: string, reason: string): never {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event, reason })}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: ApiConfig;
  try {
    config = parseApiConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) fatal('config.invalid', error.message);
    throw error;
  }
  const index = new SearchIndex(loadDataset());
  const client = createSqsClient();
  const app = buildServer({ index, queue: createSqsJobQueue(client, config.queueUrl), appVersion: config.appVersion });

  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'api.stopping');
      // close(): stop accepting, let in-flight requests finish, then exit.
      app.close().then(
        () => {
          client.destroy();
          app.log.info('api.stopped');
          process.exit(0);
        },
        (error: unknown) => fatal('api.stop_failed', String(error)),
      );
    });
  }

  const url = await app.listen({ host: config.host, port: config.port });
  app.log.info({ url, version: config.appVersion, records: index.size }, 'api.listening');
}

main().catch((error: unknown) => fatal('api.crashed', error instanceof Error ? error.message : String(error)));
