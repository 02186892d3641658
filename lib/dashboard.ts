import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { ApiService } from '../constructs/api-service';
import { EdgeCache } from '../constructs/edge-cache';
import { QueueWorker } from '../constructs/queue-worker';
import { TIER_IDS } from './tiers';

/** The tiers a {@link TiersDashboard} shows. */
export interface TiersDashboardProps {
  /** Name of the dashboard. */
  readonly dashboardName: string;
  /** The edge tier. */
  readonly edge: EdgeCache;
  /** The API tier. */
  readonly api: ApiService;
  /** The worker tier. */
  readonly worker: QueueWorker;
}

/** One CloudWatch dashboard with the health of the three tiers, a row each. */
export class TiersDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: TiersDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const { edge, api, worker } = props;
    // CloudFront publishes its metrics in us-east-1 with Region=Global.
    const cloudFront = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/CloudFront',
        metricName,
        dimensionsMap: { DistributionId: edge.distribution.distributionId, Region: 'Global' },
        region: 'us-east-1',
        period,
        statistic: metricName === 'Requests' ? 'Sum' : 'Average',
      });
    // A progressive release moves production traffic to the other target group and leaves it
    // there: the API's graphs show both groups, or they would go blank after the first release.
    const groups = [{ label: 'group 1', group: api.targetGroup }];
    if (api.alternateTargetGroup) groups.push({ label: 'group 2', group: api.alternateTargetGroup });
    const services = [
      { name: TIER_IDS.api, service: api.service },
      { name: TIER_IDS.worker, service: worker.service },
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: `${TIER_IDS.edge}: cache hit rate (%)`, left: [cloudFront('CacheHitRate')], width: 8 }),
          new cloudwatch.GraphWidget({ title: `${TIER_IDS.edge}: requests`, left: [cloudFront('Requests')], width: 8 }),
          new cloudwatch.GraphWidget({ title: `${TIER_IDS.edge}: 5xx error rate (%)`, left: [cloudFront('5xxErrorRate')], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: `${TIER_IDS.api}: latency p50 / p99 (s)`,
            left: groups.flatMap(({ label, group }) => ['p50', 'p99'].map((statistic) => group.metrics.targetResponseTime({ period, statistic, label: `${label} ${statistic}` }))),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: `${TIER_IDS.api}: requests and 5xx`,
            left: [
              ...groups.flatMap(({ label, group }) => [
                group.metrics.requestCount({ period, label: `${label} requests` }),
                group.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period, label: `${label} target 5xx` }),
              ]),
              api.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { period, label: 'load balancer 5xx' }),
            ],
            width: 8,
          }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...api.deploymentAlarms, worker.oldestMessageAlarm, worker.deadLetterAlarm], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: `${TIER_IDS.worker}: queue depth`,
            left: [worker.queue.metricApproximateNumberOfMessagesVisible({ period, label: 'visible' }), worker.queue.metricApproximateNumberOfMessagesNotVisible({ period, label: 'in flight' })],
            width: 6,
          }),
          new cloudwatch.GraphWidget({ title: `${TIER_IDS.worker}: age of oldest message (s)`, left: [worker.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' })], width: 6 }),
          new cloudwatch.GraphWidget({ title: `${TIER_IDS.worker}: dead-letter queue depth`, left: [worker.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' })], width: 6 }),
          new cloudwatch.GraphWidget({
            title: 'Running tasks',
            left: services.map(({ name, service }) =>
              new cloudwatch.Metric({
                namespace: 'ECS/ContainerInsights',
                metricName: 'RunningTaskCount',
                dimensionsMap: { ClusterName: service.cluster.clusterName, ServiceName: service.serviceName },
                period,
                statistic: 'Average',
                label: name,
              }),
            ),
            width: 6,
          }),
        ],
      ],
    });
  }
}
