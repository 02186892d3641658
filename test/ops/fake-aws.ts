// A local stand-in for every AWS API `ops` calls, in the style of test/checks/fake-aws.ts: one HTTP
// server answering each service's wire protocol (CloudFormation and ELBv2: query/XML; ECS, CloudWatch
// Logs, CodePipeline: JSON 1.1; SQS, CloudWatch: JSON 1.0; CloudFront and S3: REST-XML), reached
// through the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, so the CLI's real SDK calls run
// (serialization, error parsing, credentials from a profile) without AWS. Tests set `state`.
import { createServer, type ServerResponse } from 'node:http';
import { listenLocal, readBody, send } from '../support/http';

type Json = Record<string, unknown>;

export interface FakeAwsState {
  /** DescribeStacks: outputs by stack name (absent: the stack does not exist). */
  stacks: Record<string, Record<string, string>>;
  /** ECS services by name, on the wire (DescribeServices). */
  services: Record<string, Json>;
  /** ListServiceDeployments/DescribeServiceDeployments: newest first. */
  serviceDeployments: Json[];
  tasks: { taskArn: string; protectionEnabled: boolean }[];
  /** DescribeTargetHealth by target group ARN. */
  targets: Record<string, { id: string; state: string; reason?: string }[]>;
  distribution: { id: string; status: string; enabled: boolean; domainName: string };
  invalidations: { id: string; status: string; createTime: string }[];
  /** SQS queues by URL: attributes. */
  queues: Record<string, Record<string, string>>;
  /** Message move tasks; each ListMessageMoveTasks moves the first RUNNING one on by `moveStep`. */
  moveTasks: Json[];
  moveStep: number;
  alarms: Json[];
  oldestMessageAgeSeconds: number | undefined;
  logEvents: { logGroupName: string; logStreamName: string; timestamp: number; message: string; eventId: string }[];
  pipeline: { version: number };
  executions: Json[];
  /** ListActionExecutions by execution id. */
  actions: Record<string, Json[]>;
  /** GetPipelineExecution's pipelineVersion by execution id. */
  executionVersions: Record<string, number>;
  /** RollbackStage's answer, and the status GetPipelineExecution gives it. */
  rollbackExecutionId: string;
  /** S3 objects by "bucket/key". */
  objects: Record<string, string>;
  /** What PutMetricData received. */
  putMetricData: Json[];
  /** KMS keys by the KeyId GetPublicKey is called with (an alias ARN): what it answers. */
  kmsKeys: Record<string, { KeyId: string; PublicKey: string; KeySpec: string; KeyUsage: string }>;
}

export interface FakeAws {
  readonly url: string;
  readonly state: FakeAwsState;
  /** The SDK environment that sends every service `ops` uses here. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Each call: `service:Operation` and its request body. */
  readonly calls: { operation: string; body: string }[];
  stop(): Promise<void>;
}

export function emptyState(): FakeAwsState {
  return {
    stacks: {},
    services: {},
    serviceDeployments: [],
    tasks: [],
    targets: {},
    distribution: { id: 'E2QWRUHAPOMQZL', status: 'Deployed', enabled: true, domainName: 'd111111abcdef8.cloudfront.net' },
    invalidations: [],
    queues: {},
    moveTasks: [],
    moveStep: 1,
    alarms: [],
    oldestMessageAgeSeconds: undefined,
    logEvents: [],
    pipeline: { version: 1 },
    executions: [],
    actions: {},
    executionVersions: {},
    rollbackExecutionId: 'ffffffff-0000-4000-8000-000000000009',
    objects: {},
    putMetricData: [],
    kmsKeys: {},
  };
}

const CFN_NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const ELB_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';
const CLOUDFRONT_NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

export async function startFakeAws(): Promise<FakeAws> {
  const state = emptyState();
  const calls: { operation: string; body: string }[] = [];

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    try {
      if (typeof target === 'string') {
        const [prefix, operation] = target.split('.');
        const services: Record<string, string> = { AmazonEC2ContainerServiceV20141113: 'ecs', AmazonSQS: 'sqs', GraniteServiceVersion20100801: 'cloudwatch', Logs_20140328: 'logs', CodePipeline_20150709: 'codepipeline', TrentService: 'kms' };
        const service = services[prefix];
        calls.push({ operation: `${service}:${operation}`, body });
        const input = JSON.parse(body || '{}') as Json;
        const answerers: Record<string, (state: FakeAwsState, operation: string, input: Json) => Answer> = { ecs: answerEcs, sqs: answerSqs, cloudwatch: answerCloudWatch, logs: answerLogs, codepipeline: answerCodePipeline, kms: answerKms };
        const answer = answerers[service ?? '']?.(state, operation, input);
        if (!answer) return send(response, 400, 'application/json', JSON.stringify({ __type: 'UnknownOperationException', message: `fake AWS: ${target}` }));
        return send(response, answer.status ?? 200, 'application/x-amz-json-1.1', JSON.stringify(answer.body));
      }
      const params = new URLSearchParams(body);
      const action = params.get('Action');
      if (action === 'DescribeStacks') {
        calls.push({ operation: 'cloudformation:DescribeStacks', body });
        return answerStacks(state, params.get('StackName') ?? '', response);
      }
      if (action === 'DescribeTargetHealth') {
        calls.push({ operation: 'elasticloadbalancing:DescribeTargetHealth', body });
        return answerTargets(state, params.get('TargetGroupArn') ?? '', response);
      }
      const url = new URL(request.url ?? '/', 'http://fake');
      const distribution = /^\/2020-05-31\/distribution\/([^/]+)(\/invalidation)?$/.exec(url.pathname);
      if (distribution) {
        calls.push({ operation: `cloudfront:${distribution[2] ? 'ListInvalidations' : 'GetDistribution'}`, body });
        return distribution[2] ? answerInvalidations(state, response) : answerDistribution(state, response);
      }
      calls.push({ operation: `s3:${request.method} ${url.pathname}${url.search}`, body });
      return answerS3(state, request.method ?? 'GET', url, response);
    } catch (error) {
      send(response, 500, 'text/plain', String(error));
    }
  });
  const { url, stop } = await listenLocal(server);
  const endpoints = Object.fromEntries(
    ['CLOUDFORMATION', 'ECS', 'ELASTIC_LOAD_BALANCING_V2', 'CLOUDFRONT', 'SQS', 'CLOUDWATCH', 'CLOUDWATCH_LOGS', 'CODEPIPELINE', 'S3', 'KMS'].map((service) => [`AWS_ENDPOINT_URL_${service}`, url]),
  );
  return { url, state, calls, endpoints, stop };
}

type Answer = { status?: number; body: unknown } | undefined;
const error = (type: string, message: string): Answer => ({ status: 400, body: { __type: type, message } });

/** KMS GetPublicKey (AWS KMS API Reference): the key ARN, the DER SPKI public key (base64 on the wire), its spec and usage. */
function answerKms(state: FakeAwsState, operation: string, input: Json): Answer {
  if (operation !== 'GetPublicKey') return undefined;
  const key = state.kmsKeys[input.KeyId as string];
  if (!key) return error('NotFoundException', `Alias ${String(input.KeyId)} is not found.`);
  return { body: { ...key, SigningAlgorithms: ['ECDSA_SHA_256'] } };
}

function answerEcs(state: FakeAwsState, operation: string, input: Json): Answer {
  switch (operation) {
    case 'DescribeServices': {
      const names = input.services as string[];
      const services = names.map((name) => state.services[name]).filter(Boolean);
      const failures = names.filter((name) => !state.services[name]).map((name) => ({ arn: `arn:aws:ecs:eu-west-1:333333333333:service/${String(input.cluster)}/${name}`, reason: 'MISSING' }));
      return { body: { services, failures } };
    }
    case 'ListServiceDeployments':
      return { body: { serviceDeployments: state.serviceDeployments.slice(0, 1).map((d) => ({ serviceDeploymentArn: d.serviceDeploymentArn, status: d.status })) } };
    case 'DescribeServiceDeployments':
      return { body: { serviceDeployments: state.serviceDeployments.filter((d) => (input.serviceDeploymentArns as string[]).includes(d.serviceDeploymentArn as string)), failures: [] } };
    case 'ListTasks':
      return { body: { taskArns: state.tasks.map((t) => t.taskArn) } };
    case 'GetTaskProtection':
      return { body: { protectedTasks: state.tasks.map((t) => ({ taskArn: t.taskArn, protectionEnabled: t.protectionEnabled })), failures: [] } };
  }
  return undefined;
}

function answerSqs(state: FakeAwsState, operation: string, input: Json): Answer {
  switch (operation) {
    case 'GetQueueAttributes': {
      const queue = state.queues[input.QueueUrl as string];
      if (!queue) return error('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
      return { body: { Attributes: queue } };
    }
    case 'StartMessageMoveTask': {
      if (state.moveTasks.some((t) => t.Status === 'RUNNING')) return error('com.amazonaws.sqs#UnsupportedOperation', 'There is already a task running.');
      const source = Object.values(state.queues).find((q) => q.QueueArn === input.SourceArn);
      const task = { TaskHandle: `handle-${state.moveTasks.length + 1}`, SourceArn: input.SourceArn, Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 0, ApproximateNumberOfMessagesToMove: Number(source?.ApproximateNumberOfMessages ?? 0), StartedTimestamp: Date.now() };
      state.moveTasks.unshift(task);
      return { body: { TaskHandle: task.TaskHandle } };
    }
    case 'ListMessageMoveTasks': {
      for (const task of state.moveTasks.filter((t) => t.Status === 'RUNNING')) {
        task.ApproximateNumberOfMessagesMoved = Math.min(Number(task.ApproximateNumberOfMessagesToMove), Number(task.ApproximateNumberOfMessagesMoved) + state.moveStep);
        if (task.ApproximateNumberOfMessagesMoved === task.ApproximateNumberOfMessagesToMove) task.Status = 'COMPLETED';
      }
      // The moved messages leave the DLQ.
      const source = Object.values(state.queues).find((q) => q.QueueArn === input.SourceArn);
      const moved = state.moveTasks.find((t) => t.SourceArn === input.SourceArn);
      if (source && moved) source.ApproximateNumberOfMessages = String(Number(moved.ApproximateNumberOfMessagesToMove) - Number(moved.ApproximateNumberOfMessagesMoved));
      return { body: { Results: state.moveTasks.filter((t) => t.SourceArn === input.SourceArn).map(({ TaskHandle, ...rest }) => (rest.Status === 'RUNNING' ? { TaskHandle, ...rest } : rest)) } };
    }
  }
  return undefined;
}

function answerCloudWatch(state: FakeAwsState, operation: string, input: Json): Answer {
  if (operation === 'DescribeAlarms') {
    const prefix = String(input.AlarmNamePrefix ?? '');
    return { body: { MetricAlarms: state.alarms.filter((a) => String(a.AlarmName).startsWith(prefix) && a.StateValue === input.StateValue), CompositeAlarms: [] } };
  }
  if (operation === 'PutMetricData') {
    state.putMetricData.push(input);
    return { body: {} };
  }
  if (operation === 'GetMetricData') {
    const values = state.oldestMessageAgeSeconds === undefined ? [] : [state.oldestMessageAgeSeconds];
    return { body: { MetricDataResults: [{ Id: 'age', Label: 'ApproximateAgeOfOldestMessage', Timestamps: values.map(() => Date.now() / 1000), Values: values, StatusCode: 'Complete' }] } };
  }
  return undefined;
}

function answerLogs(state: FakeAwsState, operation: string, input: Json): Answer {
  if (operation !== 'FilterLogEvents') return undefined;
  const term = typeof input.filterPattern === 'string' ? JSON.parse(input.filterPattern) as string : undefined;
  const events = state.logEvents.filter(
    (e) => e.logGroupName === input.logGroupName && e.timestamp >= Number(input.startTime ?? 0) && (term === undefined || e.message.includes(term)),
  );
  return { body: { events: events.map(({ logGroupName: _group, ...event }) => ({ ...event, ingestionTime: event.timestamp })), searchedLogStreams: [] } };
}

function answerCodePipeline(state: FakeAwsState, operation: string, input: Json): Answer {
  switch (operation) {
    case 'GetPipeline':
      return { body: { pipeline: { name: input.name, version: state.pipeline.version, roleArn: 'arn:aws:iam::111111111111:role/pipeline', stages: [] }, metadata: {} } };
    case 'ListPipelineExecutions':
      return { body: { pipelineExecutionSummaries: state.executions.slice(0, Number(input.maxResults ?? 100)) } };
    case 'ListActionExecutions': {
      const id = (input.filter as { pipelineExecutionId?: string } | undefined)?.pipelineExecutionId ?? '';
      return { body: { actionExecutionDetails: state.actions[id] ?? [] } };
    }
    case 'GetPipelineExecution': {
      const id = input.pipelineExecutionId as string;
      if (id === state.rollbackExecutionId) return { body: { pipelineExecution: { pipelineExecutionId: id, pipelineName: input.pipelineName, status: 'Succeeded', executionType: 'ROLLBACK', pipelineVersion: state.pipeline.version } } };
      const summary = state.executions.find((e) => e.pipelineExecutionId === id);
      if (!summary) return error('PipelineExecutionNotFoundException', `execution ${id} not found`);
      return { body: { pipelineExecution: { pipelineExecutionId: id, pipelineName: input.pipelineName, status: summary.status, executionType: summary.executionType, pipelineVersion: state.executionVersions[id] ?? state.pipeline.version } } };
    }
    case 'RollbackStage':
      return { body: { pipelineExecutionId: state.rollbackExecutionId } };
  }
  return undefined;
}

function answerStacks(state: FakeAwsState, stackName: string, response: ServerResponse): void {
  const outputs = state.stacks[stackName];
  if (!outputs) {
    return send(response, 400, 'text/xml', `<ErrorResponse xmlns="${CFN_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${stackName} does not exist</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
  }
  const members = Object.entries(outputs).map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${escape(value)}</OutputValue></member>`).join('');
  send(response, 200, 'text/xml', `<DescribeStacksResponse xmlns="${CFN_NS}"><DescribeStacksResult><Stacks><member><StackName>${stackName}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-11-27T10:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>`);
}

function answerTargets(state: FakeAwsState, arn: string, response: ServerResponse): void {
  const targets = state.targets[arn];
  if (!targets) {
    return send(response, 400, 'text/xml', `<ErrorResponse xmlns="${ELB_NS}"><Error><Type>Sender</Type><Code>TargetGroupNotFound</Code><Message>One or more target groups not found</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
  }
  const members = targets
    .map((t) => `<member><HealthCheckPort>8080</HealthCheckPort><Target><Id>${t.id}</Id><Port>8080</Port></Target><TargetHealth><State>${t.state}</State>${t.reason ? `<Reason>${t.reason}</Reason>` : ''}</TargetHealth></member>`)
    .join('');
  send(response, 200, 'text/xml', `<DescribeTargetHealthResponse xmlns="${ELB_NS}"><DescribeTargetHealthResult><TargetHealthDescriptions>${members}</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`);
}

function answerDistribution(state: FakeAwsState, response: ServerResponse): void {
  const d = state.distribution;
  send(
    response,
    200,
    'text/xml',
    `<?xml version="1.0" encoding="UTF-8"?><Distribution xmlns="${CLOUDFRONT_NS}"><Id>${d.id}</Id><ARN>arn:aws:cloudfront::333333333333:distribution/${d.id}</ARN><Status>${d.status}</Status><LastModifiedTime>2026-11-27T10:00:00Z</LastModifiedTime><InProgressInvalidationBatches>0</InProgressInvalidationBatches><DomainName>${d.domainName}</DomainName><DistributionConfig><CallerReference>x</CallerReference><Comment></Comment><Enabled>${d.enabled}</Enabled></DistributionConfig></Distribution>`,
  );
}

function answerInvalidations(state: FakeAwsState, response: ServerResponse): void {
  const items = state.invalidations.map((i) => `<InvalidationSummary><Id>${i.id}</Id><CreateTime>${i.createTime}</CreateTime><Status>${i.status}</Status></InvalidationSummary>`).join('');
  send(response, 200, 'text/xml', `<?xml version="1.0" encoding="UTF-8"?><InvalidationList xmlns="${CLOUDFRONT_NS}"><Marker></Marker><MaxItems>1</MaxItems><IsTruncated>false</IsTruncated><Quantity>${state.invalidations.length}</Quantity><Items>${items}</Items></InvalidationList>`);
}

function answerS3(state: FakeAwsState, method: string, url: URL, response: ServerResponse): void {
  const [, bucket, ...rest] = url.pathname.split('/');
  const key = decodeURIComponent(rest.join('/'));
  if (key === '' && url.searchParams.get('list-type') === '2') {
    const prefix = url.searchParams.get('prefix') ?? '';
    const keys = Object.keys(state.objects).filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1));
    const contents = keys.map((k) => `<Contents><Key>${k}</Key><Size>${state.objects[`${bucket}/${k}`].length}</Size></Contents>`).join('');
    return send(response, 200, 'application/xml', `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
  }
  const object = state.objects[`${bucket}/${key}`];
  if (object === undefined) {
    if (method === 'HEAD') return void response.writeHead(404).end();
    return send(response, 404, 'application/xml', `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`);
  }
  if (method === 'HEAD') return void response.writeHead(200, { 'content-length': String(Buffer.byteLength(object)) }).end();
  send(response, 200, 'application/json', object);
}

function escape(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
