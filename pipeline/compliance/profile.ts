// The compliance profile run on the final templates: the project's own Guard rules
// (rules/*.guard) and AWS Control Tower's proactive controls (the rule files of
// @cdklabs/cdk-validator-cfnguard), minus the controls disabled, with a reason, in
// control-tower-disabled.json. Plus the checks Guard cannot express (hand-written.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resourceTypes, type StackTemplate } from './assembly.ts';
import { CONTROL_TOWER_RULES_DIR, type GuardFailure, type GuardRun, runGuard, runGuardSync } from './guard.ts';
import { handWrittenProblems } from './hand-written.ts';

export const COMPLIANCE_DIR = import.meta.dirname;
// In the validator's function these files sit where the enforcement stack says (its bundle has no
// pipeline/compliance folder: lib/enforcement-code.ts); everywhere else, in this folder.
export const PROJECT_RULES_DIR = process.env.PROJECT_RULES_DIR ?? join(COMPLIANCE_DIR, 'rules');
const CONTROL_TOWER_DISABLED_FILE = process.env.CONTROL_TOWER_DISABLED_FILE ?? join(COMPLIANCE_DIR, 'control-tower-disabled.json');

/** A Control Tower control turned off, and why; for the listed stacks only, or for all. */
export interface DisabledControl {
  /** The rule file's name without `.guard`, e.g. `ct-codebuild-pr-3`. */
  readonly control: string;
  /** Construct paths (display names) of the stacks it is disabled for, or prefixes ending in `/`. @default - every stack */
  readonly stacks?: readonly string[];
  readonly reason: string;
}

export function disabledControls(): DisabledControl[] {
  return JSON.parse(readFileSync(CONTROL_TOWER_DISABLED_FILE, 'utf8')).disabled;
}

function guardFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return guardFiles(path);
    return name.endsWith('.guard') ? [path] : [];
  });
}

export const projectRuleFiles = (): string[] => guardFiles(PROJECT_RULES_DIR).sort();

let controlTowerTypes: Map<string, Set<string>> | undefined;
/** Each Control Tower rule file with the resource types it mentions (read once). */
function controlTowerRules(): Map<string, Set<string>> {
  controlTowerTypes ??= new Map(
    guardFiles(CONTROL_TOWER_RULES_DIR).map((file) => [file, new Set(readFileSync(file, 'utf8').match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? [])]),
  );
  return controlTowerTypes;
}

/** Every Control Tower control the package ships (rule file names without `.guard`). */
export const controlTowerControls = (): string[] => [...controlTowerRules().keys()].map((f) => basename(f, '.guard')).sort();

const appliesTo = (d: DisabledControl, stack: string) => !d.stacks || d.stacks.some((s) => (s.endsWith('/') ? stack.startsWith(s) : stack === s));

/**
 * The Control Tower rule files to run on a template: those that mention a resource
 * type the template declares (the others can only skip, and cfn-guard's time grows
 * with the rules it loads), minus the disabled ones.
 */
export function controlTowerRulesFor(template: StackTemplate, disabled: readonly DisabledControl[] = disabledControls()): string[] {
  const types = resourceTypes(template.file);
  const off = new Set(disabled.filter((d) => appliesTo(d, template.displayName)).map((d) => d.control));
  return [...controlTowerRules()]
    .filter(([file, mentioned]) => !off.has(basename(file, '.guard')) && [...mentioned].some((t) => types.has(t)))
    .map(([file]) => file)
    .sort();
}

/** Options of a compliance run. */
export interface ProfileOptions {
  /** The shortest log retention allowed (days). */
  readonly minLogRetentionDays: number;
  /** Run the Control Tower controls too. @default true */
  readonly controlTower?: boolean;
}

/** One finding: a rule that fails on a template, and the resources it points at. */
export interface Finding {
  readonly template: string;
  /** `project:<rule>`, `control-tower:<ct-file>:<rule>` or `hand-written:<check>`. */
  readonly rule: string;
  readonly resources: readonly string[];
  readonly description: string;
}

function guardRun(template: StackTemplate, options: ProfileOptions): GuardRun {
  return {
    template: template.file,
    rules: [...projectRuleFiles(), ...(options.controlTower === false ? [] : controlTowerRulesFor(template))],
    params: { Compliance: { MinLogRetentionDays: options.minLogRetentionDays, ContainerImages: template.images } },
  };
}

let descriptions: Map<string, string> | undefined;
/** A project rule's description: the `# [PROJECT.X.N] ...` comment above it. */
function describeRule(failure: GuardFailure): string {
  descriptions ??= new Map(
    projectRuleFiles().flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^# (\[PROJECT\.[A-Z0-9.]+\][^\n]*)\nrule ([A-Za-z0-9_]+)/gm)].map((m) => [m[2], m[1]] as [string, string]),
    ),
  );
  return descriptions.get(failure.rule) ?? failure.messages[0] ?? failure.rule;
}

function toFindings(template: StackTemplate, failures: readonly GuardFailure[]): Finding[] {
  const found = failures.map((f) => ({
    template: template.path,
    rule: f.file.startsWith(PROJECT_RULES_DIR) ? `project:${f.rule}` : `control-tower:${basename(f.file, '.guard')}:${f.rule}`,
    resources: f.resources,
    description: describeRule(f),
  }));
  const hand = handWrittenProblems(template).map((p) => ({ template: template.path, rule: `hand-written:${p.check}`, resources: p.resources, description: p.description }));
  return [...found, ...hand];
}

/** Runs the profile on the templates one after the other (the guardrail's verify is synchronous). */
export function checkTemplatesSync(templates: readonly StackTemplate[], options: ProfileOptions): Finding[] {
  return templates.flatMap((t) => toFindings(t, runGuardSync(guardRun(t, options))));
}

/** Runs the profile on the templates, `parallel` cfn-guard processes at a time. */
export async function checkTemplates(templates: readonly StackTemplate[], options: ProfileOptions & { readonly parallel: number }): Promise<Finding[]> {
  const results: Finding[][] = new Array(templates.length);
  let next = 0;
  const worker = async () => {
    while (next < templates.length) {
      const i = next++;
      results[i] = toFindings(templates[i], await runGuard(guardRun(templates[i], options)));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel) }, worker));
  return results.flat();
}

/** `template: rule on A, B: description`, one line per finding. */
export function formatFinding(f: Finding): string {
  const where = f.resources.length ? ` on ${f.resources.join(', ')}` : '';
  return `${f.template}: ${f.rule}${where}: ${f.description}`;
}
