// The deploy checks CLI: `npm run checks -- <deploy|health> [flags]`. See README.md beside this file.
import { parseCommandLine, usage, type Invocation } from './args.ts';
import { destroyAwsClients } from './aws-clients.ts';
import { runChecks, type Check, type CheckResult } from './check.ts';
import { mergeSettings, parseDeployConfig, parseHealthConfig, UsageError } from './config.ts';
import { deployChecks } from './deploy/index.ts';
import { applyAllowMissing } from './health/missing.ts';
import { healthChecks } from './health/index.ts';
import { readStackOutputs } from './stack-outputs.ts';
import { EXIT_USAGE, exitCode, formatResult, formatSummary } from './report.ts';

interface Plan {
  readonly checks: Check[];
  /** Turns the raw results into the reported ones. */
  readonly finish: (results: CheckResult[]) => CheckResult[];
}

async function plan(invocation: Extract<Invocation, { help: false }>, env: NodeJS.ProcessEnv): Promise<Plan> {
  const stackOutputs = invocation.stack === undefined ? {} : await readStackOutputs(invocation.stack);
  const settings = mergeSettings(env, invocation.overrides, stackOutputs);
  if (invocation.command === 'deploy') return { checks: deployChecks(parseDeployConfig(settings)), finish: (results) => results };
  const config = parseHealthConfig(settings, invocation.allowMissing);
  return { checks: healthChecks(config), finish: (results) => applyAllowMissing(results, config.allowMissing) };
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let invocation: Extract<Invocation, { help: false }>;
  let planned: Plan;
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.help) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    invocation = parsed;
    planned = await plan(invocation, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`checks: ${error.message.split('\n').join('\nchecks: ')}\n(npm run checks -- --help for usage)\n`);
    return EXIT_USAGE;
  }

  try {
    // Progress on stderr (a check may wait minutes); the results, one line each, on stdout.
    const raw = await runChecks(planned.checks, (name) => process.stderr.write(`… ${name}\n`));
    const results = planned.finish(raw);
    for (const result of results) process.stdout.write(`${formatResult(result)}\n`);
    process.stdout.write(`${formatSummary(invocation.command, results)}\n`);
    return exitCode(results);
  } finally {
    destroyAwsClients();
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`checks: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
