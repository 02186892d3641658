import { errorMessage, type Logger } from './log.ts';

/** Keeps ECS from stopping this task on scale-in while jobs run. */
export interface TaskProtection {
  jobStarted(): void;
  jobFinished(): void;
  /** Releases the protection (if held) and waits for the agent's answer. */
  close(): Promise<void>;
}

export const noTaskProtection: TaskProtection = {
  jobStarted() {},
  jobFinished() {},
  async close() {},
};

export interface TaskProtectionOptions {
  /** ECS_AGENT_URI, set by ECS in every task container. */
  readonly agentUri: string;
  /** How long each protection lasts unless renewed (it is renewed while jobs keep running). */
  readonly expiresInMinutes: number;
  readonly logger: Logger;
  /** Idle time before the protection is released, so a steady stream of short jobs does not flap it. */
  readonly releaseAfterIdleMs?: number;
}

/**
 * Task scale-in protection through the ECS agent's endpoint
 * (PUT ${ECS_AGENT_URI}/task-protection/v1/state). Requests are sent one at a time in order;
 * a failed request is logged and does not stop any job.
 */
export function createTaskProtection(options: TaskProtectionOptions): TaskProtection {
  const { agentUri, expiresInMinutes, logger, releaseAfterIdleMs = 2_000 } = options;
  const url = `${agentUri.replace(/\/$/, '')}/task-protection/v1/state`;
  let running = 0;
  let protectedUntil = 0;
  let releaseTimer: NodeJS.Timeout | undefined;
  let queue: Promise<void> = Promise.resolve();

  const put = (enabled: boolean) => {
    queue = queue.then(async () => {
      try {
        const body = enabled ? { ProtectionEnabled: true, ExpiresInMinutes: expiresInMinutes } : { ProtectionEnabled: false };
        const response = await fetch(url, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5_000),
        });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`agent answered ${response.status}`);
        logger.info('task_protection.updated', { enabled, expiresInMinutes: enabled ? expiresInMinutes : undefined });
      } catch (error) {
        logger.warn('task_protection.failed', { enabled, reason: errorMessage(error) });
      }
    });
  };

  const release = () => {
    releaseTimer = undefined;
    if (running > 0 || protectedUntil === 0) return;
    protectedUntil = 0;
    put(false);
  };

  // Renew a minute before expiry, so long jobs and a long stream of jobs stay protected.
  const renewIfDue = () => {
    if (running === 0 || Date.now() < protectedUntil - 60_000) return;
    protectedUntil = Date.now() + expiresInMinutes * 60_000;
    put(true);
  };
  const renewTimer = setInterval(renewIfDue, 30_000).unref();

  return {
    jobStarted() {
      running += 1;
      clearTimeout(releaseTimer);
      releaseTimer = undefined;
      renewIfDue();
    },
    jobFinished() {
      running -= 1;
      if (running === 0) releaseTimer = setTimeout(release, releaseAfterIdleMs);
    },
    async close() {
      clearInterval(renewTimer);
      clearTimeout(releaseTimer);
      releaseTimer = undefined;
      release();
      await queue;
    },
  };
}
