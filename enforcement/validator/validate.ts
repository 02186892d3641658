// The validator's decision: from the request (the commit's: it only names the release and
// hands over the candidate templates) and what the validator reads itself (staging's deployed
// templates and running images, production's registry and asset bucket, its own allow-list and
// rules, its own configuration), pass or fail; only a pass is signed and stored.
import { readAllowList, type AllowList, unacknowledged } from '../compliance/allow-list.ts';
import { nagFindings } from '../compliance/nag.ts';
import { checkRules, type RulesResult } from '../compliance/rules.ts';
import { stageStacks, type StageStack, type ValidatorConfig } from './config.ts';
import type { Allowances } from '../allowances.ts';
import { attestationKey, releaseKey, sha256Hex } from '../attestation/statement.ts';
import type { compareStages } from '../parity/index.ts';
import type { AttestationStore, ProductionReads, StagingReads } from './reads.ts';
import { parseRequest, type ReceivedTemplate } from './request.ts';
import { containerImages, fileAssets, hookManagementProblems, mentionsOf, parseEcrImage, releaseValues } from './templates.ts';

/** The enforcement's own names, which no application template may mention. */
export const ENFORCEMENT_NAMES = ['br-fagq2-guardrail-enforcement', 'br-fagq2-guardrail-validator', 'br-fagq2-guardrail-hook'];

/** One check of the response. */
export interface ValidationCheck {
  readonly name: string;
  readonly status: 'PASS' | 'FAIL';
  readonly detail: string;
}

/** The response (the contract's). */
export interface ValidationResponse {
  readonly passed: boolean;
  readonly checks: readonly ValidationCheck[];
  /** The release's envelope: `releases/<commit>/<executionId>.dsse.json` in the attestation bucket. */
  readonly envelopeKey?: string;
}

/**
 * What the attestation covers: C1's `buildStatement` input (enforcement/attestation), plus
 * the file assets as subjects (`files`).
 */
export interface AttestationInput {
  readonly templates: ReadonlyArray<{ readonly account: string; readonly region: string; readonly stackName: string; readonly body: Buffer }>;
  /** `uri`: `<account>.dkr.ecr.<region>.amazonaws.com/<repository>`; `sha256`: the image digest's hex. */
  readonly images: ReadonlyArray<{ readonly uri: string; readonly sha256: string }>;
  /** `uri`: `s3://<bucket>/<key>`; `sha256`: the object content's. */
  readonly files: ReadonlyArray<{ readonly uri: string; readonly sha256: string }>;
  readonly release: { readonly commit: string; readonly executionId: string };
  readonly verifierId: string;
  readonly checks: readonly ValidationCheck[];
  readonly timeVerified: Date;
  readonly validityDays: number;
}

/** The contract's compareStages (enforcement/parity/index.ts). */
export type CompareStages = typeof compareStages;

/** What the validator decides with. */
export interface ValidateDeps {
  readonly config: ValidatorConfig;
  readonly staging: StagingReads;
  readonly production: ProductionReads;
  readonly store: AttestationStore;
  /** Structural parity under the allowances (the contract's compareStages). */
  readonly compareStages: CompareStages;
  /** What may differ between the stages: the allowances the enforcement deployed (never the commit's cdk.json). */
  readonly allowances: Allowances;
  /** Builds the in-toto statement and signs it into a DSSE envelope: the envelope's JSON bytes (C1's buildStatement + signEnvelope). */
  readonly attest: (input: AttestationInput) => Promise<Buffer>;
  /** The validator function's ARN (the statement's verifier id). */
  readonly verifierId: string;
  readonly now: () => Date;
  /** @default acknowledgements.json beside enforcement/compliance/allow-list.ts */
  readonly allowList?: AllowList;
}

const MAX_DETAIL_LINES = 40;
const cut = (line: string) => (line.length > 400 ? `${line.slice(0, 397)}...` : line);

function check(name: string, problems: readonly string[], ok: string): ValidationCheck {
  if (problems.length === 0) return { name, status: 'PASS', detail: ok };
  const shown = problems.slice(0, MAX_DETAIL_LINES).map(cut);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return { name, status: 'FAIL', detail: shown.join('\n') };
}

const failed = (checks: ValidationCheck[]): ValidationResponse => ({ passed: false, checks });

/** Validates a release; signs and stores the attestation only when every check passes. */
export async function validate(request: unknown, deps: ValidateDeps): Promise<ValidationResponse> {
  const { config } = deps;
  const productionStacks = stageStacks(config.production);
  const parsed = parseRequest(request, productionStacks);
  if (!parsed.ok) return failed([check('request', parsed.problems, '')]);
  const { release, templates } = parsed;
  const checks: ValidationCheck[] = [
    check('request', [], `release ${release.commit} (execution ${release.executionId}), ${templates.length} production templates: ${productionStacks.map((s) => s.stackName).join(', ')}`),
  ];
  // cfn-guard runs in child processes while the reads below wait on AWS.
  const rules = runRules(templates, config).catch((error: Error) => error);

  checks.push(check('release', releaseProblems(templates.map((t) => ({ name: `production ${t.stack.stackName}`, template: t.template })), release.commit, 'the production templates'), `the production templates carry release ${release.commit}`));
  checks.push(check('hook-management', templates.flatMap((t) => hookProblems(t, config)), 'no template manages hooks or extensions, or names the enforcement'));

  const staging = await readStaging(deps);
  if (staging.problems.length > 0) {
    checks.push(check('staging', staging.problems, ''));
  } else {
    checks.push(check('staging-release', releaseProblems(Object.entries(staging.templates).map(([id, template]) => ({ name: `staging ${id}`, template })), release.commit, 'staging'), `staging runs release ${release.commit}`));
    const comparison = deps.compareStages({
      staging: { account: config.staging.account, region: config.staging.region, templates: staging.templates },
      production: { account: config.production.account, region: config.production.region, templates: Object.fromEntries(templates.map((t) => [t.stack.id, t.template])) },
      allowances: deps.allowances,
    });
    checks.push(check('template-parity', comparison.ok ? [] : comparison.differences.map(parityLine), `production's ${templates.length} templates equal staging's deployed ones, up to the allowances`));
  }

  const images = await imageSubjects(templates, staging.running, deps);
  checks.push(check('images', images.problems, `${images.subjects.length} production images resolve in production's registry to digests staging runs`));
  const files = await fileSubjects(templates, deps);
  checks.push(check('file-assets', files.problems, `${files.subjects.length} file assets read from production's asset bucket and digested`));

  try {
    const findings = nagFindings(templates.map((t) => ({ stackId: t.stack.id, account: t.stack.account, region: t.stack.region, template: t.template })));
    const byId = new Map(productionStacks.map((s) => [s.id, s]));
    const refused = unacknowledged(findings, deps.allowList ?? readAllowList(), (id) => byId.get(id)!);
    checks.push(check('compliance-nag', refused, `cdk-nag AwsSolutions and NIST.800.53.R5 over the templates: ${findings.length} findings, each in the validator's allow-list`));
  } catch (error) {
    checks.push(check('compliance-nag', [(error as Error).message], ''));
  }
  const ruleResult = await rules;
  if (ruleResult instanceof Error) {
    checks.push(check('compliance-rules', [`cfn-guard could not run: ${ruleResult.message}`], ''));
  } else {
    checks.push(check('compliance-project-rules', ruleResult.project, "the project's Guard rules and hand-written checks pass"));
    checks.push(check('compliance-control-tower', ruleResult.controlTower, 'the Control Tower proactive controls pass (minus the disabled, reasoned ones)'));
  }
  if (checks.some((c) => c.status === 'FAIL') || staging.problems.length > 0) return failed(checks);

  try {
    const envelope = await deps.attest({
      templates: templates.map((t) => ({ account: t.stack.account, region: t.stack.region, stackName: t.stack.stackName, body: t.bytes })),
      images: images.subjects,
      files: files.subjects,
      release,
      verifierId: deps.verifierId,
      checks,
      timeVerified: deps.now(),
      validityDays: config.validityDays,
    });
    // The keys the hook reads (enforcement/attestation/statement.ts), one function for both.
    for (const t of templates) await deps.store.put(attestationKey(t.stack.account, t.stack.region, t.stack.stackName, sha256Hex(t.bytes)), envelope);
    const key = releaseKey(release);
    await deps.store.put(key, envelope);
    return { passed: true, checks, envelopeKey: key };
  } catch (error) {
    return failed([...checks, check('attestation', [`signing or storing the attestation failed: ${(error as Error).message}`], '')]);
  }
}

/** One parity difference as a line: where, both values, and why it is refused. */
function parityLine(d: ReturnType<CompareStages>['differences'][number]): string {
  const show = (v: unknown) => (v === undefined ? 'nothing' : cut(JSON.stringify(v)));
  return `${d.stackId} ${d.path || '(stack)'}: staging has ${show(d.staging)}, production ${show(d.production)}: ${d.why}`;
}

/** The release values of the templates must all be `commit`. */
function releaseProblems(templates: ReadonlyArray<{ name: string; template: Record<string, unknown> }>, commit: string, what: string): string[] {
  const values = [...new Set(templates.flatMap((t) => releaseValues(t.template)))].sort();
  if (values.length === 0) return [`${what}: no task definition carries the release (APP_VERSION)`];
  const others = values.filter((v) => v !== commit);
  if (others.length === 0) return [];
  return what === 'staging'
    ? [`staging runs release ${others.join(', ')}, not ${commit}: another execution reached staging since; validate the release staging runs`]
    : [`${what} carry release ${others.join(', ')}, not ${commit}`];
}

function hookProblems(t: ReceivedTemplate, config: ValidatorConfig): string[] {
  const names = [...ENFORCEMENT_NAMES, config.attestationBucket ?? process.env.ATTESTATION_BUCKET ?? ''];
  return [
    ...hookManagementProblems(t.template).map((p) => `${t.stack.stackName}: ${p}`),
    ...mentionsOf(t.template, names).map((n) => `${t.stack.stackName}: names the enforcement's ${JSON.stringify(n)}`),
  ];
}

/** Staging's deployed templates (by stack id) and the digests each container name runs. */
async function readStaging(deps: ValidateDeps): Promise<{ templates: Record<string, Record<string, unknown>>; running: Map<string, Set<string>>; problems: string[] }> {
  const templates: Record<string, Record<string, unknown>> = {};
  const running = new Map<string, Set<string>>();
  const problems: string[] = [];
  for (const stack of stageStacks(deps.config.staging)) {
    try {
      const text = await deps.staging.deployedTemplate(stack.stackName, stack.region);
      if (text === undefined) {
        problems.push(`staging: the stack ${stack.stackName} (${stack.region}) does not exist`);
        continue;
      }
      templates[stack.id] = JSON.parse(text) as Record<string, unknown>;
      for (const service of await deps.staging.services(stack.stackName, stack.region)) {
        for (const image of await deps.staging.runningImages(service.serviceArn, stack.region)) {
          if (!/^sha256:[0-9a-f]{64}$/.test(image.imageDigest)) throw new Error(`staging: ${service.logicalId}'s ${image.containerName} has no image digest (${JSON.stringify(image.imageDigest)})`);
          running.set(image.containerName, (running.get(image.containerName) ?? new Set()).add(image.imageDigest));
        }
      }
    } catch (error) {
      problems.push(`staging ${stack.stackName}: unreadable: ${(error as Error).message}`);
    }
  }
  return { templates, running, problems };
}

/** Each production image, resolved in production's registry, must be a digest staging runs in the same container. */
async function imageSubjects(templates: readonly ReceivedTemplate[], running: Map<string, Set<string>>, deps: ValidateDeps) {
  const subjects: { uri: string; sha256: string }[] = [];
  const problems: string[] = [];
  for (const t of templates) {
    for (const ref of containerImages(t.template, t.stack)) {
      const where = `${t.stack.stackName} ${ref.taskDefinition}/${ref.containerName}`;
      const image = ref.image === undefined ? undefined : parseEcrImage(ref.image);
      if (!image || image.account !== t.stack.account || image.region !== t.stack.region) {
        problems.push(`${where}: ${JSON.stringify(ref.written)} is not an image of production's own registry (${t.stack.account}, ${t.stack.region})`);
        continue;
      }
      let digest: string | undefined;
      try {
        digest = image.digest ?? (await deps.production.imageDigest(image.repository, image.tag!, image.region));
      } catch (error) {
        problems.push(`${where}: unreadable: ${(error as Error).message}`);
        continue;
      }
      if (!digest) {
        problems.push(`${where}: production's registry has no image ${image.repository}:${image.tag}`);
        continue;
      }
      const staged = running.get(ref.containerName);
      if (!staged?.has(digest)) {
        problems.push(`${where}: production's ${image.repository}:${image.tag ?? digest} is ${digest}; staging's ${ref.containerName} runs ${staged ? [...staged].join(', ') : 'nothing'}`);
        continue;
      }
      const subject = { uri: `${image.account}.dkr.ecr.${image.region}.amazonaws.com/${image.repository}`, sha256: digest.slice('sha256:'.length) };
      if (!subjects.some((s) => s.uri === subject.uri && s.sha256 === subject.sha256)) subjects.push(subject);
    }
  }
  return { subjects, problems };
}

/** Each file asset a production template names, read and digested. */
async function fileSubjects(templates: readonly ReceivedTemplate[], deps: ValidateDeps) {
  const subjects: { uri: string; sha256: string }[] = [];
  const problems: string[] = [];
  for (const t of templates) {
    for (const asset of fileAssets(t.template)) {
      const uri = `s3://${asset.bucket}/${asset.key}`;
      try {
        const sha256 = await deps.production.objectSha256(asset.bucket, asset.key, t.stack.region);
        if (sha256 === undefined) problems.push(`${t.stack.stackName} ${asset.logicalId}: ${uri} does not exist`);
        else if (!subjects.some((s) => s.uri === uri)) subjects.push({ uri, sha256 });
      } catch (error) {
        problems.push(`${t.stack.stackName} ${asset.logicalId}: ${uri} unreadable: ${(error as Error).message}`);
      }
    }
  }
  return { subjects, problems };
}

/** The Guard profile over the templates as received. */
function runRules(templates: readonly ReceivedTemplate[], config: ValidatorConfig): Promise<RulesResult> {
  return checkRules(
    templates.map((t) => ({
      stackId: t.stack.id,
      stackName: t.stack.stackName,
      account: t.stack.account,
      region: t.stack.region,
      bytes: t.bytes,
      images: ownAssetImages(t.template, t.stack),
      fileAssetKeys: fileAssets(t.template).map((f) => f.key),
    })),
    { minLogRetentionDays: config.compliance.minLogRetentionDays },
  );
}

/** The images the template names, as written, in production's own CDK container-asset repository. */
function ownAssetImages(template: Record<string, unknown>, stack: StageStack): string[] {
  const own = `${stack.account}.dkr.ecr.${stack.region}.\${AWS::URLSuffix}/cdk-hnb659fds-container-assets-${stack.account}-${stack.region}:`;
  return containerImages(template, stack)
    .map((ref) => (ref.written as { 'Fn::Sub'?: unknown } | null)?.['Fn::Sub'])
    .filter((s): s is string => typeof s === 'string' && s.startsWith(own) && /^[0-9a-f]{64}$/.test(s.slice(own.length)));
}
