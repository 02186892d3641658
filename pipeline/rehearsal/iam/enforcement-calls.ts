// The calls of the guardrail's enforcement in the production account (docs/enforcement.md), as
// data: the GuardrailValidation step invoking the validator across accounts, the validator's reads
// (staging through staging's bootstrap lookup role, production's registry and asset bucket), its
// kms:Sign and its attestation writes; at every production stack operation, CloudFormation Hooks
// assuming the hooks' execution roles, the Lambda hook's invocation and its function's reads, the
// Guard hook's rules; the administrator's `cdk deploy` of the enforcement through its own
// bootstrap (qualifier grdenf, no --trust); and the enforcement's SCP (enforcement/scp.json).
// Everything is derived from the synthesized templates: nothing here names a resource the
// assembly does not.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestationKey, revokedKey } from '../../../enforcement/attestation/statement.ts';
import type { PipelineModel } from '../model.ts';
import { bootstrapRoleArn } from './bootstrap.ts';
import { accountOf, type Call, DOCS, roleContext } from './calls.ts';
import type { ScpFile } from './evaluate.ts';
import { managedPolicy } from './managed-policies.ts';
import type { ResolvedTemplate } from './resolve.ts';
import type { PolicyWorld, RoleFacts } from './world.ts';

type Json = any;

/** The citations of the enforcement's calls. */
export const ENFORCEMENT_DOCS = {
  lambdaCrossAccount: 'Lambda developer guide, "Granting Lambda function access to other accounts" (the function\'s resource policy names the other account\'s role; the caller\'s identity policy must allow lambda:InvokeFunction too): https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html',
  crossAccountEvaluation: 'IAM user guide, "Cross-account policy evaluation logic" (both the identity policy of the caller and the resource policy must allow): https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html',
  lookupRole: 'CDK developer guide, "Bootstrapping" / "Customize bootstrapping" (--trust-for-lookup: the trusted accounts may assume the lookup role only, ReadOnlyAccess): https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-customizing.html',
  readOnlyAccess: 'AWS Managed Policy Reference, "ReadOnlyAccess": https://docs.aws.amazon.com/aws-managed-policy/latest/reference/ReadOnlyAccess.html',
  getTemplate: 'CloudFormation API Reference, "GetTemplate" and "ListStackResources": https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_GetTemplate.html',
  serviceRevisions: 'ECS developer guide, "View service history using Amazon ECS service deployments" (ecs:ListServiceDeployments on the service, ecs:DescribeServiceRevisions on the service revision): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html',
  describeImages: 'ECR API Reference, "DescribeImages" (the image digest of a tag): https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html',
  s3Get: 'S3 API Reference, "GetObject" (s3:GetObject; ExpectedBucketOwner) and the S3 user guide, "Bucket policy examples" (aws:SecureTransport): https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html',
  s3Put: 'S3 API Reference, "PutObject" (s3:PutObject) and the S3 user guide, "Bucket policy examples" (aws:SecureTransport): https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html',
  kmsSign: 'AWS KMS API Reference, "Sign" (kms:Sign; the key policy\'s kms:SigningAlgorithm and kms:MessageType conditions): https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html',
  kmsGetPublicKey: 'AWS KMS API Reference, "GetPublicKey", and the AWS KMS developer guide, "kms:ResourceAliases": https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases',
  lambdaHookRole: 'Hooks user guide, "Prepare to create a Lambda Hook" (the execution role trusts hooks.cloudformation.amazonaws.com and needs lambda:InvokeFunction on the function; the guide names no condition keys the service sends): https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/lambda-hooks-prepare-to-create-hook.html',
  guardHookRole: 'Hooks user guide, "Prepare to create a Guard Hook" (s3:ListBucket, s3:GetObject, s3:GetObjectVersion on the rules; s3:PutObject on the log bucket): https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/guard-hooks-prepare-to-create-hook.html',
  hookTargets: 'Hooks user guide, "Hooks concepts" (CHANGE_SET hooks run when a change set is created, STACK hooks before a stack is created, updated or deleted): https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/hooks-concepts.html',
  cdkDeploy: 'CDK developer guide, "Bootstrapping" (cdk deploy assumes the deploy role, which passes the CloudFormation execution role; the file-publishing role uploads assets): https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html',
  scp: 'AWS Organizations user guide, "Service control policies (SCPs)" (SCPs apply to the account\'s IAM principals, roles used as CloudFormation service roles included; never to service principals) and "SCP evaluation": https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html',
  requestedRegion: 'IAM user guide, "AWS global condition context keys", aws:RequestedRegion (the Region the request is made to; us-east-1 for the global IAM endpoint): https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion',
};

/** The enforcement's administrator, from cdk.json (`enforcement.administratorArn`). */
export function administratorArn(repoRoot: string): string | undefined {
  try {
    const context = JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')).context ?? {};
    const arn = context.enforcement?.administratorArn;
    return typeof arn === 'string' && arn.startsWith('arn:aws:iam::') ? arn : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The administrator's role. It is created outside the assembly (docs/enforcement.md, install): the
 * rehearsal models it as an administrator (AdministratorAccess) its account's principals may
 * assume. Its grants are an assumption; what is evaluated is what the enforcement's key, bucket
 * and trust policies and the SCP leave it.
 */
export function administrator(repoRoot: string): RoleFacts | undefined {
  const arn = administratorArn(repoRoot);
  if (!arn) return undefined;
  const account = accountOf(arn);
  return {
    arn,
    account,
    source: 'administrator (cdk.json enforcement.administratorArn; outside the assembly, modelled with AdministratorAccess)',
    trust: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' }] },
    identityPolicies: [{ name: 'arn:aws:iam::aws:policy/AdministratorAccess', policy: managedPolicy('arn:aws:iam::aws:policy/AdministratorAccess') }],
    unknownManagedPolicies: [],
  };
}

/**
 * enforcement/scp.json as the SCP of the administrator's account (the production account), its
 * `<ADMIN_ROLE_NAME>` placeholder replaced by the administrator's role name, as docs/enforcement.md
 * tells the installer to.
 */
export function enforcementScp(repoRoot: string, file: string): ScpFile | undefined {
  const admin = administratorArn(repoRoot);
  if (!admin) return undefined;
  const roleName = admin.split('/').pop()!;
  const policy = JSON.parse(readFileSync(file, 'utf8').replaceAll('<ADMIN_ROLE_NAME>', roleName));
  return { name: 'enforcement/scp.json', accounts: [accountOf(admin)], policy };
}

/**
 * The call with `aws:RequestedRegion` (an SCP's region deny reads it; a StringNotEquals on a
 * missing key matches, so a call without it would be denied unseen): the region of its resource's
 * ARN, us-east-1 for IAM and STS's global endpoint, else the region of the principal's stack.
 */
export function withRequestedRegion(call: Call, world: PolicyWorld): Call {
  if (call.context['aws:RequestedRegion']) return call;
  const fromArn = call.resource.startsWith('arn:') ? call.resource.split(':')[3] : '';
  const global = call.permission.startsWith('iam:'); // STS answers in the caller's region (regional endpoints)
  const region = fromArn || (global ? 'us-east-1' : principalRegion(call.principal, world));
  return region ? { ...call, context: { ...call.context, 'aws:RequestedRegion': region } } : call;
}

function principalRegion(principal: string, world: PolicyWorld): string {
  const bootstrap = /:role\/cdk-[^-]+-[a-z-]+-role-\d{12}-([a-z0-9-]+)$/.exec(principal);
  if (bootstrap) return bootstrap[1];
  const source = world.roles.get(principal)?.source;
  return world.stacks.find((s) => s.source === source)?.template.place.region ?? '';
}

/**
 * The administrator's `cdk deploy` of a stack synthesized for its own bootstrap qualifier: the
 * administrator assumes that bootstrap's deploy and file-publishing roles, the deploy role
 * prepares and executes the change set and passes the execution role, CloudFormation assumes it.
 * (The per-resource calls of the execution role are stackCalls'.)
 */
export function handDeployCalls(action: string, t: ResolvedTemplate, qualifier: string, world: PolicyWorld): Call[] {
  const { account, region, stackName } = t.place;
  const admin = [...world.roles.values()].find((r) => r.source.startsWith('administrator') && r.account === account)?.arn;
  const deploy = bootstrapRoleArn('deploy', account, region, qualifier);
  const exec = bootstrapRoleArn('cfn-exec', account, region, qualifier);
  const publishing = bootstrapRoleArn('file-publishing', account, region, qualifier);
  const stack = `arn:aws:cloudformation:${region}:${account}:stack/${stackName}/*`;
  const calls: Call[] = [];
  const call = (principal: string, permission: string, resource: string, context: Record<string, string | string[]>, why: string, citation = ENFORCEMENT_DOCS.cdkDeploy) =>
    calls.push({ action, principal, permission, resource, context, why, citation });
  if (admin) {
    for (const [role, kind] of [[deploy, 'deploy'], [publishing, 'file-publishing']] as const) {
      call(admin, 'sts:AssumeRole', role, roleContext(admin, { 'iam:ResourceTag/aws-cdk:bootstrap-role': kind, 'aws:ResourceTag/aws-cdk:bootstrap-role': kind, 'aws:RequestedRegion': region }), `the administrator's cdk deploy assumes the ${qualifier} ${kind} role`);
    }
  }
  for (const permission of ['cloudformation:DescribeStacks', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet', 'cloudformation:GetTemplate']) {
    call(deploy, permission, stack, roleContext(deploy), `cdk deploy prepares and executes the change set of ${stackName}`);
  }
  call(deploy, 'iam:PassRole', exec, roleContext(deploy, { 'iam:PassedToService': 'cloudformation.amazonaws.com' }), 'CloudFormation is given the execution role', DOCS.passRole);
  call(deploy, 'ssm:GetParameters', `arn:aws:ssm:${region}:${account}:parameter/cdk-bootstrap/${qualifier}/version`, roleContext(deploy), 'CloudFormation reads the bootstrap version parameter with the caller\'s credentials', DOCS.ssmParameter);
  calls.push({ action, principal: 'cloudformation.amazonaws.com', permission: 'sts:AssumeRole', resource: exec, context: { 'aws:PrincipalServiceName': 'cloudformation.amazonaws.com', 'aws:SourceAccount': account, 'aws:SourceArn': stack, 'aws:SecureTransport': 'true' }, why: 'CloudFormation assumes the execution role', citation: DOCS.serviceRole });
  const bucket = `cdk-${qualifier}-assets-${account}-${region}`;
  for (const permission of ['s3:GetBucketLocation', 's3:ListBucket']) call(publishing, permission, `arn:aws:s3:::${bucket}`, roleContext(publishing, { 'aws:ResourceAccount': account }), 'cdk-assets checks the enforcement\'s asset bucket');
  call(publishing, 's3:PutObject', `arn:aws:s3:::${bucket}/asset.zip`, roleContext(publishing, { 'aws:ResourceAccount': account }), 'cdk-assets uploads the functions\' code to the enforcement\'s own asset bucket');
  return calls;
}

/** The resources of a stack of the world, resolved. */
function resourcesOf(t: ResolvedTemplate, type: string): Array<[string, Json]> {
  return t.resources().filter(([, r]) => r.Type === type).map(([id, r]) => [id, t.resolve(r.Properties ?? {})]);
}


/** The props of the function with this ARN in a stack. */
function functionProps(t: ResolvedTemplate, arn: string): Json | undefined {
  const found = t.resources().find(([id, r]) => r.Type === 'AWS::Lambda::Function' && t.resolve({ 'Fn::GetAtt': [id, 'Arn'] }) === arn);
  return found ? t.resolve(found[1].Properties ?? {}) : undefined;
}

/** The strings of an identity policy's statements allowing `action` (its resources). */
function allowedResources(role: RoleFacts | undefined, action: string): string[] {
  const out: string[] = [];
  for (const p of role?.identityPolicies ?? []) {
    for (const s of [p.policy?.Statement ?? []].flat() as Json[]) {
      if (s.Effect === 'Allow' && [s.Action].flat().includes(action)) out.push(...[s.Resource].flat().map(String));
    }
  }
  return [...new Set(out)];
}

/** The raw-bytes sha256 of a stack's template, as the hook receives it (the attestation key's digest). */
function templateDigest(model: PipelineModel, displayName: string): string {
  const stack = model.stacks.find((s) => s.displayName === displayName);
  return createHash('sha256').update(stack ? readFileSync(stack.templateFile) : displayName).digest('hex');
}

/** Every call of the enforcement during a release. */
export function enforcementCalls(model: PipelineModel, world: PolicyWorld): Call[] {
  const calls: Call[] = [];
  const enforcementStacks = world.stacks.filter((s) => s.template.resources().some(([, r]) => r.Type === 'AWS::CloudFormation::LambdaHook'));
  const actions = model.stages.flatMap((s) => s.actions);
  const pipeline = world.stacks.find((s) => s.source === 'Pipeline')?.template;
  const COMMIT = '0'.repeat(40);

  for (const { source, template: t } of enforcementStacks) {
    const { account, region } = t.place;
    const productionStacks = actions.filter((a) => a.deploys?.account === account).map((a) => a.deploys!).filter((s, i, all) => all.findIndex((x) => x.displayName === s.displayName) === i);

    // --- The validator: the function that signs (its SIGNING_KEY_ARN), invoked by the pipeline
    // account's roles whose identity policies name it (the GuardrailValidation step's).
    for (const [vid] of t.resources().filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.SIGNING_KEY_ARN)) {
      const fn = String(t.resolve({ 'Fn::GetAtt': [vid, 'Arn'] }));
      const callers = [...world.roles.values()].filter((r) => r.source === 'Pipeline' && allowedResources(r, 'lambda:InvokeFunction').includes(fn)).map((r) => r.arn);
      const action = callers.map((c) => pipelineActionOf(pipeline, c)).find(Boolean) ?? 'Guardrail/GuardrailValidation';
      for (const caller of callers) {
        calls.push({ action, principal: caller, permission: 'lambda:InvokeFunction', resource: fn, context: roleContext(caller), why: `the GuardrailValidation step invokes the validator across accounts (its identity policy in the pipeline account, the function's resource policy in ${source})`, citation: `${ENFORCEMENT_DOCS.lambdaCrossAccount}; ${ENFORCEMENT_DOCS.crossAccountEvaluation}` });
      }
      const props = functionProps(t, fn);
      const validator: string | undefined = props?.Role;
      if (!validator) continue;
      const env = props.Environment?.Variables ?? {};
      const asValidator = (extra: Record<string, string | string[]> = {}) => roleContext(validator, extra);
      // staging, through the read role (staging's bootstrap lookup role, trusting production for lookups)
      for (const readRole of allowedResources(world.roles.get(validator), 'sts:AssumeRole').filter((r) => r.startsWith('arn:aws:iam::') && accountOf(r) !== account)) {
        calls.push({ action, principal: validator, permission: 'sts:AssumeRole', resource: readRole, context: asValidator(), why: 'the validator assumes the staging read role (staging bootstrapped with --trust-for-lookup <production>)', citation: ENFORCEMENT_DOCS.lookupRole });
        const stagingAccount = accountOf(readRole);
        const staged = actions.filter((a) => a.deploys?.account === stagingAccount).map((a) => a.deploys!).filter((s, i, all) => all.findIndex((x) => x.displayName === s.displayName) === i);
        for (const s of staged) {
          const stackArn = `arn:aws:cloudformation:${s.region}:${s.account}:stack/${s.stackName}/*`;
          for (const permission of ['cloudformation:GetTemplate', 'cloudformation:ListStackResources']) calls.push({ action, principal: readRole, permission, resource: stackArn, context: roleContext(readRole), why: `the validator reads staging's deployed ${s.stackName} (ReadOnlyAccess of the lookup role)`, citation: `${ENFORCEMENT_DOCS.getTemplate}; ${ENFORCEMENT_DOCS.readOnlyAccess}` });
          const staging = world.stacks.find((w) => w.source === s.displayName)?.template;
          for (const [sid] of staging ? resourcesOf(staging, 'AWS::ECS::Service') : []) {
            const service = String(staging!.resolve({ Ref: sid }));
            const [, cluster, name] = /:service\/([^/]+)\/(.+)$/.exec(service) ?? [];
            calls.push({ action, principal: readRole, permission: 'ecs:ListServiceDeployments', resource: service, context: roleContext(readRole), why: `the validator finds the deployment staging's ${name} runs`, citation: `${ENFORCEMENT_DOCS.serviceRevisions}; ${ENFORCEMENT_DOCS.readOnlyAccess}` });
            calls.push({ action, principal: readRole, permission: 'ecs:DescribeServiceRevisions', resource: `arn:aws:ecs:${s.region}:${s.account}:service-revision/${cluster}/${name}/1`, context: roleContext(readRole), why: `the validator reads the image digests of staging's ${name} revision`, citation: `${ENFORCEMENT_DOCS.serviceRevisions}; ${ENFORCEMENT_DOCS.readOnlyAccess}` });
          }
        }
      }
      // production: its registry's digests, its asset bucket's file assets
      for (const s of productionStacks) {
        const prod = world.stacks.find((w) => w.source === s.displayName)?.template;
        if (!prod) continue;
        for (const [, td] of resourcesOf(prod, 'AWS::ECS::TaskDefinition')) {
          for (const c of (td.ContainerDefinitions ?? []) as Json[]) {
            const image = /^(\d+)\.dkr\.ecr\.([^.]+)\.amazonaws\.com\/([^:@]+)/.exec(String(c.Image));
            if (image) calls.push({ action, principal: validator, permission: 'ecr:DescribeImages', resource: `arn:aws:ecr:${image[2]}:${image[1]}:repository/${image[3]}`, context: asValidator(), why: `the validator resolves ${s.stackName}'s image tag to its digest in production's registry`, citation: ENFORCEMENT_DOCS.describeImages });
          }
        }
        for (const object of fileAssets(prod)) {
          calls.push({ action, principal: validator, permission: 's3:GetObject', resource: object, context: asValidator({ 's3:ResourceAccount': account, 'aws:ResourceAccount': account }), why: `the validator re-reads ${s.stackName}'s file asset to attest its digest (bootstrap asset bucket policy)`, citation: ENFORCEMENT_DOCS.s3Get });
        }
        const bucket = env.ATTESTATION_BUCKET;
        if (bucket) calls.push({ action, principal: validator, permission: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/${attestationKey(s.account!, s.region!, s.stackName, templateDigest(model, s.displayName))}`, context: asValidator({ 's3:ResourceAccount': account }), why: `the validator writes ${s.stackName}'s attestation (attestation bucket policy)`, citation: ENFORCEMENT_DOCS.s3Put });
      }
      if (env.ATTESTATION_BUCKET) calls.push({ action, principal: validator, permission: 's3:PutObject', resource: `arn:aws:s3:::${env.ATTESTATION_BUCKET}/releases/${COMMIT}/execution.dsse.json`, context: asValidator({ 's3:ResourceAccount': account }), why: 'the validator writes the release\'s attestation (attestation bucket policy)', citation: ENFORCEMENT_DOCS.s3Put });
      if (env.SIGNING_KEY_ARN) calls.push({ action, principal: validator, permission: 'kms:Sign', resource: String(env.SIGNING_KEY_ARN), context: asValidator({ 'kms:CallerAccount': account, 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' }), why: 'the validator signs the statement\'s digest (signing key policy)', citation: ENFORCEMENT_DOCS.kmsSign });
    }

    // --- The hooks of this region, at every production stack operation in it.
    // Each production change set's Prepare (CHANGE_SET target) and the Deploy that executes it
    // (STACK target), in this region.
    const operations = actions.filter((a) => a.deploys?.account === account && a.deploys.region === region && a.name.endsWith('.Prepare')).flatMap((prepare) => {
      const execute = actions.find((x) => x.stage === prepare.stage && x.name === prepare.name.replace(/\.Prepare$/, '.Deploy'));
      return [prepare, ...(execute ? [{ ...execute, deploys: prepare.deploys }] : [])];
    });
    for (const [hid, hook] of resourcesOf(t, 'AWS::CloudFormation::LambdaHook')) {
      const hookFn = String(hook.LambdaFunction);
      const fnProps = functionProps(t, hookFn);
      const fnRole: string | undefined = fnProps?.Role;
      const env = fnProps?.Environment?.Variables ?? {};
      const trusted: string[] = JSON.parse(env.TRUSTED_KEY_ARNS ?? '[]');
      for (const a of operations) {
        const key = `${a.stage}/${a.name}`;
        const target = a.name.endsWith('.Prepare') ? 'CHANGE_SET' : 'STACK';
        const s = a.deploys!;
        const hooksService = { 'aws:PrincipalServiceName': 'hooks.cloudformation.amazonaws.com', 'aws:SourceAccount': account, 'aws:SecureTransport': 'true' };
        calls.push({ action: key, principal: 'hooks.cloudformation.amazonaws.com', permission: 'sts:AssumeRole', resource: String(hook.ExecutionRole), context: hooksService, why: `${hid}: CloudFormation Hooks assumes the Lambda hook's execution role (${target} target)`, citation: `${ENFORCEMENT_DOCS.lambdaHookRole}; ${ENFORCEMENT_DOCS.hookTargets}` });
        calls.push({ action: key, principal: String(hook.ExecutionRole), permission: 'lambda:InvokeFunction', resource: hookFn, context: roleContext(String(hook.ExecutionRole)), why: `${hid}: the execution role invokes the hook function`, citation: ENFORCEMENT_DOCS.lambdaHookRole });
        if (!fnRole) continue;
        const bucket = env.ATTESTATION_BUCKET;
        const bucketAccount = account;
        if (bucket) {
          const objectKey = attestationKey(s.account!, s.region!, s.stackName, templateDigest(model, s.displayName));
          calls.push({ action: key, principal: fnRole, permission: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${objectKey}`, context: roleContext(fnRole, { 's3:ResourceAccount': bucketAccount }), why: `${hid}: the hook reads ${s.stackName}'s attestation`, citation: ENFORCEMENT_DOCS.s3Get });
          calls.push({ action: key, principal: fnRole, permission: 's3:GetObject', resource: `arn:aws:s3:::${bucket}/${revokedKey(COMMIT)}`, context: roleContext(fnRole, { 's3:ResourceAccount': bucketAccount }), why: `${hid}: the hook checks the release is not revoked`, citation: ENFORCEMENT_DOCS.s3Get });
          calls.push({ action: key, principal: fnRole, permission: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: roleContext(fnRole, { 's3:prefix': objectKey }), why: `${hid}: a missing attestation answers 404, not 403`, citation: ENFORCEMENT_DOCS.s3Get });
        }
        // The file assets the template names, re-read from this region's asset bucket (enforcement/hook/decide.ts).
        const deployed = world.stacks.find((w) => w.source === s.displayName)?.template;
        for (const object of deployed ? fileAssets(deployed) : []) {
          calls.push({ action: key, principal: fnRole, permission: 's3:GetObject', resource: object, context: roleContext(fnRole, { 's3:ResourceAccount': account, 'aws:ResourceAccount': account }), why: `${hid}: the hook re-reads ${s.stackName}'s file asset to compare its sha256 with the attested one (bootstrap asset bucket policy)`, citation: ENFORCEMENT_DOCS.s3Get });
        }
        for (const aliasArn of trusted) {
          const keyArn = world.aliases.get(aliasArn);
          const alias = aliasArn.split(':').pop()!;
          if (keyArn) calls.push({ action: key, principal: fnRole, permission: 'kms:GetPublicKey', resource: keyArn, context: roleContext(fnRole, { 'kms:ResourceAliases': [alias], 'kms:CallerAccount': account }), why: `${hid}: the hook reads the public key behind ${alias}`, citation: ENFORCEMENT_DOCS.kmsGetPublicKey });
        }
      }
    }
    for (const [gid, guard] of resourcesOf(t, 'AWS::CloudFormation::GuardHook')) {
      const role = String(guard.ExecutionRole);
      const rulesBucket = /^s3:\/\/([^/]+)\//.exec(String(guard.RuleLocation?.Uri ?? ''))?.[1];
      for (const a of operations.filter((x) => x.name.endsWith('.Deploy'))) {
        const key = `${a.stage}/${a.name}`;
        calls.push({ action: key, principal: 'hooks.cloudformation.amazonaws.com', permission: 'sts:AssumeRole', resource: role, context: { 'aws:PrincipalServiceName': 'hooks.cloudformation.amazonaws.com', 'aws:SourceAccount': account, 'aws:SecureTransport': 'true' }, why: `${gid}: CloudFormation Hooks assumes the Guard hook's execution role (STACK target)`, citation: ENFORCEMENT_DOCS.guardHookRole });
        if (rulesBucket) {
          calls.push({ action: key, principal: role, permission: 's3:ListBucket', resource: `arn:aws:s3:::${rulesBucket}`, context: roleContext(role, { 's3:ResourceAccount': account }), why: `${gid}: the Guard hook lists its rules`, citation: ENFORCEMENT_DOCS.guardHookRole });
          for (const object of ['rules/rules.zip', 'params/params.json']) {
            for (const permission of ['s3:GetObject', 's3:GetObjectVersion']) calls.push({ action: key, principal: role, permission, resource: `arn:aws:s3:::${rulesBucket}/${object}`, context: roleContext(role, { 's3:ResourceAccount': account }), why: `${gid}: the Guard hook reads ${object.split('/')[0]} from the rules bucket (SSE-S3: no KMS key)`, citation: ENFORCEMENT_DOCS.guardHookRole });
          }
        }
        if (guard.LogBucket) calls.push({ action: key, principal: role, permission: 's3:PutObject', resource: `arn:aws:s3:::${guard.LogBucket}/guard-hook/report.json`, context: roleContext(role, { 's3:ResourceAccount': account }), why: `${gid}: the Guard hook writes its report`, citation: ENFORCEMENT_DOCS.guardHookRole });
      }
    }
  }
  const seen = new Set<string>();
  return calls.filter((c) => {
    const key = `${c.action}|${c.principal}|${c.permission}|${c.resource}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The S3 objects a template's functions and layers are deployed from (file assets). */
function fileAssets(t: ResolvedTemplate): string[] {
  const out: string[] = [];
  for (const [, r] of t.resources()) {
    if (r.Type !== 'AWS::Lambda::Function' && r.Type !== 'AWS::Lambda::LayerVersion') continue;
    const code = t.resolve(r.Properties?.Code ?? r.Properties?.Content ?? {});
    if (code?.S3Bucket && code?.S3Key) out.push(`arn:aws:s3:::${code.S3Bucket}/${code.S3Key}`);
  }
  return [...new Set(out)];
}

/** The pipeline action whose CodeBuild project runs as `role`. */
function pipelineActionOf(pipeline: ResolvedTemplate | undefined, role: string): string | undefined {
  if (!pipeline) return undefined;
  const [, resource] = pipeline.resources().find(([, r]) => r.Type === 'AWS::CodePipeline::Pipeline') ?? [];
  if (!resource) return undefined;
  const props = pipeline.resolve(resource.Properties);
  for (const stage of props.Stages ?? []) {
    for (const a of stage.Actions ?? []) {
      if (a.ActionTypeId?.Provider !== 'CodeBuild') continue;
      const project = pipeline.resources().find(([id]) => pipeline.resolve({ Ref: id }) === a.Configuration?.ProjectName)?.[1];
      if (project && pipeline.resolve(project.Properties.ServiceRole) === role) return `${stage.Name}/${a.Name}`;
    }
  }
  return undefined;
}
