import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of an {@link AccessLogBucket}. */
export interface AccessLogBucketProps {
  /**
   * How long log objects are kept.
   * @default Duration.days(365)
   */
  readonly expiration?: Duration;
}

/**
 * A private, encrypted, versioned, SSL-only bucket for CloudFront and load balancer access
 * logs. SSE-S3 because ALB log delivery does not support KMS keys; object
 * ownership "bucket owner preferred" because CloudFront standard logging writes
 * with ACLs.
 */
export class AccessLogBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: AccessLogBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      // Versioned, so that a deleted or overwritten log is kept (as a noncurrent
      // version) for 30 days; noncurrent versions then expire with the rest.
      versioned: true,
      lifecycleRules: [
        { expiration: props.expiration ?? Duration.days(365), noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      // Logs are evidence: keep them when the stack goes.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
