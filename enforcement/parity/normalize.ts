// What is set aside when staging's and production's templates are compared: the stage's name,
// its account, its regions and the facts that follow a region (the load balancer's log delivery
// principal). Pure functions of the stage's identity: nothing comes from the commit.
import { RegionInfo } from 'aws-cdk-lib/region-info';

/** One stack of one stage, as far as the comparison needs to know it. */
export interface StackIdentity {
  /** The stage's construct id ("Staging"). */
  readonly stage: string;
  readonly account: string;
  /** The region of this stack (a fixed region such as us-east-1 for the edge's web ACL). */
  readonly stackRegion: string;
  /** The stage's region (the Tiers stack's). */
  readonly stageRegion: string;
  /** Regions some stack is pinned to whatever the stage (a literal "us-east-1" may mean that one). */
  readonly fixedRegions: readonly string[];
}

/** A string's stage-neutral forms: two strings match when their forms meet. */
export type Normalizer = (value: string) => readonly string[];

const HASH = /[0-9A-F]{8,}(?![0-9A-Za-z])/g;

/**
 * The stage-neutral forms of a string of this stack:
 * - the stage name as `<Stage>`/`<stage>`/`<STAGE>`; in a string that held it, an uppercase hex run
 *   of 8 or more (the hash CDK appends to names it generates from the construct path) is `<hash>`;
 * - the account as `<account>`;
 * - the stack's region as `<region>` and the stage's as `<stage-region>`; when a region is also a
 *   fixed one (staging in us-east-1, beside the web ACL's us-east-1), a form keeping it literal too,
 *   since the string may name either;
 * - the region's Elastic Load Balancing account principal (`arn:aws:iam::<elb-account>:root`) as
 *   `<elb-log-delivery>` (see {@link normalizeLogDeliveryPrincipals}).
 */
export function stackNormalizer(id: StackIdentity): Normalizer {
  const elb = elbAccount(id.stackRegion);
  const regions = [...new Set([id.stackRegion, id.stageRegion])];
  const options = regions.map((region) => {
    const tokens: string[] = [];
    if (region === id.stackRegion) tokens.push('<region>');
    if (region === id.stageRegion) tokens.push('<stage-region>');
    if (id.fixedRegions.includes(region)) tokens.push(region);
    return tokens;
  });
  const replacements = product(options).map((choice) => regions.map((region, i) => [region, choice[i]!] as const));
  return (value: string) => {
    if (elb && new RegExp(`^arn:aws[a-z-]*:iam::${elb}:root$`).test(value)) return [LOG_DELIVERY];
    let out = value;
    const stages = [id.stage, id.stage.toLowerCase(), id.stage.toUpperCase()];
    const hadStage = stages.some((s) => out.includes(s));
    out = out.split(id.stage).join('<Stage>').split(id.stage.toLowerCase()).join('<stage>').split(id.stage.toUpperCase()).join('<STAGE>');
    if (hadStage) out = out.replace(HASH, '<hash>');
    out = out.split(id.account).join('<account>');
    const forms = replacements.map((pairs) => pairs.reduce((s, [from, to]) => s.split(from).join(to), out));
    return [...new Set(forms)];
  };
}

/** Whether two strings match under their stacks' normalizers. */
export function sameUpToStage(a: string, b: string, normalizeA: Normalizer, normalizeB: Normalizer): boolean {
  if (a === b) return true;
  const forms = new Set(normalizeA(a));
  return normalizeB(b).some((f) => forms.has(f));
}

const LOG_DELIVERY = '<elb-log-delivery>';
const LOG_DELIVERY_SERVICE = 'logdelivery.elasticloadbalancing.amazonaws.com';

/**
 * The principal a load balancer writes its access logs as depends on the region: the region's
 * Elastic Load Balancing account in regions available before August 2022, the service principal
 * `logdelivery.elasticloadbalancing.amazonaws.com` in newer ones (Elastic Load Balancing User
 * Guide, "Enable access logs for your Application Load Balancer", Step 2: attach a policy to your
 * S3 bucket, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html).
 * This returns a copy of a template in which a policy Principal of that service is
 * `{ AWS: '<elb-log-delivery>' }`, the form stackNormalizer gives the account principal, so the
 * two shapes compare equal across regions. Nothing else changes.
 */
export function normalizeLogDeliveryPrincipals<T>(template: T): T {
  const visit = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((v) => visit(v));
    if (value === null || typeof value !== 'object') return value;
    if (key === 'Principal' && isOnly(value, 'Service', LOG_DELIVERY_SERVICE)) return { AWS: LOG_DELIVERY };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, visit(v, k)]));
  };
  return visit(template) as T;
}

function isOnly(value: object, key: string, wanted: string): boolean {
  const entries = Object.entries(value);
  return entries.length === 1 && entries[0]![0] === key && entries[0]![1] === wanted;
}

/** The Elastic Load Balancing account of a region (aws-cdk-lib's region facts), if it has one. */
function elbAccount(region: string): string | undefined {
  return RegionInfo.get(region).elbv2Account;
}

function product(options: readonly (readonly string[])[]): string[][] {
  return options.reduce<string[][]>((acc, choices) => acc.flatMap((prefix) => choices.map((c) => [...prefix, c])), [[]]);
}
