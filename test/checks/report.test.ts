import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fail, pass, runChecks, skip, type Check } from '../../pipeline/checks/check';
import { exitCode, formatResult, formatSummary } from '../../pipeline/checks/report';

const check = (name: string, run: Check['run']): Check => ({ name, run });

describe('runChecks', () => {
  it('runs every check in order, and a check that throws is a FAIL with the error, not the end of the run', async () => {
    const order: string[] = [];
    const results = await runChecks([
      check('first', async () => (order.push('first'), pass('ok'))),
      check('second', async () => {
        order.push('second');
        throw Object.assign(new Error('User is not authorized to perform: sqs:GetQueueAttributes'), { name: 'AccessDenied' });
      }),
      check('third', async () => (order.push('third'), skip('not here'))),
    ]);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(results).toEqual([
      { name: 'first', status: 'PASS', detail: 'ok' },
      { name: 'second', status: 'FAIL', detail: 'AccessDenied: User is not authorized to perform: sqs:GetQueueAttributes' },
      { name: 'third', status: 'SKIP', detail: 'not here' },
    ]);
  });

  it('reports a network failure with its cause', async () => {
    const port = await closedPort();
    const [result] = await runChecks([check('edge health', () => fetch(`http://127.0.0.1:${port}/healthz`).then(() => pass('?')))]);
    expect(result).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/fetch failed: ECONNREFUSED/) });
  });
});

describe('report', () => {
  const results = [
    { name: 'edge health', ...pass('GET /healthz → 200 in 4 ms') },
    { name: 'invalidation', ...skip('no distribution') },
  ];

  it('prints one aligned line per check: status, name, why', () => {
    expect(formatResult(results[0]!)).toBe('PASS  edge health     GET /healthz → 200 in 4 ms');
    expect(formatResult(results[1]!)).toBe('SKIP  invalidation    no distribution');
  });

  it('exits 0 when every check passed or was skipped, 1 when one failed', () => {
    expect(exitCode(results)).toBe(0);
    expect(exitCode([...results, { name: 'jobs', ...fail('queue did not drain') }])).toBe(1);
    expect(formatSummary('deploy', [...results, { name: 'jobs', ...fail('x') }])).toBe('deploy checks FAILED: 1 passed, 1 failed, 1 skipped');
  });
});

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
