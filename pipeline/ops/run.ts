// `ops run <job-type> [payload]`: a one-off job through the queue, as the API submits one
// (record `accepted`, send, record `queued`: services/shared/job-store.ts), validated against the
// job contract the worker reads (services/shared/jobs.ts), then waits until its record is final.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sleep } from '../checks/poll.ts';
import { JobStore } from '../../services/shared/job-store.ts';
import { JOB_MESSAGE_FORMAT, jobTypes, validateJobRequest, type JobMessage } from '../../services/shared/jobs.ts';
import { clientConfig, output, UsageError, type Account } from './context.ts';
import { duration, EXIT, type Io, type Result } from './output.ts';

export interface RunInput {
  readonly jobType: string | undefined;
  readonly payload: string | undefined;
  readonly account: Account;
  readonly outputs: Record<string, string>;
  readonly stackName: string;
  readonly yes: boolean;
  readonly budgetMs: number;
}

/** The job request, checked against the worker's contract (field named on failure). */
export function jobRequest(jobType: string | undefined, payload: string | undefined) {
  if (!jobType) throw new UsageError(`run: name a job type: ${jobTypes.join(', ')}`);
  let parsed: unknown = {};
  if (payload !== undefined) {
    try {
      parsed = JSON.parse(payload);
    } catch {
      throw new UsageError(`run: the payload is not JSON: ${payload}`);
    }
  }
  const validation = validateJobRequest({ type: jobType, payload: parsed });
  if (!validation.ok) throw new UsageError(`run: ${validation.field} ${validation.message} (job types: ${jobTypes.join(', ')})`);
  return validation.value;
}

export async function run(input: RunInput, io: Io): Promise<Result> {
  const request = jobRequest(input.jobType, input.payload);
  const queueUrl = output(input.outputs, 'QueueUrl', input.stackName);
  const tableName = output(input.outputs, 'JobsTableName', input.stackName);
  const plan = `send a ${request.type} job ${JSON.stringify(request.payload)} to ${queueUrl}`;
  if (!input.yes) return { data: { plan, confirmed: false }, text: `would ${plan}.\nnothing changed: add --yes to run it`, exitCode: EXIT.notConfirmed };

  const config = clientConfig(input.account);
  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const store = new JobStore({ tableName, client: new DynamoDBClient(config) });
  try {
    const job: JobMessage = { v: JOB_MESSAGE_FORMAT, id: randomUUID(), type: request.type, payload: request.payload, submittedAt: io.now().toISOString() };
    const accepted = await store.accept(job);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(job) }));
    await store.markQueued(accepted);
    io.progress(`job ${job.id} queued; waiting for its record to be final`);
    const started = Date.now();
    let last = 'queued';
    for (;;) {
      const view = await store.view(job.id);
      const status = view?.status ?? 'queued';
      if (status !== last) io.progress(`job ${job.id} ${status}`);
      last = status;
      if (view && (status === 'succeeded' || status === 'dead-lettered')) {
        const took = duration((Date.now() - started) / 1000);
        const ok = status === 'succeeded';
        const text = ok
          ? `job ${job.id} (${job.type}) succeeded in ${took}: ${JSON.stringify(view.result)}`
          : `job ${job.id} (${job.type}) DEAD-LETTERED after ${took}: ${view.error ?? ''}`;
        return { data: view, text, exitCode: ok ? EXIT.ok : EXIT.failed };
      }
      if (Date.now() - started > input.budgetMs) {
        return { data: view ?? { id: job.id, status }, text: `job ${job.id} still ${status} after ${duration(input.budgetMs / 1000)}: \`ops logs worker --filter ${job.id}\``, exitCode: EXIT.failed };
      }
      await sleep(Math.min(io.pollMs, 1000));
    }
  } finally {
    sqs.destroy();
    store.destroy();
  }
}
