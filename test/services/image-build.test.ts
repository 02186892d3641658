// What each service's Dockerfile does, without Docker: the build stage compiles the service and
// services/shared with tsc (the service's tsconfig.json, `.ts` import specifiers rewritten to
// `.js`), and the runtime stage runs dist/<service>/src/main.js as an ES module (the service's
// package.json says "type": "module") with only package.json, node_modules and dist/. Then the
// compiled service does its job: the API serves, the worker completes a job, both exit 0 on SIGTERM.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumJob, isEvent, REPO_ROOT, sendMessage, spawnService, startSqsEmulator, stopAllServices, type ServiceProcess, type SqsEmulator } from './helpers';

const SERVICES = join(REPO_ROOT, 'services');
const scratch = mkdtempSync(join(tmpdir(), 'image-build-'));
let emulator: SqsEmulator;

beforeAll(async () => {
  emulator = await startSqsEmulator();
});

afterAll(async () => {
  await stopAllServices();
  await emulator?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The runtime stage's /app for `service`: package.json, node_modules (the root's, same versions) and dist/. */
function buildImage(service: 'api' | 'worker'): string {
  const build = join(scratch, `${service}-build`);
  const dockerfile = readFileSync(join(SERVICES, service, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(new RegExp(`^RUN npx tsc -p ${service}/tsconfig.json$`, 'm'));
  // COPY <service>/package.json ./ ; COPY <service>/tsconfig.json ./<service>/ ; COPY <service>/src ; COPY shared
  cpSync(join(SERVICES, service, 'package.json'), join(build, 'package.json'));
  cpSync(join(SERVICES, service, 'tsconfig.json'), join(build, service, 'tsconfig.json'));
  cpSync(join(SERVICES, service, 'src'), join(build, service, 'src'), { recursive: true });
  cpSync(join(SERVICES, 'shared'), join(build, 'shared'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(build, 'node_modules'));
  execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', `${service}/tsconfig.json`], { cwd: build, stdio: 'pipe' });

  const image = join(scratch, service);
  cpSync(join(SERVICES, service, 'package.json'), join(image, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(image, 'node_modules'));
  cpSync(join(build, 'dist'), join(image, 'dist'), { recursive: true });
  cpSync(join(SERVICES, 'shared', 'seed'), join(image, 'dist', 'shared', 'seed'), { recursive: true });
  return image;
}

/** What the runtime stage's ENV sets (and nothing hides warnings: no NODE_NO_WARNINGS, as in the image). */
const IMAGE_ENV = { NODE_ENV: 'production' };

/**
 * Nothing a task would log at start, serve or stop is a warning: no line on stderr (Node prints its
 * process warnings there, `(node:<pid>) [CODE] Warning: …`), no line on stdout that is not JSON,
 * and no JSON line at warning level.
 */
function expectNoWarning(service: ServiceProcess): void {
  expect(service.stderrLines()).toEqual([]);
  expect(service.logs.filter((line) => line.event === 'non-json')).toEqual([]);
  expect(service.logs.filter((line) => line.level === 'warn' || line.level === 40 || /warn/i.test(String(line.event ?? line.msg ?? '')))).toEqual([]);
}

describe('the service images, built as their Dockerfiles build them', () => {
  it('api: the compiled service answers and drains on SIGTERM', async () => {
    const image = buildImage('api');
    expect(readFileSync(join(image, 'dist', 'api', 'src', 'main.js'), 'utf8')).not.toMatch(/from '\.[^']*\.ts'/);
    const { queueUrl } = await emulator.createQueueWithDlq('image-build-api');
    // Authentication as the task definition configures it (lib/stage.ts): an OIDC issuer, which the
    // API reads only when a request carries a token.
    const auth = { OIDC_ISSUER: 'https://auth.example.com/', OIDC_AUDIENCE: 'br-fagq2-api' };
    const env = { ...emulator.serviceEnv, ...IMAGE_ENV, ...auth, QUEUE_URL: queueUrl, HOST: '127.0.0.1', PORT: '0', APP_VERSION: 'image-1' };
    const api = spawnService('api', env, { cwd: image, script: 'dist/api/src/main.js' });
    const listening = await api.waitForLog(isEvent('api.listening'));
    const version = await fetch(new URL('/v1/version', String(listening.url)));
    expect(version.status).toBe(200);
    expect(await version.json()).toMatchObject({ version: 'image-1' });
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    expectNoWarning(api);
  });

  it('worker: the compiled service completes a job and drains on SIGTERM', async () => {
    const image = buildImage('worker');
    const { queueUrl, dlqUrl } = await emulator.createQueueWithDlq('image-build-worker');
    const worker = spawnService('worker', { ...emulator.serviceEnv, ...IMAGE_ENV, QUEUE_URL: queueUrl, DLQ_URL: dlqUrl, RECEIVE_WAIT_SECONDS: '1' }, { cwd: image, script: 'dist/worker/src/main.js' });
    await worker.waitForLog(isEvent('worker.started'));
    await sendMessage(emulator.client, queueUrl, checksumJob('image-job', 1));
    await worker.waitForLog(isEvent('job.completed', { jobId: 'image-job' }));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expectNoWarning(worker);
  });

  it('hides no warning anywhere: no script, test helper, benchmark or image sets NODE_NO_WARNINGS', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\0').filter((f) => f && f !== 'test/services/image-build.test.ts');
    const hiding = files.filter((file) => {
      try {
        // Setting it (`NODE_NO_WARNINGS: '1'`, `NODE_NO_WARNINGS=1`, `ENV NODE_NO_WARNINGS …`), not naming it in prose.
        return /NODE_NO_WARNINGS['"]?\s*[:=]|ENV\s+NODE_NO_WARNINGS/.test(readFileSync(join(REPO_ROOT, file), 'utf8'));
      } catch {
        return false; // a file listed but deleted in the work tree
      }
    });
    expect(hiding).toEqual([]);
  });
});
