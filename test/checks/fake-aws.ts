// A local stand-in for the AWS APIs the checks call besides SQS (ECS and Secrets Manager: JSON 1.1,
// ELBv2 and CloudFormation: query protocol, CloudFront: REST-XML), reached through the SDK's own AWS_ENDPOINT_URL_<SERVICE>
// variables, so that the CLI's real SDK calls, error parsing included, run without AWS. It also
// answers GET /healthz, standing in for the edge.
import { createServer, type ServerResponse } from 'node:http';
import { listenLocal, readBody, send } from '../support/http';

/** An ECS service as DescribeServices returns it on the wire (dates in epoch seconds). */
export interface WireService {
  readonly serviceName: string;
  readonly status: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount?: number;
  readonly deployments?: readonly Record<string, unknown>[];
}

export interface WireTarget {
  readonly id: string;
  readonly state: string;
  readonly reason?: string;
}

/** What the fake answers; tests set it before each run. */
export interface FakeAwsState {
  /** Undefined: the cluster does not exist (ClusterNotFoundException). */
  cluster: { services: WireService[] } | undefined;
  /** Undefined: the target group does not exist (TargetGroupNotFound). */
  targets: WireTarget[] | undefined;
  /** Status GetInvalidation answers. */
  invalidationStatus: string;
  /** The API's service deployments, newest first, as DescribeServiceDeployments returns them. */
  serviceDeployments: Record<string, unknown>[];
  /** Outputs of the stack DescribeStacks answers; undefined: the stack does not exist. */
  stackOutputs: Record<string, string> | undefined;
  /** SecretString of each secret GetSecretValue answers, by SecretId; any other: ResourceNotFoundException. */
  secrets: Record<string, string>;
}

export interface FakeAws {
  readonly url: string;
  readonly state: FakeAwsState;
  /** The SDK environment that sends ECS, ELBv2, CloudFront, CloudFormation and Secrets Manager calls here. */
  readonly sdkEnv: Readonly<Record<string, string>>;
  /** Each call received: the operation and its request body. */
  readonly calls: { operation: string; body: string }[];
  stop(): Promise<void>;
}

const ELB_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const CLOUDFRONT_NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

export async function startFakeAws(): Promise<FakeAws> {
  const state: FakeAwsState = { cluster: { services: [] }, targets: [], invalidationStatus: 'Completed', serviceDeployments: [], stackOutputs: undefined, secrets: {} };
  const calls: { operation: string; body: string }[] = [];

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const ecsTarget = request.headers['x-amz-target'];
    if (typeof ecsTarget === 'string' && ecsTarget.startsWith('AmazonEC2ContainerServiceV20141113.')) {
      const operation = ecsTarget.split('.')[1];
      calls.push({ operation: `ecs:${operation}`, body });
      return answerEcs(state, operation, body, response);
    }
    if (ecsTarget === 'secretsmanager.GetSecretValue') {
      calls.push({ operation: 'secretsmanager:GetSecretValue', body });
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const secret = state.secrets[SecretId];
      const json = 'application/x-amz-json-1.1';
      if (secret === undefined) return send(response, 400, json, JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
      return send(response, 200, json, JSON.stringify({ ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, SecretString: secret }));
    }
    const action = new URLSearchParams(body).get('Action');
    if (action === 'DescribeStacks') {
      calls.push({ operation: `cloudformation:${action}`, body });
      return answerCloudFormation(state, new URLSearchParams(body).get('StackName') ?? '', response);
    }
    if (action) {
      calls.push({ operation: `elasticloadbalancing:${action}`, body });
      return answerElb(state, response);
    }
    const invalidation = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation(?:\/([^/]+))?$/.exec(request.url ?? '');
    if (invalidation) {
      calls.push({ operation: `cloudfront:${request.method === 'POST' ? 'CreateInvalidation' : 'GetInvalidation'}`, body });
      return answerCloudFront(request.method === 'POST' ? 'InProgress' : state.invalidationStatus, body, response);
    }
    if (request.url === '/healthz') return send(response, 200, 'application/json', '{"status":"ok"}');
    send(response, 404, 'text/plain', `fake AWS: no route for ${request.method} ${request.url}`);
  });
  const { url, stop } = await listenLocal(server);

  return {
    url,
    state,
    calls,
    sdkEnv: {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_ECS: url,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: url,
      AWS_ENDPOINT_URL_CLOUDFRONT: url,
      AWS_ENDPOINT_URL_CLOUDFORMATION: url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
    },
    stop,
  };
}

function answerEcs(state: FakeAwsState, operation: string | undefined, body: string, response: ServerResponse): void {
  const json = 'application/x-amz-json-1.1';
  if (state.cluster === undefined) {
    return send(response, 400, json, JSON.stringify({ __type: 'ClusterNotFoundException', message: 'Cluster not found.' }));
  }
  if (operation === 'ListServiceDeployments') {
    const briefs = state.serviceDeployments.slice(0, 1).map((d) => ({ serviceDeploymentArn: d.serviceDeploymentArn, status: d.status }));
    return send(response, 200, json, JSON.stringify({ serviceDeployments: briefs }));
  }
  if (operation === 'DescribeServiceDeployments') {
    const { serviceDeploymentArns } = JSON.parse(body) as { serviceDeploymentArns: string[] };
    const found = state.serviceDeployments.filter((d) => serviceDeploymentArns.includes(d.serviceDeploymentArn as string));
    return send(response, 200, json, JSON.stringify({ serviceDeployments: found, failures: [] }));
  }
  const { cluster, services: names } = JSON.parse(body) as { cluster: string; services: string[] };
  const services = state.cluster.services.filter((service) => names.includes(service.serviceName));
  const failures = names
    .filter((name) => !services.some((service) => service.serviceName === name))
    .map((name) => ({ arn: `arn:aws:ecs:eu-west-1:123456789012:service/${cluster}/${name}`, reason: 'MISSING' }));
  send(response, 200, json, JSON.stringify({ services, failures }));
}

function answerElb(state: FakeAwsState, response: ServerResponse): void {
  if (state.targets === undefined) {
    return send(
      response,
      400,
      'text/xml',
      `<ErrorResponse xmlns="${ELB_NS}"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>One or more target groups not found</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
    );
  }
  const members = state.targets
    .map(
      (target) =>
        `<member><HealthCheckPort>8080</HealthCheckPort><Target><Id>${target.id}</Id><Port>8080</Port></Target>` +
        `<TargetHealth><State>${target.state}</State>${target.reason ? `<Reason>${target.reason}</Reason>` : ''}</TargetHealth></member>`,
    )
    .join('');
  send(
    response,
    200,
    'text/xml',
    `<DescribeTargetHealthResponse xmlns="${ELB_NS}"><DescribeTargetHealthResult><TargetHealthDescriptions>${members}</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`,
  );
}

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function answerCloudFormation(state: FakeAwsState, stackName: string, response: ServerResponse): void {
  if (state.stackOutputs === undefined) {
    return send(
      response,
      400,
      'text/xml',
      `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${stackName} does not exist</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
    );
  }
  const members = Object.entries(state.stackOutputs)
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  send(
    response,
    200,
    'text/xml',
    `<DescribeStacksResponse xmlns="${CFN_NS}"><DescribeStacksResult><Stacks><member><StackName>${stackName}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-27T10:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>`,
  );
}

function answerCloudFront(status: string, body: string, response: ServerResponse): void {
  const batch = /<InvalidationBatch[\s\S]*<\/InvalidationBatch>/.exec(body)?.[0] ?? '';
  response.setHeader('location', 'https://cloudfront.amazonaws.com/2020-05-31/distribution/E2QWRUHAPOMQZL/invalidation/I2J0I21PCUYOIK');
  send(
    response,
    status === 'InProgress' ? 201 : 200,
    'text/xml',
    `<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="${CLOUDFRONT_NS}"><Id>I2J0I21PCUYOIK</Id><Status>${status}</Status><CreateTime>2026-11-27T10:00:00Z</CreateTime>${batch}</Invalidation>`,
  );
}
