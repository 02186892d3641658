// cfn-guard, the policy engine of AWS CloudFormation Guard, as shipped (binary and
// Control Tower rule files) by the npm package @cdklabs/cdk-validator-cfnguard,
// pinned in package.json. Nothing is downloaded at run time.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Inside the validator's function the package is not installed: its bundle carries the binary and
// the rule files, and the enforcement stack names them (CFN_GUARD_BINARY, CONTROL_TOWER_RULES_DIR;
// lib/enforcement-code.ts). Everywhere else they are the installed package's.
const packageDir = (): string => dirname(createRequire(import.meta.url).resolve('@cdklabs/cdk-validator-cfnguard/package.json'));

/** The package's folder of Control Tower proactive-control rule files (one `ct-*.guard` per control). */
export const CONTROL_TOWER_RULES_DIR = process.env.CONTROL_TOWER_RULES_DIR ?? join(packageDir(), 'rules', 'control-tower', 'cfn-guard');

/**
 * The cfn-guard binary inside the package: bin/<ubuntu|macos>/<x86_64|aarch64>/cfn-guard
 * (the package calls every Linux "ubuntu"; the binary is static).
 */
export function guardBinary(): string {
  if (process.env.CFN_GUARD_BINARY) return process.env.CFN_GUARD_BINARY;
  const os = platform() === 'linux' ? 'ubuntu' : platform() === 'darwin' ? 'macos' : undefined;
  const cpu = arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : undefined;
  if (!os || !cpu) throw new Error(`cfn-guard: no binary for ${platform()}/${arch()} in @cdklabs/cdk-validator-cfnguard`);
  return join(packageDir(), 'bin', os, cpu, 'cfn-guard');
}

/** One failing rule on one template. */
export interface GuardFailure {
  /** The rule's name (`rule <name>` in its file). */
  readonly rule: string;
  /** The rule file, as given to cfn-guard. */
  readonly file: string;
  /** Logical ids of the resources the failing clauses point at (may be empty: a template-level rule). */
  readonly resources: readonly string[];
  /** The rule's own messages (`<< ... >>`), deduplicated. */
  readonly messages: readonly string[];
}

/** What to evaluate: one template against rule files, with parameters merged into the template. */
export interface GuardRun {
  readonly template: string;
  readonly rules: readonly string[];
  /** Extra data merged into the template's root (cfn-guard `--input-params`); keys must not collide with the template's. */
  readonly params?: Record<string, unknown>;
}

// cfn-guard exits 19 when a rule fails, 0 when all pass or skip; anything else is an error.
const GUARD_FAILED = 19;

// --structured: one JSON array of the reports and nothing else. The findings are the
// same as the plain JSON output's, and cfn-guard takes about a quarter less time to
// produce them (measured on the Tiers template with its 72 rule files: 3.4 s against
// 4.4 s).
function argsFor(run: GuardRun, paramsFile: string | undefined): string[] {
  return [
    'validate',
    '--structured',
    '--output-format', 'json',
    '--show-summary', 'none',
    '--data', run.template,
    ...(paramsFile ? ['--input-params', paramsFile] : []),
    ...run.rules.flatMap((r) => ['--rules', r]),
  ];
}

/** The run's parameters written to a temporary file for `--input-params` (none without parameters), and its removal. */
function paramsFile(run: GuardRun): { readonly path: string | undefined; remove(): void } {
  if (!run.params) return { path: undefined, remove: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'guard-params-'));
  const path = join(dir, 'params.json');
  writeFileSync(path, JSON.stringify(run.params));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// The result is a function of the template's bytes, the rule files and the
// parameters: remembered per process, so verifying the same templates twice (the
// guardrail's tests do, with other parts of the assembly tampered) runs cfn-guard once.
const results = new Map<string, GuardFailure[]>();

/** Runs cfn-guard and waits (the guardrail's verify is synchronous). */
export function runGuardSync(run: GuardRun): GuardFailure[] {
  if (run.rules.length === 0) return [];
  const key = createHash('sha256').update(readFileSync(run.template)).update(JSON.stringify([run.rules, run.params ?? null])).digest('hex');
  const known = results.get(key);
  if (known) return known;
  const params = paramsFile(run);
  let stdout: string;
  try {
    stdout = execFileSync(guardBinary(), argsFor(run, params.path), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    if (e.status !== GUARD_FAILED) throw new Error(`cfn-guard failed on ${run.template} (exit ${e.status}): ${e.stderr ?? ''}${e.stdout ?? ''}`.trim());
    stdout = e.stdout ?? '';
  } finally {
    params.remove();
  }
  const found = parseGuardOutput(stdout, ruleFilesByName(run.rules));
  results.set(key, found);
  return found;
}

/** Runs cfn-guard in a child process (`npm run compliance` runs templates in parallel). */
export async function runGuard(run: GuardRun): Promise<GuardFailure[]> {
  if (run.rules.length === 0) return [];
  const params = paramsFile(run);
  try {
    const stdout = await new Promise<string>((resolvePromise, reject) => {
      execFile(guardBinary(), argsFor(run, params.path), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (error, out, err) => {
        const code = error ? (error as { code?: number }).code : 0;
        if (code === 0 || code === GUARD_FAILED) resolvePromise(out);
        else reject(new Error(`cfn-guard failed on ${run.template} (exit ${code}): ${err}${out}`.trim()));
      });
    });
    return parseGuardOutput(stdout, ruleFilesByName(run.rules));
  } finally {
    params.remove();
  }
}

/** Rule name → file, from the top-level `rule <name>` declarations (parameterized helper rules never report). */
function ruleFilesByName(files: readonly string[]): Map<string, string> {
  const byName = new Map<string, string>();
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(/^rule\s+([A-Za-z0-9_]+)\s+(?:when|\{)/gm)) byName.set(match[1], file);
  }
  return byName;
}

/** Parses cfn-guard's structured output: a JSON array of reports, one per data file and rule file. */
export function parseGuardOutput(stdout: string, files: ReadonlyMap<string, string>): GuardFailure[] {
  const reports = JSON.parse(stdout) as unknown;
  if (!Array.isArray(reports)) throw new Error('cfn-guard: expected a JSON array of reports (--structured)');
  const failures: GuardFailure[] = [];
  for (const report of reports as Array<{ not_compliant?: Array<{ Rule?: unknown }> }>) {
    for (const entry of report.not_compliant ?? []) {
      const rule = entry.Rule as { name: string };
      const resources = new Set<string>();
      const messages = new Set<string>();
      collect(rule, resources, messages);
      failures.push({ rule: rule.name, file: files.get(rule.name) ?? '?', resources: [...resources].sort(), messages: [...messages] });
    }
  }
  return failures;
}

function collect(node: unknown, resources: Set<string>, messages: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) collect(item, resources, messages);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'path' && typeof value === 'string') {
      const match = /^\/Resources\/([^/]+)/.exec(value);
      if (match) resources.add(match[1]);
    } else if (key === 'custom_message' && typeof value === 'string' && value.trim()) {
      messages.add(value.replace(/\s+/g, ' ').trim());
    } else {
      collect(value, resources, messages);
    }
  }
}
