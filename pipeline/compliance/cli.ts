// `npm run compliance [-- <assembly-dir>]`: the compliance profile over every
// template of a synthesized assembly (default cdk.out), the way CI and the Synth
// step run it (early feedback: the validator runs its own copy). See README.md beside this file.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { missingMinimumPacks, unapprovedAcknowledgements } from './acknowledgements.ts';
import { stackTemplates } from './assembly.ts';
import { checkTemplates, formatFinding } from './profile.ts';
import { configuredMinLogRetentionDays, STAGE_STACK } from './settings.ts';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'no-control-tower': { type: 'boolean', default: false },
      'min-log-retention-days': { type: 'string' },
    },
  });
  const assemblyDir = positionals[0] ?? 'cdk.out';
  const minLogRetentionDays = Number(values['min-log-retention-days'] ?? configuredMinLogRetentionDays());
  const started = Date.now();
  const templates = stackTemplates(assemblyDir);
  const findings = await checkTemplates(templates, {
    minLogRetentionDays,
    controlTower: !values['no-control-tower'],
    parallel: availableParallelism(),
  });
  const problems = [
    ...findings.map(formatFinding),
    ...missingMinimumPacks(assemblyDir),
    ...unapprovedAcknowledgements(templates.filter((t) => STAGE_STACK.test(t.displayName))),
  ];
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  for (const problem of problems) console.log(`FAIL ${problem}`);
  console.log(
    problems.length === 0
      ? `compliance: ${templates.length} templates clean (project Guard rules${values['no-control-tower'] ? '' : ', Control Tower'}, minimum packs, acknowledgements) in ${seconds} s`
      : `compliance: ${problems.length} problems in ${templates.length} templates (${seconds} s)`,
  );
  return problems.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`compliance: ${(error as Error).message}`);
    process.exit(2);
  },
);
