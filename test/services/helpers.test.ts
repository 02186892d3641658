// The services' test helpers wait on what a process does, not on a clock: a wait for a log line
// ends when the line comes or the process exits, however long the machine takes (a loaded machine
// once ran a worker's job past the old 60 s budget). The clock here is faked: it runs ahead while
// the real process is still working, as it would on a slow machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it, vi } from 'vitest';
import { isEvent, SAFETY_NET_MS, spawnService, stopAllServices, waitFor } from './helpers';

const dir = mkdtempSync(join(inject('scratchDir'), 'helpers-'));
// Prints one line when told (SIGUSR2), another before it exits (SIGTERM).
const script = join(dir, 'late.mjs');
writeFileSync(
  script,
  [
    "const say = (event) => console.log(JSON.stringify({ event }));",
    "process.on('SIGUSR2', () => say('late'));",
    "process.on('SIGTERM', () => process.exit(3));",
    'setInterval(() => {}, 1000);',
    "say('armed');",
  ].join('\n'),
);

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await stopAllServices();
  rmSync(dir, { recursive: true, force: true });
});

describe('waits that follow the process', () => {
  it('keeps waiting for a log line while the process runs, past any budget of an idle machine', async () => {
    const late = spawnService('worker', {}, { cwd: dir, script });
    await late.waitForLog(isEvent('armed'));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const waiting = late.waitForLog(isEvent('late'));
    // Ten minutes less a second pass on the helper's clock while the process is still working.
    await vi.advanceTimersByTimeAsync(SAFETY_NET_MS - 1_000);
    late.child.kill('SIGUSR2');
    await expect(waiting).resolves.toMatchObject({ event: 'late' });
    late.child.kill('SIGTERM');
    expect(await late.exited).toBe(3);
  });

  it('stops waiting as soon as the process exits without the line', async () => {
    const quits = spawnService('worker', {}, { cwd: dir, script });
    await quits.waitForLog(isEvent('armed'));
    const waiting = quits.waitForLog(isEvent('never'));
    quits.child.kill('SIGTERM');
    await expect(waiting).rejects.toThrow(/exited \(3\) before the log line/);
  });

  it('polls a state until it holds, past any budget of an idle machine', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let polls = 0;
    const value = await waitFor(async () => {
      polls += 1;
      // Each poll "takes" a minute of the clock: the state decides, at the fifth poll.
      vi.setSystemTime(Date.now() + 60_000);
      return polls === 5 && 'done';
    });
    expect(value).toBe('done');
  });
});
