// The freshness check's actions on AWS (or the local emulators, through AWS_ENDPOINT_URL_S3/_SQS).
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FreshnessActions } from './freshness.js';

export function awsFreshnessActions(s3: S3Client, sqs: SQSClient, bucket: string, queueUrl: string): FreshnessActions {
  return {
    async putProbe(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
    },
    async deleteProbe(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async runPipeline(reason) {
      // The message the schedule sends (services/shared/jobs.ts, format 1).
      const id = randomUUID();
      const job = { v: 1, id, type: 'rebuild-dataset', payload: { reason }, submittedAt: new Date().toISOString() };
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
      return id;
    },
  };
}
