import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJsonFile } from './assembly.ts';
import { type CheckResult, fail, fromProblems } from './check.ts';
import { VALIDATION_REPORT_FILE } from './coverage.ts';

// Only the fields the check reads; see PolicyValidationReportJson in @aws-cdk/cloud-assembly-schema.
const violationSchema = z.object({
  ruleName: z.string(),
  severity: z.string().optional(),
  violatingConstructs: z.array(z.object({ constructPath: z.string().optional() })).optional(),
});
const reportSchema = z.object({
  pluginReports: z.array(
    z.object({
      pluginName: z.string(),
      conclusion: z.string().optional(),
      metadata: z.record(z.string(), z.string()).optional(),
      violations: z.array(violationSchema),
      suppressedViolations: z.array(z.unknown()).optional(),
    }),
  ),
});

/**
 * No unacknowledged cdk-nag finding: every entry of a plugin's `violations` in
 * validation-report.json fails the check unless its severity is `info` (informational
 * notes ask for no fix; cdk-nag's AwsSolutions pack emits only warnings and errors).
 * Acknowledged findings are listed apart (`suppressedViolations`) and pass. A plugin
 * that crashed fails the check too.
 */
export function checkNagFindings(root: string): CheckResult {
  if (!existsSync(join(root, VALIDATION_REPORT_FILE))) {
    return fail('nag', `${VALIDATION_REPORT_FILE} is missing: no cdk-nag results to audit`);
  }
  let report: z.infer<typeof reportSchema>;
  try {
    report = parseJsonFile(root, VALIDATION_REPORT_FILE, reportSchema);
  } catch (error) {
    return fail('nag', (error as Error).message);
  }
  const problems: string[] = [];
  let acknowledged = 0;
  let informational = 0;
  for (const plugin of report.pluginReports) {
    acknowledged += plugin.suppressedViolations?.length ?? 0;
    const crashed = plugin.metadata?.error;
    if (plugin.conclusion === 'failure' && plugin.violations.length === 0 && crashed !== undefined) {
      problems.push(`plugin ${plugin.pluginName} failed to run: ${crashed}`);
    }
    for (const violation of plugin.violations) {
      if (violation.severity === 'info') {
        informational++;
        continue;
      }
      const constructs = violation.violatingConstructs ?? [];
      const where = constructs.length > 0 ? constructs.map((c) => c.constructPath ?? '?') : ['(no construct)'];
      for (const path of where) {
        problems.push(`${violation.ruleName} (${violation.severity ?? 'error'}) at ${path}, not acknowledged`);
      }
    }
  }
  return fromProblems(
    'nag',
    problems,
    `no unacknowledged cdk-nag finding in ${VALIDATION_REPORT_FILE} (${acknowledged} acknowledged, ${informational} informational)`,
    `unacknowledged cdk-nag findings in ${VALIDATION_REPORT_FILE}`,
  );
}
