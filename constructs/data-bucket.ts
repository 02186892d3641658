import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of a {@link DataBucket}. */
export interface DataBucketProps {
  /** Where the bucket's server access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * How long a built snapshot is kept (the pointer always names a recent one).
   * @default Duration.days(7)
   */
  readonly snapshotRetention?: Duration;
  /**
   * What happens to the bucket when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The data of a stage (layout in services/shared/dataset.ts): raw records under `raw/` (the
 * pipeline's source), built snapshots under `snapshots/built/`, the pointer to the served one at
 * `snapshots/current.json`. Private, encrypted, SSL-only, versioned (a bad raw upload can be
 * undone); old versions and old snapshots expire.
 */
export class DataBucket extends Construct {
  static readonly RAW_PREFIX = 'raw/';
  static readonly PROBE_PREFIX = 'raw/_probe/';
  static readonly SNAPSHOT_PREFIX = 'snapshots/';
  static readonly BUILT_PREFIX = 'snapshots/built/';
  static readonly POINTER_KEY = 'snapshots/current.json';

  /** The bucket. */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      // SSE-KMS with the account's aws/s3 key and an S3 Bucket Key (one KMS call per
      // object batch, not per request): encrypted with a key KMS logs the use of.
      encryption: s3.BucketEncryption.KMS_MANAGED,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { noncurrentVersionExpiration: Duration.days(30) },
        { prefix: DataBucket.BUILT_PREFIX, expiration: props.snapshotRetention ?? Duration.days(7) },
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** The API: reads the pointer and snapshots; nothing else. */
  grantReadSnapshots(grantee: iam.IGrantable): void {
    this.allowList(grantee, [DataBucket.POINTER_KEY]);
    this.allow(grantee, ['s3:GetObject'], `${DataBucket.SNAPSHOT_PREFIX}*`);
  }

  /**
   * The worker (the rebuild job): lists and reads raw records, reads the pointer, writes snapshots
   * and the pointer.
   */
  grantRebuild(grantee: iam.IGrantable): void {
    this.allowList(grantee, [`${DataBucket.RAW_PREFIX}*`, DataBucket.POINTER_KEY]);
    this.allow(grantee, ['s3:GetObject'], `${DataBucket.RAW_PREFIX}*`);
    this.allow(grantee, ['s3:GetObject', 's3:PutObject'], `${DataBucket.SNAPSHOT_PREFIX}*`);
  }

  /** The deploy checks: add and remove probe records (which no user query finds); nothing else. */
  grantProbes(grantee: iam.IGrantable): void {
    this.allow(grantee, ['s3:PutObject', 's3:DeleteObject'], `${DataBucket.PROBE_PREFIX}*`);
  }

  /**
   * Listing under these prefixes only. Whether the pointer exists is asked by listing its key:
   * without s3:ListBucket a GetObject of a missing key answers 403, not 404.
   */
  private allowList(grantee: iam.IGrantable, prefixes: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes } },
      }),
    );
  }

  private allow(grantee: iam.IGrantable, actions: string[], keyPattern: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [this.bucket.arnForObjects(keyPattern)] }));
  }
}
