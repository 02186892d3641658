// The compliance audit of the production templates, by a policy engine: cfn-guard runs
// the project's Guard rules (pipeline/compliance/rules/*.guard) and AWS Control Tower's
// proactive controls on the final templates (what will really be deployed, overrides
// and escape hatches included), and the cdk-nag results are held to the approved
// profile: the minimum packs ran, and every acknowledgement is in the allow-list.
import { resolve } from 'node:path';
import { missingMinimumPacks, unapprovedAcknowledgements } from '../compliance/acknowledgements.ts';
import { stackTemplates } from '../compliance/assembly.ts';
import { configuredMinLogRetentionDays } from '../compliance/settings.ts';
import { checkTemplatesSync, formatFinding } from '../compliance/profile.ts';
import type { AssemblyInfo } from './assembly.ts';
import { type CheckResult, fromProblems } from './check.ts';

/** The ids of the audit's checks, in the order verify reports them. */
export const AUDIT_IDS = ['compliance-project-rules', 'compliance-control-tower', 'compliance-packs', 'compliance-acknowledgements'];

/** Options of {@link auditStage}. */
export interface AuditOptions {
  /** The shortest log retention allowed. @default compliance.minLogRetentionDays of ./cdk.json (the approved revision's), else 30 */
  readonly minLogRetentionDays?: number;
}

/** Audits the templates of one stage (the production stage, before production). */
export function auditStage(assemblyDir: string, stage: AssemblyInfo, options: AuditOptions = {}): CheckResult[] {
  const templates = stackTemplates(assemblyDir).filter((t) => t.displayName.startsWith(`${stage.displayName}/`));
  if (templates.length === 0) throw new Error(`no stack templates under ${stage.displayName} in ${resolve(assemblyDir)}`);
  const findings = checkTemplatesSync(templates, { minLogRetentionDays: options.minLogRetentionDays ?? configuredMinLogRetentionDays() });
  const controlTower = findings.filter((f) => f.rule.startsWith('control-tower:')).map(formatFinding);
  const project = findings.filter((f) => !f.rule.startsWith('control-tower:')).map(formatFinding);
  const n = templates.length;
  return [
    fromProblems('compliance-project-rules', project, `${n} templates pass the project's Guard rules and hand-written checks`, "findings of the project's Guard rules"),
    fromProblems('compliance-control-tower', controlTower, `${n} templates pass the Control Tower proactive controls (minus the disabled, reasoned ones)`, 'Control Tower findings'),
    fromProblems('compliance-packs', missingMinimumPacks(assemblyDir), 'the validation report has every minimum cdk-nag pack', 'minimum cdk-nag packs missing'),
    fromProblems(
      'compliance-acknowledgements',
      unapprovedAcknowledgements(templates),
      'every cdk-nag acknowledgement in the templates is in the allow-list',
      'cdk-nag acknowledgements not in the allow-list',
    ),
  ];
}
