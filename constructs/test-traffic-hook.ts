import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { buildSync } from 'esbuild';
import { Construct } from 'constructs';
import { localBundling } from './local-bundling';

/** The check code of the pipeline (pipeline/checks); the hook's handler is one of its programs. */
const CHECKS_DIR = path.resolve(__dirname, '..', 'pipeline', 'checks');

/** Properties of a {@link TestTrafficHook}. */
export interface TestTrafficHookProps {
  /** The VPC of the load balancer. */
  readonly vpc: ec2.IVpc;
  /** The VPC's address range, literal (see ApiServiceProps.vpcCidr). */
  readonly vpcCidr: string;
  /** The subnets the function runs in (it needs no internet: it calls the internal load balancer only). */
  readonly subnets: ec2.SubnetSelection;
  /** The test listener's URL, e.g. `http://<load balancer DNS name>:9080`. */
  readonly testUrl: string;
  /** The port of the test listener: the function's only way out. */
  readonly testPort: number;
  /** The release the green tasks must serve at /v1/version. */
  readonly expectedVersion: string;
  /** The p95 latency budget of sequential searches. */
  readonly latencyBudget: Duration;
  /**
   * How many searches the latency check times.
   * @default 50
   */
  readonly latencyRequests?: number;
  /** How long the function's logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * The key encrypting the function's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * The function's runtime.
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;
}

/**
 * The API's release checks on test traffic, as a Lambda function ECS calls at the
 * POST_TEST_TRAFFIC_SHIFT stage of a deployment (pipeline/checks/test-traffic/handler.ts).
 * It runs in the VPC and may only reach the test listener; its role may only write its own logs
 * and manage its network interfaces.
 */
export class TestTrafficHook extends Construct {
  /** The hook's function. */
  public readonly function: lambda.Function;
  /** The function's security group (egress to the test listener's port, inside the VPC, only). */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: TestTrafficHookProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, encryptionKey: props.logEncryptionKey });
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'API release checks: HTTP to the test listener of the internal load balancer only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.ipv4(props.vpcCidr), ec2.Port.tcp(props.testPort), 'Test listener of the API load balancer');

    // Its own role: the function's managed-policy defaults (basic execution, VPC access) grant
    // logs on every log group; this one writes to its own group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'API release checks (ECS lifecycle hook): own logs, own network interfaces',
    });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    // What AWSLambdaVPCAccessExecutionRole grants; EC2 supports no resource-level permission for
    // these Describe/Create calls on a function's network interfaces.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
      }),
    );

    const runtime = props.runtime ?? lambda.Runtime.NODEJS_22_X;
    this.function = new lambda.Function(this, 'Function', {
      description: 'API release checks on test traffic (ECS lifecycle hook): health, version, search, latency',
      runtime,
      architecture: lambda.Architecture.X86_64,
      handler: 'index.handler',
      code: bundledChecks(runtime),
      role,
      logGroup,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroups: [this.securityGroup],
      allowPublicSubnet: false,
      // ECS waits for the answer. 50 searches and a 30 s version budget fit well within this; when
      // they do not (requests hanging up to 10 s each), the handler stops its checks 10 s before
      // the timeout and still answers FAILED with a verdict (VERDICT_MARGIN_MS).
      timeout: Duration.minutes(3),
      memorySize: 256,
      environment: {
        TEST_URL: props.testUrl,
        EXPECTED_VERSION: props.expectedVersion,
        LATENCY_BUDGET_MS: String(props.latencyBudget.toMilliseconds()),
        LATENCY_REQUESTS: String(props.latencyRequests ?? 50),
      },
    });
  }
}

/**
 * The handler bundled in process by esbuild (a devDependency; no Docker): one file, no dependencies
 * (the checks use Node's fetch). The asset hash is the source folder's, so CDK bundles once per
 * synth for every stage, and not at all when cdk.out already holds that bundle.
 */
function bundledChecks(runtime: lambda.Runtime): lambda.Code {
  const major = /nodejs(\d+)/.exec(runtime.name)?.[1] ?? '22';
  return lambda.Code.fromAsset(CHECKS_DIR, {
    exclude: ['README.md'],
    bundling: localBundling((outputDir) => {
      buildSync({
        entryPoints: [path.join(CHECKS_DIR, 'test-traffic', 'handler.ts')],
        outfile: path.join(outputDir, 'index.js'),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: `node${major}`,
        minify: false,
        logLevel: 'warning',
      });
    }),
  });
}
