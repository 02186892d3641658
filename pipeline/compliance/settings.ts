import { existsSync, readFileSync } from 'node:fs';

/** compliance.minLogRetentionDays of ./cdk.json, else 30 (the configuration schema's default). */
export function configuredMinLogRetentionDays(cdkJson = 'cdk.json'): number {
  if (!existsSync(cdkJson)) return 30;
  const context = JSON.parse(readFileSync(cdkJson, 'utf8')).context ?? {};
  return Number(context.compliance?.minLogRetentionDays ?? 30);
}

/** The stages whose acknowledgements the allow-list governs (stacks under Pipeline/<Stage>/ or <Stage>/). */
export const STAGE_STACK = /^(Pipeline\/)?(Staging|Production)\//;

/** The accounts of ./cdk.json's pipeline, staging and production sections: the ones a role may trust. */
export function configuredAccounts(cdkJson = 'cdk.json'): string[] {
  if (!existsSync(cdkJson)) return [];
  const context = JSON.parse(readFileSync(cdkJson, 'utf8')).context ?? {};
  return [...new Set(['pipeline', 'staging', 'production'].map((section) => String(context[section]?.account ?? '')).filter((a) => /^\d{12}$/.test(a)))];
}
