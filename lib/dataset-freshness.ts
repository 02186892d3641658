import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ApiService } from '../constructs/api-service';
import { EnvironmentConfig } from './config';

/**
 * The freshness budget of a stage, from one place in the configuration: a record added at time T
 * is searchable through the edge by T + the wait for the next pipeline run + the pipeline's time
 * (at most the job timeout) + the API's reload interval + the edge's max-age and
 * stale-while-revalidate. README "Freshness budget" states the numbers.
 */
export class DatasetFreshness {
  /** The pipeline's schedule: a rebuild every data.refreshMinutes. */
  readonly scheduleExpression: string;
  /** The whole budget, in seconds. */
  readonly budgetSeconds: number;
  /** The budget of an on-demand run (no wait for the schedule), in seconds: what the deploy check allows. */
  readonly onDemandBudgetSeconds: number;
  /** The oldest the served snapshot may be while every run succeeds: the alarm's threshold. */
  readonly maxSnapshotAgeSeconds: number;

  constructor(settings: EnvironmentConfig) {
    const { data, worker } = settings;
    this.scheduleExpression = data.refreshMinutes === 1 ? 'rate(1 minute)' : `rate(${data.refreshMinutes} minutes)`;
    this.maxSnapshotAgeSeconds = data.refreshMinutes * 60 + worker.jobTimeoutSeconds + data.reloadSeconds;
    this.budgetSeconds = this.maxSnapshotAgeSeconds + data.searchMaxAgeSeconds + data.searchStaleSeconds;
    this.onDemandBudgetSeconds = this.budgetSeconds - data.refreshMinutes * 60;
  }

  /**
   * Alarm: the snapshot the API serves is older than the schedule allows (a run failed, or the
   * pipeline stopped). The API logs `dataset.age` on every reload; a metric filter on its log
   * group turns that into a metric. No data (no API, or only the seed served) counts as breaching.
   */
  addAlarm(api: ApiService): cloudwatch.Alarm {
    const logGroup = api.node.findChild('Logs') as logs.ILogGroup;
    const filter = new logs.MetricFilter(api, 'SnapshotAgeMetric', {
      logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.msg', '=', 'dataset.age'),
      // Per stack: staging and production never share the metric.
      metricNamespace: `br-fagq2/${Stack.of(api).stackName}`,
      metricName: 'ServedSnapshotAgeSeconds',
      metricValue: '$.ageSeconds',
    });
    return new cloudwatch.Alarm(api, 'StaleDatasetAlarm', {
      alarmDescription: `The served dataset snapshot is older than the schedule allows (${this.maxSnapshotAgeSeconds} s): the data pipeline is not refreshing it`,
      metric: filter.metric({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: this.maxSnapshotAgeSeconds,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
