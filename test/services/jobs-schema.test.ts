import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_MESSAGE_FORMAT, jobTypes, MAX_CHECKSUM_ROUNDS, parseJobMessage, validateJobRequest } from '../../services/shared/jobs';
import { REPO_ROOT } from './helpers';

describe('the job schema', () => {
  it('is written once: both services import services/shared/jobs.ts and neither keeps a copy', () => {
    for (const service of ['api', 'worker']) {
      expect(existsSync(join(REPO_ROOT, 'services', service, 'src', 'jobs.ts'))).toBe(false);
    }
    const imports = (file: string) => readFileSync(join(REPO_ROOT, 'services', file), 'utf8');
    expect(imports('api/src/routes/jobs.ts')).toContain("from '../../../shared/jobs.ts'");
    expect(imports('worker/src/consumer.ts')).toContain("from '../../shared/jobs.ts'");
  });

  it('reads a message of a newer release (rollback): unknown fields are ignored, a newer format version refused', () => {
    const newer = { v: 1, id: 'j2', type: 'checksum', payload: { data: 'a', rounds: 2 }, submittedAt: '2026-01-01T00:00:00.000Z', priority: 'high', traceId: 't-1' };
    expect(parseJobMessage(JSON.stringify(newer))).toMatchObject({ ok: true, value: { id: 'j2', type: 'checksum' } });
    expect(parseJobMessage(JSON.stringify({ ...newer, v: JOB_MESSAGE_FORMAT + 1 }))).toMatchObject({ ok: false, field: 'v' });
    // The scheduler's messages carry no version: format 1.
    const { v: _v, ...unversioned } = newer;
    expect(parseJobMessage(JSON.stringify(unversioned))).toMatchObject({ ok: true });
  });

  it('accepts a checksum job at both ends of the rounds range', () => {
    for (const rounds of [1, MAX_CHECKSUM_ROUNDS]) {
      expect(validateJobRequest({ type: 'checksum', payload: { data: '', rounds } })).toEqual({
        ok: true,
        value: { type: 'checksum', payload: { data: '', rounds } },
      });
    }
  });

  it.each([
    [null, 'body', 'must be object'],
    [{ payload: {} }, 'type', 'is required'],
    [{ type: 'resize', payload: {} }, 'type', 'must be equal to one of the allowed values'],
    [{ type: 'checksum', payload: 'x' }, 'payload', 'must be object'],
    [{ type: 'checksum', payload: { rounds: 1 } }, 'payload.data', 'is required'],
    [{ type: 'checksum', payload: { data: 'x', rounds: MAX_CHECKSUM_ROUNDS + 1 } }, 'payload.rounds', 'must be <= 10000000'],
    [{ type: 'checksum', payload: { data: 'x', rounds: '5' } }, 'payload.rounds', 'must be integer'],
    [{ type: 'checksum', payload: { data: 'x', rounds: 1, salt: 'y' } }, 'payload.salt', 'is not allowed'],
  ])('rejects %j naming %s', (body, field, message) => {
    expect(validateJobRequest(body)).toEqual({ ok: false, field, message });
  });

  it('parses a queue message and says what is wrong with a malformed one', () => {
    const job = { id: 'j1', type: 'checksum', payload: { data: 'a', rounds: 2 }, submittedAt: '2026-01-01T00:00:00.000Z' };
    expect(parseJobMessage(JSON.stringify(job))).toEqual({ ok: true, value: job });
    expect(parseJobMessage('{"type":')).toEqual({ ok: false, field: 'body', message: 'is not JSON' });
    expect(parseJobMessage(undefined)).toEqual({ ok: false, field: 'body', message: 'is not JSON' });
    expect(parseJobMessage(JSON.stringify({ ...job, id: undefined }))).toMatchObject({ ok: false, field: 'id' });
    expect(parseJobMessage(JSON.stringify({ ...job, payload: { data: 'a', rounds: 0 } }))).toMatchObject({ ok: false, field: 'payload.rounds' });
  });

  it('lists the job types', () => {
    expect(jobTypes).toEqual(['checksum', 'rebuild-dataset']);
  });
});
