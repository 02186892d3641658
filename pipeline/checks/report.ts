// How results are printed and turned into the process's exit code.
import type { CheckResult } from './check.ts';

/** Exit codes (README.md): every check passed or was skipped / a check failed / bad usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_USAGE = 2;

const NAME_WIDTH = 14;

/** `PASS  latency         p95 41 ms ≤ budget 300 ms (...)` */
export function formatResult(result: CheckResult): string {
  return `${result.status.padEnd(4)}  ${result.name.padEnd(NAME_WIDTH)}  ${result.detail}`;
}

export function formatSummary(command: string, results: readonly CheckResult[]): string {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  const verdict = count('FAIL') > 0 ? 'FAILED' : 'OK';
  return `${command} checks ${verdict}: ${count('PASS')} passed, ${count('FAIL')} failed, ${count('SKIP')} skipped`;
}

export function exitCode(results: readonly CheckResult[]): number {
  return results.some((result) => result.status === 'FAIL') ? EXIT_CHECK_FAILED : EXIT_OK;
}
