// `ops redrive`: the dead letters back to the job queue with an SQS message move task
// (StartMessageMoveTask without a destination returns each message to its source queue; its
// progress from ListMessageMoveTasks: SQS API Reference, "StartMessageMoveTask",
// "ListMessageMoveTasksResultEntry"). The worker runs each redriven job again: SQS enqueues a
// redriven message anew, and the worker takes a dead-lettered job again for a message enqueued
// after its dead-lettering (services/shared/job-store.ts, claim).
import { GetQueueAttributesCommand, ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand, type ListMessageMoveTasksResultEntry } from '@aws-sdk/client-sqs';
import { sleep } from '../checks/poll.ts';
import { clientConfig, output, type Account } from './context.ts';
import { EXIT, type Io, type Result } from './output.ts';

export interface RedriveInput {
  readonly account: Account;
  readonly outputs: Record<string, string>;
  readonly stackName: string;
  readonly yes: boolean;
  /** How long to follow the task. */
  readonly budgetMs: number;
}

const FINAL = ['COMPLETED', 'CANCELLED', 'FAILED'];

export async function redrive(input: RedriveInput, io: Io): Promise<Result> {
  const sqs = new SQSClient({ ...clientConfig(input.account), useQueueUrlAsEndpoint: false });
  try {
    const queueUrl = output(input.outputs, 'QueueUrl', input.stackName);
    const dlqUrl = output(input.outputs, 'DeadLetterQueueUrl', input.stackName);
    const { Attributes: dlq = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }));
    const sourceArn = dlq.QueueArn!;
    const waiting = Number(dlq.ApproximateNumberOfMessages ?? 0);
    // Only one move task may run per queue: a running one is followed, not doubled.
    const running = (await listTasks(sqs, sourceArn)).find((task) => task.Status === 'RUNNING');
    if (!running && waiting === 0) return { data: { moved: 0, dlqUrl }, text: `nothing to redrive: the DLQ ${dlqUrl} is empty`, exitCode: EXIT.ok };
    const plan = `move ${waiting} dead-lettered message(s) from ${dlqUrl} back to ${queueUrl} (SQS message move task); the worker runs each job again`;
    if (!running && !input.yes) return { data: { plan, confirmed: false }, text: `would ${plan}.\nnothing changed: add --yes to redrive`, exitCode: EXIT.notConfirmed };

    let handle = running?.TaskHandle;
    if (!running) {
      ({ TaskHandle: handle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn })));
      io.progress(`started message move task for ${waiting} message(s)`);
    } else io.progress(`a message move task is already running (started ${new Date(running.StartedTimestamp ?? 0).toISOString()}): following it`);

    const started = Date.now();
    let task: ListMessageMoveTasksResultEntry | undefined;
    for (;;) {
      // ListMessageMoveTasks gives a task's handle only while it runs (SQS API Reference,
      // "ListMessageMoveTasksResultEntry", TaskHandle: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html):
      // a finished one is the most recent, the first.
      const tasks = await listTasks(sqs, sourceArn);
      task = tasks.find((t) => t.TaskHandle === handle) ?? tasks[0];
      const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
      const toMove = task?.ApproximateNumberOfMessagesToMove;
      if (task && FINAL.includes(task.Status ?? '')) break;
      io.progress(`moved ${moved}${toMove === undefined ? '' : ` of ${toMove}`} (${task?.Status ?? 'starting'})`);
      if (Date.now() - started > input.budgetMs) {
        return { data: { task }, text: `the move task is still ${task?.Status ?? 'starting'} after ${Math.round(input.budgetMs / 1000)} s (moved ${moved}): \`ops redrive\` follows it again`, exitCode: EXIT.failed };
      }
      await sleep(io.pollMs);
    }
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    const ok = task.Status === 'COMPLETED';
    const text = ok
      ? `redrive COMPLETED: ${moved} message(s) moved back to ${queueUrl}; the worker runs them again (follow: ops logs worker --follow --filter job.completed)`
      : `redrive ${task.Status}: ${moved} moved${task.FailureReason ? `; ${task.FailureReason}` : ''}`;
    return { data: { status: task.Status, moved, failureReason: task.FailureReason, queueUrl, dlqUrl }, text, exitCode: ok ? EXIT.ok : EXIT.failed };
  } finally {
    sqs.destroy();
  }
}

async function listTasks(sqs: SQSClient, sourceArn: string): Promise<ListMessageMoveTasksResultEntry[]> {
  return (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }))).Results ?? [];
}
