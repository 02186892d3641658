/** The outcome of one guardrail check. A skipped check did not pass: verify fails. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** One line of the verify output and one item of the JSON report. */
export interface CheckResult {
  /** Stable id, e.g. `digests` or `s3-encryption`. */
  readonly id: string;
  readonly status: CheckStatus;
  /** One line: why it passed or failed. */
  readonly summary: string;
  /** The offending files, resources or findings, one per line. */
  readonly details: readonly string[];
}

export function pass(id: string, summary: string): CheckResult {
  return { id, status: 'pass', summary, details: [] };
}

export function fail(id: string, summary: string, details: readonly string[] = []): CheckResult {
  return { id, status: 'fail', summary, details };
}

export function skip(id: string, summary: string): CheckResult {
  return { id, status: 'skip', summary, details: [] };
}

/** Fails with `problems` as details when there are any, else passes with `okSummary`. */
export function fromProblems(
  id: string,
  problems: readonly string[],
  okSummary: string,
  failSummary: string,
): CheckResult {
  return problems.length === 0 ? pass(id, okSummary) : fail(id, `${failSummary} (${problems.length})`, problems);
}
