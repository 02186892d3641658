// `checks deploy`: the post-deploy checks, in the order they run.
import { awsClients } from '../aws-clients.ts';
import type { Check } from '../check.ts';
import type { DeployConfig } from '../config.ts';
import { edgeHealthCheck } from '../edge-health.ts';
import { apiReleaseCheck } from '../health/api-release.ts';
import { freshnessCheck } from './freshness.ts';
import { awsFreshnessActions } from './freshness-aws.ts';
import { cloudFrontInvalidations, invalidationCheck } from './invalidation.ts';
import { clientCredentialsToken, readClientCredentials } from './oidc-token.ts';
import { jobsCheck } from './jobs.ts';
import { latencyCheck } from './latency.ts';
import { sqsQueueDepth } from './queue-depth.ts';
import { versionCheck } from './version.ts';

export function deployChecks(config: DeployConfig): Check[] {
  const { distributionId, edgeUrl, oidcClient } = config;
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
      token: oidcClient
        ? async () => clientCredentialsToken({ ...oidcClient, credentials: await readClientCredentials(awsClients.secretsManager(), oidcClient.secretId) })
        : undefined,
    }),
    freshnessCheck({
      edgeUrl,
      dataBucket: config.dataBucket,
      budgetSeconds: config.freshnessBudgetSeconds,
      actions: () => awsFreshnessActions(awsClients.s3(), awsClients.sqs(), config.dataBucket!, config.queueUrl),
    }),
  ];
}
