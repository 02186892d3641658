// The API's entry point: `node dist/main.js` in the image, `npm run api` from source.
import { ConfigError, parseApiConfig, type ApiConfig } from './config.ts';
import { DataBucket } from '../../shared/dataset.ts';
import { JobStore } from '../../shared/job-store.ts';
import { createAuthenticator } from './auth.ts';
import { cacheable } from './http-cache.ts';
import { DatasetSource } from './dataset-source.ts';
import { createSqsJobQueue } from './job-queue.ts';
import { buildServer } from './server.ts';
import { createSqsClient } from './sqs-client.ts';

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
  const client = createSqsClient();
  const jobStore = new JobStore({ tableName: config.jobsTable });
  const data = new DataBucket(config.dataBucket);
  // Logged through the app's logger once it exists (events during the first load are kept).
  let log: (event: string, fields: Record<string, unknown>) => void = () => undefined;
  const dataset = new DatasetSource({ data, reloadSeconds: config.datasetReloadSeconds, onEvent: (event, fields) => log(event, fields) });
  const app = buildServer({
    dataset,
    queue: createSqsJobQueue(client, config.queueUrl),
    jobStore,
    authenticate: createAuthenticator(config.auth),
    appVersion: config.appVersion,
    searchCacheControl: cacheable(config.searchMaxAgeSeconds, config.searchStaleSeconds),
  });
  log = (event, fields) => app.log.info(fields, event);
  if (config.auth.kind === 'none') app.log.warn('auth.disabled: no OIDC_ISSUER and no API_TOKENS: anyone may post jobs (local runs only)');
  await dataset.start();

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
          dataset.stop();
          client.destroy();
          jobStore.destroy();
          data.destroy();
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
  app.log.info({ url, version: config.appVersion, dataset: dataset.current.served, auth: config.auth.kind }, 'api.listening');
}

main().catch((error: unknown) => fatal('api.crashed', error instanceof Error ? error.message : String(error)));
