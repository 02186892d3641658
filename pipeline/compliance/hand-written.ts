// The checks Guard cannot express, kept by hand and small:
// - Guard cannot name a resource's logical id (no key function: cloudformation-guard
//   issue #476), so "every X has a Y that points at it" (a flow log per VPC, a bucket
//   policy per bucket, a logging configuration per web ACL) needs code;
// - Guard has no recursive descent, so "no Fn::Transform at any depth" needs code;
// - Guard cannot take a URL apart or read the assembly, so "a nested stack's template
//   is one the assembly publishes" needs code;
// - Guard cannot take an ARN apart nor compare with a list it is given, so "a role trusts no
//   account outside the configured ones" needs code.
import { readFileSync } from 'node:fs';
import type { StackTemplate } from './assembly.ts';
import { configuredAccounts } from './settings.ts';

/** A problem found by a hand-written check. */
export interface HandWrittenProblem {
  readonly check: string;
  readonly resources: readonly string[];
  readonly description: string;
}

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
function target(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  return Array.isArray(getAtt) && typeof getAtt[0] === 'string' ? getAtt[0] : undefined;
}

/**
 * The hand-written checks of one template. `trustedAccounts`: the accounts a role may trust (the
 * pipeline's and the stages', from cdk.json); its own account (`Ref: AWS::AccountId`) always.
 */
export function handWrittenProblems(template: StackTemplate, trustedAccounts: readonly string[] = configuredAccounts()): HandWrittenProblem[] {
  const parsed = JSON.parse(readFileSync(template.file, 'utf8')) as { Resources?: Record<string, Resource> };
  const resources = Object.entries(parsed.Resources ?? {});
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const problems: HandWrittenProblem[] = [];
  const unpointed = (check: string, type: string, pointers: Iterable<string | undefined>, description: string) => {
    const pointed = new Set(pointers);
    const missing = ofType(type).map(([id]) => id).filter((id) => !pointed.has(id));
    if (missing.length) problems.push({ check, resources: missing, description });
  };

  unpointed(
    'vpc-flow-logs',
    'AWS::EC2::VPC',
    ofType('AWS::EC2::FlowLog').filter(([, f]) => f.Properties?.ResourceType === 'VPC').map(([, f]) => target(f.Properties?.ResourceId)),
    'A VPC has no flow log',
  );
  unpointed(
    's3-ssl',
    'AWS::S3::Bucket',
    ofType('AWS::S3::BucketPolicy')
      .filter(([, p]) => list(isRecord(p.Properties?.PolicyDocument) ? p.Properties.PolicyDocument.Statement : undefined).some(deniesInsecureTransport))
      .map(([, p]) => target(p.Properties?.Bucket)),
    'A bucket has no policy denying requests without TLS (aws:SecureTransport=false)',
  );
  unpointed(
    'waf-logging',
    'AWS::WAFv2::WebACL',
    ofType('AWS::WAFv2::LoggingConfiguration').map(([, c]) => target(c.Properties?.ResourceArn)),
    'A WAF web ACL has no logging configuration',
  );

  const transforms = resources.filter(([, r]) => containsTransform(r)).map(([id]) => id);
  if (transforms.length) problems.push({ check: 'no-transform', resources: transforms, description: 'A resource uses Fn::Transform (e.g. AWS::Include)' });

  const outsiders = ofType('AWS::IAM::Role').filter(([, role]) => trustedAccountsOf(role).some((a) => !trustedAccounts.includes(a))).map(([id]) => id);
  if (outsiders.length) {
    problems.push({ check: 'trust-outside-accounts', resources: outsiders, description: `A role trusts an account outside the configured ones (${trustedAccounts.join(', ')})` });
  }

  const foreign = ofType('AWS::CloudFormation::Stack')
    .filter(([, s]) => !template.fileAssetKeys.some((key) => key.endsWith('.json') && urlEndsWith(s.Properties?.TemplateURL, `/${key}`)))
    .map(([id]) => id);
  if (foreign.length) problems.push({ check: 'nested-templates', resources: foreign, description: "A nested stack's template is not one the assembly publishes" });
  return problems;
}

/** The 12-digit accounts an Allow statement of a role's trust policy names (plain ARNs, account ids, or the strings of a Fn::Join / Fn::Sub). */
function trustedAccountsOf(role: Resource): string[] {
  const document = role.Properties?.AssumeRolePolicyDocument;
  const statements = list(isRecord(document) ? document.Statement : undefined).filter((s) => isRecord(s) && s.Effect === 'Allow') as Record<string, unknown>[];
  const texts: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (isRecord(value)) {
      if (Array.isArray(value['Fn::Join'])) collect([(value['Fn::Join'] as unknown[])[1]].flat().filter((p) => typeof p === 'string').join(''));
      if (typeof value['Fn::Sub'] === 'string') collect(value['Fn::Sub']);
    }
  };
  for (const statement of statements) {
    const principal = statement.Principal;
    if (isRecord(principal)) collect(principal.AWS);
  }
  return texts.flatMap((t) => [...t.matchAll(/(?:^|:iam::)(\d{12})(?=:|$)/g)].map((m) => m[1]));
}

function deniesInsecureTransport(statement: unknown): boolean {
  if (!isRecord(statement) || statement.Effect !== 'Deny' || !isRecord(statement.Condition)) return false;
  const bool = statement.Condition.Bool;
  return isRecord(bool) && String(bool['aws:SecureTransport']) === 'false';
}

function containsTransform(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsTransform);
  if (!isRecord(value)) return false;
  return Object.entries(value).some(([k, v]) => k === 'Fn::Transform' || (typeof v === 'string' && v === 'AWS::Include') || containsTransform(v));
}

/** Whether a TemplateURL (a string, or CDK's Fn::Join of strings and pseudo-parameters) ends with `suffix`. */
function urlEndsWith(url: unknown, suffix: string): boolean {
  if (typeof url === 'string') return url.endsWith(suffix);
  const join = isRecord(url) ? url['Fn::Join'] : undefined;
  if (!Array.isArray(join) || !Array.isArray(join[1])) return false;
  const parts = join[1] as unknown[];
  const last = parts[parts.length - 1];
  return typeof last === 'string' && last.endsWith(suffix);
}
