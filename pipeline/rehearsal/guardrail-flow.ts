// The guardrail's real flow, run offline on the synthesized assembly: the validator's own
// decision (enforcement/validator/validate.ts) on the request GuardrailValidation sends
// (pipeline/guardrail/request.ts), then, for each production deploy, the production hook's own
// decision (enforcement/hook/decide.ts) on the template that deploy hands CloudFormation. Only what
// needs AWS is stood in for, in process:
// - staging: the templates the pipeline's Staging deploys deployed (the assembly's), and for each
//   ECS service the images its task definition names, each "running" a stand-in digest of its tag
//   and of how staging's asset manifests build it;
// - production's registry: the stand-in digest, the same way, for a tag that production's asset
//   manifests publish (and nothing for any other tag). A directory build is modelled as
//   reproducible (same source, same digest in both stages); an `executable` image asset (a command
//   that prints the image it built) as giving each destination account its own image: the command
//   is the commit's and knows where it publishes, so nothing vouches that the stages get one image;
// - production's asset bucket: the digest of the asset's source in the assembly (a stand-in for
//   the zip cdk-assets uploads) for a key that production's asset manifests publish;
// - the attestation bucket: a map; the signing key: a LocalSigner (enforcement/attestation), the
//   hook trusting its public key alone.
// The validator's configuration and allowances are the files the enforcement stack bundles beside
// the validator (its code asset in the assembly), so the rehearsal validates with what would be
// deployed, never the commit's cdk.json.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Allowances, loadAllowances, parseAllowances } from '../../enforcement/allowances.ts';
import { buildStatement, LocalSigner, serializeEnvelope, signEnvelope, type TrustedKey } from '../../enforcement/attestation/index.ts';
import { type DecideDeps, decide, type HookResponse } from '../../enforcement/hook/decide.ts';
import { compareStages } from '../../enforcement/parity/index.ts';
import { parseValidatorConfig, type ValidatorConfig } from '../../enforcement/validator/config.ts';
import type { ProductionReads, RunningImage, StagingReads } from '../../enforcement/validator/reads.ts';
import { fileAssets, parseEcrImage, releaseValues, resolvePseudo } from '../../enforcement/validator/templates.ts';
import { validate, type ValidateDeps, type ValidationResponse } from '../../enforcement/validator/validate.ts';
import { buildRequest, type ValidationRequest } from '../guardrail/request.ts';
import { listAssetManifests } from '../cloud-assembly.ts';
import { type PipelineAction, type PipelineModel, readTemplate } from './model.ts';

type Json = any;

/** The execution id the rehearsal's release carries (a pipeline execution id is a UUID). */
export const REHEARSAL_EXECUTION_ID = '00000000-0000-4000-8000-000000000000';
const COMMIT = /^[0-9a-f]{40}$/;

/** The validator's run on the assembly: its answer and what it stored. */
export interface ValidationRun {
  readonly response: ValidationResponse;
  /** The attestation bucket after the run (key → object). */
  readonly store: ReadonlyMap<string, Buffer>;
  /** The key the production hooks trust. */
  readonly trustedKey: TrustedKey;
  readonly release: ValidationRequest['release'];
  /** How the assembly's release was fed to the validator (a line for the report). */
  readonly releaseNote: string;
  /** The template text as the release carries it (the assembly's, or with a stand-in commit; see releaseView). */
  readonly view: (text: string) => string;
  /** When the validator ran (the hook decides a minute later). */
  readonly at: Date;
  /** Production's asset bucket as the validator read it (the stand-in objects of the file assets the templates name, kept). */
  readonly readAssetObject: DecideDeps['readAssetObject'];
}

/** The validator function of the enforcement, as the assembly deploys it. */
export interface DeployedValidator {
  readonly config: ValidatorConfig;
  readonly allowances: Allowances;
  /** Stack names whose delete the hook refuses (the hook function's PROTECTED_STACKS). */
  readonly protectedStacks: string[];
}

/**
 * The validator's configuration and allowances, read from the code asset the enforcement stack
 * deploys the function `functionName` with, and the hook's protected stacks. Throws with the reason.
 */
export function deployedValidator(model: PipelineModel, account: string, region: string, functionName: string): DeployedValidator {
  for (const stack of model.stacks.filter((s) => s.account === account && s.region === region)) {
    const resources = Object.values(readTemplate(stack).Resources ?? {}) as Json[];
    const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.FunctionName === functionName);
    if (!fn) continue;
    const key = fn.Properties.Code?.S3Key;
    const dir = typeof key === 'string' ? join(stack.assemblyDir, `asset.${key.replace(/\.zip$/, '')}`) : '';
    if (!dir || !existsSync(dir)) throw new Error(`the validator's code (${JSON.stringify(key)}) is not in the assembly`);
    // As the validator reads them: the configuration's allowances, else the bundled allowances.json (ALLOWANCES_FILE).
    const raw = JSON.parse(readFileSync(join(dir, 'validator-config.json'), 'utf8'));
    const allowances = raw.allowances !== undefined ? parseAllowances(raw.allowances, 'the configuration\'s allowances') : loadAllowances(join(dir, 'allowances.json'));
    let config: ValidatorConfig;
    try {
      config = parseValidatorConfig({ ...raw, allowances });
    } catch (error) {
      throw new Error(`the validator's bundled configuration (${relative(model.assemblyDir, dir)}/validator-config.json): ${(error as Error).message}`);
    }
    const hook = resources.find((r) => r.Type === 'AWS::Lambda::Function' && typeof r.Properties?.Environment?.Variables?.PROTECTED_STACKS === 'string');
    const protectedStacks = hook ? (JSON.parse(hook.Properties.Environment.Variables.PROTECTED_STACKS) as string[]) : [];
    return { config, allowances, protectedStacks };
  }
  throw new Error(`no stack of the assembly deploys the function ${functionName} in ${account}/${region}`);
}

/**
 * The release the assembly carries (APP_VERSION of the production templates). The validator takes
 * a 40-hex commit: the pipeline's Synth passes one (RELEASE_VERSION); a local synth carries
 * another value ("dev"), which the rehearsal replaces, as a JSON string in every stage template,
 * by a stand-in commit derived from it, so that the request, staging and the hooks all see one
 * release (what a synth with RELEASE_VERSION=<that commit> would have written).
 */
export function releaseView(model: PipelineModel, productionTemplates: readonly string[]): { commit: string; view: (text: string) => string; note: string } {
  const values = [...new Set(productionTemplates.flatMap((file) => releaseValues(JSON.parse(readFileSync(file, 'utf8')))))];
  if (values.length !== 1) throw new Error(`the production templates carry ${values.length === 0 ? 'no release (APP_VERSION)' : `several releases (${values.join(', ')})`}`);
  const [release] = values;
  if (COMMIT.test(release!)) return { commit: release!, view: (text) => text, note: `release ${release} as synthesized` };
  const commit = createHash('sha1').update(`rehearsal release ${release}`).digest('hex');
  const from = JSON.stringify(release);
  const to = JSON.stringify(commit);
  return {
    commit,
    view: (text) => text.replaceAll(from, to),
    note: `the assembly's release ${from} is no commit id (a local synth): rehearsed as commit ${commit} in every stage template`,
  };
}

/** The stand-in digest of the image `tag` built as `build` describes (see the file's comment). */
const standInDigest = (tag: string, build: string | undefined) => `sha256:${createHash('sha256').update(`rehearsal image ${tag} built by ${build ?? 'nothing published'}`).digest('hex')}`;

/** How an asset manifest builds an image, as the stand-in digest depends on it (`account`: where it is published). */
function imageBuild(source: Json, account: string): string {
  return JSON.stringify(source?.executable !== undefined ? { ...source, destinationAccount: account } : source);
}

/**
 * The object cdk-assets would upload for an asset's source, stood in: a file's bytes, or a
 * directory's paths and contents (in place of the zip). The validator digests it; the hook reads it.
 */
function sourceBytes(path: string): Buffer {
  const parts: Buffer[] = [];
  const visit = (p: string, rel: string): void => {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) visit(join(p, name), rel ? `${rel}/${name}` : name);
    } else {
      parts.push(Buffer.from(`${rel}\0`), readFileSync(p), Buffer.from('\0'));
    }
  };
  visit(path, '');
  return Buffer.concat(parts);
}

/** The sha256 of an asset's stand-in object (sourceBytes). */
function sourceDigest(path: string): string {
  return createHash('sha256').update(sourceBytes(path)).digest('hex');
}

/** Production's asset bucket as it is now: the stand-in object of each file asset its manifests publish. */
function assetObjectReader(model: PipelineModel, account: string): (bucket: string, key: string) => Promise<Buffer | undefined> {
  const published = publishedAssets(model, account);
  return async (bucket, key) => {
    const source = published.files.get(`${bucket}/${key}`);
    return source && existsSync(source) ? sourceBytes(source) : undefined;
  };
}

/** What production's asset manifests publish in `account`: images (repository:tag) and files (bucket/key → source). */
function publishedAssets(model: PipelineModel, account: string) {
  /** repository:tag → how it is built (imageBuild). */
  const images = new Map<string, string>();
  const files = new Map<string, string>();
  for (const manifest of listAssetManifests(model.assemblyDir)) {
    const json = JSON.parse(readFileSync(manifest.file, 'utf8'));
    for (const asset of Object.values<Json>(json.dockerImages ?? {})) {
      for (const d of Object.values<Json>(asset.destinations ?? {})) {
        if (String(d.repositoryName).includes(`-${account}-`)) images.set(`${d.repositoryName}:${d.imageTag}`, imageBuild(asset.source, account));
      }
    }
    for (const asset of Object.values<Json>(json.files ?? {})) {
      for (const d of Object.values<Json>(asset.destinations ?? {})) {
        if (String(d.bucketName).includes(`-${account}-`)) files.set(`${d.bucketName}/${d.objectKey}`, resolve(dirname(manifest.file), asset.source.path));
      }
    }
  }
  return { images, files };
}

/** Staging as the validator would read it: the templates the Staging deploys deployed, and what their services run. */
function stagingReads(model: PipelineModel, config: ValidatorConfig, view: (text: string) => string): StagingReads {
  const built = publishedAssets(model, config.staging.account).images;
  const deployed = new Map<string, string>();
  for (const action of model.stages.find((s) => s.name === 'Staging')?.actions ?? []) {
    if (action.deploys && action.configuration.ActionMode === 'CHANGE_SET_REPLACE') deployed.set(String(action.configuration.StackName), view(readFileSync(action.deploys.templateFile, 'utf8')));
  }
  const env = { account: config.staging.account, region: config.staging.region };
  const services = new Map<string, RunningImage[]>();
  return {
    async deployedTemplate(stackName) {
      return deployed.get(stackName);
    },
    async services(stackName) {
      const template = JSON.parse(deployed.get(stackName) ?? '{"Resources":{}}');
      const resources = template.Resources as Record<string, Json>;
      return Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::ECS::Service')
        .map(([logicalId, r]) => {
          const arn = `arn:aws:ecs:${env.region}:${env.account}:service/rehearsal/${stackName}-${logicalId}`;
          const taskDefinition = resources[r.Properties?.TaskDefinition?.Ref];
          services.set(arn, (taskDefinition?.Properties?.ContainerDefinitions ?? []).map((c: Json) => {
            const image = resolvePseudo(c.Image, env) ?? JSON.stringify(c.Image);
            const ecr = parseEcrImage(image);
            const tag = ecr?.tag ?? image;
            return { containerName: String(c.Name), image, imageDigest: standInDigest(tag, built.get(`${ecr?.repository}:${tag}`)) };
          }));
          return { logicalId, serviceArn: arn };
        });
    },
    async runningImages(serviceArn) {
      const images = services.get(serviceArn);
      if (!images) throw new Error(`no service ${serviceArn}`);
      return images;
    },
  };
}

function productionReads(published: ReturnType<typeof publishedAssets>): ProductionReads {
  return {
    async imageDigest(repository, tag) {
      const build = published.images.get(`${repository}:${tag}`);
      return build === undefined ? undefined : standInDigest(tag, build);
    },
    async objectSha256(bucket, key) {
      const source = published.files.get(`${bucket}/${key}`);
      return source && existsSync(source) ? sourceDigest(source) : undefined;
    },
  };
}

/**
 * Runs the validator's decision on the request GuardrailValidation would send for `stage`. The
 * answer depends only on its inputs: `cache` (by their digest) lets rehearsals of copies that
 * change none of them reuse one run.
 */
export async function runValidation(model: PipelineModel, stage: string, validatorArn: string, cache?: Map<string, ValidationRun>): Promise<ValidationRun> {
  const [, , , region, account, , functionName] = validatorArn.split(':');
  const validator = deployedValidator(model, account!, region!, functionName!);
  const productionFiles = model.stacks.filter((s) => s.displayName.split('/').slice(0, -1).includes(stage)).map((s) => s.templateFile);
  const { commit, view, note } = releaseView(model, productionFiles);
  const release = { commit, executionId: REHEARSAL_EXECUTION_ID };
  const built = buildRequest(model.assemblyDir, stage, release);
  const request: ValidationRequest = { release, templates: Object.fromEntries(Object.entries(built.templates).map(([name, text]) => [name, view(text)])) };
  const staging = stagingReads(model, validator.config, view);
  const published = publishedAssets(model, validator.config.production.account);

  // The run's inputs: the request, the validator's files, staging's templates, and the answers of
  // production's registry and bucket for what the request's templates name.
  const named = Object.values(request.templates).map((text) => JSON.parse(text) as Record<string, unknown>);
  const files = named.flatMap((t) => fileAssets(t)).map((f) => `${f.bucket}/${f.key}`).sort();
  const key = createHash('sha256')
    .update(JSON.stringify({ release, templates: Object.entries(request.templates).sort(([x], [y]) => x.localeCompare(y)), validator }))
    .update(JSON.stringify({ images: [...published.images].sort(([x], [y]) => x.localeCompare(y)), stagingImages: [...publishedAssets(model, validator.config.staging.account).images].sort(([x], [y]) => x.localeCompare(y)), files: files.map((f) => [f, published.files.has(f) && existsSync(published.files.get(f)!) ? sourceDigest(published.files.get(f)!) : '']) }))
    .update(JSON.stringify(await Promise.all(Object.values(validator.config.staging.stacks).map((s) => staging.deployedTemplate(s.stackName, '')))))
    .digest('hex');
  const cached = cache?.get(key);
  if (cached) return cached;

  const signer = LocalSigner.generate('rehearsal-local-key');
  const objects = new Map<string, Buffer>();
  const at = new Date();
  const config = { ...validator.config, allowances: validator.allowances };
  // `allowances` also as a dependency of its own: the validator takes them either way (its configuration or the bundled file).
  const deps: ValidateDeps & { readonly allowances: Allowances } = {
    config,
    staging,
    production: productionReads(published),
    store: { async put(k, body) { objects.set(k, body); } },
    compareStages: (input) => compareStages({ staging: input.staging, production: input.production, allowances: validator.allowances }),
    allowances: validator.allowances,
    attest: async (input) => Buffer.from(serializeEnvelope(await signEnvelope(buildStatement(input), signer))),
    verifierId: validatorArn,
    now: () => at,
  };
  const response = await validate(request, deps);
  // Kept, not re-read: a cached run may outlive the copy of the assembly it was made from.
  const seen = new Map<string, Buffer>();
  for (const f of files) {
    const source = published.files.get(f);
    if (source && existsSync(source)) seen.set(f, sourceBytes(source));
  }
  const run: ValidationRun = { response, store: objects, trustedKey: { keyid: signer.keyId, publicKeyPem: signer.publicKeyPem }, release, releaseNote: note, view, at, readAssetObject: async (bucket, key) => seen.get(`${bucket}/${key}`) };
  cache?.set(key, run);
  return run;
}

/** One production operation the hook decides: the change set a Prepare creates, or the stack update its Deploy executes. */
export interface HookDecision {
  readonly action: PipelineAction;
  readonly stackName: string;
  readonly response: HookResponse;
}

const STACK_UUID = '00000000-0000-4000-8000-00000000cafe';

/** One stack operation in production, as the hook receives it. */
export interface ProductionOperation {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /** The template text CloudFormation hands the hook (the payload's `template`). */
  readonly template: string;
  /** CHANGE_SET: CreateChangeSet (a Prepare); STACK: the stack update that executes it (a Deploy), or any update. */
  readonly target: 'CHANGE_SET' | 'STACK';
  readonly changeSetName?: string;
}

/**
 * The hook's decision on one production operation, in the shapes of the CloudFormation Hooks User
 * Guide, "Create Lambda functions to evaluate resources for Lambda Hooks"
 * (https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/lambda-hooks-create-lambda-function.html),
 * trusting the validation's key and reading its attestation bucket. `at`: when the hook decides
 * (default a minute after the validation). `readAssetObject`: production's asset bucket when the
 * hook decides (default: the one the validation read, as its assembly is now).
 */
export async function decideOperation(
  op: ProductionOperation,
  validation: ValidationRun,
  protectedStacks: readonly string[],
  at?: Date,
  readAssetObject: DecideDeps['readAssetObject'] = validation.readAssetObject,
): Promise<HookResponse> {
  const stackId = `arn:aws:cloudformation:${op.region}:${op.account}:stack/${op.stackName}/${STACK_UUID}`;
  const changeSetId = `arn:aws:cloudformation:${op.region}:${op.account}:changeSet/${op.changeSetName ?? 'PipelineChange'}/${STACK_UUID}`;
  const url = `https://hooks.rehearsal.invalid/${op.target === 'CHANGE_SET' ? 'change-set' : 'stack'}`;
  const payload = JSON.stringify(op.target === 'CHANGE_SET' ? { template: op.template, changedResources: [] } : { template: op.template, previousTemplate: '' });
  const deps = {
    readTemplatePayload: async (u: string) => {
      if (u !== url) throw new Error(`no payload at ${u}`);
      return payload;
    },
    readObject: async (key: string) => validation.store.get(key),
    readAssetObject,
    now: () => at ?? new Date(validation.at.getTime() + 60_000),
    keys: [validation.trustedKey],
    protectedStacks,
    account: op.account,
    region: op.region,
  };
  const common = { awsAccountId: op.account, stackId, changeSetId, hookTypeName: 'Private::Guardrail::Hook', hookTypeVersion: '00000001', requestContext: { invocation: 1, callbackContext: null } };
  return op.target === 'CHANGE_SET'
    ? decide({ ...common, clientRequestToken: `${op.stackName}-change-set`, actionInvocationPoint: 'CREATE_PRE_PROVISION', requestData: { targetName: 'CHANGE_SET', targetType: 'CHANGE_SET', targetLogicalId: changeSetId, payload: url } }, deps)
    : decide({ ...common, clientRequestToken: `${op.stackName}-execute`, actionInvocationPoint: 'UPDATE_PRE_PROVISION', requestData: { targetName: 'STACK', targetType: 'STACK', targetLogicalId: op.stackName, payload: url } }, deps);
}

/**
 * The hook's decision for each production deploy action (in `account`): for a Prepare
 * (CHANGE_SET_REPLACE) the CreateChangeSet request, for its Deploy (CHANGE_SET_EXECUTE) the stack
 * update that executes it, each carrying the template the Prepare names (decideOperation).
 */
export async function hookDecisions(model: PipelineModel, account: string, validation: ValidationRun, protectedStacks: readonly string[]): Promise<HookDecision[]> {
  const actions = model.stages.flatMap((s) => s.actions).filter((a) => a.provider === 'CloudFormation');
  const prepares = actions.filter((a) => a.deploys && a.configuration.ActionMode === 'CHANGE_SET_REPLACE' && a.deploys.account === account);
  const decisions: HookDecision[] = [];
  // Read when the hook decides, from the assembly as it is then: a file asset changed after
  // validation is seen as an overwritten object.
  const readAssetObject = assetObjectReader(model, account);
  for (const prepare of prepares) {
    const stack = prepare.deploys!;
    const stackName = String(prepare.configuration.StackName);
    const template = validation.view(readFileSync(stack.templateFile, 'utf8'));
    const op = { account, region: stack.region!, stackName, template, changeSetName: prepare.configuration.ChangeSetName ? String(prepare.configuration.ChangeSetName) : undefined };
    decisions.push({ action: prepare, stackName, response: await decideOperation({ ...op, target: 'CHANGE_SET' }, validation, protectedStacks, undefined, readAssetObject) });
    const execute = actions.find((a) => a.stage === prepare.stage && a.configuration.ActionMode === 'CHANGE_SET_EXECUTE' && a.configuration.StackName === prepare.configuration.StackName);
    if (execute) decisions.push({ action: execute, stackName, response: await decideOperation({ ...op, target: 'STACK' }, validation, protectedStacks, undefined, readAssetObject) });
  }
  return decisions;
}
