import { existsSync, readFileSync } from 'node:fs';

/** compliance.minLogRetentionDays of ./cdk.json, else 30 (the configuration schema's default). */
export function configuredMinLogRetentionDays(cdkJson = 'cdk.json'): number {
  if (!existsSync(cdkJson)) return 30;
  const context = JSON.parse(readFileSync(cdkJson, 'utf8')).context ?? {};
  return Number(context.compliance?.minLogRetentionDays ?? 30);
}

/** The stages whose acknowledgements the allow-list governs (stacks under Pipeline/<Stage>/ or <Stage>/). */
export const STAGE_STACK = /^(Pipeline\/)?(Staging|Production)\//;
