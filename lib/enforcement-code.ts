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
  /** With `from` a folder: copy only the files it accepts. @default every file */
  readonly filter?: (source: string) => boolean;
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

/**
 * Packages the validator loads at run time rather than from its bundle: `CfnInclude` (aws-cdk-lib's
 * cloudformation-include) requires each resource type's L1 module by name as it reads a template,
 * which no bundler can follow, so aws-cdk-lib, cdk-nag and their dependencies are installed beside
 * the bundle in its `node_modules` (test/enforcement/validator-bundle.test.ts runs the bundle
 * outside the repository).
 */
export const VALIDATOR_RUNTIME_PACKAGES = ['aws-cdk-lib', 'cdk-nag', 'constructs'] as const;

/** Each package's folder and those of its dependencies, resolved as Node resolves them. */
function packageClosure(names: readonly string[], from = REPO_ROOT, seen = new Map<string, string>()): Map<string, string> {
  for (const name of names) {
    if (seen.has(name)) continue;
    const dir = installedPackageDir(name, from);
    // A dependency nested in another package's node_modules travels with that package.
    if (dir.slice(path.join(REPO_ROOT, 'node_modules').length + 1).includes(`${path.sep}node_modules${path.sep}`)) continue;
    seen.set(name, dir);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    packageClosure([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})], dir, seen);
  }
  return seen;
}

/** Where Node finds package `name` from folder `from`: the nearest node_modules/<name> up to the repository's. */
function installedPackageDir(name: string, from: string): string {
  for (let dir = from; dir.startsWith(REPO_ROOT); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`${name} (needed by ${from}) is not installed in the repository's node_modules`);
}

/** The validator's runtime packages as files to copy: code and data only (no types, docs or jsii metadata). */
function runtimePackageFiles(): ExtraFile[] {
  return [...packageClosure(VALIDATOR_RUNTIME_PACKAGES)].map(([name, dir]) => ({ to: path.join('node_modules', name), from: dir, filter: runtimeFile }));
}

const runtimeFile = (source: string): boolean => !/(\.d\.ts|\.md|\.map|\/\.jsii(\.gz|\.tabl\.json\.gz)?)$/.test(source);

/** The validator's files: cfn-guard, the project's rules, Control Tower's rules, the allow-lists, its configuration. */
export function validatorFiles(configJson: string): ExtraFile[] {
  const allowances = path.join(ENFORCEMENT_DIR, 'allowances.json');
  return [
    { to: VALIDATOR_FILES.VALIDATOR_CONFIG_FILE, text: configJson },
    { to: VALIDATOR_FILES.CFN_GUARD_BINARY, from: CFN_GUARD_LINUX_BINARY },
    { to: VALIDATOR_FILES.PROJECT_RULES_DIR, from: PROJECT_RULES_DIR },
    { to: VALIDATOR_FILES.CONTROL_TOWER_RULES_DIR, from: CONTROL_TOWER_RULES_DIR },
    { to: VALIDATOR_FILES.CONTROL_TOWER_DISABLED_FILE, from: path.join(COMPLIANCE_DIR, 'control-tower-disabled.json') },
    // The validator's own allow-list (enforcement/compliance), not the commit's early-feedback copy.
    { to: VALIDATOR_FILES.ACKNOWLEDGEMENTS_FILE, from: path.join(ENFORCEMENT_DIR, 'compliance', 'acknowledgements.json') },
    // C4's statement of what may differ between the stages; absent, the validator fails closed.
    ...(existsSync(allowances) ? [{ to: VALIDATOR_FILES.ALLOWANCES_FILE, from: allowances }] : []),
    ...runtimePackageFiles(),
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
        // The packages installed beside the bundle (and their subpaths) stay imports of node_modules.
        external: extra.filter(isInstalledPackage).map((file) => file.to.slice('node_modules/'.length)),
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
    // An installed package is named by its version (package-lock.json is hashed too): reading all
    // of aws-cdk-lib at every synth would cost more than the bundling it saves.
    if (file.from && isInstalledPackage(file)) hash.update(readFileSync(path.join(file.from, 'package.json')));
    else if (file.from) hashInto(hash, file.from);
  }
}

const isInstalledPackage = (file: ExtraFile): boolean => file.to.startsWith(`node_modules${path.sep}`);

/** Writes `extra` files (copies keep their mode: cfn-guard stays executable). */
export function writeExtraFiles(outputDir: string, extra: readonly ExtraFile[]): void {
  for (const file of extra) {
    const to = path.join(outputDir, file.to);
    mkdirSync(path.dirname(to), { recursive: true });
    if (file.text !== undefined) writeFileSync(to, file.text);
    else cpSync(file.from!, to, { recursive: true, ...(file.filter ? { filter: file.filter } : {}) });
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
