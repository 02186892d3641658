// The guardrail CLI: `npm run guardrail -- <command> ...`. See README.md beside this file.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ATTESTATION_FILE, COMMIT_PATTERN, type StageConfig, writeAttestation } from './attestation.ts';
import { DEFAULT_PIPELINE_STACK, runGate } from './gate.ts';
import { formatResult, safeLine, writeReport } from './report.ts';
import { readJson, realRoot, UnusableInputError } from './safe-fs.ts';
import { GuardrailTokenError, signingKey } from './token.ts';
import { EXECUTION_ENV_VAR, verifyAssembly } from './verify.ts';

/** Exit codes: documented in README.md. */
export const EXIT_OK = 0;
export const EXIT_CHECKS_FAILED = 1;
export const EXIT_USAGE = 2;

/** The default report file name, written in the assembly directory; the attestation does not cover it. */
export const REPORT_FILE = 'guardrail-report.json';

const USAGE = `usage:
  guardrail sign <assembly-dir> --release <commit> [--config <cdk.json>] [--staging <stage>] [--production <stage>]
      signs the assembly for the commit: writes <assembly-dir>/${ATTESTATION_FILE}; token from
      GUARDRAIL_TOKEN; ${EXECUTION_ENV_VAR} is bound in when set; --config records the stages'
      per-stage settings (context.<stage> of cdk.json) for the structural template parity
  guardrail verify <assembly-dir> --release <commit> [--report <file>] [--staging <stage>] [--production <stage>]
      tokens from GUARDRAIL_TOKEN and, during a rotation, GUARDRAIL_PREVIOUS_TOKEN;
      report defaults to <assembly-dir>/${REPORT_FILE}; stages default to Staging and Production
  guardrail gate --deployed <template.json> --synthesized <assembly-dir> [--stack <name>] [--approved <sha256>]...
      the self-mutation gate; --stack defaults to ${DEFAULT_PIPELINE_STACK}; --approved takes digests,
      repeated or comma/space-separated
exit codes: 0 pass, 1 a check failed (or a change is not approved), 2 unusable input or usage error`;

export function main(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        release: { type: 'string' },
        report: { type: 'string' },
        config: { type: 'string' },
        staging: { type: 'string', default: 'Staging' },
        production: { type: 'string', default: 'Production' },
        deployed: { type: 'string' },
        synthesized: { type: 'string' },
        stack: { type: 'string', default: DEFAULT_PIPELINE_STACK },
        approved: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values } = parsed;
  const [command, ...positionals] = parsed.positionals;
  if (values.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  try {
    switch (command) {
      case 'sign':
      case 'verify': {
        if (positionals.length !== 1) return usageError(`${command} takes one assembly directory`);
        if (!values.release || !COMMIT_PATTERN.test(values.release)) {
          return usageError('--release <commit> is required: the full git commit id (40 or 64 lowercase hex)');
        }
        const assemblyDir = realRoot(positionals[0]!);
        return command === 'sign'
          ? sign(assemblyDir, values.release, values.config, values.staging, values.production, env)
          : verify(assemblyDir, values.release, values.report, values.staging, values.production, env);
      }
      case 'gate': {
        if (positionals.length !== 0 || !values.deployed || !values.synthesized) {
          return usageError('gate takes --deployed <template.json> and --synthesized <assembly-dir>');
        }
        const approved = (values.approved ?? []).flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
        const bad = approved.find((d) => !/^[0-9a-f]{64}$/.test(d));
        if (bad !== undefined) return usageError(`--approved ${JSON.stringify(bad)} is not a SHA-256 digest (64 lowercase hex)`);
        return gate(values.deployed, values.synthesized, values.stack, approved);
      }
      default:
        return usageError(command ? `unknown command "${command}"` : 'expected a command');
    }
  } catch (error) {
    if (error instanceof UnusableInputError || error instanceof GuardrailTokenError) {
      console.error(safeLine(`guardrail: ${error.message}`));
      return EXIT_USAGE;
    }
    console.error(safeLine(`guardrail: ${(error as Error).message}`));
    return EXIT_USAGE;
  }
}

function sign(
  assemblyDir: string,
  commit: string,
  configFile: string | undefined,
  staging: string,
  production: string,
  env: NodeJS.ProcessEnv,
): number {
  const key = signingKey(env);
  const stageConfig = configFile === undefined ? undefined : readStageConfig(configFile, staging, production);
  const executionId = env[EXECUTION_ENV_VAR];
  const attestation = writeAttestation(assemblyDir, key, {
    release: { commit, pipelineExecutionId: executionId === undefined || executionId === '' ? null : executionId },
    ...(stageConfig ? { stageConfig } : {}),
  });
  console.log(
    `signed ${attestation.entries.length} entries for commit ${commit} with key id ${attestation.keyId}: ${join(assemblyDir, ATTESTATION_FILE)}`,
  );
  return EXIT_OK;
}

/** `context.<staging>` and `context.<production>` (stage names lowercased) of a cdk.json. */
function readStageConfig(file: string, staging: string, production: string): StageConfig {
  let data: unknown;
  try {
    data = readJson(resolve(file), file);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UnusableInputError(error.message);
    throw error;
  }
  const context = (data as { context?: Record<string, unknown> } | null)?.context;
  const [s, p] = [context?.[staging.toLowerCase()], context?.[production.toLowerCase()]];
  if (s === undefined || p === undefined) {
    throw new UnusableInputError(`${file}: no context.${staging.toLowerCase()} and context.${production.toLowerCase()}`);
  }
  return { staging: s, production: p };
}

function verify(
  assemblyDir: string,
  release: string,
  report: string | undefined,
  staging: string,
  production: string,
  env: NodeJS.ProcessEnv,
): number {
  const reportFile = report ? resolve(report) : join(assemblyDir, REPORT_FILE);
  let result;
  try {
    result = verifyAssembly({ assemblyDir, release, env, stagingStage: staging, productionStage: production });
  } catch (error) {
    if (!(error instanceof UnusableInputError)) throw error;
    console.error(safeLine(`guardrail: unusable input: ${error.message}`));
    tryWriteReport({ ok: false, assemblyDir, release, error: error.message }, reportFile);
    return EXIT_USAGE;
  }
  for (const line of formatResult(result)) console.log(line);
  try {
    writeReport(result, reportFile, new Date());
    console.log(`report: ${reportFile}`);
  } catch (error) {
    console.error(safeLine(`guardrail: cannot write the report ${reportFile}: ${(error as Error).message}`));
    return EXIT_USAGE;
  }
  return result.ok ? EXIT_OK : EXIT_CHECKS_FAILED;
}

function tryWriteReport(report: object, file: string): void {
  try {
    writeReport(report, file, new Date());
  } catch (error) {
    console.error(safeLine(`guardrail: cannot write the report ${file}: ${(error as Error).message}`));
  }
}

function gate(deployedFile: string, synthesizedDir: string, stack: string, approved: readonly string[]): number {
  const result = runGate({ deployedFile, synthesizedDir, stack, approved });
  if (result.outcome === 'unchanged') {
    console.log(`PASS gate: ${result.template} equals the deployed pipeline stack up to asset hashes (digest ${result.digest})`);
    return EXIT_OK;
  }
  const changes = result.changes.map((c) => `       - ${safeLine(c)}`);
  if (result.outcome === 'approved') {
    console.log(`PASS gate: ${result.template} changes the pipeline stack; its digest ${result.digest} is approved`);
    for (const line of changes) console.log(line);
    return EXIT_OK;
  }
  console.log(`FAIL gate: ${result.template} changes the pipeline stack beyond asset hashes, and is not approved`);
  for (const line of changes) console.log(line);
  console.log(`to approve this change, add its digest to the approved digests: ${result.digest}`);
  return EXIT_CHECKS_FAILED;
}

function usageError(message: string): number {
  console.error(`guardrail: ${safeLine(message)}\n${USAGE}`);
  return EXIT_USAGE;
}

// Run only as a script (node pipeline/guardrail/cli.ts), not when a test imports main().
if (import.meta.main) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
