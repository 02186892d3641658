// The guardrail CLI: `npm run guardrail -- <command> ...`. See README.md beside this file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ATTESTATION_FILE, writeAttestation } from './attestation.js';
import { formatResult, writeReport } from './report.js';
import { resolveGuardrailToken, TOKEN_CONTEXT_KEY } from './token.js';
import { verifyAssembly } from './verify.js';

/** Exit codes: documented in README.md. */
export const EXIT_OK = 0;
export const EXIT_CHECKS_FAILED = 1;
export const EXIT_USAGE = 2;

/** The default report file name, written in the assembly directory; the attestation does not cover it. */
export const REPORT_FILE = 'guardrail-report.json';

const USAGE = `usage:
  guardrail verify <assembly-dir> [--report <file>] [--staging <stage>] [--production <stage>]
      token from GUARDRAIL_TOKEN; report defaults to <assembly-dir>/${REPORT_FILE};
      stages default to Staging and Production
  guardrail sign <assembly-dir>
      (re)writes <assembly-dir>/${ATTESTATION_FILE}; token from GUARDRAIL_TOKEN,
      else "${TOKEN_CONTEXT_KEY}" in ./cdk.json (what synth does)
exit codes: 0 all checks passed / signed, 1 a check failed, 2 usage or I/O error`;

export function main(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        report: { type: 'string' },
        staging: { type: 'string', default: 'Staging' },
        production: { type: 'string', default: 'Production' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const [command, assemblyDir, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  if (!command || !assemblyDir || extra.length > 0) return usageError('expected a command and one assembly directory');
  if (!existsSync(join(assemblyDir, 'manifest.json'))) {
    return usageError(`${assemblyDir} is not a cloud assembly (no manifest.json): run "npx cdk synth -q '**'" first`);
  }
  switch (command) {
    case 'verify': {
      const result = verifyAssembly({
        assemblyDir,
        env,
        stagingStage: parsed.values.staging,
        productionStage: parsed.values.production,
      });
      for (const line of formatResult(result)) console.log(line);
      const reportFile = parsed.values.report ?? join(assemblyDir, REPORT_FILE);
      try {
        writeReport(result, reportFile, new Date());
        console.log(`report: ${reportFile}`);
      } catch (error) {
        console.error(`guardrail: cannot write the report ${reportFile}: ${(error as Error).message}`);
        return EXIT_USAGE;
      }
      return result.ok ? EXIT_OK : EXIT_CHECKS_FAILED;
    }
    case 'sign': {
      try {
        const token = resolveGuardrailToken({ env, context: cdkJsonContext() });
        const attestation = writeAttestation(assemblyDir, token);
        console.log(
          `signed ${attestation.entries.length} entries with key id ${attestation.keyId}: ${join(assemblyDir, ATTESTATION_FILE)}`,
        );
        return EXIT_OK;
      } catch (error) {
        console.error(`guardrail: ${(error as Error).message}`);
        return EXIT_USAGE;
      }
    }
    default:
      return usageError(`unknown command "${command}"`);
  }
}

/** Reads context keys from ./cdk.json, the way `cdk synth` would see them by default. */
function cdkJsonContext(): (key: string) => unknown {
  return (key) => {
    if (!existsSync('cdk.json')) return undefined;
    const json = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context?: Record<string, unknown> };
    return json.context?.[key];
  };
}

function usageError(message: string): number {
  console.error(`guardrail: ${message}\n${USAGE}`);
  return EXIT_USAGE;
}

// Run only as a script (tsx pipeline/guardrail/cli.ts), not when a test imports main().
if (process.argv[1] && /[\\/]cli\.[cm]?[jt]s$/.test(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
