// The minimum cdk-nag packs, and which findings may be acknowledged where, with which reason
// (acknowledgements.json): the commit's early feedback (`npm run compliance`, the Synth step).
// The commit can change this file; what production admits is the validator's own allow-list,
// deployed with the enforcement (enforcement/compliance/allow-list.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StackTemplate } from './assembly.ts';

/** One allowed acknowledgement: a cdk-nag rule id on one construct of a stage, with its reason. */
export interface AllowedAcknowledgement {
  /** The rule id as cdk-nag writes it (`AwsSolutions-S1`, `NIST.800.53.R5-IAMNoInlinePolicy`); `${account}` and `${region}` stand for the stack's. */
  readonly rule: string;
  /** The construct path inside the stage (`Tiers/AccessLogs/Bucket/Resource`). */
  readonly path: string;
  readonly reason: string;
}

export interface AllowList {
  /** cdk-nag packs (validation report plugin names) every synth must have run. */
  readonly minimumPacks: readonly string[];
  readonly acknowledgements: readonly AllowedAcknowledgement[];
}

export const ALLOW_LIST_FILE = join(import.meta.dirname, 'acknowledgements.json');

export function readAllowList(file = ALLOW_LIST_FILE): AllowList {
  return JSON.parse(readFileSync(file, 'utf8')) as AllowList;
}

/** An acknowledgement found in a stage template (`cdk_nag` metadata). */
export interface FoundAcknowledgement {
  readonly template: string;
  readonly rule: string;
  /** The construct path inside the stage. */
  readonly path: string;
  readonly reason: string;
}

/** The path of a construct inside its stage: the stack's display name minus its last part is the stage. */
function stagePrefix(template: StackTemplate): string {
  const parts = template.displayName.split('/');
  return parts.length > 1 ? `${parts.slice(0, -1).join('/')}/` : '';
}

/** Every `cdk_nag` acknowledgement written into a template's resource metadata. */
export function templateAcknowledgements(template: StackTemplate): FoundAcknowledgement[] {
  const parsed = JSON.parse(readFileSync(template.file, 'utf8')) as { Resources?: Record<string, { Metadata?: Record<string, unknown> }> };
  const prefix = stagePrefix(template);
  const found: FoundAcknowledgement[] = [];
  for (const [logicalId, resource] of Object.entries(parsed.Resources ?? {})) {
    const nag = resource.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string; reason: string }> } | undefined;
    const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? logicalId);
    const path = cdkPath.startsWith(prefix) ? cdkPath.slice(prefix.length) : cdkPath;
    for (const rule of nag?.rules_to_suppress ?? []) found.push({ template: template.path, rule: rule.id, path, reason: rule.reason });
  }
  return found;
}

/** Acknowledgements of the templates that the allow-list does not hold (same rule, path and reason). */
export function unapprovedAcknowledgements(templates: readonly StackTemplate[], allowList: AllowList = readAllowList()): string[] {
  const problems: string[] = [];
  for (const template of templates) {
    const allowed = new Set(
      allowList.acknowledgements.map((a) =>
        key(a.rule.replaceAll('${account}', template.account).replaceAll('${region}', template.region), a.path, a.reason),
      ),
    );
    for (const ack of templateAcknowledgements(template)) {
      if (!allowed.has(key(ack.rule, ack.path, ack.reason))) {
        problems.push(`${ack.template}: ${ack.rule} acknowledged on ${ack.path} is not in the allow-list (reason: ${ack.reason})`);
      }
    }
  }
  return problems;
}

const key = (rule: string, path: string, reason: string) => JSON.stringify([rule, path, reason]);

/** The minimum packs missing from cdk.out/validation-report.json, or why it cannot be read. */
export function missingMinimumPacks(assemblyDir: string, allowList: AllowList = readAllowList()): string[] {
  const file = join(assemblyDir, 'validation-report.json');
  if (!existsSync(file)) return [`validation-report.json is missing: no cdk-nag pack ran (expected ${allowList.minimumPacks.join(', ')})`];
  const report = JSON.parse(readFileSync(file, 'utf8')) as { pluginReports?: Array<{ pluginName: string }> };
  const ran = new Set((report.pluginReports ?? []).map((p) => p.pluginName));
  return allowList.minimumPacks.filter((p) => !ran.has(p)).map((p) => `validation-report.json has no report of the minimum pack ${p}`);
}
