import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INVALIDATION_PATHS } from '../pipeline/checks/deploy/invalidation';
import { EDGE_CACHE_RULES, matchesPathPattern } from '../services/edge/rules';
import { buildStages, stageTemplates } from './support/app';

let tiers: Template;
let edgeWaf: Template;

beforeAll(() => {
  ({ tiers, edgeWaf } = stageTemplates(buildStages().production));
});

function distributionConfig(template: Template): Record<string, any> {
  const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
  return distribution.Properties.DistributionConfig;
}

describe('EdgeCache', () => {
  it('reaches the API only through a VPC origin to the internal load balancer', () => {
    tiers.hasResourceProperties('AWS::CloudFront::VpcOrigin', {
      VpcOriginEndpointConfig: { Arn: { Ref: Match.stringLikeRegexp('LoadBalancer') }, OriginProtocolPolicy: 'http-only' },
    });
    const [origin] = distributionConfig(tiers).Origins;
    expect(origin.VpcOriginConfig).toBeDefined();
    tiers.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
  });

  it('creates the VPC origin only once the VPC\'s internet gateway is attached (CloudFront requires one)', () => {
    const [attachment] = Object.keys(tiers.findResources('AWS::EC2::VPCGatewayAttachment'));
    const [vpcOrigin] = Object.values(tiers.findResources('AWS::CloudFront::VpcOrigin'));
    expect(vpcOrigin.DependsOn).toEqual(expect.arrayContaining([attachment]));
  });

  it('admits only CloudFront origin-facing addresses to the load balancer', () => {
    tiers.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { SourcePrefixListId: 'pl-4fa04526', FromPort: 80, ToPort: 80 });
    const [albGroup] = Object.values(tiers.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('CloudFront') } }));
    // Besides: the test listener, from inside the VPC only (test/progressive-delivery.test.ts).
    expect(albGroup.Properties.SecurityGroupIngress ?? []).toEqual([expect.objectContaining({ CidrIp: '10.0.0.0/16', FromPort: 9080, ToPort: 9080 })]);
  });

  it('caches search and version GETs by an allow-listed query string, without cookies, compressed', () => {
    tiers.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: {
        ParametersInCacheKeyAndForwardedToOrigin: {
          QueryStringsConfig: { QueryStringBehavior: 'whitelist', QueryStrings: ['q', 'limit'] },
          CookiesConfig: { CookieBehavior: 'none' },
          EnableAcceptEncodingGzip: true,
          EnableAcceptEncodingBrotli: true,
        },
      },
    });
    const behaviors = distributionConfig(tiers).CacheBehaviors as Array<Record<string, any>>;
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(['/v1/search*', '/v1/version']);
    for (const behavior of behaviors) {
      expect(behavior.CachePolicyId.Ref).toMatch(/CachePolicy/);
      expect(behavior.AllowedMethods).not.toContain('POST');
    }
  });

  it('synthesizes exactly the rules the local edge proxy applies (services/edge/rules.ts), and the deploy checks invalidate them', () => {
    const [policy] = Object.values(tiers.findResources('AWS::CloudFront::CachePolicy'));
    const config = policy.Properties.CachePolicyConfig;
    expect({
      cachedPaths: (distributionConfig(tiers).CacheBehaviors as Array<Record<string, any>>).map((b) => b.PathPattern),
      cacheKeyQueryStrings: config.ParametersInCacheKeyAndForwardedToOrigin.QueryStringsConfig.QueryStrings,
      minTtlSeconds: config.MinTTL,
      defaultTtlSeconds: config.DefaultTTL,
      maxTtlSeconds: config.MaxTTL,
    }).toEqual(EDGE_CACHE_RULES);
    expect([...INVALIDATION_PATHS].sort()).toEqual([...EDGE_CACHE_RULES.cachedPaths].sort());
  });

  it('does not cache writes, job results, the dataset report or health checks, and forwards the bearer token', () => {
    const config = distributionConfig(tiers);
    const fallback = config.DefaultCacheBehavior;
    expect(fallback.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // managed CachingDisabled
    expect(fallback.AllowedMethods).toContain('POST');
    // Managed AllViewerExceptHostHeader: forwards Authorization when caching is disabled.
    expect(fallback.OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac');
    // No cached behaviour matches GET /v1/jobs/{id} or /v1/dataset: they take the uncached default.
    for (const path of ['/v1/jobs/0b7c0b1e-1f2a-4c3d-9e8f-123456789abc', '/v1/dataset']) {
      expect((config.CacheBehaviors as Array<{ PathPattern: string }>).filter((b) => matchesPathPattern(b.PathPattern, path))).toEqual([]);
    }
  });

  it('adds security headers to every response', () => {
    tiers.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: {
          StrictTransportSecurity: Match.objectLike({ AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true }),
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: Match.objectLike({ ReferrerPolicy: 'strict-origin-when-cross-origin' }),
        },
      },
    });
  });

  it('attaches the web ACL, logs access, serves HTTP/2 and HTTP/3 from every edge location', () => {
    const config = distributionConfig(tiers);
    expect(JSON.stringify(config.WebACLId)).toContain('Fn::GetStackOutput');
    expect(config.Logging.Bucket).toBeDefined();
    expect(config.HttpVersion).toBe('http2and3');
    expect(config.PriceClass).toBe('PriceClass_All');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
  });

  it('uses a custom domain with TLS 1.2 when configured', () => {
    const { production } = buildStages({
      'production.edge.domainName': 'data.example.com',
      'production.edge.certificateArn': 'arn:aws:acm:us-east-1:333333333333:certificate/11111111-2222-3333-4444-555555555555',
    });
    const config = distributionConfig(Template.fromStack(production.tiersStack));
    expect(config.Aliases).toEqual(['data.example.com']);
    expect(config.ViewerCertificate).toMatchObject({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
  });
});

describe('EdgeWebAcl', () => {
  it('is a CloudFront-scope ACL with the managed rule groups and a rate limit', () => {
    edgeWaf.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet', VendorName: 'AWS' }) } }),
        Match.objectLike({ Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet' }) } }),
        Match.objectLike({ Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } } }),
      ],
    });
  });

  it('lets job bodies up to the API limit through the common rule set', () => {
    edgeWaf.hasResourceProperties('AWS::WAFv2::WebACL', {
      Rules: Match.arrayWith([
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
            }),
          },
        }),
      ]),
    });
  });
});

describe('AccessLogBucket', () => {
  it('is private, encrypted and SSL-only', () => {
    tiers.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    });
    tiers.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});
