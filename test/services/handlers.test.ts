import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksumHandler } from '../../services/worker/src/handlers/checksum';
import { jobTypes } from '../../services/shared/jobs';
import { createHandlers, handlerFor } from '../../services/worker/src/handlers/registry';

const defaultHandlers = createHandlers();

const sha256 = (input: Buffer | string) => createHash('sha256').update(input).digest();

describe('the handler registry', () => {
  it('has a handler for every job type of the schema, and nothing else', () => {
    expect(Object.keys(defaultHandlers).sort()).toEqual([...jobTypes].sort());
    for (const type of jobTypes) expect(handlerFor(defaultHandlers, type)).toEqual(expect.any(Function));
  });

  it('routes checksum jobs to the checksum handler', () => {
    expect(handlerFor(defaultHandlers, 'checksum')).toBe(checksumHandler);
  });
});

describe('the checksum handler', () => {
  const never = new AbortController().signal;
  const job = { id: 'j1', type: 'checksum', payload: { data: '', rounds: 1 }, submittedAt: '2026-01-01T00:00:00.000Z' } as const;

  it('hashes the data once for one round (the SHA-256 test vector)', async () => {
    expect(await checksumHandler({ data: 'abc', rounds: 1 }, never, job)).toEqual({
      digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
  });

  it('chains rounds over the previous digest, across yield slices', async () => {
    let expected = sha256('br-fagq2');
    for (let round = 2; round <= 20_000; round++) expected = sha256(expected);
    expect(await checksumHandler({ data: 'br-fagq2', rounds: 20_000 }, never, job)).toEqual({ digest: expected.toString('hex') });
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const running = checksumHandler({ data: 'x', rounds: 10_000_000 }, controller.signal, job);
    controller.abort(new Error('job timed out'));
    await expect(running).rejects.toThrow('job timed out');
  });
});
