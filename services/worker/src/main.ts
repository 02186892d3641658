// The worker's entry point: `node dist/main.js` in the image, `npm run worker` from source.
import { ConfigError, parseWorkerConfig, type WorkerConfig } from './config.ts';
import { DataBucket } from '../../shared/dataset.ts';
import { JobStore } from '../../shared/job-store.ts';
import { startConsumer } from './consumer.ts';
import { dlqUrlFromRedrivePolicy } from './dlq.ts';
import { createHandlers } from './handlers/registry.ts';
import { createJsonLogger, errorMessage } from './log.ts';
import { createSqsClient } from './sqs-client.ts';
import { createTaskProtection, noTaskProtection } from './task-protection.ts';

const MAX_PROTECTION_MINUTES = 2_880; // the ECS agent's limit (48 h)

async function main(): Promise<void> {
  const logger = createJsonLogger();
  // Signals first, before anything awaits: a stop that arrives while the worker is still starting
  // is kept and honoured once the consumer runs, never left to the default (fatal) action. A
  // terminal's Ctrl-C reaches every process of the foreground group, and npm forwards it too: the
  // same stop may arrive more than once; every signal after the first is ignored.
  let stopRequested: string | undefined;
  let stopConsumer: (() => void) | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopRequested) return;
      stopRequested = signal;
      logger.info('worker.stopping', { signal });
      stopConsumer?.();
    });
  }
  let config: WorkerConfig;
  try {
    config = parseWorkerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error('config.invalid', { reason: error.message });
    process.exit(1);
  }

  const client = createSqsClient();
  let dlqUrl = config.dlqUrl;
  if (dlqUrl === undefined) {
    try {
      dlqUrl = await dlqUrlFromRedrivePolicy(client, config.queueUrl);
    } catch (error) {
      logger.error('config.invalid', { reason: `DLQ_URL is unset and the queue's redrive policy could not be read: ${errorMessage(error)}` });
      process.exit(1);
    }
  }
  const taskProtection = config.ecsAgentUri
    ? createTaskProtection({
        agentUri: config.ecsAgentUri,
        // Long enough for a job that runs to its timeout; renewed while jobs keep coming.
        expiresInMinutes: Math.min(MAX_PROTECTION_MINUTES, Math.ceil(config.jobTimeoutSeconds / 60) + 1),
        logger,
      })
    : noTaskProtection;
  const jobStore = new JobStore({ tableName: config.jobsTable, finishedTtlSeconds: config.resultRetentionDays * 86_400 });
  const data = new DataBucket(config.dataBucket);
  const consumer = startConsumer({ client, config: { ...config, dlqUrl }, logger, taskProtection, jobStore, handlers: createHandlers({ data }) });
  logger.info('worker.started', {
    queueUrl: config.queueUrl,
    dlqUrl,
    dlqFrom: config.dlqUrl === undefined ? 'RedrivePolicy' : 'DLQ_URL',
    concurrency: config.concurrency,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    taskProtection: Boolean(config.ecsAgentUri),
  });

  stopConsumer = () => void consumer.stop();
  if (stopRequested) stopConsumer();
  await consumer.stopped;
  client.destroy();
  jobStore.destroy();
  data.destroy();
  logger.info('worker.stopped');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    createJsonLogger().error('worker.crashed', { reason: errorMessage(error) });
    process.exit(1);
  },
);
