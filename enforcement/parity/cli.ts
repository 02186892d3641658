// `node enforcement/parity/cli.ts [cdk.out]`: the validator's template parity, run locally on a
// synthesized assembly's two stages (Pipeline/Staging and Pipeline/Production, or the sandbox's
// Staging and Production) under the repository's allowances. Exit 0 equal, 1 a difference,
// 2 unusable input. The validator decides from the templates it reads itself; this is the same
// comparison, for a developer before pushing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllowances } from '../allowances.ts';
import { compareStages, describeDifferences, type StageTemplates } from './index.ts';

/** One stage of an assembly: its stacks' templates by stage-relative id, and the Tiers stack's environment. */
export function stageOfAssembly(root: string, stage: string): StageTemplates {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { directoryName?: string; displayName?: string } }> };
  const nested = Object.values(manifest.artifacts).find((a) => a.type === 'cdk:cloud-assembly' && a.properties?.displayName?.split('/').pop() === stage);
  if (!nested?.properties?.directoryName) throw new Error(`${root}: no ${stage} stage in the assembly`);
  const dir = join(root, nested.properties.directoryName);
  const inner = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; environment?: string; displayName?: string; properties?: { templateFile?: string } }>;
  };
  const templates: Record<string, object> = {};
  let env: { account: string; region: string } | undefined;
  for (const artifact of Object.values(inner.artifacts)) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const stackId = (artifact.displayName ?? '').split('/').pop()!;
    templates[stackId] = JSON.parse(readFileSync(join(dir, artifact.properties.templateFile), 'utf8'));
    const match = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(artifact.environment ?? '');
    if (match && stackId === 'Tiers') env = { account: match[1]!, region: match[2]! };
  }
  if (!env) throw new Error(`${dir}: no Tiers stack with an environment`);
  return { ...env, templates };
}

if (import.meta.main) {
  const root = process.argv[2] ?? 'cdk.out';
  try {
    const allowances = loadAllowances();
    const result = compareStages({ staging: stageOfAssembly(root, allowances.stages.staging), production: stageOfAssembly(root, allowances.stages.production), allowances });
    if (result.ok) console.log(`PASS template parity: production equals staging but for what enforcement/allowances.json allows`);
    else {
      console.log(`FAIL template parity: ${result.differences.length} difference(s) beyond enforcement/allowances.json`);
      for (const line of describeDifferences(result.differences)) console.log(`  - ${line}`);
    }
    process.exit(result.ok ? 0 : 1);
  } catch (error) {
    console.error(`unusable input: ${(error as Error).message}`);
    process.exit(2);
  }
}
