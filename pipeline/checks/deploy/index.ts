// `checks deploy`: the post-deploy checks, in the order they run.
import { awsClients } from '../aws-clients.js';
import type { Check } from '../check.js';
import type { DeployConfig } from '../config.js';
import { edgeHealthCheck } from '../edge-health.js';
import { apiReleaseCheck } from '../health/api-release.js';
import { freshnessCheck } from './freshness.js';
import { awsFreshnessActions } from './freshness-aws.js';
import { cloudFrontInvalidations, invalidationCheck } from './invalidation.js';
import { sendJobToQueue } from './send-job.js';
import { jobsCheck } from './jobs.js';
import { latencyCheck } from './latency.js';
import { sqsQueueDepth } from './queue-depth.js';
import { versionCheck } from './version.js';

export function deployChecks(config: DeployConfig): Check[] {
  const { distributionId, edgeUrl } = config;
  return [
    edgeHealthCheck(edgeUrl),
    // What ECS did with the release just deployed: "completed" (in a stage rollback, the rollback ECS made).
    apiReleaseCheck({ client: awsClients.ecs, clusterName: config.clusterName, serviceName: config.apiServiceName, skipWhenUnset: true }),
    latencyCheck({ edgeUrl, requests: config.latencyRequests, budgetMs: config.latencyBudgetMs }),
    invalidationCheck({
      distributionId,
      api: (id) => cloudFrontInvalidations(awsClients.cloudFront(), id),
      budgetSeconds: config.invalidationBudgetSeconds,
    }),
    versionCheck({ edgeUrl, expectedVersion: config.expectedVersion, budgetSeconds: config.versionBudgetSeconds }),
    jobsCheck({
      edgeUrl,
      queueUrl: config.queueUrl,
      dlqUrl: config.dlqUrl,
      budgetSeconds: config.jobBudgetSeconds,
      queueDepth: () => sqsQueueDepth(awsClients.sqs()),
      apiToken: config.apiToken,
      sendJob: config.jobsViaQueue ? (job) => sendJobToQueue(awsClients.sqs(), config.queueUrl, job.type, job.payload) : undefined,
    }),
    freshnessCheck({
      edgeUrl,
      dataBucket: config.dataBucket,
      budgetSeconds: config.freshnessBudgetSeconds,
      actions: () => awsFreshnessActions(awsClients.s3(), awsClients.sqs(), config.dataBucket!, config.queueUrl),
    }),
  ];
}
