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

  // Every signal after the first is ignored: a terminal's Ctrl-C may arrive twice (directly and via npm).
  let closing = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
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

  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fatal('api.port_in_use', `port ${config.port} on ${config.host} is already in use: set PORT to a free port`);
    if (code === 'EACCES') fatal('api.port_denied', `port ${config.port} on ${config.host} needs privileges: set PORT to a port above 1023`);
    throw error;
  }
  app.log.info({ url, version: config.appVersion, records: index.size }, 'api.listening');
}

main().catch((error: unknown) => fatal('api.crashed', error instanceof Error ? error.message : String(error)));
