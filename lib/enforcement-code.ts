// The enforcement's function code: each handler bundled in process by esbuild (no Docker), with
// the files it reads beside it. Asset hashes are computed from the inputs, so the bundling runs
// once per change, not once per synth.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync } from 'esbuild';
import { localBundling } from '../constructs/local-bundling';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** The enforcement's programs (ES modules, like pipeline/). */
const ENFORCEMENT_DIR = path.join(REPO_ROOT, 'enforcement');
/** The project's Guard rules. */
export const PROJECT_RULES_DIR = path.join(REPO_ROOT, 'pipeline', 'compliance', 'rules');
const COMPLIANCE_DIR = path.join(REPO_ROOT, 'pipeline', 'compliance');
const CFN_GUARD_PACKAGE = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
/** cfn-guard's static linux x86_64 binary, as the npm package ships it (the functions run on x86_64). */
const CFN_GUARD_LINUX_BINARY = path.join(CFN_GUARD_PACKAGE, 'bin', 'ubuntu', 'x86_64', 'cfn-guard');
/** The package's Control Tower proactive-control rule files. */
export const CONTROL_TOWER_RULES_DIR = path.join(CFN_GUARD_PACKAGE, 'rules', 'control-tower', 'cfn-guard');

/** A file to write beside a handler: a path inside the bundle and its content or source. */
export interface ExtraFile {
  readonly to: string;
  readonly from?: string;
  readonly text?: string;
}

/**
 * Where the validator finds what it reads, inside its bundle (/var/task): passed to it as
 * environment variables named here.
 */
export const VALIDATOR_FILES = {
  VALIDATOR_CONFIG_FILE: 'validator-config.json',
  CFN_GUARD_BINARY: 'bin/cfn-guard',
  PROJECT_RULES_DIR: 'rules/project',
  CONTROL_TOWER_RULES_DIR: 'rules/control-tower',
  CONTROL_TOWER_DISABLED_FILE: 'rules/control-tower-disabled.json',
  ACKNOWLEDGEMENTS_FILE: 'rules/acknowledgements.json',
  ALLOWANCES_FILE: 'allowances.json',
} as const;

/** The validator's files: cfn-guard, the project's rules, Control Tower's rules, the allow-lists, its configuration. */
export function validatorFiles(configJson: string): ExtraFile[] {
  const allowances = path.join(ENFORCEMENT_DIR, 'allowances.json');
  return [
    { to: VALIDATOR_FILES.VALIDATOR_CONFIG_FILE, text: configJson },
    { to: VALIDATOR_FILES.CFN_GUARD_BINARY, from: CFN_GUARD_LINUX_BINARY },
    { to: VALIDATOR_FILES.PROJECT_RULES_DIR, from: PROJECT_RULES_DIR },
    { to: VALIDATOR_FILES.CONTROL_TOWER_RULES_DIR, from: CONTROL_TOWER_RULES_DIR },
    { to: VALIDATOR_FILES.CONTROL_TOWER_DISABLED_FILE, from: path.join(COMPLIANCE_DIR, 'control-tower-disabled.json') },
    { to: VALIDATOR_FILES.ACKNOWLEDGEMENTS_FILE, from: path.join(COMPLIANCE_DIR, 'acknowledgements.json') },
    // C4's statement of what may differ between the stages; absent, the validator fails closed.
    ...(existsSync(allowances) ? [{ to: VALIDATOR_FILES.ALLOWANCES_FILE, from: allowances }] : []),
  ];
}

/**
 * The code of a function whose handler is `entry` (a file under enforcement/), bundled as one ES
 * module `index.mjs` (handler `index.handler`), with `extra` files beside it.
 */
export function bundledCode(entry: string, runtime: lambda.Runtime, extra: readonly ExtraFile[] = []): lambda.Code {
  const major = /nodejs(\d+)/.exec(runtime.name)?.[1] ?? '22';
  const hash = createHash('sha256').update(entry).update(major);
  for (const file of [ENFORCEMENT_DIR, path.join(REPO_ROOT, 'package-lock.json')]) hashInto(hash, file);
  hashExtraFiles(hash, extra);
  return lambda.Code.fromAsset(ENFORCEMENT_DIR, {
    assetHashType: AssetHashType.CUSTOM,
    assetHash: hash.digest('hex'),
    bundling: localBundling((outputDir) => {
      buildSync({
        entryPoints: [path.join(ENFORCEMENT_DIR, entry)],
        outfile: path.join(outputDir, 'index.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: `node${major}`,
        // CommonJS dependencies inside an ES module bundle call require(): give them one.
        banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
        logLevel: 'warning',
      });
      writeExtraFiles(outputDir, extra);
    }),
  });
}

/** Adds `extra` files' paths and contents to `hash`, in their order. */
export function hashExtraFiles(hash: ReturnType<typeof createHash>, extra: readonly ExtraFile[]): void {
  for (const file of extra) {
    hash.update(file.to);
    if (file.text !== undefined) hash.update(file.text);
    if (file.from) hashInto(hash, file.from);
  }
}

/** Writes `extra` files (copies keep their mode: cfn-guard stays executable). */
export function writeExtraFiles(outputDir: string, extra: readonly ExtraFile[]): void {
  for (const file of extra) {
    const to = path.join(outputDir, file.to);
    mkdirSync(path.dirname(to), { recursive: true });
    if (file.text !== undefined) writeFileSync(to, file.text);
    else cpSync(file.from!, to, { recursive: true });
  }
}

/** Adds a file's, or a directory's, names and contents to `hash` (sorted, so the order is stable). */
function hashInto(hash: ReturnType<typeof createHash>, file: string): void {
  if (!existsSync(file)) return;
  if (statSync(file).isDirectory()) {
    for (const name of readdirSync(file).sort()) {
      if (name === 'node_modules') continue;
      hash.update(name);
      hashInto(hash, path.join(file, name));
    }
  } else {
    hash.update(readFileSync(file));
  }
}
