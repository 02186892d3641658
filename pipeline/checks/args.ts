// The command line: `checks <deploy|health> [--<variable> value ...] [--allow-missing]`.
import { parseArgs } from 'node:util';
import { UsageError } from './config.ts';
import { DEPLOY_VARIABLES, HEALTH_VARIABLES, VARIABLES, flagName, type VariableName } from './variables.ts';

export const COMMANDS = {
  deploy: { variables: DEPLOY_VARIABLES, summary: 'post-deploy checks: health, latency, fresh version through the edge, jobs' },
  health: { variables: HEALTH_VARIABLES, summary: 'pre-deployment health of a running stage: targets, ECS services, edge' },
} as const;

export type CommandName = keyof typeof COMMANDS;

export type Invocation =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly command: CommandName;
      /** Flag values, keyed by the variable they override. */
      readonly overrides: Readonly<Partial<Record<VariableName, string>>>;
      readonly allowMissing: boolean;
      /** A CloudFormation stack whose outputs fill the variables (under the flags, over the environment). */
      readonly stack: string | undefined;
    };

export function parseCommandLine(argv: readonly string[]): Invocation {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { help: true };
  if (!isCommand(command)) throw new UsageError(`unknown command "${command}": expected one of ${Object.keys(COMMANDS).join(', ')}`);

  const { variables } = COMMANDS[command];
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, stack: { type: 'string' } };
  for (const variable of variables) options[flagName(variable)] = { type: 'string' };
  if (command === 'health') options['allow-missing'] = { type: 'boolean' };

  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...rest], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (values.help) return { help: true };

  const overrides: Partial<Record<VariableName, string>> = {};
  for (const variable of variables) {
    const value = values[flagName(variable)];
    if (typeof value === 'string') overrides[variable] = value;
  }
  const stack = typeof values.stack === 'string' ? values.stack : undefined;
  return { help: false, command, overrides, allowMissing: values['allow-missing'] === true, stack };
}

function isCommand(value: string): value is CommandName {
  return Object.hasOwn(COMMANDS, value);
}

export function usage(): string {
  const lines = ['usage: npm run checks -- <command> [--<variable> <value> ...]', '', 'commands:'];
  for (const [name, { summary }] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)}${summary}`);
  lines.push('  health --allow-missing: a stage that does not exist at all (first release) is SKIP, not FAIL');
  lines.push('  --stack NAME: read the variables from that CloudFormation stack\'s outputs (a flag still wins)', '');
  lines.push('variables (each also a flag: EDGE_URL ↔ --edge-url; a flag overrides the environment):');
  for (const [name, description] of Object.entries(VARIABLES)) lines.push(`  ${name.padEnd(28)}${description}`);
  lines.push('', 'exit codes: 0 every check passed or was skipped, 1 a check failed, 2 bad usage or configuration');
  return lines.join('\n');
}
