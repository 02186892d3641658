// The delivery-metrics function (lib/delivery-metrics.ts): an EventBridge rule sends it each
// "CodePipeline Stage Execution State Change" event of the Production stage that ended
// (SUCCEEDED or FAILED); it reads the pipeline's recent history and publishes that outcome's
// figures (figures.ts) as CloudWatch metrics in the pipeline account.
//
// Event shape: CodePipeline User Guide, "Monitoring CodePipeline events", stage-level events
// (https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html):
// detail.pipeline, detail.execution-id, detail.stage, detail.state (STARTED, SUCCEEDED, RESUMED,
// FAILED, CANCELED, STOPPED, STOPPING), detail.version (the pipeline structure version), and the
// event's `time`. Delivery is at least once: a repeated event publishes the same datum again,
// which a Sum over a period counts twice; the rule's events are rare (one per release).
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { metricsFor, type MetricDatum } from './figures.ts';
import { PRODUCTION_STAGE, readReleases, type Release } from './releases.ts';

/** The namespace and dimension the metrics are published under (the dashboard reads them). */
export const METRIC_NAMESPACE = 'br-fagq2/Delivery';
export const PIPELINE_DIMENSION = 'Pipeline';
/** How many executions back the function looks for the run of failures a success ends. */
const HISTORY = 25;

export interface StageEvent {
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: { readonly pipeline: string; readonly 'execution-id': string; readonly stage: string; readonly state: string };
}

export interface Clients {
  readonly codePipeline: CodePipelineClient;
  readonly cloudWatch: CloudWatchClient;
}

/** The datums of one event: the history as read, with this event's outcome written over it. */
export function datumsForEvent(event: StageEvent, releases: readonly Release[]): MetricDatum[] {
  const { detail } = event;
  if (event['detail-type'] !== 'CodePipeline Stage Execution State Change' || detail.stage !== PRODUCTION_STAGE) return [];
  if (!['SUCCEEDED', 'FAILED'].includes(detail.state)) return [];
  // ListActionExecutions may not show the stage's end yet when the event arrives: the event says it.
  const at = new Date(event.time);
  const status = detail.state === 'SUCCEEDED' ? 'Succeeded' : 'Failed';
  const patched = releases.map((release) =>
    release.executionId !== detail['execution-id']
      ? release
      : { ...release, stages: [...release.stages.filter((s) => s.name !== PRODUCTION_STAGE), { name: PRODUCTION_STAGE, status, end: at }] },
  );
  return metricsFor(patched, detail['execution-id']);
}

export async function handleEvent(event: StageEvent, clients: Clients): Promise<MetricDatum[]> {
  const releases = await readReleases(clients.codePipeline, event.detail.pipeline, HISTORY);
  const data = datumsForEvent(event, releases);
  if (data.length === 0) return data;
  await clients.cloudWatch.send(
    new PutMetricDataCommand({
      Namespace: METRIC_NAMESPACE,
      MetricData: data.map((datum) => ({
        MetricName: datum.name,
        Value: datum.value,
        Unit: datum.unit,
        Timestamp: datum.at,
        Dimensions: [{ Name: PIPELINE_DIMENSION, Value: event.detail.pipeline }],
      })),
    }),
  );
  console.log(JSON.stringify({ event: 'delivery-metrics.published', executionId: event.detail['execution-id'], state: event.detail.state, data }));
  return data;
}

let clients: Clients | undefined;

/** The Lambda entry point. */
export async function handler(event: StageEvent): Promise<void> {
  clients ??= { codePipeline: new CodePipelineClient({}), cloudWatch: new CloudWatchClient({}) };
  await handleEvent(event, clients);
}
