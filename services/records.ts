// `npm run records -- add <file.json>`: adds records to the data product (the documented command;
// the data pipeline picks them up on its next run, or at once with `npm run records -- rebuild`).
// Operator and development tool: neither image contains it. AWS access through the SDK's standard
// environment (AWS_REGION, the credential chain, AWS_ENDPOINT_URL_S3/_SQS locally).
//
//   DATA_BUCKET=<bucket> npm run records -- add new-records.json      → raw/added/<name>-<time>.json
//   QUEUE_URL=<queue> npm run records -- rebuild                        → a rebuild-dataset job on the queue
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DataBucket, parseRecords, RAW_PREFIX } from './shared/dataset.ts';
import { JOB_MESSAGE_FORMAT, type JobMessage } from './shared/jobs.ts';

/** Puts a validated record file under raw/; resolves with its key. */
export async function addRecords(data: DataBucket, text: string, name: string, prefix = `${RAW_PREFIX}added/`): Promise<string> {
  const records = parseRecords(text, name);
  const key = `${prefix}${name.replace(/[^\w.-]/g, '_').replace(/\.json$/, '')}-${Date.now()}.json`;
  await data.putJson(key, records);
  return key;
}

/** Runs the data pipeline now: the same message the schedule sends. Resolves with the job id. */
export async function requestRebuild(sqs: SQSClient, queueUrl: string, reason: string): Promise<string> {
  const job: JobMessage<'rebuild-dataset'> = {
    v: JOB_MESSAGE_FORMAT,
    id: randomUUID(),
    type: 'rebuild-dataset',
    payload: { reason },
    submittedAt: new Date().toISOString(),
  };
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
  return job.id;
}

async function main(argv: string[]): Promise<void> {
  const [command, file] = argv;
  if (command === 'add' && file) {
    const bucket = process.env.DATA_BUCKET?.trim();
    if (!bucket) throw new Error('DATA_BUCKET is required: the stage bucket (stack output DataBucketName)');
    const data = new DataBucket(bucket);
    console.log(`added s3://${bucket}/${await addRecords(data, readFileSync(file, 'utf8'), basename(file))}`);
    data.destroy();
  } else if (command === 'rebuild') {
    const queueUrl = process.env.QUEUE_URL?.trim();
    if (!queueUrl) throw new Error('QUEUE_URL is required: the job queue (stack output QueueUrl)');
    const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
    console.log(`rebuild job ${await requestRebuild(sqs, queueUrl, 'on demand')} queued`);
    sqs.destroy();
  } else {
    throw new Error('usage: npm run records -- add <file.json> | rebuild');
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
