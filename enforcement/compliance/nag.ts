// cdk-nag run by the validator itself, over the templates it received: each template is
// loaded with `CfnInclude` into an App of the validator's own and the packs walk it (cdk-nag
// 3.0.2 README, "Using on CloudFormation templates"). No acknowledgement of the commit's
// counts: cdk-nag 3 only honours acknowledgements recorded on constructs of the app it walks
// (NagPack.isAcknowledged reads Validations metadata), and this app records none; the
// `cdk_nag` metadata the commit wrote into its templates is data here, never read. Every
// finding comes back and is held to the validator's own allow-list (allow-list.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Static imports, so esbuild bundles aws-cdk-lib and cdk-nag into the validator's one file: the
// function's code has no node_modules (lib/enforcement-code.ts; test/enforcement/validator-bundle.test.ts
// loads the bundle outside the repository).
import * as cdk from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import * as nag from 'cdk-nag';
import { flattenCfnReference as flatten } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';

/** The packs the validator runs: the profile's minimum (lib/config.ts refuses a configuration without them). */
export const NAG_PACKS = ['AwsSolutions', 'NIST.800.53.R5'] as const;

/** A template to audit, under its stack id. */
export interface NagInput {
  readonly stackId: string;
  readonly account: string;
  readonly region: string;
  readonly template: Record<string, unknown>;
}

/** An IAM statement as an acknowledgement names it: its actions, and its resources flattened as cdk-nag writes them. */
export interface StatementSummary {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** One cdk-nag finding on one resource. */
export interface NagFinding {
  readonly stackId: string;
  readonly logicalId: string;
  /** The resource's type. */
  readonly type: string;
  /** The rule id as cdk-nag reports it, with its granular finding: `AwsSolutions-IAM5[Resource::*]`. */
  readonly finding: string;
  readonly severity: string;
  /**
   * For a wildcard-permission finding (IAM5), every Allow statement of the resource's
   * policies that produces it: what an acknowledgement of it must name exactly.
   */
  readonly statements?: readonly StatementSummary[];
}

interface Violation {
  readonly ruleName: string;
  readonly severity: string;
  readonly violatingResources: ReadonlyArray<{ readonly constructPath: string }>;
}

/**
 * Intrinsics CfnInclude (aws-cdk-lib 2.273) cannot load, replaced by a string for the cdk-nag
 * run only (Guard sees the template as received): `Fn::GetStackOutput`, CDK's weak cross-stack
 * (here cross-region) reference, reads another stack's output.
 */
function includable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(includable);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0][0] === 'Fn::GetStackOutput') return `Fn::GetStackOutput:${JSON.stringify(entries[0][1])}`;
  return Object.fromEntries(entries.map(([k, v]) => [k, includable(v)]));
}

/** Runs the minimum cdk-nag packs over the templates; throws when a template cannot be loaded. */
export function nagFindings(inputs: readonly NagInput[]): NagFinding[] {
  const dir = mkdtempSync(join(tmpdir(), 'validator-nag-'));
  try {
    const app = new cdk.App();
    const stacks = inputs.map((input) => {
      const file = join(dir, `${input.stackId}.template.json`);
      writeFileSync(file, JSON.stringify(includable(input.template)));
      const stack = new cdk.Stack(app, input.stackId, { env: { account: input.account, region: input.region } });
      try {
        new CfnInclude(stack, 'Template', { templateFile: file });
      } catch (error) {
        throw new Error(`cdk-nag: the ${input.stackId} template cannot be loaded with CfnInclude: ${(error as Error).message}`);
      }
      return { input, stack };
    });
    const findings: NagFinding[] = [];
    for (const Pack of [nag.AwsSolutionsChecks, nag.NIST80053R5Checks]) {
      const pack = new Pack();
      for (const { input, stack } of stacks) {
        const report = pack.validateScope(stack) as { violations: Violation[] };
        for (const violation of report.violations) {
          for (const { constructPath } of violation.violatingResources) {
            const logicalId = constructPath.split('/').pop() ?? constructPath;
            const resource = (input.template.Resources as Record<string, { Type?: string; Properties?: Record<string, unknown> }>)[logicalId];
            findings.push({
              stackId: input.stackId,
              logicalId,
              type: String(resource?.Type),
              finding: violation.ruleName,
              severity: violation.severity,
              ...(isWildcardFinding(violation.ruleName) ? { statements: statementsProducing(violation.ruleName, resource?.Type ?? '', resource?.Properties ?? {}) } : {}),
            });
          }
        }
      }
    }
    return findings.sort((a, b) => `${a.stackId}/${a.logicalId}/${a.finding}`.localeCompare(`${b.stackId}/${b.logicalId}/${b.finding}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** IAM5 (`AwsSolutions-IAM5[Resource::...]`, `[Action::...]`): a wildcard in an allowed action or resource. */
export const isWildcardFinding = (finding: string): boolean => /^AwsSolutions-IAM5\[(Resource|Action)::/.test(finding);

const array = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The Allow statements that produce an IAM5 finding, as cdk-nag's IAMNoWildcardPermissions
 * finds them: an action containing `*` gives `Action::<action>`, a resource whose flattened
 * form contains `*` gives `Resource::<flattened>`.
 */
function statementsProducing(finding: string, type: string, properties: Record<string, unknown>): StatementSummary[] {
  const [, kind, value] = /^AwsSolutions-IAM5\[(Resource|Action)::(.*)\]$/s.exec(finding) ?? [];
  const documents =
    type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy'
      ? [properties.PolicyDocument]
      : array(properties.Policies).map((p) => (p as { PolicyDocument?: unknown } | null)?.PolicyDocument);
  const out: StatementSummary[] = [];
  for (const document of documents) {
    for (const statement of array((document as { Statement?: unknown } | null)?.Statement) as Array<Record<string, unknown>>) {
      if (statement?.Effect !== 'Allow') continue;
      const actions = array(statement.Action).map(text);
      const resources = array(statement.Resource).map(flatten);
      const produces = kind === 'Action' ? actions.includes(value) : resources.includes(value);
      if (produces) out.push({ actions: [...actions].sort(), resources: [...resources].sort() });
    }
  }
  return out.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
