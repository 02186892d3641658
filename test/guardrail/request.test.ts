// GuardrailValidation's program (pipeline/guardrail/request.ts), run as the pipeline runs it,
// against a local stand-in of the Lambda Invoke API on 127.0.0.1 (the real SDK client, pointed
// there by AWS_ENDPOINT_URL_LAMBDA).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleGuardrailRequest } from '../../pipeline/guardrail/bundle';
import { buildRequest } from '../../pipeline/guardrail/request';
import { listStacks } from '../../pipeline/cloud-assembly';
import { REPO_ROOT, sharedAssembly } from '../support/app';

const VALIDATOR = 'arn:aws:lambda:eu-west-1:333333333333:function:br-fagq2-guardrail-validator';
const COMMIT = 'a'.repeat(40);
let server: Server;
let endpoint: string;
let answer: { status: number; body: string; headers?: Record<string, string> };
const received: Array<{ url: string; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The program from the repository, or (`cwd`) `npm run guardrail` in a folder of its own. */
function run(args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, AWS_ENDPOINT_URL_LAMBDA: endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'eu-west-1' };
    const child = cwd
      ? spawn('npm', ['run', '--silent', 'guardrail', '--', ...args], { cwd, env: { ...env, PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` } })
      : spawn(join(REPO_ROOT, 'node_modules', '.bin', 'node'), [join(REPO_ROOT, 'pipeline', 'guardrail', 'request.ts'), ...args], { env });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

const args = (release = COMMIT) => ['--assembly', sharedAssembly(), '--stage', 'Production', '--release', release, '--execution', 'exec-1', '--validator', VALIDATOR];

describe('the GuardrailValidation request', () => {
  it('carries the release and, per production stack name, the exact text of its template file', () => {
    const request = buildRequest(sharedAssembly(), 'Production', { commit: COMMIT, executionId: 'exec-1' });
    expect(request.release).toEqual({ commit: COMMIT, executionId: 'exec-1' });
    expect(Object.keys(request.templates).sort()).toEqual(['Production-EdgeWaf', 'Production-Tiers']);
    const tiers = listStacks(sharedAssembly()).find((s) => s.displayName === 'Pipeline/Production/Tiers')!;
    expect(request.templates['Production-Tiers']).toBe(readFileSync(tiers.templateFile, 'utf8'));
  });

  it('invokes the validator and fails the step when it does not pass, printing its checks', async () => {
    answer = { status: 200, body: JSON.stringify({ passed: false, checks: [{ name: 'parity', status: 'FAIL', detail: 'production-only oidcIssuer' }] }) };
    const { code, out } = await run(args());
    expect(code).toBe(1);
    expect(out).toContain('FAIL parity: production-only oidcIssuer');
    const last = received.at(-1)!;
    expect(decodeURIComponent(last.url)).toContain(`/functions/${VALIDATOR}/invocations`);
    const sent = JSON.parse(last.body);
    expect(sent.release).toEqual({ commit: COMMIT, executionId: 'exec-1' });
    expect(Object.keys(sent.templates).sort()).toEqual(['Production-EdgeWaf', 'Production-Tiers']);
  });

  it('passes the step when the validator passes', async () => {
    answer = { status: 200, body: JSON.stringify({ passed: true, checks: [{ name: 'parity', status: 'PASS', detail: 'ok' }], envelopeKey: `releases/${COMMIT}/exec-1.dsse.json` }) };
    const { code, out } = await run(args());
    expect(code).toBe(0);
    expect(out).toContain(`guardrail: PASSED (attestation releases/${COMMIT}/exec-1.dsse.json)`);
  });

  it('runs from the Synth step\'s bundle alone, as GuardrailValidation runs it: no source, nothing installed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'guardrail-request-'));
    try {
      await bundleGuardrailRequest(dir);
      expect(readdirSync(dir).sort()).toEqual(['package.json', 'request.mjs']);
      answer = { status: 200, body: JSON.stringify({ passed: true, checks: [{ name: 'parity', status: 'PASS', detail: 'ok' }] }) };
      const { code, out } = await run(args(), dir);
      expect(out).toContain('guardrail: PASSED');
      expect(code).toBe(0);
      expect(Object.keys(JSON.parse(received.at(-1)!.body).templates).sort()).toEqual(['Production-EdgeWaf', 'Production-Tiers']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails closed on a function error, an answer of another shape, or a bad release id', async () => {
    answer = { status: 200, body: JSON.stringify({ errorMessage: 'boom' }), headers: { 'x-amz-function-error': 'Unhandled' } };
    expect(await run(args())).toMatchObject({ code: 2, out: expect.stringContaining('the validator failed (Unhandled)') });
    answer = { status: 200, body: JSON.stringify({ ok: true }) };
    expect(await run(args())).toMatchObject({ code: 2, out: expect.stringContaining('something else than { passed, checks }') });
    const before = received.length;
    expect(await run(args('main'))).toMatchObject({ code: 2, out: expect.stringContaining('expected a 40-hex git commit id') });
    expect(received.length).toBe(before);
  });
});
