// What every check is and returns: the unit the runner, the report and the exit code work on.

export type CheckStatus = 'PASS' | 'FAIL' | 'SKIP';

/** What one check found. */
export interface Outcome {
  readonly status: CheckStatus;
  /** Why, with the figures measured (one line). */
  readonly detail: string;
  /** The resource the check looks at does not exist (see health/missing.ts). */
  readonly missing?: boolean;
}

export interface CheckResult extends Outcome {
  readonly name: string;
}

export interface Check {
  readonly name: string;
  run(): Promise<Outcome>;
}

export const pass = (detail: string): Outcome => ({ status: 'PASS', detail });
export const fail = (detail: string): Outcome => ({ status: 'FAIL', detail });
export const skip = (detail: string): Outcome => ({ status: 'SKIP', detail });
export const missing = (detail: string): Outcome => ({ status: 'FAIL', detail, missing: true });

/** One line for an error: the SDK's error name (AccessDeniedException, ...) and its message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch() reports network failures as "fetch failed" with the real reason in `cause`.
  const cause = error.cause instanceof Error ? `: ${(error.cause as NodeJS.ErrnoException).code ?? error.cause.message}` : '';
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${name}${error.message}${cause}`;
}

/**
 * Runs the checks one after another (a check never disturbs another's measurement); a throw is a
 * FAIL. With a `deadline`, a check still running when it fires is a FAIL (it is not awaited), and
 * the checks after it FAIL without running: the caller always gets every result in time.
 */
export async function runChecks(
  checks: readonly Check[],
  onStart: (name: string) => void = () => {},
  deadline?: AbortSignal,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const expired = deadline
    ? new Promise<Outcome>((resolve) => {
        const done = () => resolve(fail('stopped: the deadline passed before this check finished'));
        if (deadline.aborted) done();
        else deadline.addEventListener('abort', done, { once: true });
      })
    : undefined;
  for (const check of checks) {
    if (deadline?.aborted) {
      results.push({ name: check.name, ...fail('not run: the deadline passed before this check started') });
      continue;
    }
    onStart(check.name);
    let outcome: Outcome;
    try {
      const running = check.run();
      outcome = expired ? await Promise.race([running, expired]) : await running;
      // A check abandoned at the deadline may still fail later: nobody waits for it any more.
      if (expired) running.catch(() => {});
    } catch (error) {
      outcome = fail(describeError(error));
    }
    results.push({ name: check.name, ...outcome });
  }
  return results;
}
