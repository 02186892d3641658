import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { writeFileSafely } from './attestation.ts';
import type { VerifyResult } from './verify.ts';

/** Detail lines printed per check; the report holds up to MAX_REPORT_DETAILS, and says how many more. */
export const MAX_PRINTED_DETAILS = 20;
export const MAX_REPORT_DETAILS = 500;
const MAX_LINE = 400;

/**
 * One line of output from untrusted text (file names, template values): control
 * characters escaped, so a name holding a newline cannot forge a `PASS` line; cut to
 * MAX_LINE characters.
 */
export function safeLine(text: string): string {
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > MAX_LINE ? `${escaped.slice(0, MAX_LINE - 3)}...` : escaped;
}

function bounded(details: readonly string[], max: number): string[] {
  const shown = details.slice(0, max).map(safeLine);
  if (details.length > max) shown.push(`... and ${details.length - max} more`);
  return shown;
}

/** The human-readable verify output: one line per check, at most MAX_PRINTED_DETAILS details each. */
export function formatResult(result: VerifyResult): string[] {
  const lines: string[] = [];
  for (const check of result.checks) {
    lines.push(safeLine(`${check.status.toUpperCase().padEnd(4)} ${check.id}: ${check.summary}`));
    for (const detail of bounded(check.details, MAX_PRINTED_DETAILS)) lines.push(`       - ${detail}`);
  }
  const failed = result.checks.filter((c) => c.status !== 'pass').length;
  lines.push(
    result.ok
      ? `guardrail: all ${result.checks.length} checks passed`
      : `guardrail: ${failed} of ${result.checks.length} checks did not pass: the release must stop`,
  );
  return lines;
}

/**
 * Writes a JSON report (bounded: MAX_REPORT_DETAILS details per check) without writing
 * through a symlink: an existing symlink, FIFO or directory at `file` is refused and
 * left untouched (see writeFileSafely).
 */
export function writeReport(report: object, file: string, generatedAt: Date): void {
  const boundedReport = JSON.parse(JSON.stringify(report), (key, value) =>
    key === 'details' && Array.isArray(value) ? bounded(value as string[], MAX_REPORT_DETAILS) : value,
  );
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSafely(resolve(file), `${JSON.stringify({ generatedAt: generatedAt.toISOString(), ...boundedReport }, null, 2)}\n`);
}
