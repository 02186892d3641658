import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /** The availability zones to span (two to {@link Network.ADDRESSED_ZONES}); given explicitly so that synth needs no AWS lookup. */
  readonly availabilityZones: string[];
  /** How long VPC flow logs are kept. */
  readonly flowLogRetention: logs.RetentionDays;
  /**
   * The key encrypting the flow log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly flowLogEncryptionKey?: kms.IKey;
  /**
   * The VPC's address range.
   * @default 10.0.0.0/16
   */
  readonly cidr?: string;
  /**
   * NAT gateways (in the edge subnets, at most one per availability zone) that give the egress
   * subnets a route out to the internet, for what a tier calls outside AWS (the API's OIDC
   * issuer). With none, there are no egress subnets ({@link Network.egressSubnets} are the
   * isolated workload subnets).
   * @default 0
   */
  readonly natGateways?: number;
}

/**
 * A VPC for Fargate tasks that reach AWS through VPC endpoints. The workload
 * subnets are isolated (no route out of the VPC). With `natGateways`, egress
 * subnets beside them route out through NAT gateways in the public (edge)
 * subnets, for the tier that calls something outside AWS; only what is placed
 * there has a way out. The edge subnets give the VPC the internet gateway
 * that CloudFront VPC origins (and NAT gateways) require. Flow logs record all
 * traffic.
 */
export class Network extends Construct {
  /**
   * The zones the address plan has room for, whatever the VPC spans: six, the most a region has
   * (us-east-1's use1-az1 to use1-az6, "AWS Availability Zones",
   * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html).
   * Each subnet group is laid out for this many zones (the unused ones reserved, ec2.Vpc's
   * `reservedAzs`), so a subnet's range never depends on how many zones the stage spans: adding a
   * zone moves no subnet (the egress subnets, after every zone's workload subnet, would otherwise
   * shift onto the new zone's workload range), and stages with fewer zones have the same ranges.
   */
  public static readonly ADDRESSED_ZONES = 6;

  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** The VPC's address range, literal (rule checkers cannot read the VPC's CidrBlock token). */
  public readonly cidr: string;
  /** The isolated subnets: no route out of the VPC, AWS through the VPC endpoints only. */
  public readonly workloadSubnets: ec2.SubnetSelection = { subnetGroupName: 'workload' };
  /** The subnets whose default route is a NAT gateway (the workload subnets when there is none). */
  public readonly egressSubnets: ec2.SubnetSelection;
  /** The attachment of the VPC's internet gateway (what a CloudFront VPC origin waits for). */
  public readonly internetGatewayAttachment: IDependable;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const zones = props.availabilityZones.length;
    if (zones < 2 || zones > Network.ADDRESSED_ZONES) {
      throw new Error(`Network: expected two to ${Network.ADDRESSED_ZONES} availability zones, got ${zones}`);
    }

    const natGateways = props.natGateways ?? 0;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > props.availabilityZones.length) {
      throw new Error(`Network: natGateways must be an integer from 0 to ${props.availabilityZones.length} (one per availability zone at most), got ${natGateways}`);
    }
    this.egressSubnets = natGateways > 0 ? { subnetGroupName: 'egress' } : this.workloadSubnets;

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention: props.flowLogRetention, encryptionKey: props.flowLogEncryptionKey });
    const cidr = props.cidr ?? '10.0.0.0/16';
    this.cidr = cidr;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      // A copy: ec2.Vpc appends its reserved zones to the array it is given.
      availabilityZones: [...props.availabilityZones],
      reservedAzs: Network.ADDRESSED_ZONES - zones,
      natGateways,
      natGatewaySubnets: { subnetGroupName: 'edge' },
      subnetConfiguration: [
        { name: 'edge', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'workload', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
        // After the others, so that adding it moves no existing subnet's range.
        ...(natGateways > 0 ? [{ name: 'egress', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 }] : []),
      ],
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });
    // ec2.Vpc creates the attachment as its child 'VPCGW' (it has public subnets).
    this.internetGatewayAttachment = this.vpc.node.findChild('VPCGW');

    // What the tasks call: ECR (image pulls, layers from S3), CloudWatch Logs, SQS, the data bucket
    // (S3) and the job table (DynamoDB). S3 and DynamoDB through gateway endpoints: free, and the
    // route tables of the private subnets send their traffic there. The interface endpoints sit in
    // the workload subnets and admit HTTPS from the whole VPC, the egress subnets included. And ECS: the agent's task
    // scale-in protection endpoint calls the ECS API (UpdateTaskProtection) with the task's
    // credentials (ECS developer guide, "Task scale-in protection endpoint"). AWS traffic stays on
    // the endpoints even with a NAT gateway (private DNS), so it is neither charged per GB by the
    // NAT nor dependent on it. The rehearsal checks each task's endpoints (pipeline/rehearsal/network.ts).
    const privateSubnets = natGateways > 0 ? [this.workloadSubnets, this.egressSubnets] : [this.workloadSubnets];
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: privateSubnets });
    this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: privateSubnets });
    const interfaceEndpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
      EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
      Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
    };
    // One security group for all endpoints: HTTPS from inside the VPC only (the
    // literal CIDR, not a token, so that rule checkers can read it).
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'VPC interface endpoints: HTTPS from inside the VPC',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.workloadSubnets,
        privateDnsEnabled: true,
        securityGroups: [endpointSecurityGroup],
        open: false,
      });
    }
  }
}
