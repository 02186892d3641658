// The validator's own allow-list of cdk-nag findings (acknowledgements.json beside this file,
// deployed with the enforcement stack; the commit's acknowledgements are never read). Each
// entry names one finding exactly: the stack, the resource's logical id, the finding id as
// cdk-nag reports it (granular findings included, `AwsSolutions-IAM5[Resource::*]`), and for a
// wildcard-permission finding every statement that produces it, with its exact actions and
// resources. So an acknowledged `IAM5[Resource::*]` admits no new action: the statement with
// the new action no longer equals the one acknowledged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isWildcardFinding, type NagFinding, type StatementSummary } from './nag.ts';

const statementSchema = z.strictObject({ actions: z.array(z.string()).min(1), resources: z.array(z.string()).min(1) });

const entrySchema = z.strictObject({
  /** The stack id (`Tiers`, `EdgeWaf`). */
  stack: z.string().min(1),
  logicalId: z.string().min(1),
  /** The construct path, for the reader; not matched (it is the commit's metadata). */
  path: z.string().optional(),
  /** The finding id; `${account}` and `${region}` stand for the production stack's. */
  finding: z.string().min(1),
  /** For an IAM5 finding: the statements that produce it, exactly (resources as cdk-nag flattens them). */
  statements: z.array(statementSchema).optional(),
  reason: z.string().min(20, 'a real reason'),
});

const allowListSchema = z.strictObject({ $comment: z.string().optional(), acknowledgements: z.array(entrySchema) });

export type AllowedFinding = z.infer<typeof entrySchema>;
export type AllowList = z.infer<typeof allowListSchema>;

/** This folder's allow-list; in the validator's function, the copy its bundle carries (ACKNOWLEDGEMENTS_FILE). */
export const ALLOW_LIST_FILE = process.env.ACKNOWLEDGEMENTS_FILE ?? join(import.meta.dirname, 'acknowledgements.json');

/** Reads and checks the allow-list; throws naming the bad entry. */
export function readAllowList(file = ALLOW_LIST_FILE): AllowList {
  const result = allowListSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!result.success) throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  for (const [i, entry] of result.data.acknowledgements.entries()) {
    if (isWildcardFinding(entry.finding) && !entry.statements) throw new Error(`${file}: acknowledgements.${i} (${entry.finding}) names no statements: a wildcard finding is acknowledged only with its exact statements`);
  }
  return result.data;
}

const canonical = (statements: readonly StatementSummary[] | undefined) =>
  JSON.stringify((statements ?? []).map((s) => ({ actions: [...s.actions].sort(), resources: [...s.resources].sort() })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));

/** Whether `entry` acknowledges `finding` of a stack in `env`. */
export function admits(entry: AllowedFinding, finding: NagFinding, env: { account: string; region: string }): boolean {
  const fill = (s: string) => s.replaceAll('${account}', env.account).replaceAll('${region}', env.region);
  if (entry.stack !== finding.stackId || entry.logicalId !== finding.logicalId || fill(entry.finding) !== finding.finding) return false;
  if (!isWildcardFinding(finding.finding)) return true;
  const named = entry.statements?.map((s) => ({ actions: s.actions.map(fill), resources: s.resources.map(fill) }));
  return named !== undefined && canonical(named) === canonical(finding.statements);
}

/** The entry that would acknowledge `finding` (printed when it is refused, for a reviewer to add with a reason). */
function entryFor(finding: NagFinding): Omit<AllowedFinding, 'reason'> {
  return { stack: finding.stackId, logicalId: finding.logicalId, finding: finding.finding, ...(finding.statements ? { statements: finding.statements.map((s) => ({ actions: [...s.actions], resources: [...s.resources] })) } : {}) };
}

/** The findings the allow-list does not admit, one line each with the entry that would. */
export function unacknowledged(findings: readonly NagFinding[], allowList: AllowList, envOf: (stackId: string) => { account: string; region: string }): string[] {
  return findings
    .filter((f) => !allowList.acknowledgements.some((entry) => admits(entry, f, envOf(f.stackId))))
    .map((f) => `${f.stackId}/${f.logicalId} (${f.type}): ${f.finding} (${f.severity}) is not in the validator's allow-list; the entry that would admit it: ${JSON.stringify(entryFor(f))}`);
}
