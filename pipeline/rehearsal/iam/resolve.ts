// Resolves a CloudFormation template's intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::If,
// Fn::Select, Fn::Split, conditions, parameters) to literal values, with real-looking physical
// names and ARNs for the resources it creates. The policy engine matches ARNs by their shape: an
// ARN that is not a valid ARN silently fails to match a condition, so every ARN here has the
// form the service documents for that resource type.
import { createHash } from 'node:crypto';

type Json = any;

/** Where a template is deployed, and the values of its parameters. */
export interface StackPlace {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly parameters?: Record<string, string | readonly string[]>;
}

/** The value CloudFormation leaves out of a list or an object (`Ref: AWS::NoValue`). */
const NO_VALUE = Symbol('AWS::NoValue');

/** A template with its resources' physical names, able to resolve any value in it. */
export class ResolvedTemplate {
  readonly template: Json;
  readonly place: StackPlace;
  private readonly conditions = new Map<string, boolean>();

  constructor(template: Json, place: StackPlace) {
    this.template = template;
    this.place = place;
  }

  /** The resources whose Condition holds, by logical id. */
  resources(): Array<[string, Json]> {
    return Object.entries(this.template.Resources ?? {}).filter(([, r]: [string, Json]) => !r.Condition || this.condition(r.Condition));
  }

  /** Resolves a value (deeply); intrinsics it cannot resolve become `<unresolved:...>` strings. */
  resolve(value: Json): Json {
    const out = this.value(value);
    return out === NO_VALUE ? undefined : out;
  }

  /** A resolved value as a string list (a single string becomes a list of one). */
  strings(value: Json): string[] {
    const out = this.resolve(value);
    if (out === undefined) return [];
    return [out].flat().filter((v) => typeof v === 'string');
  }

  private value(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.value(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': return this.getAtt(...(typeof arg === 'string' ? (arg.split('.', 2) as [string, string]) : (arg as [string, string])));
        case 'Fn::Join': return (this.value(arg[1]) as Json[]).flat().join(arg[0]);
        case 'Fn::Sub': return this.sub(arg);
        case 'Fn::If': return this.value(this.condition(arg[0]) ? arg[1] : arg[2]);
        case 'Fn::Select': return (this.value(arg[1]) as Json[])[Number(this.value(arg[0]))];
        case 'Fn::Split': return String(this.value(arg[1])).split(arg[0]);
        case 'Fn::GetAZs': return ['a', 'b', 'c'].map((z) => `${this.place.region}${z}`);
        case 'Fn::ImportValue':
        case 'Fn::GetStackOutput':
        case 'Fn::FindInMap':
        case 'Fn::Base64':
          return `<unresolved:${fn}>`;
        case 'Condition': return this.condition(arg);
        default: break;
      }
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = this.value(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  }

  private ref(name: string): Json {
    switch (name) {
      case 'AWS::AccountId': return this.place.account;
      case 'AWS::Region': return this.place.region;
      case 'AWS::Partition': return 'aws';
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.place.stackName;
      case 'AWS::StackId': return `arn:aws:cloudformation:${this.place.region}:${this.place.account}:stack/${this.place.stackName}/${uuid(this.place.stackName)}`;
      case 'AWS::NoValue': return NO_VALUE;
      default: break;
    }
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      const given = this.place.parameters?.[name];
      const raw = given ?? parameter.Default ?? '';
      if (String(parameter.Type).startsWith('CommaDelimitedList') || String(parameter.Type).startsWith('List<')) {
        return Array.isArray(raw) ? [...raw] : String(raw).split(',').filter((s) => s !== '');
      }
      return Array.isArray(raw) ? raw.join(',') : raw;
    }
    const resource = this.template.Resources?.[name];
    if (!resource) return `<unresolved:Ref ${name}>`;
    return physical(resource.Type, name, resource.Properties ?? {}, this).ref;
  }

  private getAtt(logicalId: string, attribute: string): Json {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) return `<unresolved:GetAtt ${logicalId}.${attribute}>`;
    const p = physical(resource.Type, logicalId, resource.Properties ?? {}, this);
    return p.attributes[attribute] ?? `${p.ref}.${attribute}`;
  }

  private sub(arg: Json): string {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : [arg[0] as string, (arg[1] ?? {}) as Record<string, Json>];
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`; // ${!Literal} is the text ${Literal}
      if (name in vars) return String(this.value(vars[name]));
      const [id, attribute] = name.split('.', 2);
      return String(attribute ? this.getAtt(id, attribute) : this.ref(id));
    });
  }

  /** A named condition of the template, or an inline condition function. */
  condition(nameOrExpression: Json): boolean {
    if (typeof nameOrExpression === 'string') {
      if (!this.conditions.has(nameOrExpression)) this.conditions.set(nameOrExpression, this.condition(this.template.Conditions?.[nameOrExpression] ?? false));
      return this.conditions.get(nameOrExpression)!;
    }
    if (typeof nameOrExpression === 'boolean') return nameOrExpression;
    const [fn] = Object.keys(nameOrExpression ?? {});
    const arg = nameOrExpression[fn];
    switch (fn) {
      case 'Fn::Equals': return JSON.stringify(this.resolve(arg[0])) === JSON.stringify(this.resolve(arg[1]));
      case 'Fn::Not': return !this.condition(arg[0]);
      case 'Fn::And': return (arg as Json[]).every((c) => this.condition(c));
      case 'Fn::Or': return (arg as Json[]).some((c) => this.condition(c));
      case 'Condition': return this.condition(arg);
      default: return false;
    }
  }
}

/** A resource's `Ref` value and its `Fn::GetAtt` attributes. */
interface Physical {
  readonly ref: string;
  readonly attributes: Record<string, string>;
}

/** A stable fake id from a name: the same template gets the same ids in every run. */
function hex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The physical name and ARN CloudFormation gives a resource, as documented by each type's
 * "Return values" (Ref and Fn::GetAtt) in the CloudFormation template reference: an explicit
 * name property wins; otherwise a generated `<stack>-<logicalId>-<suffix>` name.
 */
function physical(type: string, logicalId: string, properties: Json, t: ResolvedTemplate): Physical {
  const { account, region, stackName } = t.place;
  const seed = `${account}/${region}/${stackName}/${logicalId}`;
  const named = (property: string, lower = false): string => {
    const explicit = properties[property] !== undefined ? t.resolve(properties[property]) : undefined;
    const generated = `${stackName}-${logicalId}`.slice(0, 40) + `-${hex(seed, 12).toUpperCase()}`;
    const name = typeof explicit === 'string' ? explicit : generated;
    return lower ? name.toLowerCase() : name;
  };
  const arn = (service: string, resource: string, r = region, a: string = account) => `arn:aws:${service}:${r}:${a}:${resource}`;
  switch (type) {
    case 'AWS::IAM::Role': {
      const name = named('RoleName');
      return { ref: name, attributes: { Arn: `arn:aws:iam::${account}:role/${name}`, RoleId: `AROA${hex(seed, 17).toUpperCase()}` } };
    }
    case 'AWS::IAM::Policy': return { ref: named('PolicyName'), attributes: {} };
    case 'AWS::IAM::ManagedPolicy': {
      const name = named('ManagedPolicyName');
      const a = `arn:aws:iam::${account}:policy/${name}`;
      return { ref: a, attributes: { PolicyArn: a } };
    }
    case 'AWS::KMS::Key': {
      const id = uuid(seed);
      return { ref: id, attributes: { Arn: arn('kms', `key/${id}`), KeyId: id } };
    }
    case 'AWS::KMS::Alias': return { ref: named('AliasName'), attributes: {} };
    case 'AWS::S3::Bucket': {
      const name = named('BucketName', true);
      return { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com`, RegionalDomainName: `${name}.s3.${region}.amazonaws.com` } };
    }
    case 'AWS::SNS::Topic': {
      const a = arn('sns', named('TopicName'));
      return { ref: a, attributes: { TopicArn: a, TopicName: named('TopicName') } };
    }
    case 'AWS::SQS::Queue': {
      const name = named('QueueName');
      return { ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`, attributes: { Arn: arn('sqs', name), QueueName: name, QueueUrl: `https://sqs.${region}.amazonaws.com/${account}/${name}` } };
    }
    case 'AWS::Logs::LogGroup': {
      const name = named('LogGroupName');
      return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
    }
    case 'AWS::Lambda::Function': {
      const name = named('FunctionName');
      return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
    }
    case 'AWS::ECS::Cluster': {
      const name = named('ClusterName');
      return { ref: name, attributes: { Arn: arn('ecs', `cluster/${name}`) } };
    }
    case 'AWS::ECS::Service': {
      const name = named('ServiceName');
      const cluster = properties.Cluster ? String(t.resolve(properties.Cluster)).split('/').pop() : 'default';
      const a = arn('ecs', `service/${cluster}/${name}`);
      return { ref: a, attributes: { ServiceArn: a, Name: name } };
    }
    case 'AWS::ECS::TaskDefinition': {
      const family = properties.Family ? String(t.resolve(properties.Family)) : named('Family');
      const a = arn('ecs', `task-definition/${family}:1`);
      return { ref: a, attributes: { TaskDefinitionArn: a } };
    }
    case 'AWS::Events::Rule': {
      const name = named('Name');
      return { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
    }
    case 'AWS::Scheduler::Schedule': {
      const name = named('Name');
      const group = properties.GroupName ? String(t.resolve(properties.GroupName)) : 'default';
      return { ref: name, attributes: { Arn: arn('scheduler', `schedule/${group}/${name}`) } };
    }
    case 'AWS::DynamoDB::Table': {
      const name = named('TableName');
      return { ref: name, attributes: { Arn: arn('dynamodb', `table/${name}`), StreamArn: arn('dynamodb', `table/${name}/stream/2026-01-01T00:00:00.000`) } };
    }
    case 'AWS::CodeBuild::Project': {
      const name = named('Name');
      return { ref: name, attributes: { Arn: arn('codebuild', `project/${name}`) } };
    }
    case 'AWS::CodePipeline::Pipeline': {
      const name = named('Name');
      return { ref: name, attributes: {} };
    }
    case 'AWS::SecretsManager::Secret': {
      const a = arn('secretsmanager', `secret:${named('Name')}-${hex(seed, 6)}`);
      return { ref: a, attributes: { Id: a } };
    }
    case 'AWS::SSM::Parameter': return { ref: named('Name'), attributes: { Type: 'String' } };
    case 'AWS::ElasticLoadBalancingV2::LoadBalancer': {
      const name = named('Name').slice(0, 32);
      const full = `app/${name}/${hex(seed, 16)}`;
      return { ref: arn('elasticloadbalancing', `loadbalancer/${full}`), attributes: { LoadBalancerFullName: full, LoadBalancerName: name, DNSName: `${name}.${region}.elb.amazonaws.com`, CanonicalHostedZoneID: 'Z32O12XQLNTSW2', LoadBalancerArn: arn('elasticloadbalancing', `loadbalancer/${full}`) } };
    }
    case 'AWS::ElasticLoadBalancingV2::TargetGroup': {
      const name = named('Name').slice(0, 32);
      const full = `targetgroup/${name}/${hex(seed, 16)}`;
      return { ref: arn('elasticloadbalancing', full), attributes: { TargetGroupFullName: full, TargetGroupName: name, TargetGroupArn: arn('elasticloadbalancing', full) } };
    }
    case 'AWS::ElasticLoadBalancingV2::Listener':
    case 'AWS::ElasticLoadBalancingV2::ListenerRule': {
      const kind = type.endsWith('Rule') ? 'listener-rule' : 'listener';
      const a = arn('elasticloadbalancing', `${kind}/app/${stackName}/${hex(seed, 16)}/${hex(seed + 'x', 16)}`);
      return { ref: a, attributes: { ListenerArn: a, RuleArn: a } };
    }
    case 'AWS::CloudFront::Distribution': {
      const id = `E${hex(seed, 13).toUpperCase()}`;
      return { ref: id, attributes: { Id: id, DomainName: `d${hex(seed, 13)}.cloudfront.net` } };
    }
    case 'AWS::CloudFront::VpcOrigin': {
      const id = `vo_${hex(seed, 20)}`;
      return { ref: id, attributes: { Id: id, Arn: `arn:aws:cloudfront::${account}:vpcorigin/${id}` } };
    }
    case 'AWS::WAFv2::WebACL': {
      const name = named('Name');
      const id = uuid(seed);
      return { ref: `${name}|${id}|CLOUDFRONT`, attributes: { Arn: arn('wafv2', `global/webacl/${name}/${id}`, 'us-east-1'), Id: id } };
    }
    case 'AWS::ECR::Repository': {
      const name = named('RepositoryName', true);
      return { ref: name, attributes: { Arn: arn('ecr', `repository/${name}`), RepositoryUri: `${account}.dkr.ecr.${region}.amazonaws.com/${name}` } };
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = named('AlarmName');
      return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
    }
    case 'AWS::CodeStarNotifications::NotificationRule': {
      const a = arn('codestar-notifications', `notificationrule/${hex(seed, 40)}`);
      return { ref: a, attributes: { Arn: a } };
    }
    case 'AWS::EC2::VPC': return { ref: `vpc-${hex(seed, 17)}`, attributes: { CidrBlock: '10.0.0.0/16', DefaultSecurityGroup: `sg-${hex(seed + 'sg', 17)}` } };
    case 'AWS::EC2::Subnet': return { ref: `subnet-${hex(seed, 17)}`, attributes: {} };
    case 'AWS::EC2::SecurityGroup': return { ref: `sg-${hex(seed, 17)}`, attributes: { GroupId: `sg-${hex(seed, 17)}` } };
    case 'AWS::EC2::RouteTable': return { ref: `rtb-${hex(seed, 17)}`, attributes: {} };
    case 'AWS::EC2::InternetGateway': return { ref: `igw-${hex(seed, 17)}`, attributes: {} };
    case 'AWS::EC2::VPCEndpoint': return { ref: `vpce-${hex(seed, 17)}`, attributes: {} };
    default: return { ref: `${logicalId}-${hex(seed, 12)}`, attributes: {} };
  }
}
