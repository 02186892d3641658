// The validator's AWS reads with the SDK. Staging is read through its read role (STS
// AssumeRole); production (its registry and asset bucket) and the attestation bucket with the
// function's own role. API shapes, from the service API references:
// - CloudFormation GetTemplate, TemplateStage `Original`: "the user-submitted template"
//   (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html).
// - CloudFormation ListStackResources: each resource's LogicalResourceId and PhysicalResourceId
//   (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackResources.html);
//   an AWS::ECS::Service's physical id is what Ref returns, its ARN
//   (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html,
//   "Return values"), of the form arn:aws:ecs:region:account:service/cluster-name/service-name.
// - ECS ListServiceDeployments: the service's deployments with `status`, `createdAt` and
//   `targetServiceRevisionArn`; "This API returns the values that you use for the request
//   parameters in DescribeServiceRevisions"
//   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html).
// - ECS DescribeServiceRevisions: `containerImages[]` of `{ containerName, image, imageDigest }`
//   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceRevisions.html);
//   ECS "resolves container image names and any image tags specified in the task definition to
//   container image digests" and keeps that digest for the revision (ContainerImage,
//   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerImage.html): a
//   revision names its digests whether or not tasks run, so a service at zero tasks (the staging
//   worker's minimum) still says what it runs.
// - ECR DescribeImages with `imageIds: [{ imageTag }]`: `imageDetails[].imageDigest`; an unknown
//   tag is ImageNotFoundException (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html).
// - STS AssumeRole: temporary credentials of the role
//   (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
import { createHash } from 'node:crypto';
import { CloudFormationClient, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServiceRevisionsCommand, ECSClient, ListServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AttestationStore, DeployedService, ProductionReads, RunningImage, StagingReads } from './reads.ts';

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration?: Date;
}

const errorName = (error: unknown) => (error as { name?: string }).name ?? '';

/** Assumes the staging read role once per validation (15 minutes: the function's longest run). */
async function assumeReadRole(roleArn: string, region: string): Promise<Credentials> {
  const sts = new STSClient({ region });
  const out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'br-fagq2-guardrail-validator', DurationSeconds: 900 }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
}

/** Staging's reads through its read role; the role is assumed at the first read. */
export function stagingReads(readRoleArn: string, homeRegion: string): StagingReads {
  let credentials: Promise<Credentials> | undefined;
  const creds = () => (credentials ??= assumeReadRole(readRoleArn, homeRegion));
  const cfn = async (region: string) => new CloudFormationClient({ region, credentials: await creds() });
  const ecs = async (region: string) => new ECSClient({ region, credentials: await creds() });
  return {
    async deployedTemplate(stackName, region) {
      try {
        const out = await (await cfn(region)).send(new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Original' }));
        return out.TemplateBody;
      } catch (error) {
        // A stack that does not exist is a ValidationError ("Stack with id X does not exist").
        if (errorName(error) === 'ValidationError' && /does not exist/.test((error as Error).message)) return undefined;
        throw new Error(`staging: GetTemplate ${stackName} (${region}): ${(error as Error).message}`);
      }
    },
    async services(stackName, region) {
      const client = await cfn(region);
      const found: DeployedService[] = [];
      let token: string | undefined;
      do {
        const out = await client.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
        for (const r of out.StackResourceSummaries ?? []) {
          if (r.ResourceType === 'AWS::ECS::Service' && r.LogicalResourceId && r.PhysicalResourceId) found.push({ logicalId: r.LogicalResourceId, serviceArn: r.PhysicalResourceId });
        }
        token = out.NextToken;
      } while (token);
      return found;
    },
    async runningImages(serviceArn, region) {
      // arn:aws:ecs:<region>:<account>:service/<cluster>/<service>
      const [, cluster, service] = /:service\/([^/]+)\/([^/]+)$/.exec(serviceArn) ?? [];
      if (!cluster || !service) throw new Error(`staging: ${serviceArn} is not a service ARN of the long form`);
      const client = await ecs(region);
      const deployments = [];
      let token: string | undefined;
      do {
        const out = await client.send(new ListServiceDeploymentsCommand({ cluster, service, nextToken: token }));
        deployments.push(...(out.serviceDeployments ?? []));
        token = out.nextToken;
      } while (token);
      const latest = deployments.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
      if (!latest) throw new Error(`staging: ${service} has no service deployment`);
      if (latest.status !== 'SUCCESSFUL') throw new Error(`staging: the latest deployment of ${service} is ${latest.status}, not SUCCESSFUL${latest.statusReason ? ` (${latest.statusReason})` : ''}`);
      if (!latest.targetServiceRevisionArn) throw new Error(`staging: the latest deployment of ${service} names no service revision`);
      const out = await client.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [latest.targetServiceRevisionArn] }));
      const revision = out.serviceRevisions?.[0];
      if (!revision) throw new Error(`staging: DescribeServiceRevisions ${latest.targetServiceRevisionArn}: ${out.failures?.[0]?.reason ?? 'no revision'}`);
      return (revision.containerImages ?? []).map((c): RunningImage => ({ containerName: c.containerName ?? '', image: c.image ?? '', imageDigest: c.imageDigest ?? '' }));
    },
  };
}

/** Options of the S3 clients (a local stand-in of S3 answers path-style requests only). */
export interface S3Options {
  /** @default false */
  readonly forcePathStyle?: boolean;
}

/** Production's reads with the function's own role. */
export function productionReads(account: string, s3Options: S3Options = {}): ProductionReads {
  return {
    async imageDigest(repository, tag, region) {
      try {
        const out = await new ECRClient({ region }).send(new DescribeImagesCommand({ registryId: account, repositoryName: repository, imageIds: [{ imageTag: tag }] }));
        return out.imageDetails?.[0]?.imageDigest;
      } catch (error) {
        if (errorName(error) === 'ImageNotFoundException') return undefined;
        throw new Error(`production: DescribeImages ${repository}:${tag}: ${(error as Error).message}`);
      }
    },
    async objectSha256(bucket, key, region) {
      try {
        const out = await new S3Client({ region, ...s3Options }).send(new GetObjectCommand({ Bucket: bucket, Key: key, ExpectedBucketOwner: account }));
        const hash = createHash('sha256');
        for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
        return hash.digest('hex');
      } catch (error) {
        if (errorName(error) === 'NoSuchKey') return undefined;
        throw new Error(`production: GetObject s3://${bucket}/${key}: ${(error as Error).message}`);
      }
    },
  };
}

/** The attestation bucket. */
export function s3AttestationStore(bucket: string, region: string, s3Options: S3Options = {}): AttestationStore {
  const client = new S3Client({ region, ...s3Options });
  return {
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
  };
}
