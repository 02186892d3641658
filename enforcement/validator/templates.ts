// What the validator reads out of a template: the release it carries, its container images,
// its file assets, and anything that could manage CloudFormation hooks. Templates are the
// commit's: nothing here trusts their metadata, only what CloudFormation would deploy.

type Json = unknown;
const isRecord = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: Json): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The template's resources (logical id → resource), every value an object or skipped. */
export function resources(template: Record<string, Json>): Array<[string, { Type: string; Properties: Record<string, Json> }]> {
  const out: Array<[string, { Type: string; Properties: Record<string, Json> }]> = [];
  for (const [id, r] of Object.entries(isRecord(template.Resources) ? template.Resources : {})) {
    if (!isRecord(r)) continue;
    out.push([id, { Type: String(r.Type), Properties: isRecord(r.Properties) ? r.Properties : {} }]);
  }
  return out;
}

/** The environment variable the stage's services carry the release in (lib/stage.ts: `APP_VERSION: props.appVersion`). */
export const RELEASE_VARIABLE = 'APP_VERSION';

/** Every value of RELEASE_VARIABLE in the template's task definitions (as JSON text when it is not a string). */
export function releaseValues(template: Record<string, Json>): string[] {
  const values = new Set<string>();
  for (const [, r] of resources(template)) {
    if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
    for (const container of list(r.Properties.ContainerDefinitions)) {
      if (!isRecord(container)) continue;
      for (const variable of list(container.Environment)) {
        if (isRecord(variable) && variable.Name === RELEASE_VARIABLE) values.add(typeof variable.Value === 'string' ? variable.Value : JSON.stringify(variable.Value));
      }
    }
  }
  return [...values].sort();
}

/** A container of a task definition and the image it names. */
export interface ContainerImageRef {
  readonly taskDefinition: string;
  readonly containerName: string;
  /** The image URI with pseudo parameters resolved, or undefined when it is not a plain string after that. */
  readonly image: string | undefined;
  /** The image as written, for messages. */
  readonly written: Json;
}

/** Resolves the pseudo parameters an image URI uses (Fn::Sub, Fn::Join, Ref); undefined for anything else. */
export function resolvePseudo(value: Json, env: { account: string; region: string }): string | undefined {
  const pseudo: Record<string, string> = { 'AWS::URLSuffix': 'amazonaws.com', 'AWS::Partition': 'aws', 'AWS::Region': env.region, 'AWS::AccountId': env.account };
  if (typeof value === 'string') return value;
  if (!isRecord(value) || Object.keys(value).length !== 1) return undefined;
  if (typeof value['Fn::Sub'] === 'string') {
    let unresolved = false;
    const out = value['Fn::Sub'].replace(/\$\{([^}]*)\}/g, (_, name: string) => pseudo[name] ?? ((unresolved = true), ''));
    return unresolved ? undefined : out;
  }
  if (typeof value.Ref === 'string') return pseudo[value.Ref];
  const join = value['Fn::Join'];
  if (Array.isArray(join) && join.length === 2 && typeof join[0] === 'string' && Array.isArray(join[1])) {
    const parts = join[1].map((p) => resolvePseudo(p, env));
    return parts.every((p) => p !== undefined) ? parts.join(join[0]) : undefined;
  }
  return undefined;
}

/** Every container image the template's task definitions name. */
export function containerImages(template: Record<string, Json>, env: { account: string; region: string }): ContainerImageRef[] {
  const out: ContainerImageRef[] = [];
  for (const [id, r] of resources(template)) {
    if (r.Type !== 'AWS::ECS::TaskDefinition') continue;
    for (const container of list(r.Properties.ContainerDefinitions)) {
      if (!isRecord(container)) continue;
      out.push({ taskDefinition: id, containerName: String(container.Name), image: resolvePseudo(container.Image, env), written: container.Image });
    }
  }
  return out;
}

/** An image of a private ECR registry: `<account>.dkr.ecr.<region>.amazonaws.com/<repository>(:<tag>|@sha256:<hex>)`. */
export interface EcrImage {
  readonly account: string;
  readonly region: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export function parseEcrImage(uri: string): EcrImage | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9][a-z0-9._/-]{0,255})(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(sha256:[0-9a-f]{64}))$/.exec(uri);
  if (!m) return undefined;
  return { account: m[1], region: m[2], repository: m[3], tag: m[4], digest: m[5] };
}

/** A file asset a resource names by bucket and key (Lambda code, and any S3Bucket/S3Key pair). */
export interface FileAssetRef {
  readonly logicalId: string;
  readonly bucket: string;
  readonly key: string;
}

/** Every S3Bucket/S3Key pair of literal strings in the template's resource properties. */
export function fileAssets(template: Record<string, Json>): FileAssetRef[] {
  const out = new Map<string, FileAssetRef>();
  const visit = (logicalId: string, value: Json): void => {
    if (Array.isArray(value)) return value.forEach((v) => visit(logicalId, v));
    if (!isRecord(value)) return;
    if (typeof value.S3Bucket === 'string' && typeof value.S3Key === 'string') {
      out.set(`${logicalId}\0${value.S3Bucket}\0${value.S3Key}`, { logicalId, bucket: value.S3Bucket, key: value.S3Key });
    }
    for (const v of Object.values(value)) visit(logicalId, v);
  };
  for (const [id, r] of resources(template)) visit(id, r.Properties);
  return [...out.values()].sort((a, b) => `${a.bucket}/${a.key}`.localeCompare(`${b.bucket}/${b.key}`));
}

/**
 * Objects with an S3Bucket or S3Key that `fileAssets` cannot read (either one missing or not a
 * literal string, for example an Fn::Sub): what they deploy can be neither attested nor re-checked.
 */
export function unreadableFileAssets(template: Record<string, Json>): string[] {
  const out: string[] = [];
  const visit = (logicalId: string, value: Json): void => {
    if (Array.isArray(value)) return value.forEach((v) => visit(logicalId, v));
    if (!isRecord(value)) return;
    if (('S3Bucket' in value || 'S3Key' in value) && !(typeof value.S3Bucket === 'string' && typeof value.S3Key === 'string')) {
      out.push(`${logicalId} names S3Bucket ${JSON.stringify(value.S3Bucket)} and S3Key ${JSON.stringify(value.S3Key)}`);
    }
    for (const v of Object.values(value)) visit(logicalId, v);
  };
  for (const [id, r] of resources(template)) visit(id, r.Properties);
  return out;
}

/**
 * Resource types that manage CloudFormation hooks, extensions or stacks beyond this one: a
 * template holding one could switch the guardrail's hooks off or deploy around them.
 */
export const HOOK_MANAGEMENT_TYPES = [
  'AWS::CloudFormation::LambdaHook',
  'AWS::CloudFormation::GuardHook',
  'AWS::CloudFormation::HookTypeConfig',
  'AWS::CloudFormation::HookDefaultVersion',
  'AWS::CloudFormation::HookVersion',
  'AWS::CloudFormation::TypeActivation',
  'AWS::CloudFormation::ResourceVersion',
  'AWS::CloudFormation::ResourceDefaultVersion',
  'AWS::CloudFormation::ModuleVersion',
  'AWS::CloudFormation::ModuleDefaultVersion',
  'AWS::CloudFormation::PublicTypeVersion',
  'AWS::CloudFormation::Publisher',
  'AWS::CloudFormation::StackSet',
];

/** The prefix of the guardrail's signing key aliases (lib/enforcement-names.ts: signingKeyAlias), which the hooks trust. */
export const GUARDRAIL_ALIAS_PREFIX = 'alias/br-fagq2-guardrail';

/** CloudFormation actions that register, activate, configure or remove hooks and other extensions. */
export const HOOK_MANAGEMENT_ACTIONS = [
  'cloudformation:ActivateType',
  'cloudformation:DeactivateType',
  'cloudformation:RegisterType',
  'cloudformation:DeregisterType',
  'cloudformation:SetTypeConfiguration',
  'cloudformation:SetTypeDefaultVersion',
  'cloudformation:PublishType',
  'cloudformation:RegisterPublisher',
  'cloudformation:TestType',
  'cloudformation:ActivateOrganizationsAccess',
  'cloudformation:DeactivateOrganizationsAccess',
];

/**
 * AWS managed policies that allow hook-management actions (`cloudformation:*` or `*`): attached
 * by ARN, they grant what no statement of the template shows.
 */
export const HOOK_MANAGING_MANAGED_POLICIES = ['AdministratorAccess', 'PowerUserAccess', 'AWSCloudFormationFullAccess', 'job-function/SystemAdministrator'];

/** A managed policy ARN as text: a string, or Fn::Join / Fn::Sub of strings and pseudo parameters (their names kept). */
function arnText(value: Json): string {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return '';
  if (typeof value['Fn::Sub'] === 'string') return value['Fn::Sub'];
  const join = value['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) return join[1].map(arnText).join(typeof join[0] === 'string' ? join[0] : '');
  return '';
}

/** Whether an IAM action pattern (`*` and `?` wildcards, case-insensitive) matches `action`. */
function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return regex.test(action);
}

/** The policy documents a resource grants through (identity policies of roles, users, groups and managed or inline policies). */
function policyDocuments(type: string, properties: Record<string, Json>): Json[] {
  if (type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy' || type === 'AWS::IAM::RolePolicy' || type === 'AWS::IAM::UserPolicy' || type === 'AWS::IAM::GroupPolicy') {
    return [properties.PolicyDocument];
  }
  if (type === 'AWS::IAM::Role' || type === 'AWS::IAM::User' || type === 'AWS::IAM::Group') {
    return list(properties.Policies).map((p) => (isRecord(p) ? p.PolicyDocument : undefined));
  }
  return [];
}

/**
 * Hook-management resources, and IAM statements that allow a hook-management action (also
 * through a wildcard such as `cloudformation:*` or `*`, or through NotAction), in the template.
 * None is acceptable: only the enforcement's administrator manages hooks, and an action written
 * as an intrinsic cannot be read, so it counts too.
 */
export function hookManagementProblems(template: Record<string, Json>): string[] {
  const problems: string[] = [];
  for (const [id, r] of resources(template)) {
    if (r.Type === 'AWS::KMS::Alias') {
      const name = r.Properties.AliasName;
      // The hooks trust the signing keys by alias: an alias of that name, moved, moves the trust.
      if (typeof name !== 'string') problems.push(`${id}: an AWS::KMS::Alias whose AliasName is not a plain string (${JSON.stringify(name)}); it could name a guardrail key alias`);
      else if (name.startsWith(GUARDRAIL_ALIAS_PREFIX)) problems.push(`${id}: an AWS::KMS::Alias named ${name} (the guardrail's signing key aliases belong to the enforcement administrator)`);
    }
    if (HOOK_MANAGEMENT_TYPES.includes(r.Type)) problems.push(`${id}: a ${r.Type} resource (hook and extension management belongs to the enforcement administrator)`);
    if (r.Type.startsWith('AWS::CloudFormation::') && /Hook/.test(r.Type) && !HOOK_MANAGEMENT_TYPES.includes(r.Type)) problems.push(`${id}: a ${r.Type} resource`);
    for (const arn of list(r.Properties.ManagedPolicyArns).map(arnText)) {
      const name = HOOK_MANAGING_MANAGED_POLICIES.find((p) => arn.endsWith(`:policy/${p}`) || arn.endsWith(`:policy/service-role/${p}`));
      if (name) problems.push(`${id}: attaches the AWS managed policy ${name}, which allows hook management`);
    }
    for (const document of policyDocuments(r.Type, r.Properties)) {
      const statements = isRecord(document) ? list(document.Statement) : [];
      for (const statement of statements) {
        if (!isRecord(statement) || statement.Effect !== 'Allow') continue;
        if (statement.NotAction !== undefined) {
          problems.push(`${id}: allows NotAction ${JSON.stringify(statement.NotAction)}, which grants hook management among everything else`);
          continue;
        }
        for (const action of list(statement.Action)) {
          if (typeof action !== 'string') {
            problems.push(`${id}: allows an action written as an intrinsic (${JSON.stringify(action)}); it could be a hook-management action`);
            continue;
          }
          const granted = HOOK_MANAGEMENT_ACTIONS.filter((a) => actionMatches(action, a));
          if (granted.length > 0) problems.push(`${id}: allows ${action}, which grants ${granted.join(', ')}`);
        }
      }
    }
  }
  return problems;
}

/** Strings the template must never contain: the enforcement's own names (its stack, functions, bucket). */
export function mentionsOf(template: Record<string, Json>, names: readonly string[]): string[] {
  const text = JSON.stringify(template);
  return names.filter((n) => n.length > 0 && text.includes(n));
}
