// Every environment variable the checks read: the pipeline sets them (envFromCfnOutputs and the
// step's env); each has a flag of the same name (`EDGE_URL` ↔ `--edge-url`) that overrides it.

export const VARIABLES = {
  EDGE_URL: 'public URL of the stage: https://<distribution domain> (locally the API, http://127.0.0.1:PORT)',
  DISTRIBUTION_ID: 'CloudFront distribution id; unset locally (the invalidation is then skipped)',
  QUEUE_URL: 'URL of the jobs queue',
  DLQ_URL: 'URL of the jobs dead-letter queue',
  EXPECTED_VERSION: 'the version the stage must serve at /v1/version (the commit id just deployed)',
  LATENCY_BUDGET_MS: 'p95 latency budget of GET /v1/search, in milliseconds (default 500)',
  LATENCY_REQUESTS: 'how many sequential search requests the p95 is taken over (default 50)',
  JOB_BUDGET_SECONDS: 'time allowed for the queue to drain after the test job is posted (default 60)',
  VERSION_BUDGET_SECONDS: 'time allowed for /v1/version to show EXPECTED_VERSION (default 60)',
  INVALIDATION_BUDGET_SECONDS: 'time allowed for the CloudFront invalidation to complete (default 600)',
  DATA_BUCKET: 'the stage data bucket (stack output DataBucketName); unset, the data freshness check is skipped',
  API_TOKEN: 'bearer token the jobs check posts its job with (a JWT of the stage OIDC issuer; unset for a local stack without API_TOKENS)',
  OIDC_CLIENT_SECRET_ID: 'Secrets Manager secret (name or ARN, in the stage account) holding {"clientId","clientSecret","scope"?} of the issuer client the jobs check gets its write token with (client credentials); set with OIDC_ISSUER and OIDC_AUDIENCE',
  OIDC_ISSUER: 'the stage API\'s OIDC issuer URL (its discovery document names the token endpoint)',
  OIDC_AUDIENCE: 'the stage API\'s audience, asked for in the client-credentials grant',
  FRESHNESS_BUDGET_SECONDS: 'time allowed for a probe record to be searchable through the edge after an on-demand pipeline run (default 600)',
  CLUSTER_NAME: 'ECS cluster of the stage',
  API_SERVICE_NAME: 'ECS service name of the API tier',
  WORKER_SERVICE_NAME: 'ECS service name of the worker tier',
  API_TARGET_GROUP_ARN: 'ARN of the load balancer target group of the API tier',
  API_ALTERNATE_TARGET_GROUP_ARN: 'ARN of the second target group of a blue/green, canary or linear API (stack output ApiAlternateTargetGroupArn); unset for a rolling one',
  ROLLOUT_TIMEOUT_MINUTES: 'an ECS deployment in progress longer than this fails the health check (default 30)',
} as const;

export type VariableName = keyof typeof VARIABLES;

/** The variables of `deploy`, in the order the help lists them. */
export const DEPLOY_VARIABLES: readonly VariableName[] = [
  'EDGE_URL',
  'DISTRIBUTION_ID',
  'QUEUE_URL',
  'DLQ_URL',
  'EXPECTED_VERSION',
  'LATENCY_BUDGET_MS',
  'LATENCY_REQUESTS',
  'JOB_BUDGET_SECONDS',
  'VERSION_BUDGET_SECONDS',
  'INVALIDATION_BUDGET_SECONDS',
  'DATA_BUCKET',
  'FRESHNESS_BUDGET_SECONDS',
  'API_TOKEN',
  'OIDC_CLIENT_SECRET_ID',
  'OIDC_ISSUER',
  'OIDC_AUDIENCE',
];

/** The variables of `health`. */
export const HEALTH_VARIABLES: readonly VariableName[] = [
  'EDGE_URL',
  'CLUSTER_NAME',
  'API_SERVICE_NAME',
  'WORKER_SERVICE_NAME',
  'API_TARGET_GROUP_ARN',
  'API_ALTERNATE_TARGET_GROUP_ARN',
  'ROLLOUT_TIMEOUT_MINUTES',
];

/** `EDGE_URL` → `edge-url` (used as `--edge-url`). */
export function flagName(variable: VariableName): string {
  return variable.toLowerCase().replaceAll('_', '-');
}
