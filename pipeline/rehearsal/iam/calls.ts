// The calls a release makes, as data: who calls what on which resource with which request
// context, why, and where AWS documents it. Built per pipeline action from the synthesized
// pipeline and per resource of each stack a deploy creates, updates or deletes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commandsOf } from '../actions.ts';
import type { PipelineModel } from '../model.ts';
import { bootstrapRoleArn } from './bootstrap.ts';
import { handlerPermissions, type Operation } from './handlers.ts';
import type { ResolvedTemplate } from './resolve.ts';
import type { PolicyWorld } from './world.ts';

type Json = any;

/** One permission a release needs, evaluated by the engine. */
export interface Call {
  /** The rehearsal action it belongs to: `Stage/Action`, or `hand/<stack>` for a stack deployed by hand. */
  readonly action: string;
  /** A role ARN, or a service principal (`cloudwatch.amazonaws.com`). */
  readonly principal: string;
  /** `service:Action`. */
  readonly permission: string;
  /** An ARN, or `*`. */
  readonly resource: string;
  /** The request context the call carries (the engine fills none itself). */
  readonly context: Record<string, string | string[]>;
  readonly why: string;
  /** The AWS documentation that says the call is made (page title and URL). */
  readonly citation: string;
}

/** The citations, by topic, named once here. */
export const DOCS = {
  handlers: 'CloudFormation CLI user guide, "Resource type schema" (handlers.*.permissions): https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html',
  serviceRole: 'CloudFormation user guide, "AWS CloudFormation service role": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html',
  pipelineRole: 'CodePipeline user guide, "Manage the CodePipeline service role" and "Create a pipeline in CodePipeline that uses resources from another AWS account": https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html',
  connections: 'Developer Tools console user guide, "Connections rename - Summary of changes" (the IAM prefix must match the resource ARN\'s, codeconnections for arn:aws:codeconnections:): https://docs.aws.amazon.com/dtconsole/latest/userguide/rename.html',
  codebuildRole: 'CodeBuild user guide, "Allow CodeBuild to interact with other AWS services" (logs, S3 artifacts and their KMS key): https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html',
  codebuildCache: 'CodeBuild user guide, "Cache builds to improve performance" (Amazon S3 caching: the build reads and writes the cache in the bucket as its service role): https://docs.aws.amazon.com/codebuild/latest/userguide/build-caching.html',
  codebuildClone: 'CodePipeline user guide, "CodeStarSourceConnection for Bitbucket, GitHub, and GitHub Enterprise Server actions" (full clone: the CodeBuild service role needs UseConnection on the connection): https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html',
  s3Kms: 'S3 user guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)" (kms:GenerateDataKey to put, kms:Decrypt to get; kms:ViaService s3.<region>.amazonaws.com): https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html',
  bootstrap: 'CDK developer guide, "CDK bootstrapping" (deploy, file-publishing, image-publishing roles, trusted accounts): https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html',
  passRole: 'IAM user guide, "Grant a user permissions to pass a role to an AWS service" (iam:PassedToService): https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html',
  ssmParameter: 'CloudFormation user guide, "Specify existing resources at runtime with CloudFormation-supplied parameter types" (SSM parameter types are read with the caller\'s credentials): https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html',
  secretKms: 'Secrets Manager user guide, "Secret encryption and decryption in AWS Secrets Manager" / "Permissions for the KMS key" (kms:GenerateDataKey and kms:Decrypt, kms:ViaService secretsmanager.<region>.amazonaws.com): https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html',
  logsKms: 'CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS Key Management Service" (the key policy must allow logs.<region>.amazonaws.com, encryption context aws:logs:arn): https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html',
  snsKms: 'SNS developer guide, "Encryption at rest" / "Enable compatibility between event sources from AWS services and encrypted topics" (the publishing service principal needs kms:GenerateDataKey* and kms:Decrypt on the topic\'s key): https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html',
  alarmSns: 'CloudWatch user guide, "Using Amazon CloudWatch alarms" / alarm actions to SNS (the topic policy must allow cloudwatch.amazonaws.com sns:Publish; aws:SourceArn is the alarm ARN): https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html',
  eventsSns: 'EventBridge user guide, "Using resource-based policies for Amazon EventBridge" - Amazon SNS permissions (events.amazonaws.com sns:Publish, aws:SourceArn the rule): https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html',
  notificationsSns: 'Developer Tools console user guide, "Configure Amazon SNS topics for notifications" (codestar-notifications.amazonaws.com sns:Publish): https://docs.aws.amazon.com/dtconsole/latest/userguide/set-up-sns.html',
  scheduler: 'EventBridge Scheduler user guide, "Set up the execution role" (scheduler.amazonaws.com assumes it; aws:SourceArn the schedule group, aws:SourceAccount) and "Using templated targets - Amazon SQS" (sqs:SendMessage): https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role',
  ecsTaskExecution: 'ECS developer guide, "Amazon ECS task execution IAM role" (ECR pulls, awslogs writes): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html',
  ecsTaskRole: 'ECS developer guide, "Amazon ECS task IAM role" (ecs-tasks.amazonaws.com assumes it): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html',
  ecsInfrastructure: 'ECS developer guide, "Amazon ECS infrastructure IAM role for load balancers" (ecs.amazonaws.com assumes it, modifies the listener rules and registers targets): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html',
  ecsHooks: 'ECS developer guide, "Lifecycle hooks for Amazon ECS service deployments" (ecs.amazonaws.com assumes the hook role, which needs lambda:InvokeFunction): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html',
  lambdaRole: 'Lambda developer guide, "Defining Lambda function permissions with an execution role" (lambda.amazonaws.com assumes it; logs writes): https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html',
  flowLogs: 'VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs": https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html',
  secretValue: 'Secrets Manager user guide, "Permissions policy examples" (secretsmanager:GetSecretValue; the ARN ends in the name, a hyphen and six random characters) and API Reference "GetSecretValue": https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html',
  customResource: 'CloudFormation user guide, "Lambda-backed custom resources" (CloudFormation invokes the ServiceToken function): https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html',
};

/** The request context of a call made with a role's credentials. */
export function roleContext(roleArn: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  const account = accountOf(roleArn);
  return { 'aws:PrincipalArn': roleArn, 'aws:PrincipalAccount': account, 'aws:PrincipalType': 'AssumedRole', 'aws:SecureTransport': 'true', ...extra };
}

/** The request context of a call a service makes with its service principal. */
export function serviceContext(service: string, sourceArn: string, sourceAccount: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return { 'aws:PrincipalServiceName': service, 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount, 'aws:SecureTransport': 'true', ...extra };
}

export function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}

/** A resolved value's strings, deeply: every ARN a resource's properties reference. */
function strings(value: Json, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** A key reference (id, ARN or alias) as the key's ARN, when the world knows the key. */
export function keyArn(world: PolicyWorld, reference: string | undefined, account: string, region: string): string | undefined {
  if (!reference) return undefined;
  if (reference.startsWith('arn:aws:kms:') && reference.includes(':key/')) return reference;
  const alias = reference.startsWith('arn:') ? reference : `arn:aws:kms:${region}:${account}:${reference.startsWith('alias/') ? reference : `key/${reference}`}`;
  return world.aliases.get(alias) ?? (alias.includes(':key/') ? alias : undefined);
}

/**
 * The calls CloudFormation makes to create, update and delete every resource of a stack with its
 * execution role (the handlers' permissions), and the calls the services then make on the
 * stack's behalf (service to service), which the handler lists omit.
 */
export function stackCalls(action: string, t: ResolvedTemplate, executionRole: string, world: PolicyWorld, repoRoot: string): Call[] {
  const { account } = t.place;
  const calls: Call[] = [];
  const seen = new Set<string>();
  const add = (call: Call) => {
    const key = `${call.principal}|${call.permission}|${call.resource}|${JSON.stringify(call.context)}`;
    if (seen.has(key)) return;
    seen.add(key);
    calls.push(call);
  };
  const asRole = roleContext(executionRole, { 'kms:CallerAccount': account });
  const arnOf = (id: string): string | undefined => {
    const r = t.template.Resources[id];
    const attr = t.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
    if (typeof attr === 'string' && attr.startsWith('arn:') && !attr.endsWith('.Arn')) return attr;
    const ref = t.resolve({ Ref: id });
    if (typeof ref === 'string' && ref.startsWith('arn:')) return ref;
    return r ? undefined : undefined;
  };

  for (const [id, r] of t.resources()) {
    const props = t.resolve(r.Properties ?? {});
    const own = arnOf(id);
    // The resources a handler acts on: those its properties name, not the ones a policy document
    // inside it grants on (an AWS::IAM::Policy acts on the roles it attaches to).
    // Nor environment variables: a function's or a container's environment names ARNs its code
    // uses (the validator's SIGNING_KEY_ARN), which the handler never touches.
    const { PolicyDocument, AssumeRolePolicyDocument, KeyPolicy, Policies, ResourcePolicy, RepositoryPolicyText, Environment, ...named } = props;
    void PolicyDocument; void AssumeRolePolicyDocument; void KeyPolicy; void Policies; void ResourcePolicy; void RepositoryPolicyText; void Environment;
    if (Array.isArray(named.Roles)) named.Roles = named.Roles.map((n: string) => (String(n).startsWith('arn:') ? n : `arn:aws:iam::${account}:role/${n}`));
    const referenced = [...new Set(strings(named).flatMap((s) => {
      if (s.startsWith('arn:aws:iam::aws:policy/')) return []; // a managed policy is attached, not acted on
      if (s.startsWith('arn:aws:')) return [s.replace(/:\*$/, '')];
      const key = world.keyIds.get(s);
      return key ? [key] : [];
    }))];
    // (a) the resource handlers' permissions, on the resource itself or the resources it references
    if (r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource') {
      add({ action, principal: executionRole, permission: 'lambda:InvokeFunction', resource: String(props.ServiceToken), context: asRole, why: `${id}: CloudFormation invokes the custom resource's provider`, citation: DOCS.customResource });
    } else {
      const handlers = handlerPermissions(repoRoot, r.Type);
      for (const op of ['create', 'update', 'delete'] as Operation[]) {
        for (const permission of handlers?.permissions[op] ?? []) {
          if (permission.includes('*')) continue; // a wildcard in a handler list names no single call
          const service = permission.split(':')[0];
          const targets = [own, ...referenced].filter((a): a is string => !!a && a.split(':')[2] === service && [account, ''].includes(accountOf(a))); // a handler acts in its own account
          for (const resource of targets.length ? [...new Set(targets)] : ['*']) {
            add({ action, principal: executionRole, permission, resource, context: asRole, why: `${id} (${r.Type}) ${op}: ${handlers!.source}`, citation: DOCS.handlers });
          }
        }
      }
    }
    // (b) service to service and on the caller's behalf
    for (const call of onBehalfCalls(id, r.Type, props, own, t, world, executionRole)) add({ ...call, action });
  }
  return calls;
}

type Partial = Omit<Call, 'action'>;

function onBehalfCalls(id: string, type: string, props: Json, own: string | undefined, t: ResolvedTemplate, world: PolicyWorld, executionRole: string): Partial[] {
  const { account, region } = t.place;
  const out: Partial[] = [];
  const kms = (principal: string, key: string | undefined, permissions: string[], context: Record<string, string | string[]>, why: string, citation: string) => {
    if (!key) return;
    for (const permission of permissions) out.push({ principal, permission, resource: key, context, why, citation });
  };
  const assume = (service: string, role: string | undefined, sourceArn: string, why: string, citation: string) => {
    if (role?.startsWith('arn:aws:iam::')) out.push({ principal: service, permission: 'sts:AssumeRole', resource: role, context: serviceContext(service, sourceArn, account), why, citation });
  };
  const topicPublishers = (service: string, topic: string, sourceArn: string, why: string, citation: string) => {
    out.push({ principal: service, permission: 'sns:Publish', resource: topic, context: serviceContext(service, sourceArn, account), why, citation });
    const topicKey = keyArn(world, world.topicKeys.get(topic), account, region);
    // The KMS leg carries no aws:SourceArn/aws:SourceAccount: not every publishing service sends
    // them to KMS (nor kms:ViaService), so a key policy that requires them fails here rather than passing unseen.
    kms(service, topicKey, ['kms:GenerateDataKey', 'kms:Decrypt'], { 'aws:SecureTransport': 'true' }, `${why}, to the topic's KMS key`, DOCS.snsKms);
  };
  switch (type) {
    case 'AWS::SecretsManager::Secret': {
      const key = keyArn(world, props.KmsKeyId, account, region);
      kms(executionRole, key, ['kms:GenerateDataKey', 'kms:Decrypt'], roleContext(executionRole, { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com`, 'kms:CallerAccount': account, 'kms:EncryptionContext:SecretARN': own ?? '' }), `${id}: Secrets Manager encrypts the secret's value under its key for CloudFormation's role (CreateSecret, PutSecretValue)`, DOCS.secretKms);
      break;
    }
    case 'AWS::Logs::LogGroup': {
      const key = keyArn(world, props.KmsKeyId, account, region);
      const service = `logs.${region}.amazonaws.com`;
      const groupArn = `arn:aws:logs:${region}:${account}:log-group:${t.resolve({ Ref: id })}`;
      kms(service, key, ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:GenerateDataKey', 'kms:DescribeKey'], { 'aws:SecureTransport': 'true', 'kms:EncryptionContext:aws:logs:arn': groupArn, 'aws:SourceAccount': account, 'aws:SourceArn': groupArn }, `${id}: CloudWatch Logs encrypts the group's events under its key`, DOCS.logsKms);
      break;
    }
    case 'AWS::CloudWatch::Alarm': {
      for (const target of [...(props.AlarmActions ?? []), ...(props.OKActions ?? []), ...(props.InsufficientDataActions ?? [])] as string[]) {
        if (String(target).startsWith('arn:aws:sns:')) topicPublishers('cloudwatch.amazonaws.com', target, own ?? '', `${id}: the alarm notifies its topic`, DOCS.alarmSns);
      }
      break;
    }
    case 'AWS::Events::Rule': {
      for (const target of (props.Targets ?? []) as Json[]) {
        const arn = String(target.Arn);
        if (target.RoleArn) {
          assume('events.amazonaws.com', target.RoleArn, own ?? '', `${id}: EventBridge assumes the target's role`, DOCS.eventsSns);
        } else if (arn.startsWith('arn:aws:sns:')) {
          topicPublishers('events.amazonaws.com', arn, own ?? '', `${id}: the rule publishes to its topic`, DOCS.eventsSns);
        } else if (arn.startsWith('arn:aws:sqs:')) {
          out.push({ principal: 'events.amazonaws.com', permission: 'sqs:SendMessage', resource: arn, context: serviceContext('events.amazonaws.com', own ?? '', account), why: `${id}: the rule sends to its queue`, citation: DOCS.eventsSns });
        }
      }
      break;
    }
    case 'AWS::CodeStarNotifications::NotificationRule': {
      for (const target of (props.Targets ?? []) as Json[]) {
        if (String(target.TargetAddress).startsWith('arn:aws:sns:')) topicPublishers('codestar-notifications.amazonaws.com', target.TargetAddress, own ?? '', `${id}: the notification rule publishes to its topic`, DOCS.notificationsSns);
      }
      break;
    }
    case 'AWS::Scheduler::Schedule': {
      const target = props.Target ?? {};
      const group = `arn:aws:scheduler:${region}:${account}:schedule-group/${props.GroupName ?? 'default'}`;
      assume('scheduler.amazonaws.com', target.RoleArn, group, `${id}: EventBridge Scheduler assumes the schedule's execution role`, DOCS.scheduler);
      if (String(target.Arn).startsWith('arn:aws:sqs:') && target.RoleArn) {
        out.push({ principal: target.RoleArn, permission: 'sqs:SendMessage', resource: target.Arn, context: roleContext(target.RoleArn), why: `${id}: the schedule sends its message to the queue`, citation: DOCS.scheduler });
        const queueKey = keyArn(world, world.queueKeys.get(target.Arn), account, region);
        kms(target.RoleArn, queueKey, ['kms:GenerateDataKey', 'kms:Decrypt'], roleContext(target.RoleArn, { 'kms:ViaService': `sqs.${region}.amazonaws.com`, 'kms:CallerAccount': account }), `${id}: the queue's KMS key`, DOCS.scheduler);
      }
      break;
    }
    case 'AWS::ECS::TaskDefinition': {
      const sourceArn = `arn:aws:ecs:${region}:${account}:*`;
      assume('ecs-tasks.amazonaws.com', props.ExecutionRoleArn, sourceArn, `${id}: ECS assumes the task execution role`, DOCS.ecsTaskExecution);
      assume('ecs-tasks.amazonaws.com', props.TaskRoleArn, sourceArn, `${id}: the tasks assume their task role`, DOCS.ecsTaskRole);
      const exec = props.ExecutionRoleArn;
      if (!exec) break;
      for (const container of (props.ContainerDefinitions ?? []) as Json[]) {
        const image = /^(\d+)\.dkr\.ecr\.([^.]+)\.amazonaws\.com\/([^:@]+)/.exec(String(container.Image));
        if (image) {
          const repo = `arn:aws:ecr:${image[2]}:${image[1]}:repository/${image[3]}`;
          out.push({ principal: exec, permission: 'ecr:GetAuthorizationToken', resource: '*', context: roleContext(exec), why: `${id}/${container.Name}: ECS pulls the image`, citation: DOCS.ecsTaskExecution });
          for (const permission of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']) out.push({ principal: exec, permission, resource: repo, context: roleContext(exec), why: `${id}/${container.Name}: ECS pulls the image`, citation: DOCS.ecsTaskExecution });
        }
        const logs = container.LogConfiguration;
        if (logs?.LogDriver === 'awslogs' && logs.Options?.['awslogs-group']) {
          const group = `arn:aws:logs:${logs.Options['awslogs-region'] ?? region}:${account}:log-group:${logs.Options['awslogs-group']}:log-stream:x`;
          for (const permission of ['logs:CreateLogStream', 'logs:PutLogEvents']) out.push({ principal: exec, permission, resource: group, context: roleContext(exec), why: `${id}/${container.Name}: the awslogs driver writes the container's logs`, citation: DOCS.ecsTaskExecution });
        }
      }
      break;
    }
    case 'AWS::ECS::Service': {
      const sourceArn = own ?? `arn:aws:ecs:${region}:${account}:service/*`;
      for (const lb of (props.LoadBalancers ?? []) as Json[]) {
        const advanced = lb.AdvancedConfiguration;
        if (!advanced?.RoleArn) continue;
        assume('ecs.amazonaws.com', advanced.RoleArn, sourceArn, `${id}: ECS assumes the load balancer infrastructure role`, DOCS.ecsInfrastructure);
        const role = advanced.RoleArn;
        for (const rule of [advanced.ProductionListenerRule, advanced.TestListenerRule].filter(Boolean)) out.push({ principal: role, permission: 'elasticloadbalancing:ModifyRule', resource: rule, context: roleContext(role), why: `${id}: ECS shifts traffic between the target groups`, citation: DOCS.ecsInfrastructure });
        for (const group of [lb.TargetGroupArn, advanced.AlternateTargetGroupArn].filter(Boolean)) {
          for (const permission of ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets']) out.push({ principal: role, permission, resource: group, context: roleContext(role), why: `${id}: ECS registers the tasks in the target groups`, citation: DOCS.ecsInfrastructure });
        }
      }
      for (const hook of (props.DeploymentConfiguration?.LifecycleHooks ?? []) as Json[]) {
        assume('ecs.amazonaws.com', hook.RoleArn, sourceArn, `${id}: ECS assumes the lifecycle hook's role`, DOCS.ecsHooks);
        if (hook.RoleArn) out.push({ principal: hook.RoleArn, permission: 'lambda:InvokeFunction', resource: hook.HookTargetArn, context: roleContext(hook.RoleArn), why: `${id}: ECS invokes the lifecycle hook`, citation: DOCS.ecsHooks });
      }
      break;
    }
    case 'AWS::Lambda::Function': {
      assume('lambda.amazonaws.com', props.Role, own ?? '', `${id}: Lambda assumes the function's execution role`, DOCS.lambdaRole);
      const group = props.LoggingConfig?.LogGroup ?? `/aws/lambda/${t.resolve({ Ref: id })}`;
      for (const permission of ['logs:CreateLogStream', 'logs:PutLogEvents']) out.push({ principal: props.Role, permission, resource: `arn:aws:logs:${region}:${account}:log-group:${group}:log-stream:x`, context: roleContext(props.Role), why: `${id}: the function writes its logs`, citation: DOCS.lambdaRole });
      break;
    }
    case 'AWS::EC2::FlowLog': {
      if (props.LogDestinationType && props.LogDestinationType !== 'cloud-watch-logs') break;
      assume('vpc-flow-logs.amazonaws.com', props.DeliverLogsPermissionArn, `arn:aws:ec2:${region}:${account}:vpc-flow-log/*`, `${id}: VPC Flow Logs assumes its delivery role`, DOCS.flowLogs);
      const group = props.LogGroupName ?? String(props.LogDestination ?? '').split(':log-group:')[1];
      if (props.DeliverLogsPermissionArn && group) {
        for (const permission of ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams']) out.push({ principal: props.DeliverLogsPermissionArn, permission, resource: `arn:aws:logs:${region}:${account}:log-group:${group.replace(/:\*$/, '')}:log-stream:x`, context: roleContext(props.DeliverLogsPermissionArn), why: `${id}: flow logs are delivered to the group`, citation: DOCS.flowLogs });
      }
      break;
    }
    default:
      break;
  }
  return out;
}

/**
 * The calls of the pipeline's own actions: CodePipeline's role assuming each action's role,
 * the artifacts each action reads and writes (and their KMS keys), the source connection,
 * the CodeBuild service roles (logs, artifacts, the connection, the roles their commands assume),
 * the bootstrap roles assumed across accounts, the publishing of assets, and the deploy role's
 * change set, its passing of the execution role and CloudFormation's assumption of it.
 */
export function pipelineCalls(model: PipelineModel, pipeline: ResolvedTemplate, world: PolicyWorld): Call[] {
  const calls: Call[] = [];
  const { account, region } = pipeline.place;
  const [pipelineId, resource] = pipeline.resources().find(([, r]) => r.Type === 'AWS::CodePipeline::Pipeline')!;
  const props = pipeline.resolve(resource.Properties);
  const pipelineRole: string = props.RoleArn;
  const stores = new Map<string, { bucket: string; key?: string }>();
  for (const s of props.ArtifactStores ?? (props.ArtifactStore ? [{ Region: region, ArtifactStore: props.ArtifactStore }] : [])) {
    stores.set(s.Region, { bucket: s.ArtifactStore.Location, key: keyArn(world, s.ArtifactStore.EncryptionKey?.Id, account, s.Region) });
  }
  const sourceOutputs = new Map<string, string>(); // artifact name → connection ARN, for CODEBUILD_CLONE_REF sources
  const artifacts = (principal: string, actionKey: string, actionRegion: string, verb: 'read' | 'write', names: string[]) => {
    const store = stores.get(actionRegion);
    if (!store || !names.length) return;
    const object = `arn:aws:s3:::${store.bucket}/${pipeline.resolve({ Ref: pipelineId })}/${names[0]}/artifact.zip`;
    const ctx = roleContext(principal, { 's3:ResourceAccount': account, 'aws:ResourceAccount': account });
    calls.push({ action: actionKey, principal, permission: verb === 'read' ? 's3:GetObject' : 's3:PutObject', resource: object, context: ctx, why: `${verb}s the artifact ${names.join(', ')} in the ${actionRegion} artifact bucket`, citation: DOCS.pipelineRole });
    if (store.key) {
      for (const permission of verb === 'read' ? ['kms:Decrypt'] : ['kms:GenerateDataKey', 'kms:Decrypt']) {
        calls.push({ action: actionKey, principal, permission, resource: store.key, context: roleContext(principal, { 'kms:ViaService': `s3.${actionRegion}.amazonaws.com`, 'kms:CallerAccount': accountOf(principal) }), why: `the artifact bucket's KMS key (${verb})`, citation: DOCS.s3Kms });
      }
    }
  };
  const byKey = new Map(model.stages.flatMap((s) => s.actions).map((a) => [`${a.stage}/${a.name}`, a]));

  for (const stage of props.Stages as Json[]) {
    for (const a of stage.Actions as Json[]) {
      const key = `${stage.Name}/${a.Name}`;
      const modelAction = byKey.get(key);
      const actionRegion: string = a.Region ?? region;
      const actionRole: string = a.RoleArn ?? pipelineRole;
      const inputs = ((a.InputArtifacts ?? []) as Json[]).map((x) => x.Name as string);
      const outputs = ((a.OutputArtifacts ?? []) as Json[]).map((x) => x.Name as string);
      const provider = a.ActionTypeId.Provider;
      const config = a.Configuration ?? {};
      if (actionRole !== pipelineRole) {
        calls.push({ action: key, principal: pipelineRole, permission: 'sts:AssumeRole', resource: actionRole, context: roleContext(pipelineRole), why: 'CodePipeline assumes the action\'s role', citation: DOCS.pipelineRole });
      }
      if (provider === 'CodeStarSourceConnection') {
        calls.push({ action: key, principal: actionRole, permission: 'codeconnections:UseConnection', resource: config.ConnectionArn, context: roleContext(actionRole, { 'codeconnections:FullRepositoryId': config.FullRepositoryId, 'codeconnections:BranchName': config.BranchName }), why: 'the source action reads the repository through the connection', citation: DOCS.connections });
        artifacts(actionRole, key, actionRegion, 'write', outputs);
        if (config.OutputArtifactFormat === 'CODEBUILD_CLONE_REF') for (const o of outputs) sourceOutputs.set(o, config.ConnectionArn);
      } else if (provider === 'CodeBuild') {
        const projectName: string = config.ProjectName;
        const projectArn = `arn:aws:codebuild:${actionRegion}:${account}:project/${projectName}`;
        for (const permission of ['codebuild:StartBuild', 'codebuild:BatchGetBuilds']) calls.push({ action: key, principal: actionRole, permission, resource: projectArn, context: roleContext(actionRole), why: 'CodePipeline starts the build and polls it', citation: DOCS.pipelineRole });
        const project = pipeline.resources().find(([id]) => pipeline.resolve({ Ref: id }) === projectName)?.[1];
        const serviceRole: string | undefined = project ? pipeline.resolve(project.Properties.ServiceRole) : undefined;
        if (!serviceRole) continue;
        const group = `arn:aws:logs:${actionRegion}:${account}:log-group:/aws/codebuild/${projectName}:log-stream:x`;
        for (const permission of ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']) calls.push({ action: key, principal: serviceRole, permission, resource: group, context: roleContext(serviceRole), why: 'the build writes its logs', citation: DOCS.codebuildRole });
        artifacts(serviceRole, key, actionRegion, 'read', inputs);
        artifacts(serviceRole, key, actionRegion, 'write', outputs);
        const cache = project ? pipeline.resolve(project.Properties.Cache) : undefined;
        if (cache?.Type === 'S3' && cache.Location) {
          const object = `arn:aws:s3:::${String(cache.Location).replace(/\/$/, '')}/cache.zip`;
          for (const permission of ['s3:GetObject', 's3:PutObject']) calls.push({ action: key, principal: serviceRole, permission, resource: object, context: roleContext(serviceRole, { 's3:ResourceAccount': account, 'aws:ResourceAccount': account }), why: 'the build reads and writes its S3 cache', citation: DOCS.codebuildCache });
        }
        for (const input of inputs) {
          const connection = sourceOutputs.get(input);
          if (connection) calls.push({ action: key, principal: serviceRole, permission: 'codeconnections:UseConnection', resource: connection, context: roleContext(serviceRole), why: `the build clones the repository (${input} is a full clone) through the connection`, citation: DOCS.codebuildClone });
        }
        // cdk-assets publishes each asset as its destination's publishing role (the asset manifest's assumeRoleArn)
        for (const command of modelAction ? commandsOf(modelAction) : []) {
          const publish = /^cdk-assets --path "([^"]+)" --verbose publish "([^":]+):([^"]+)"$/.exec(command);
          if (!publish) continue;
          const manifest = JSON.parse(readFileSync(join(model.assemblyDir, publish[1]), 'utf8'));
          const asset = manifest.files?.[publish[2]] ?? manifest.dockerImages?.[publish[2]];
          const destination = asset?.destinations?.[publish[3]];
          if (!destination?.assumeRoleArn) continue;
          const role = String(destination.assumeRoleArn).replace('${AWS::Partition}', 'aws');
          const kind = manifest.files?.[publish[2]] ? 'file-publishing' : 'image-publishing';
          calls.push({ action: key, principal: serviceRole, permission: 'sts:AssumeRole', resource: role, context: roleContext(serviceRole, { 'iam:ResourceTag/aws-cdk:bootstrap-role': kind, 'aws:ResourceTag/aws-cdk:bootstrap-role': kind }), why: `cdk-assets publishes ${publish[2].slice(0, 12)}… as the destination's publishing role`, citation: DOCS.bootstrap });
          calls.push(...publishingCalls(key, role, world, destination));
        }
        for (const needed of modelAction?.rolesNeeded ?? []) {
          if (needed === serviceRole) continue;
          // CDK's self-mutation role may assume any bootstrap role of its account (a wildcard
          // ARN, conditioned on the role's aws-cdk:bootstrap-role tag): `cdk deploy` of the
          // pipeline stack assumes the deploy and file-publishing roles of the pipeline's environment.
          const roles = needed.includes('*') ? [bootstrapRoleArn('deploy', account, region), bootstrapRoleArn('file-publishing', account, region)] : [needed];
          for (const role of roles) {
          const kind = /:role\/cdk-hnb659fds-(.+)-role-\d+-/.exec(role)?.[1];
          const tag: Record<string, string> = kind ? { 'iam:ResourceTag/aws-cdk:bootstrap-role': kind, 'aws:ResourceTag/aws-cdk:bootstrap-role': kind } : {};
          calls.push({ action: key, principal: serviceRole, permission: 'sts:AssumeRole', resource: role, context: roleContext(serviceRole, tag), why: 'the build\'s commands assume this role', citation: kind ? DOCS.bootstrap : DOCS.pipelineRole });
          calls.push(...publishingCalls(key, role, world));
          }
        }
        // The deploy checks' authenticated write: the checks role reads the stage's OIDC client
        // secret (pipeline/checks/deploy/oidc-token.ts), named by the project's environment. The
        // operator creates the secret (no template holds it): only the identity side and the SCPs
        // are evaluated; Secrets Manager appends `-` and six characters to the name in the ARN.
        const variables = Object.fromEntries(((project?.Properties.Environment?.EnvironmentVariables ?? []) as Json[]).map((v) => [v.Name, pipeline.resolve(v.Value)]));
        if (variables.OIDC_CLIENT_SECRET_ID && variables.CHECKS_ROLE_ARN) {
          const checksRole = String(variables.CHECKS_ROLE_ARN);
          const secret = `arn:aws:secretsmanager:${variables.AWS_REGION ?? actionRegion}:${accountOf(checksRole)}:secret:${variables.OIDC_CLIENT_SECRET_ID}-AbCdEf`;
          calls.push({ action: key, principal: checksRole, permission: 'secretsmanager:GetSecretValue', resource: secret, context: roleContext(checksRole), why: 'the deploy checks read the OIDC client secret for their authenticated write (created by the operator: identity side only)', citation: DOCS.secretValue });
        }
      } else if (provider === 'CloudFormation') {
        const stackName: string = config.StackName;
        const targetAccount = accountOf(actionRole);
        const stackArn = `arn:aws:cloudformation:${actionRegion}:${targetAccount}:stack/${stackName}/*`;
        const executionRole: string | undefined = config.RoleArn;
        if (config.ActionMode === 'CHANGE_SET_REPLACE') {
          for (const permission of ['cloudformation:DescribeStacks', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:DeleteChangeSet']) calls.push({ action: key, principal: actionRole, permission, resource: stackArn, context: roleContext(actionRole), why: `prepares the change set of ${stackName}`, citation: DOCS.pipelineRole });
          if (executionRole) calls.push({ action: key, principal: actionRole, permission: 'iam:PassRole', resource: executionRole, context: roleContext(actionRole, { 'iam:PassedToService': 'cloudformation.amazonaws.com' }), why: 'CloudFormation is given the execution role', citation: DOCS.passRole });
          artifacts(actionRole, key, actionRegion, 'read', inputs);
          const template = modelAction?.deploys ? world.stacks.find((s) => s.source === modelAction.deploys!.displayName)?.template : undefined;
          if (template?.template.Parameters?.BootstrapVersion) {
            const name = String(template.template.Parameters.BootstrapVersion.Default);
            calls.push({ action: key, principal: actionRole, permission: 'ssm:GetParameters', resource: `arn:aws:ssm:${actionRegion}:${targetAccount}:parameter${name}`, context: roleContext(actionRole), why: 'CloudFormation reads the bootstrap version parameter with the caller\'s credentials', citation: DOCS.ssmParameter });
          }
        } else if (config.ActionMode === 'CHANGE_SET_EXECUTE') {
          for (const permission of ['cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DescribeStacks']) calls.push({ action: key, principal: actionRole, permission, resource: stackArn, context: roleContext(actionRole), why: `executes the change set of ${stackName}`, citation: DOCS.pipelineRole });
          const prepare = (stage.Actions as Json[]).find((x) => x.Configuration?.StackName === stackName && x.Configuration?.ActionMode === 'CHANGE_SET_REPLACE');
          const prepared = prepare ? byKey.get(`${stage.Name}/${prepare.Name}`) : undefined;
          const execRole: string | undefined = prepare?.Configuration?.RoleArn;
          const template = prepared?.deploys ? world.stacks.find((s) => s.source === prepared.deploys!.displayName)?.template : undefined;
          if (execRole && template) {
            calls.push({ action: key, principal: 'cloudformation.amazonaws.com', permission: 'sts:AssumeRole', resource: execRole, context: serviceContext('cloudformation.amazonaws.com', stackArn, targetAccount), why: 'CloudFormation assumes the execution role', citation: DOCS.serviceRole });
            calls.push(...stackCalls(key, template, execRole, world, world.repoRoot));
          }
        }
      }
    }
  }
  return calls;
}

/** Where cdk-assets publishes an asset: a bucket and key, or a repository (an asset manifest destination). */
interface AssetDestination {
  readonly bucketName?: string;
  readonly objectKey?: string;
  readonly repositoryName?: string;
}

/** What a bootstrap publishing role does once a build assumed it (cdk-assets publishing). */
function publishingCalls(action: string, role: string, world: PolicyWorld, destination?: AssetDestination): Call[] {
  const m = /:role\/cdk-hnb659fds-(file|image)-publishing-role-(\d+)-(.+)$/.exec(role);
  if (!m) return [];
  const [, kind, account, region] = m;
  if (kind === 'file') {
    const bucket = destination?.bucketName ?? `cdk-hnb659fds-assets-${account}-${region}`;
    const key = [...world.keyIds.values()].find((k) => world.resourcePolicies.get(k)?.source.startsWith(`bootstrap ${account}/${region} `));
    const out: Call[] = [];
    for (const permission of ['s3:GetBucketLocation', 's3:ListBucket']) out.push({ action, principal: role, permission, resource: `arn:aws:s3:::${bucket}`, context: roleContext(role, { 'aws:ResourceAccount': account }), why: 'cdk-assets checks the staging bucket', citation: DOCS.bootstrap });
    out.push({ action, principal: role, permission: 's3:PutObject', resource: `arn:aws:s3:::${bucket}/${destination?.objectKey ?? 'asset.zip'}`, context: roleContext(role, { 'aws:ResourceAccount': account }), why: 'cdk-assets uploads the file asset', citation: DOCS.bootstrap });
    if (key) for (const permission of ['kms:GenerateDataKey', 'kms:Decrypt']) out.push({ action, principal: role, permission, resource: key, context: roleContext(role, { 'kms:ViaService': `s3.${region}.amazonaws.com`, 'kms:CallerAccount': account }), why: 'the staging bucket\'s KMS key', citation: DOCS.s3Kms });
    return out;
  }
  const repo = `arn:aws:ecr:${region}:${account}:repository/${destination?.repositoryName ?? `cdk-hnb659fds-container-assets-${account}-${region}`}`;
  const out: Call[] = [{ action, principal: role, permission: 'ecr:GetAuthorizationToken', resource: '*', context: roleContext(role), why: 'cdk-assets logs in to the registry', citation: DOCS.bootstrap }];
  for (const permission of ['ecr:DescribeRepositories', 'ecr:DescribeImages', 'ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage']) out.push({ action, principal: role, permission, resource: repo, context: roleContext(role), why: 'cdk-assets pushes the image', citation: DOCS.bootstrap });
  return out;
}

export { bootstrapRoleArn };
