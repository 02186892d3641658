import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IDependable } from 'constructs';

/** Properties of a {@link Network}. */
export interface NetworkProps {
  /** The availability zones to span (at least two); given explicitly so that synth needs no AWS lookup. */
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
   * NAT gateways (in the edge subnets, at most one per availability zone) that give the workload
   * subnets a route out to the internet, for what tasks call outside AWS (an OIDC issuer). With
   * none, the workload subnets are isolated: they reach AWS through the VPC endpoints only.
   * @default 0
   */
  readonly natGateways?: number;
}

/**
 * A VPC for Fargate tasks that reach AWS through VPC endpoints: tasks and the
 * internal load balancer live in the workload subnets; the public (edge)
 * subnets give the VPC the internet gateway that CloudFront VPC origins
 * require and, with `natGateways`, hold the NAT gateways through which the
 * workload subnets reach what is outside AWS (their default route). Without
 * NAT gateways the workload subnets are isolated. Flow logs record all traffic.
 */
export class Network extends Construct {
  /** The VPC. */
  public readonly vpc: ec2.Vpc;
  /** The VPC's address range, literal (rule checkers cannot read the VPC's CidrBlock token). */
  public readonly cidr: string;
  /** The subnets where tasks and the internal load balancer run. */
  public readonly workloadSubnets: ec2.SubnetSelection;
  /** The attachment of the VPC's internet gateway (what a CloudFront VPC origin waits for). */
  public readonly internetGatewayAttachment: IDependable;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    if (props.availabilityZones.length < 2) {
      throw new Error(`Network: expected at least two availability zones, got ${props.availabilityZones.length}`);
    }

    const natGateways = props.natGateways ?? 0;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > props.availabilityZones.length) {
      throw new Error(`Network: natGateways must be an integer from 0 to ${props.availabilityZones.length} (one per availability zone at most), got ${natGateways}`);
    }
    const workloadType = natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
    this.workloadSubnets = { subnetType: workloadType };

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', { retention: props.flowLogRetention, encryptionKey: props.flowLogEncryptionKey });
    const cidr = props.cidr ?? '10.0.0.0/16';
    this.cidr = cidr;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      availabilityZones: props.availabilityZones,
      natGateways,
      natGatewaySubnets: { subnetGroupName: 'edge' },
      subnetConfiguration: [
        { name: 'edge', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'workload', subnetType: workloadType, cidrMask: 20 },
      ],
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });
    // ec2.Vpc creates the attachment as its child 'VPCGW' (it has public subnets).
    this.internetGatewayAttachment = this.vpc.node.findChild('VPCGW');

    // What the tasks call: ECR (image pulls, layers from S3), CloudWatch Logs, SQS, the data bucket
    // (S3) and the job table (DynamoDB). S3 and DynamoDB through gateway endpoints: free, and the
    // route tables of the workload subnets send their traffic there. And ECS: the agent's task
    // scale-in protection endpoint calls the ECS API (UpdateTaskProtection) with the task's
    // credentials (ECS developer guide, "Task scale-in protection endpoint"). AWS traffic stays on
    // the endpoints even with a NAT gateway (private DNS), so it is neither charged per GB by the
    // NAT nor dependent on it. The rehearsal checks each task's endpoints (pipeline/rehearsal/network.ts).
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.workloadSubnets] });
    this.vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [this.workloadSubnets] });
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
