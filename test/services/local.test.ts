// `npm run local`, `npm run api` and `npm run worker` started as a user starts them (npm, in a
// process group of their own) and stopped as a terminal stops them: Ctrl-C is SIGINT to the whole
// group; `kill PID` is SIGTERM (or SIGINT) to npm alone.
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { leftovers } from '../support/leftovers';
import { SAFETY_NET_MS, startSqsEmulator, waitFor, type SqsEmulator } from './helpers';
import { freePort, killAllNpmRuns, npmRun, occupyPort, type NpmRun } from './npm-run';

// The `npm run local` cases run one after another: run at once, five stacks of six processes each
// on two cores left a process group alive past npm's exit. Whatever a failed one left goes at the end.
afterAll(killAllNpmRuns);

/** `npm run local` on free ports, with a TMPDIR of its own (`tmp`) to check it leaves nothing there. */
async function startLocal(env: Record<string, string> = {}) {
  const ports = { PORT: String(await freePort()), LOCAL_SQS_PORT: String(await freePort()), LOCAL_EDGE_PORT: String(await freePort()) };
  const tmp = mkdtempSync(join(inject('scratchDir'), 'local-tmp-'));
  const run = npmRun('local', { ...ports, TMPDIR: tmp, ...env });
  return { run, ports, tmp, edgeUrl: `http://127.0.0.1:${ports.LOCAL_EDGE_PORT}` };
}

function stackLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s+at /.test(line));
}

function jsonLines(run: NpmRun): Record<string, unknown>[] {
  return run
    .output()
    .stdout.split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('npm run local', { timeout: SAFETY_NET_MS }, () => {
  it('runs the three tiers, and one Ctrl-C (SIGINT to the group) drains the job in flight and exits 0', async ({ expect }) => {
    const { run, edgeUrl, tmp } = await startLocal();
    await run.waitForOutput(/\[local\] Ctrl-C stops everything/);
    expect(run.output().stdout).toContain(`[local] edge (cache)   ${edgeUrl}`);
    expect(leftovers(tmp)).toEqual([expect.stringMatching(/^br-fagq2-s3-/)]); // the emulated bucket, while it runs

    // Through the edge: a search is a miss, then a hit; the job goes through to the API and the worker.
    const first = await fetch(`${edgeUrl}/v1/search?q=rainfall`);
    const second = await fetch(`${edgeUrl}/v1/search?q=rainfall`);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['Miss from local-edge', 'Hit from local-edge']);
    const posted = await fetch(`${edgeUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'checksum', payload: { data: 'ctrl-c', rounds: 400_000 } }),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    await run.waitForOutput(new RegExp(`"event":"job.started","jobId":"${id}"`));

    run.signalGroup('SIGINT');

    expect(await run.exited, `${run.output().stdout}\n${run.output().stderr}`).toBe(0);
    expect(run.groupAlive()).toBe(false);
    const logs = jsonLines(run);
    expect(logs.some((line) => line.event === 'job.completed' && line.jobId === id)).toBe(true);
    expect(logs.some((line) => line.event === 'messages.handed_back')).toBe(false);
    // The worker found its DLQ through the queue's redrive policy (no DLQ_URL given).
    expect(logs.find((line) => line.event === 'worker.started')).toMatchObject({ dlqFrom: 'RedrivePolicy' });
    expect(run.output().stdout.match(/\[local\] SIGINT: stopping/g)).toHaveLength(1);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('stops everything, and leaves nothing, on SIGHUP to the group (the terminal closed)', async ({ expect }) => {
    const { run, tmp } = await startLocal();
    await run.waitForOutput(/\[local\] Ctrl-C stops everything/);

    run.signalGroup('SIGHUP');

    // npm itself dies of the SIGHUP at once; the run's own processes stop, then are gone.
    await run.exited;
    await waitFor(async () => !run.groupAlive(), undefined, 'the group to be gone');
    expect(leftovers(tmp)).toEqual([]);
  });

  it('stops everything, and leaves nothing, when its output is closed (`| tee` killed by the same Ctrl-C, `| head`)', async ({ expect }) => {
    const { run, tmp, edgeUrl } = await startLocal();
    await run.waitForOutput(/\[local\] Ctrl-C stops everything/);

    run.child.stdout!.destroy();
    // The next line it writes (the API's request log) finds no reader.
    await fetch(`${edgeUrl}/healthz`).catch(() => undefined);

    expect(await run.exited).toBe(0);
    expect(run.groupAlive()).toBe(false);
    expect(leftovers(tmp)).toEqual([]);
  });

  it.for(['SIGTERM', 'SIGINT'] as const)('stops everything and exits 0 on %s to the npm process alone', async (signal, { expect }) => {
    const { run, tmp } = await startLocal();
    await run.waitForOutput(/\[local\] Ctrl-C stops everything/);

    run.child.kill(signal);

    expect(await run.exited, `${run.output().stdout}\n${run.output().stderr}`).toBe(0);
    // Nothing of the run is left behind (npm forwarded the signal; the services were stopped).
    expect(run.groupAlive()).toBe(false);
    expect(leftovers(tmp)).toEqual([]);
  });

  it.for([
    ['PORT', 'the API'],
    ['LOCAL_SQS_PORT', 'the SQS emulator'],
    ['LOCAL_EDGE_PORT', 'the edge cache'],
  ] as const)('exits 1 with one line naming the port and %s when %s cannot bind', async ([variable], { expect }) => {
    let taken: Server | undefined;
    try {
      taken = await occupyPort();
      const port = (taken.address() as { port: number }).port;
      const { run } = await startLocal({ [variable]: String(port) });

      expect(await run.exited).toBe(1);
      expect(run.groupAlive()).toBe(false);
      const { stdout, stderr } = run.output();
      const errors = stderr.split('\n').filter((line) => line.startsWith('[local]'));
      expect(errors).toEqual([expect.stringMatching(new RegExp(`^\\[local\\] cannot start: .*port ${port}\\b.* already in use: set ${variable} to a free port$`))]);
      expect(stackLines(stdout + stderr)).toEqual([]);
      expect(stdout).not.toContain('[local] edge (cache)');
    } finally {
      taken?.close();
    }
  });
});

describe.concurrent('npm run api / npm run worker', { timeout: SAFETY_NET_MS }, () => {
  let emulator: SqsEmulator;
  beforeAll(async () => {
    emulator = await startSqsEmulator();
  });
  afterAll(async () => emulator?.stop());

  it.for(['api', 'worker'] as const)('npm run %s exits 0 on SIGTERM after draining', async (service, { expect }) => {
    const { queueUrl } = await emulator.createQueueWithDlq(`npm-run-${service}`);
    const run = npmRun(service, { ...emulator.serviceEnv, QUEUE_URL: queueUrl, PORT: '0', HOST: '127.0.0.1', RECEIVE_WAIT_SECONDS: '1' });
    await run.waitForOutput(service === 'api' ? /"msg":"api.listening"/ : /"event":"worker.started"/);

    run.child.kill('SIGTERM');

    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toMatch(service === 'api' ? /"msg":"api.stopped"/ : /"event":"worker.stopped"/);
  });

  it('npm run api exits 1 with one line naming the port and PORT when the port is taken', async ({ expect }) => {
    const taken = await occupyPort();
    try {
      const port = (taken.address() as { port: number }).port;
      const run = npmRun('api', {
        QUEUE_URL: 'http://127.0.0.1:9/queue',
        JOBS_TABLE: 'jobs',
        DATA_BUCKET: 'data',
        // Closed: the snapshot load at start fails at once (the seed is served) and the port check follows.
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        PORT: String(port),
        HOST: '127.0.0.1',
        AWS_REGION: 'us-east-1',
      });

      expect(await run.exited).toBe(1);
      const lines = run.output().stdout.split('\n').filter((line) => line.startsWith('{'));
      expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
        expect.objectContaining({ event: 'api.port_in_use', reason: `port ${port} on 127.0.0.1 is already in use: set PORT to a free port` }),
      );
      expect(stackLines(run.output().stdout + run.output().stderr)).toEqual([]);
    } finally {
      taken.close();
    }
  });
});
