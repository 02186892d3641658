// The freshness check's actions on AWS (or the local emulators, through AWS_ENDPOINT_URL_S3/_SQS).
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FreshnessActions } from './freshness.ts';
import { sendJobToQueue } from './send-job.ts';

export function awsFreshnessActions(s3: S3Client, sqs: SQSClient, bucket: string, queueUrl: string): FreshnessActions {
  return {
    async putProbe(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
    async deleteProbe(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async runPipeline(reason) {
      return sendJobToQueue(sqs, queueUrl, 'rebuild-dataset', { reason });
    },
  };
}
