// The policies a release is evaluated against: every role (its trust policy and identity
// policies) and every resource policy (key, bucket, topic, queue, secret and repository
// policies) of the synthesized stacks and of the bootstrap stacks, with the real accounts.
import { managedPolicy } from './managed-policies.ts';
import type { ResolvedTemplate } from './resolve.ts';

type Json = any;

export interface NamedPolicy {
  readonly name: string;
  readonly policy: Json;
}

/** An IAM role: who may assume it and what it may do. */
export interface RoleFacts {
  readonly arn: string;
  readonly account: string;
  /** Where it is defined, e.g. `Pipeline/Production/Tiers` or `bootstrap 333333333333/eu-west-1`. */
  readonly source: string;
  readonly trust: Json;
  readonly identityPolicies: NamedPolicy[];
  /** Managed policies the rehearsal has no document for: their grants are not evaluated. */
  readonly unknownManagedPolicies: string[];
}

/** A resource policy attached to a resource (a key policy, a bucket policy...). */
export interface ResourcePolicyFacts {
  /** The ARN the policy governs; for a bucket, its objects (`<arn>/*`) too. */
  readonly arn: string;
  readonly account: string;
  readonly source: string;
  readonly policy: Json;
}

/** One stack's resolved template, where it is deployed and who defines it. */
export interface StackFacts {
  readonly source: string;
  readonly template: ResolvedTemplate;
}

export class PolicyWorld {
  readonly roles = new Map<string, RoleFacts>();
  readonly resourcePolicies = new Map<string, ResourcePolicyFacts>();
  readonly stacks: StackFacts[] = [];
  /** KMS key ids → key ARNs; alias ARNs → key ARNs. */
  readonly keyIds = new Map<string, string>();
  readonly aliases = new Map<string, string>();
  /** Topic ARN → its KmsMasterKeyId; queue ARN → its KmsMasterKeyId. */
  readonly topicKeys = new Map<string, string>();
  readonly queueKeys = new Map<string, string>();
  /** The repository whose node_modules hold the schemas and the CLI. */
  readonly repoRoot: string;

  constructor(repoRoot: string) {
    this.repoRoot = repoRoot;
  }

  /** Adds the roles and resource policies of one resolved template. */
  add(source: string, t: ResolvedTemplate): void {
    this.stacks.push({ source, template: t });
    const account = t.place.account;
    const resources = t.resources();
    const byId = new Map(resources);
    for (const [id, r] of resources) {
      if (r.Type !== 'AWS::IAM::Role') continue;
      const p = r.Properties ?? {};
      const arn: string = t.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
      const identityPolicies: NamedPolicy[] = ((t.resolve(p.Policies) ?? []) as Json[]).map((x) => ({ name: `${id}/${x.PolicyName}`, policy: x.PolicyDocument }));
      const unknownManagedPolicies: string[] = [];
      for (const m of t.strings(p.ManagedPolicyArns)) {
        const doc = managedPolicy(m) ?? customerManaged(t, m);
        if (doc) identityPolicies.push({ name: m, policy: doc });
        else unknownManagedPolicies.push(m);
      }
      this.roles.set(arn, { arn, account, source, trust: t.resolve(p.AssumeRolePolicyDocument), identityPolicies, unknownManagedPolicies });
    }
    for (const [id, r] of resources) {
      const p = r.Properties ?? {};
      if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
        for (const role of (p.Roles ?? []) as Json[]) {
          const roleId = role?.Ref;
          const arn = roleId && byId.has(roleId) ? t.resolve({ 'Fn::GetAtt': [roleId, 'Arn'] }) : `arn:aws:iam::${account}:role/${t.resolve(role)}`;
          this.roles.get(arn)?.identityPolicies.push({ name: `${id}`, policy: t.resolve(p.PolicyDocument) });
        }
      }
      const put = (arn: string) => (policy: Json) => this.resourcePolicies.set(arn, { arn, account, source: `${source} ${id}`, policy });
      switch (r.Type) {
        case 'AWS::KMS::Key':
          put(t.resolve({ 'Fn::GetAtt': [id, 'Arn'] }))(t.resolve(p.KeyPolicy));
          this.keyIds.set(t.resolve({ Ref: id }), t.resolve({ 'Fn::GetAtt': [id, 'Arn'] }));
          break;
        case 'AWS::KMS::Alias': {
          const target = String(t.resolve(p.TargetKeyId));
          const keyArn = target.startsWith('arn:') ? target : `arn:aws:kms:${t.place.region}:${account}:key/${target}`;
          this.aliases.set(`arn:aws:kms:${t.place.region}:${account}:${t.resolve(p.AliasName)}`, keyArn);
          break;
        }
        case 'AWS::SNS::Topic':
          if (p.KmsMasterKeyId) this.topicKeys.set(t.resolve({ Ref: id }), String(t.resolve(p.KmsMasterKeyId)));
          break;
        case 'AWS::SQS::Queue':
          if (p.KmsMasterKeyId) this.queueKeys.set(t.resolve({ 'Fn::GetAtt': [id, 'Arn'] }), String(t.resolve(p.KmsMasterKeyId)));
          break;
        case 'AWS::S3::BucketPolicy':
          put(`arn:aws:s3:::${t.resolve(p.Bucket)}`)(t.resolve(p.PolicyDocument));
          break;
        case 'AWS::SNS::TopicPolicy':
          for (const topic of t.strings(p.Topics)) put(topic)(t.resolve(p.PolicyDocument));
          break;
        case 'AWS::SQS::QueuePolicy':
          for (const url of t.strings(p.Queues)) {
            const [, region, acct, name] = /^https:\/\/sqs\.([^.]+)\.amazonaws\.com\/(\d+)\/(.+)$/.exec(url) ?? [];
            if (name) put(`arn:aws:sqs:${region}:${acct}:${name}`)(t.resolve(p.PolicyDocument));
          }
          break;
        case 'AWS::SecretsManager::ResourcePolicy':
          put(String(t.resolve(p.SecretId)))(t.resolve(p.ResourcePolicy));
          break;
        case 'AWS::Lambda::Permission': {
          // A function's resource policy is the sum of its permissions (Lambda developer guide,
          // "Viewing resource-based IAM policies in Lambda": each AddPermission is one statement).
          const fn = String(t.resolve(p.FunctionName));
          const arn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${t.place.region}:${account}:function:${fn}`;
          const principal = String(t.resolve(p.Principal));
          const condition: Json = {};
          if (p.SourceArn) condition.ArnLike = { 'aws:SourceArn': t.resolve(p.SourceArn) };
          if (p.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': t.resolve(p.SourceAccount) };
          if (p.PrincipalOrgID) condition.StringEquals = { ...(condition.StringEquals ?? {}), 'aws:PrincipalOrgID': t.resolve(p.PrincipalOrgID) };
          const statement: Json = {
            Sid: id,
            Effect: 'Allow',
            Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: /^\d{12}$/.test(principal) ? `arn:aws:iam::${principal}:root` : principal },
            Action: t.resolve(p.Action),
            Resource: arn,
            ...(Object.keys(condition).length ? { Condition: condition } : {}),
          };
          const existing = this.resourcePolicies.get(arn);
          put(arn)({ Version: '2012-10-17', Statement: [...(existing?.policy.Statement ?? []), statement] });
          break;
        }
        case 'AWS::ECR::Repository':
          if (p.RepositoryPolicyText) put(t.resolve({ 'Fn::GetAtt': [id, 'Arn'] }))(t.resolve(p.RepositoryPolicyText));
          break;
        default:
          break;
      }
    }
  }

  /** The resource policy governing an ARN (a bucket's policy governs its objects). */
  resourcePolicyFor(arn: string): ResourcePolicyFacts | undefined {
    const exact = this.resourcePolicies.get(arn);
    if (exact) return exact;
    const bucket = /^arn:aws:s3:::([^/]+)\//.exec(arn);
    return bucket ? this.resourcePolicies.get(`arn:aws:s3:::${bucket[1]}`) : undefined;
  }
}

function customerManaged(t: ResolvedTemplate, arn: string): Json | undefined {
  for (const [id, r] of t.resources()) {
    if (r.Type === 'AWS::IAM::ManagedPolicy' && t.resolve({ Ref: id }) === arn) return t.resolve(r.Properties.PolicyDocument);
  }
  return undefined;
}
