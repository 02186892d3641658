import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IDependable } from 'constructs';
// Plain data, no runtime dependencies: the local edge proxy (services/edge) applies the same rules.
import { EDGE_CACHE_RULES } from '../services/edge/rules';

/** A custom domain for the distribution. */
export interface EdgeDomain {
  /** The domain name, e.g. "data.example.com". */
  readonly domainName: string;
  /** An ACM certificate for it, in us-east-1. */
  readonly certificate: acm.ICertificate;
}

/** Properties of an {@link EdgeCache}. */
export interface EdgeCacheProps {
  /** The internal load balancer of the API; reached through a CloudFront VPC origin. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /**
   * The internet gateway attachment of the load balancer's VPC. CloudFront creates a VPC origin
   * only in a VPC with an internet gateway attached, so the VPC origin waits for it.
   * @default - no dependency (the VPC's gateway must already be attached)
   */
  readonly vpcInternetConnectivity?: IDependable;
  /** ARN of the WAF web ACL (CLOUDFRONT scope, from us-east-1) attached to the distribution. */
  readonly webAclArn: string;
  /** Bucket receiving the distribution's access logs. */
  readonly logBucket: s3.IBucket;
  /**
   * Which edge locations serve the distribution.
   * @default cloudfront.PriceClass.PRICE_CLASS_ALL (the edge scales globally)
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * A custom domain with its certificate; TLS 1.2 is the minimum.
   * @default - the distribution's cloudfront.net domain only
   */
  readonly domain?: EdgeDomain;
  /**
   * Query strings that are part of the cache key of cacheable GETs.
   * @default EDGE_CACHE_RULES.cacheKeyQueryStrings (['q', 'limit'])
   */
  readonly cacheKeyQueryStrings?: string[];
  /**
   * Path patterns whose GET responses are cached (per the origin's Cache-Control).
   * @default EDGE_CACHE_RULES.cachedPaths (['/v1/search*', '/v1/version'])
   */
  readonly cachedPaths?: string[];
}

/**
 * The edge tier: a CloudFront distribution in front of the API. The API's load
 * balancer is internal and reached only through a VPC origin. Cacheable GETs are
 * cached by a cache policy with a query-string allow list; everything else
 * (writes, health) passes through uncached. Security headers on every response,
 * WAF attached, access logs on, HTTP/2 and HTTP/3.
 */
export class EdgeCache extends Construct {
  /** The distribution. */
  public readonly distribution: cloudfront.Distribution;
  /** The cache policy of the cached paths. */
  public readonly cachePolicy: cloudfront.CachePolicy;
  /** The origin request policy of the uncached paths. */
  public readonly originRequestPolicy: cloudfront.IOriginRequestPolicy;
  /** The response headers policy (security headers). */
  public readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;

  constructor(scope: Construct, id: string, props: EdgeCacheProps) {
    super(scope, id);

    this.cachePolicy = new cloudfront.CachePolicy(this, 'CachePolicy', {
      comment: 'Cacheable API GETs: allow-listed query strings, no cookies, compressed',
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.allowList(...(props.cacheKeyQueryStrings ?? EDGE_CACHE_RULES.cacheKeyQueryStrings)),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      // The origin's Cache-Control decides; these bound it.
      minTtl: Duration.seconds(EDGE_CACHE_RULES.minTtlSeconds),
      defaultTtl: Duration.seconds(EDGE_CACHE_RULES.defaultTtlSeconds),
      maxTtl: Duration.seconds(EDGE_CACHE_RULES.maxTtlSeconds),
    });

    // Writes carry a bearer token: an origin request policy of our own cannot forward the
    // Authorization header (CloudFront refuses it), but with caching disabled the managed
    // AllViewerExceptHostHeader policy does (https://repost.aws/knowledge-center/cloudfront-authorization-header).
    // Nothing on these paths is cached (GET /v1/jobs/{id}, /v1/dataset included), so no answer for
    // one caller can reach another.
    this.originRequestPolicy = cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER;

    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Security headers on every response',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    const origin = origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
      // CloudFront reaches the internal ALB over AWS's private network; the ALB
      // has no certificate of its own.
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      httpPort: 80,
    });
    const common = {
      origin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      responseHeadersPolicy: this.responseHeadersPolicy,
      compress: true,
    };
    const cachedBehavior: cloudfront.BehaviorOptions = {
      ...common,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
      cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
      cachePolicy: this.cachePolicy,
    };

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${id} edge cache`,
      defaultBehavior: {
        ...common,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: this.originRequestPolicy,
      },
      additionalBehaviors: Object.fromEntries((props.cachedPaths ?? EDGE_CACHE_RULES.cachedPaths).map((p) => [p, cachedBehavior])),
      webAclId: props.webAclArn,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_ALL,
      enableIpv6: true,
      domainNames: props.domain ? [props.domain.domainName] : undefined,
      certificate: props.domain?.certificate,
      // Only a custom certificate can set the viewer TLS policy.
      minimumProtocolVersion: props.domain ? cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      publishAdditionalMetrics: true,
    });
    if (props.vpcInternetConnectivity) {
      // "Restrict access with VPC origins" (CloudFront developer guide): the VPC needs an internet
      // gateway. Without this dependency CloudFormation may create the VPC origin first.
      for (const vpcOrigin of this.node.findAll().filter((c) => c instanceof cloudfront.CfnVpcOrigin)) {
        vpcOrigin.node.addDependency(props.vpcInternetConnectivity);
      }
    }
  }
}
