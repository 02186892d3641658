// A local stand-in for the AWS APIs the validator reads (STS and CloudFormation: query protocol
// with XML answers; ECS and ECR: JSON 1.1; S3: REST, path style), reached through the SDK's own
// AWS_ENDPOINT_URL_<SERVICE> variables, so the validator's real SDK calls, error parsing
// included, run without AWS. Each call is recorded with the access key that signed it.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface FakeAwsState {
  /** Deployed templates by stack name (staging). */
  templates: Record<string, string>;
  /** ECS services by stack name: logical id → service ARN. */
  services: Record<string, Record<string, string>>;
  /** Per service ARN: its deployments (newest last is fine: the validator sorts) and the revisions' images. */
  deployments: Record<string, Array<{ status: string; createdAt: number; revisionArn: string }>>;
  revisions: Record<string, Array<{ containerName: string; image: string; imageDigest: string }>>;
  /** ECR: `<repository>:<tag>` → digest. */
  images: Record<string, string>;
  /** S3: `<bucket>/<key>` → content. */
  objects: Map<string, Buffer>;
}

export interface FakeAwsCall {
  readonly operation: string;
  /** The access key id that signed the request (from the Authorization header). */
  readonly accessKeyId: string;
  readonly body: string;
}

export interface FakeAws {
  readonly state: FakeAwsState;
  readonly calls: FakeAwsCall[];
  /** The SDK environment that sends STS, CloudFormation, ECS, ECR and S3 calls here. */
  readonly sdkEnv: Readonly<Record<string, string>>;
  /** The access key of the role AssumeRole hands out. */
  readonly assumedAccessKeyId: string;
  stop(): Promise<void>;
}

const ASSUMED = 'ASIAREADROLEFAKE0001';
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export async function startFakeAws(): Promise<FakeAws> {
  const state: FakeAwsState = { templates: {}, services: {}, deployments: {}, revisions: {}, images: {}, objects: new Map() };
  const calls: FakeAwsCall[] = [];
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const target = request.headers['x-amz-target'];
    if (typeof target === 'string') {
      const operation = target.split('.')[1];
      calls.push({ operation: `${target.startsWith('AmazonEC2ContainerRegistry') ? 'ecr' : 'ecs'}:${operation}`, accessKeyId, body: body.toString() });
      return answerJson(state, operation, JSON.parse(body.toString() || '{}'), response);
    }
    const form = new URLSearchParams(body.toString());
    const action = request.method === 'POST' && request.url === '/' ? form.get('Action') : null;
    if (action) {
      calls.push({ operation: `${action === 'AssumeRole' ? 'sts' : 'cloudformation'}:${action}`, accessKeyId, body: body.toString() });
      return answerQuery(state, action, form, response);
    }
    const [, bucket, key] = /^\/([^/?]+)\/([^?]+)/.exec(request.url ?? '') ?? [];
    if (bucket && key) {
      const objectKey = `${bucket}/${decodeURIComponent(key)}`;
      calls.push({ operation: `s3:${request.method === 'PUT' ? 'PutObject' : 'GetObject'}`, accessKeyId, body: objectKey });
      if (request.method === 'PUT') {
        state.objects.set(objectKey, body);
        response.writeHead(200, { ETag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
        return;
      }
      const content = state.objects.get(objectKey);
      if (!content) return send(response, 404, 'application/xml', `<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${xmlEscape(key)}</Key></Error>`);
      response.writeHead(200, { 'Content-Type': 'application/zip', 'Content-Length': content.length }).end(content);
      return;
    }
    send(response, 404, 'text/plain', `fake AWS: no route for ${request.method} ${request.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    state,
    calls,
    assumedAccessKeyId: ASSUMED,
    sdkEnv: {
      AWS_ENDPOINT_URL_STS: url,
      AWS_ENDPOINT_URL_CLOUDFORMATION: url,
      AWS_ENDPOINT_URL_ECS: url,
      AWS_ENDPOINT_URL_ECR: url,
      AWS_ENDPOINT_URL_S3: url,
      AWS_ACCESS_KEY_ID: 'AKIAFUNCTIONROLE0001',
      AWS_SECRET_ACCESS_KEY: 'fake-secret',
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function answerQuery(state: FakeAwsState, action: string, form: URLSearchParams, response: ServerResponse): void {
  const ns = action === 'AssumeRole' ? 'https://sts.amazonaws.com/doc/2011-06-15/' : 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
  const ok = (result: string) => send(response, 200, 'text/xml', `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`);
  const error = (code: string, message: string) =>
    send(response, 400, 'text/xml', `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`);
  if (action === 'AssumeRole') {
    return ok(
      `<Credentials><AccessKeyId>${ASSUMED}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>` +
        `<AssumedRoleUser><Arn>${xmlEscape(form.get('RoleArn') ?? '')}/session</Arn><AssumedRoleId>AROAFAKE:session</AssumedRoleId></AssumedRoleUser>`,
    );
  }
  const stackName = form.get('StackName') ?? '';
  if (!(stackName in state.templates)) return error('ValidationError', `Stack with id ${stackName} does not exist`);
  if (action === 'GetTemplate') return ok(`<TemplateBody>${xmlEscape(state.templates[stackName])}</TemplateBody><StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>`);
  if (action === 'ListStackResources') {
    const members = Object.entries(state.services[stackName] ?? {})
      .map(([id, arn]) => `<member><LogicalResourceId>${id}</LogicalResourceId><PhysicalResourceId>${xmlEscape(arn)}</PhysicalResourceId><ResourceType>AWS::ECS::Service</ResourceType><LastUpdatedTimestamp>2026-12-01T00:00:00Z</LastUpdatedTimestamp><ResourceStatus>UPDATE_COMPLETE</ResourceStatus></member>`)
      .join('');
    return ok(`<StackResourceSummaries>${members}</StackResourceSummaries>`);
  }
  error('InvalidAction', `fake AWS: no ${action}`);
}

function answerJson(state: FakeAwsState, operation: string, input: Record<string, any>, response: ServerResponse): void {
  const ok = (value: unknown) => send(response, 200, 'application/x-amz-json-1.1', JSON.stringify(value));
  const error = (type: string, message: string) => send(response, 400, 'application/x-amz-json-1.1', JSON.stringify({ __type: type, message }));
  if (operation === 'ListServiceDeployments') {
    const arn = Object.keys(state.deployments).find((a) => a.endsWith(`/${input.cluster}/${input.service}`));
    return ok({
      serviceDeployments: (arn ? state.deployments[arn] : []).map((d, i) => ({ serviceDeploymentArn: `${arn}/deployment-${i}`, serviceArn: arn, createdAt: d.createdAt, status: d.status, targetServiceRevisionArn: d.revisionArn })),
    });
  }
  if (operation === 'DescribeServiceRevisions') {
    const [arn] = input.serviceRevisionArns as string[];
    const images = state.revisions[arn];
    return ok(images ? { serviceRevisions: [{ serviceRevisionArn: arn, containerImages: images }], failures: [] } : { serviceRevisions: [], failures: [{ arn, reason: 'MISSING' }] });
  }
  if (operation === 'DescribeImages') {
    const digest = state.images[`${input.repositoryName}:${input.imageIds[0].imageTag}`];
    if (!digest) return error('ImageNotFoundException', `The image with imageId {imageTag:'${input.imageIds[0].imageTag}'} does not exist within the repository`);
    return ok({ imageDetails: [{ registryId: input.registryId, repositoryName: input.repositoryName, imageDigest: digest, imageTags: [input.imageIds[0].imageTag] }] });
  }
  error('UnknownOperationException', `fake AWS: no ${operation}`);
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
