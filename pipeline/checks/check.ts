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

/** Runs the checks one after another (a check never disturbs another's measurement); a throw is a FAIL. */
export async function runChecks(checks: readonly Check[], onStart: (name: string) => void = () => {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    onStart(check.name);
    let outcome: Outcome;
    try {
      outcome = await check.run();
    } catch (error) {
      outcome = fail(describeError(error));
    }
    results.push({ name: check.name, ...outcome });
  }
  return results;
}
