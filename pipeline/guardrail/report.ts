import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { VerifyResult } from './verify.js';

/** The human-readable verify output: one line per check, its details indented below. */
export function formatResult(result: VerifyResult): string[] {
  const lines: string[] = [];
  for (const check of result.checks) {
    lines.push(`${check.status.toUpperCase().padEnd(4)} ${check.id}: ${check.summary}`);
    for (const detail of check.details) lines.push(`       - ${detail}`);
  }
  const failed = result.checks.filter((c) => c.status !== 'pass').length;
  lines.push(
    result.ok
      ? `guardrail: all ${result.checks.length} checks passed`
      : `guardrail: ${failed} of ${result.checks.length} checks did not pass: the release must stop`,
  );
  return lines;
}

/** Writes the JSON report (the VerifyResult plus when it was made). */
export function writeReport(result: VerifyResult, file: string, generatedAt: Date): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ generatedAt: generatedAt.toISOString(), ...result }, null, 2)}\n`);
}
