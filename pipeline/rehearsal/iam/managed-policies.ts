// The AWS managed policies the synthesized and bootstrap roles attach, as the AWS Managed Policy
// Reference documents them (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/).
// Only the ones a release uses are here; a role attaching any other is reported with its grants
// unevaluated (RoleFacts.unknownManagedPolicies), never silently treated as allowing.
type Json = any;

const allow = (Action: string | string[], Resource: string | string[] = '*') => ({ Effect: 'Allow', Action, Resource });

const POLICIES: Record<string, Json> = {
  // "AdministratorAccess": Allow * on *.
  AdministratorAccess: { Version: '2012-10-17', Statement: [allow('*')] },
  // "AWSCloudFormationReadOnlyAccess" (the bootstrap deploy role's): CloudFormation's read actions.
  AWSCloudFormationReadOnlyAccess: {
    Version: '2012-10-17',
    Statement: [allow(['cloudformation:Describe*', 'cloudformation:EstimateTemplateCost', 'cloudformation:Get*', 'cloudformation:List*', 'cloudformation:ValidateTemplate', 'cloudformation:Detect*'])],
  },
  // "ReadOnlyAccess" (the bootstrap lookup role's,
  // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/ReadOnlyAccess.html): only the
  // statements of the services a release reads through a lookup role are modelled (the policy is
  // several thousand actions long). The validator reads staging's stacks (GetTemplate,
  // ListStackResources) and the image digests its services run (ListServiceDeployments,
  // DescribeServiceRevisions); the health checks describe. Modelled as the read wildcards of
  // those services; not confirmed action by action against the page's current version (the
  // documentation search returned no copy of its JSON document): a real account settles it.
  ReadOnlyAccess: {
    Version: '2012-10-17',
    Statement: [allow([
      'cloudformation:Describe*', 'cloudformation:Get*', 'cloudformation:List*',
      'ecs:Describe*', 'ecs:List*',
      'ecr:Describe*', 'ecr:List*', 'ecr:BatchGetImage',
      'elasticloadbalancing:Describe*', 'cloudwatch:Describe*', 'cloudwatch:Get*', 'cloudwatch:List*',
    ])],
  },
  // "AWSLambdaBasicExecutionRole": write its own logs.
  'service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'])],
  },
  // "AmazonECSInfrastructureRolePolicyForLoadBalancers" (v6): the load-balancer statements ECS uses
  // to shift traffic in blue/green, linear and canary deployments.
  AmazonECSInfrastructureRolePolicyForLoadBalancers: {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ELBReadOperations', ...allow(['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth']) },
      { Sid: 'TargetGroupOperations', ...allow(['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'], 'arn:aws:elasticloadbalancing:*:*:targetgroup/*/*') },
      { Sid: 'ALBModifyListeners', ...allow('elasticloadbalancing:ModifyListener', 'arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*') },
      { Sid: 'ALBModifyRules', ...allow('elasticloadbalancing:ModifyRule', 'arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*') },
    ],
  },
};

/** The document of an AWS managed policy by its ARN, if the rehearsal has it. */
export function managedPolicy(arn: string): Json | undefined {
  const m = /^arn:aws:iam::aws:policy\/(.+)$/.exec(arn);
  return m ? POLICIES[m[1]] : undefined;
}
