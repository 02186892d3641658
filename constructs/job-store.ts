import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Properties of a {@link JobStore}. */
export interface JobStoreProps {
  /**
   * Point-in-time recovery (continuous backups, 35 days).
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What happens to the table when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The job records of a stage: a DynamoDB table keyed by job id (`id`), on demand, encrypted with
 * an AWS managed key, with a TTL attribute (`expiresAt`, set by the services on finished jobs).
 * The record format is services/shared/job-store.ts.
 */
export class JobStore extends Construct {
  /** The TTL attribute the services write. */
  static readonly TTL_ATTRIBUTE = 'expiresAt';

  /** The table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: JobStoreProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      timeToLiveAttribute: JobStore.TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** The API: creates records (`accepted`, then `queued`, both conditional puts) and reads them. */
  grantSubmit(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(grantee, 'dynamodb:PutItem', 'dynamodb:GetItem');
  }

  /** The worker: moves records through running/succeeded/failed/dead-lettered (conditional updates) and reads them. */
  grantProcess(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(grantee, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
  }
}
