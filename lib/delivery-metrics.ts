import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { buildSync } from 'esbuild';
import { Construct } from 'constructs';
import { localBundling } from '../constructs/local-bundling';
import { LogKey } from '../constructs/log-key';
import { acknowledgeFinding } from './compliance';
import { NODE_MAJOR } from './node-version';

/** The function's code: a program of the pipeline, not of the CDK app. */
const CODE_DIR = path.resolve(__dirname, '..', 'pipeline', 'delivery-metrics');

/** Where the function publishes (pipeline/delivery-metrics/handler.ts says the same). */
const DELIVERY_NAMESPACE = 'br-fagq2/Delivery';

/** Properties of {@link DeliveryMetrics}. */
export interface DeliveryMetricsProps {
  /** The release pipeline. */
  readonly pipeline: codepipeline.IPipeline;
  /** The pipeline's name, literal (the dashboard's name and the metrics' dimension). */
  readonly pipelineName: string;
  /** The stage whose outcome is a release's. */
  readonly productionStageName: string;
  /**
   * How long the function's logs are kept.
   * @default one year
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Delivery metrics from the pipeline's own execution events: an EventBridge rule on the
 * Production stage's "CodePipeline Stage Execution State Change" events (SUCCEEDED, FAILED)
 * invokes a function that reads the execution's commit time (the source's AuthorDate) from the
 * CodePipeline API and publishes Deployments, ChangeFailures, LeadTimeSeconds and
 * TimeToRestoreSeconds to CloudWatch; a dashboard shows them, with the change failure rate as
 * metric math.
 *
 * Why events and a function: CodePipeline publishes no CloudWatch metrics of its own, a metric
 * filter needs log events the pipeline does not write, and the commit time is not in the event
 * (only the source action's output variables hold it); EventBridge delivers each stage outcome
 * as it happens, so nothing polls.
 */
export class DeliveryMetrics extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DeliveryMetricsProps) {
    super(scope, id);
    const { pipeline } = props;
    const key = new LogKey(this, 'LogKey', { description: 'br-fagq2 pipeline: delivery-metrics function logs' }).key;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR, encryptionKey: key });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Delivery metrics: read the pipeline history, publish its metrics, write own logs',
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    role.addToPolicy(new iam.PolicyStatement({ actions: ['codepipeline:ListPipelineExecutions', 'codepipeline:ListActionExecutions'], resources: [pipeline.pipelineArn] }));
    // PutMetricData supports no resource-level permission; the condition key limits the namespace
    // (CloudWatch User Guide, "Using condition keys to limit access to CloudWatch namespaces").
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': DELIVERY_NAMESPACE } },
      }),
    );

    const runtime = new lambda.Runtime(`nodejs${NODE_MAJOR}.x`, lambda.RuntimeFamily.NODEJS);
    this.function = new lambda.Function(this, 'Function', {
      description: 'Delivery metrics of the release pipeline: lead time, deployments, change failures, time to restore',
      runtime,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: bundled(runtime),
      role,
      logGroup,
      timeout: Duration.minutes(1),
      memorySize: 256,
    });

    // Stage-level events (CodePipeline User Guide, "Monitoring CodePipeline events"): a stage
    // rollback is an execution of that stage only, and Production's end is a release's end.
    this.rule = new events.Rule(this, 'ProductionOutcomes', {
      description: 'Production stage of the release pipeline ended: publish the delivery metrics',
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Stage Execution State Change'],
        resources: [pipeline.pipelineArn],
        detail: { stage: [props.productionStageName], state: ['SUCCEEDED', 'FAILED'] },
      },
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${props.pipelineName}-delivery`,
      defaultInterval: Duration.days(30),
    });
    const metric = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: DELIVERY_NAMESPACE, metricName, dimensionsMap: { Pipeline: props.pipelineName }, statistic, period: Duration.days(1), label });
    const deployments = metric('Deployments', 'Sum', 'deployments per day');
    const failures = metric('ChangeFailures', 'Sum', 'change failures per day');
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Deployment frequency (production, per day)', left: [deployments, failures], width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Change failure rate (%)',
        left: [
          new cloudwatch.MathExpression({
            expression: 'IF(d + f > 0, 100 * f / (d + f), 0)',
            usingMetrics: { d: deployments, f: failures },
            label: 'change failure rate',
            period: Duration.days(1),
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lead time: commit (author date) to production success (s)',
        left: [metric('LeadTimeSeconds', 'p50', 'lead time p50'), metric('LeadTimeSeconds', 'Maximum', 'lead time max')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Time to restore: production failure to the next production success (s)',
        left: [metric('TimeToRestoreSeconds', 'Average', 'time to restore'), metric('TimeToRestoreSeconds', 'Maximum', 'time to restore max')],
        width: 12,
      }),
    );

    const policy = role.node.findChild('DefaultPolicy').node.defaultChild as iam.CfnPolicy;
    acknowledgeFinding(policy, 'AwsSolutions-IAM5[Resource::*]', 'cloudwatch:PutMetricData supports no resource-level permission; the statement is limited to the br-fagq2/Delivery namespace by the cloudwatch:namespace condition');
    const fn = this.function.node.defaultChild as lambda.CfnFunction;
    acknowledgeFinding(fn, 'L1', 'The function runs on the Node.js major of .nvmrc, the runtime the project and its tests use (lib/node-version.ts); it moves with .nvmrc.');
    acknowledgeFinding(fn, 'NIST.800.53.R5-LambdaInsideVPC', 'The function calls only the CodePipeline and CloudWatch APIs of its own account; the pipeline account has no VPC to put it in');
    acknowledgeFinding(fn, 'NIST.800.53.R5-LambdaConcurrency', 'One invocation per production outcome; a reserved concurrency would take from the account pool (at least 10 must stay unreserved) for no gain');
    acknowledgeFinding(fn, 'NIST.800.53.R5-LambdaDLQ', 'Invoked asynchronously by EventBridge, which retries a failed invocation 4 times over up to 2 hours; a lost datum is recomputed by `ops releases` from the pipeline history');
  }
}

/** The handler bundled in process by esbuild (no Docker), with its SDK clients pinned by package-lock. */
function bundled(runtime: lambda.Runtime): lambda.Code {
  const major = /nodejs(\d+)/.exec(runtime.name)?.[1] ?? '22';
  return lambda.Code.fromAsset(CODE_DIR, {
    bundling: localBundling((outputDir) => {
      buildSync({
        entryPoints: [path.join(CODE_DIR, 'handler.ts')],
        outfile: path.join(outputDir, 'index.js'),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: `node${major}`,
        minify: true,
        logLevel: 'warning',
      });
    }),
  });
}
