// `ops logs <api|worker|release-checks>`: CloudWatch Logs of a tier's log group (stack outputs
// ApiLogGroupName, WorkerLogGroupName, ReleaseChecksLogGroupName). --follow uses Live Tail
// (StartLiveTail: CloudWatch Logs API Reference, "StartLiveTail", a session streams the events as
// they arrive, for up to 3 hours) where it is available, and FilterLogEvents every poll interval
// otherwise: a local endpoint (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) has no live tail, nor does an
// account where StartLiveTail is refused.
import { CloudWatchLogsClient, FilterLogEventsCommand, StartLiveTailCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { sleep } from '../checks/poll.ts';
import { clientConfig, output, UsageError, type Account } from './context.ts';
import { EXIT, time, type Io, type Result } from './output.ts';

export const LOG_SOURCES = { api: 'ApiLogGroupName', worker: 'WorkerLogGroupName', 'release-checks': 'ReleaseChecksLogGroupName' } as const;
export type LogSource = keyof typeof LOG_SOURCES;

export interface LogsInput {
  readonly source: string | undefined;
  readonly since: string;
  readonly follow: boolean;
  readonly task: string | undefined;
  readonly filter: string | undefined;
  readonly account: Account;
  readonly outputs: Record<string, string>;
  readonly stackName: string;
  /** Ends a follow (SIGINT). */
  readonly signal: AbortSignal;
}

/** `10m`, `2h`, `30s`, `1d` → milliseconds. */
export function parseSince(value: string): number {
  const match = /^(\d+)\s*([smhd])$/.exec(value);
  if (!match) throw new UsageError(`--since ${value}: expected a number and s, m, h or d (e.g. 10m)`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** FilterLogEvents' pattern syntax: a quoted term matches it literally. */
function pattern(filter: string | undefined): string | undefined {
  return filter === undefined ? undefined : `"${filter.replaceAll('"', '\\"')}"`;
}

export async function logs(input: LogsInput, io: Io): Promise<Result> {
  if (!input.source || !Object.hasOwn(LOG_SOURCES, input.source)) throw new UsageError(`logs: name the logs: ${Object.keys(LOG_SOURCES).join(', ')}`);
  const key = LOG_SOURCES[input.source as LogSource];
  if (key === 'ReleaseChecksLogGroupName' && !input.outputs[key]) {
    throw new UsageError(`logs release-checks: stack ${input.stackName} has no release checks (a ROLLING API has no test traffic hook)`);
  }
  const logGroupName = output(input.outputs, key, input.stackName);
  const client = new CloudWatchLogsClient(clientConfig(input.account));
  const format = (event: FilteredLogEvent) => {
    const stream = event.logStreamName ?? '';
    return { text: `${time(event.timestamp ? new Date(event.timestamp) : undefined)} ${stream.split('/').pop()} ${(event.message ?? '').trimEnd()}`, data: { timestamp: event.timestamp, logStream: stream, message: event.message } };
  };
  const forTask = (event: FilteredLogEvent) => input.task === undefined || (event.logStreamName ?? '').endsWith(`/${input.task}`);
  let startTime = io.now().getTime() - parseSince(input.since);
  const seen = new Set<string>();
  const lines: unknown[] = [];
  const read = async () => {
    let nextToken: string | undefined;
    let newest = startTime;
    do {
      const page = await client.send(new FilterLogEventsCommand({ logGroupName, startTime, filterPattern: pattern(input.filter), nextToken, limit: 10_000 }));
      for (const event of page.events ?? []) {
        if (event.eventId && seen.has(event.eventId)) continue;
        if (event.eventId) seen.add(event.eventId);
        newest = Math.max(newest, event.timestamp ?? 0);
        if (!forTask(event)) continue;
        const { text, data } = format(event);
        io.stream(text, data);
        lines.push(data);
      }
      nextToken = page.nextToken;
    } while (nextToken);
    // The next read starts at the newest event seen; the ids already printed are skipped.
    startTime = newest;
  };
  try {
    await read();
    if (input.follow) {
      const local = Boolean(io.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS || io.env.AWS_ENDPOINT_URL);
      if (!local && (await liveTail(client, input, logGroupName, io))) return { data: lines, text: '', exitCode: EXIT.ok };
      io.progress(`following ${logGroupName} (FilterLogEvents every ${io.pollMs} ms; Ctrl-C stops)`);
      while (!input.signal.aborted) {
        await sleep(io.pollMs);
        if (!input.signal.aborted) await read();
      }
    }
  } finally {
    client.destroy();
  }
  // The lines were streamed as they came: nothing more to print.
  return { data: lines, text: '', exitCode: EXIT.ok };
}

/** Follows with a Live Tail session; false when the account refuses it (then FilterLogEvents polls). */
async function liveTail(client: CloudWatchLogsClient, input: LogsInput, logGroupName: string, io: Io): Promise<boolean> {
  const { account, region } = input.account;
  let response;
  try {
    response = await client.send(
      new StartLiveTailCommand({
        // Live Tail takes log group ARNs, not names.
        logGroupIdentifiers: [`arn:aws:logs:${region}:${account}:log-group:${logGroupName}`],
        ...(input.filter !== undefined && { logEventFilterPattern: pattern(input.filter) }),
      }),
      { abortSignal: input.signal },
    );
  } catch (error) {
    io.progress(`live tail unavailable (${error instanceof Error ? error.name : String(error)}): polling instead`);
    return false;
  }
  io.progress(`following ${logGroupName} (live tail; Ctrl-C stops)`);
  try {
    for await (const event of response.responseStream ?? []) {
      for (const result of event.sessionUpdate?.sessionResults ?? []) {
        if (input.task !== undefined && !(result.logStreamName ?? '').endsWith(`/${input.task}`)) continue;
        io.stream(`${time(result.timestamp ? new Date(result.timestamp) : undefined)} ${(result.logStreamName ?? '').split('/').pop()} ${(result.message ?? '').trimEnd()}`, {
          timestamp: result.timestamp,
          logStream: result.logStreamName,
          message: result.message,
        });
      }
    }
  } catch (error) {
    if (!input.signal.aborted) throw error;
  }
  return true;
}
