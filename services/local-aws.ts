// The AWS services of a stage, emulated on 127.0.0.1 by packages from npm, for `npm run local`,
// the integration tests and the benchmarks: SQS (fauxqs), DynamoDB (dynalite, in memory) and S3
// (s3rver, in a temporary directory). Development only: neither service image contains this file.
// The services reach them through the SDK's standard variables (AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3): no endpoint is set in the services' code.
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { startSqsEmulator, type SqsEmulator } from './sqs-emulator.ts';

export interface LocalAws extends SqsEmulator {
  /** sdkEnv plus JOBS_TABLE and DATA_BUCKET: a default table and bucket, created at start. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  /** Creates a job table as the JobStore construct does (key `id`, on demand). */
  createJobTable(name: string): Promise<string>;
  createBucket(name: string): Promise<string>;
}

export interface LocalAwsPorts {
  /** @default 0 (any free port) */
  readonly sqs?: number;
  readonly dynamodb?: number;
  readonly s3?: number;
}

export const DEFAULT_TABLE = 'br-fagq2-jobs';
export const DEFAULT_BUCKET = 'br-fagq2-data';

export async function startLocalAws(ports: LocalAwsPorts = {}): Promise<LocalAws> {
  const sqs = await startSqsEmulator(ports.sqs ?? 0);
  const dynamo: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(ports.dynamodb ?? 0, '127.0.0.1', resolve));
  const directory = mkdtempSync(join(tmpdir(), 'br-fagq2-s3-'));
  // The bucket's files go with the process however it ends (an uncaught error, process.exit in a
  // signal handler), not only through stop(): 'exit' handlers run on every exit but SIGKILL's.
  const removeDirectory = () => rmSync(directory, { recursive: true, force: true });
  process.once('exit', removeDirectory);
  const s3rver = new S3rver({ port: ports.s3 ?? 0, address: '127.0.0.1', silent: true, directory });
  const s3Address = await s3rver.run();

  // s3rver accepts only its own well-known key pair; fauxqs and dynalite accept any.
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const sdkEnv = {
    ...sqs.sdkEnv,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3Address.port}`,
  };
  const clientConfig = { region: sqs.sdkEnv.AWS_REGION, credentials };
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: sdkEnv.AWS_ENDPOINT_URL_DYNAMODB });
  // Path-style: the emulator serves buckets under its path, not as host names.
  const s3 = new S3Client({ ...clientConfig, endpoint: sdkEnv.AWS_ENDPOINT_URL_S3, forcePathStyle: true });

  const createJobTable = async (name: string) => {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    return name;
  };
  const createBucket = async (name: string) => {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  };
  await createJobTable(DEFAULT_TABLE);
  await createBucket(DEFAULT_BUCKET);

  return {
    ...sqs,
    sdkEnv,
    serviceEnv: { ...sdkEnv, JOBS_TABLE: DEFAULT_TABLE, DATA_BUCKET: DEFAULT_BUCKET },
    dynamodb,
    s3,
    createJobTable,
    createBucket,
    async stop() {
      dynamodb.destroy();
      s3.destroy();
      await sqs.stop();
      await new Promise((resolve) => dynamo.close(resolve));
      await s3rver.close();
      process.removeListener('exit', removeDirectory);
      removeDirectory();
    },
  };
}
