/**
 * The network the Lambdas run in with `-c vpc=create` or `-c vpcId=vpc-…` (docs/deploy.md, "VPC"):
 * private subnets with egress, one security group that lets them out on TCP 443 only, the S3
 * gateway endpoint and an interface endpoint for each AWS API the Lambdas call, and — on a VPC of
 * the stack's own — flow logs and a DNS firewall that answers only AssemblyAI's and AWS's names.
 */
import { type RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  type ISecurityGroup,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  CfnFirewallDomainList,
  CfnFirewallRuleGroup,
  CfnFirewallRuleGroupAssociation,
} from 'aws-cdk-lib/aws-route53resolver';
import { Construct } from 'constructs';
import type { VpcConfig } from '../config.js';

/** Where a `TranscriptionFunction` runs: the subnets of its ENIs and the one security group on them. */
export interface FunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

/**
 * The AWS APIs the Lambdas call with the AWS SDK, by interface endpoint (S3 has the gateway endpoint).
 * Deliberately absent, because no function's code calls them: CloudWatch Logs and CloudWatch (Lambda
 * itself ships what a function writes to stdout, Powertools' EMF metrics included, to its log group),
 * X-Ray (the SDK sends segments over UDP to the daemon Lambda runs beside the function) and KMS (S3,
 * Secrets Manager and SQS call it on a function's behalf). An endpoint costs per AZ-hour whether used
 * or not; whatever else a function might call still leaves through the NAT gateway.
 */
export const INTERFACE_ENDPOINTS = {
  /** The AssemblyAI key (every step that calls AssemblyAI, the finalizer, the sweeper) and the webhook secret. */
  secretsmanager: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  /** The finalizer's DescribeExecution, the webhook's SendTaskSuccess/Failure, the intake's StartExecution, the release's DescribeStateMachine. */
  states: InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
  /** Submit's AssumeRole of the audio URL signer role (`fromTemporaryCredentials`). */
  sts: InterfaceVpcEndpointAwsService.STS,
  /** The finalizer's completion messages; the intake consumer's forwarding of refused messages to its DLQ. */
  sqs: InterfaceVpcEndpointAwsService.SQS,
  /** The provisioned-concurrency release: list and delete provisioned concurrency. */
  lambda: InterfaceVpcEndpointAwsService.LAMBDA,
  /** The provisioned-concurrency release: DescribeStacks. */
  cloudformation: InterfaceVpcEndpointAwsService.CLOUDFORMATION,
} as const;

export type EndpointService = keyof typeof INTERFACE_ENDPOINTS;

/** The interface endpoints the stack's functions need, given the optional features that add callers. */
export function interfaceEndpointsFor(features: {
  completionQueue: boolean;
  intakeQueue: boolean;
  provisionedConcurrency: boolean;
}): EndpointService[] {
  return [
    'secretsmanager',
    'states',
    'sts',
    ...(features.completionQueue || features.intakeQueue ? (['sqs'] as const) : []),
    ...(features.provisionedConcurrency ? (['lambda', 'cloudformation'] as const) : []),
  ];
}

export interface TranscriptionNetworkProps {
  config: VpcConfig;
  /** Names resources that need a name (the flow log group, the DNS firewall). */
  namePrefix: string;
  /** The one non-AWS host the Lambdas call (AssemblyAI's API in the configured region). */
  providerHost: string;
  interfaceEndpoints: readonly EndpointService[];
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
}

/** Rules of a rule group run from the lowest priority up; the first match decides. */
const ALLOW_PRIORITY = 100;
const BLOCK_PRIORITY = 200;
/** Among the rule groups associated with one VPC, also lowest first; leaves room on both sides. */
const ASSOCIATION_PRIORITY = 1000;

export class TranscriptionNetwork extends Construct implements FunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
  /** On every function: no ingress (invocations never come through the VPC), egress TCP 443 only. */
  readonly securityGroup: SecurityGroup;
  /** Present on a created VPC only: the VPC owner keeps an existing VPC's flow logs. */
  readonly flowLogGroup?: LogGroup;
  /** Present with `vpcDnsFirewall` only. */
  readonly dnsFirewall?: CfnFirewallRuleGroup;

  constructor(scope: Construct, id: string, props: TranscriptionNetworkProps) {
    super(scope, id);
    const { config } = props;
    if (config.mode === 'none') throw new Error('TranscriptionNetwork needs vpc=create or vpcId');

    if (config.mode === 'existing') {
      const stack = Stack.of(this);
      if (stack.resolve(stack.account).Ref || stack.resolve(stack.region).Ref) {
        throw new Error(
          'Context "vpcId" is looked up in the stack\'s account and region, which are unknown: run cdk with AWS credentials (a profile) so that CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION are set, or give a single region with "regions"',
        );
      }
      this.vpc = Vpc.fromLookup(this, 'Vpc', { vpcId: config.vpcId });
    } else {
      const vpc = new Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: config.natGateways,
        subnetConfiguration: [
          // The NAT gateways only: nothing else is launched there, so nothing gets a public IP.
          { name: 'Public', subnetType: SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
          { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS },
        ],
      });
      this.flowLogGroup = new LogGroup(this, 'FlowLogs', {
        logGroupName: `/aws/vpc/flow-logs/${props.namePrefix}`,
        retention: props.logRetention,
        removalPolicy: props.logRemovalPolicy,
      });
      vpc.addFlowLog('FlowLog', {
        destination: FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
        trafficType: FlowLogTrafficType.ALL,
      });
      this.vpc = vpc;
    }

    this.securityGroup = new SecurityGroup(this, 'FunctionSecurityGroup', {
      vpc: this.vpc,
      description: 'The transcription Lambdas: HTTPS out (AssemblyAI through NAT, AWS APIs), nothing in',
      allowAllOutbound: false,
    });
    // Any address: AssemblyAI's are not fixed, S3 is reached by its public prefixes (through the
    // gateway endpoint). Names are what is limited, by the DNS firewall.
    this.securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to AssemblyAI and AWS APIs');

    if (config.endpoints) this.addEndpoints(props.interfaceEndpoints);
    if (config.dnsFirewall) this.dnsFirewall = this.addDnsFirewall(props);
  }

  private addEndpoints(services: readonly EndpointService[]): void {
    // Free; adds a route to S3's prefix list to the private subnets' route tables.
    this.vpc.addGatewayEndpoint('S3Endpoint', {
      service: GatewayVpcEndpointAwsService.S3,
      subnets: [this.subnets],
    });
    if (services.length === 0) return;
    const endpointGroup = new SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints of the transcription Lambdas: HTTPS from their security group only',
      allowAllOutbound: false,
    });
    endpointGroup.addIngressRule(this.securityGroup, Port.tcp(443), 'HTTPS from the transcription Lambdas');
    for (const name of services) {
      this.vpc.addInterfaceEndpoint(`${name}Endpoint`, {
        service: INTERFACE_ENDPOINTS[name],
        subnets: this.subnets,
        securityGroups: [endpointGroup],
        // Not the whole VPC's CIDR: the ingress rule above is the only way in.
        open: false,
        // The SDK's default hostnames resolve to the endpoint, so no client needs configuring.
        privateDnsEnabled: true,
      });
    }
  }

  /**
   * Answers the provider's host and AWS service names (`*.{partition suffix}`, which covers the
   * interface endpoints' names and S3's) and NXDOMAIN for everything else. DNS only: a connection to
   * a literal IP address is not stopped (docs/deploy.md, "VPC").
   */
  private addDnsFirewall(props: TranscriptionNetworkProps): CfnFirewallRuleGroup {
    const allowed = new CfnFirewallDomainList(this, 'AllowedDomains', {
      name: `${props.namePrefix}-allowed`,
      domains: [props.providerHost, `*.${Stack.of(this).urlSuffix}`],
    });
    const everything = new CfnFirewallDomainList(this, 'AllDomains', {
      name: `${props.namePrefix}-all`,
      domains: ['*'],
    });
    const group = new CfnFirewallRuleGroup(this, 'DnsFirewall', {
      name: props.namePrefix,
      firewallRules: [
        {
          firewallDomainListId: allowed.attrId,
          priority: ALLOW_PRIORITY,
          action: 'ALLOW',
          // An allowed name may be a CNAME to a CDN or load balancer name that is not on the list;
          // by default every name of the chain is checked, and the block rule would refuse it.
          firewallDomainRedirectionAction: 'TRUST_REDIRECTION_DOMAIN',
        },
        {
          firewallDomainListId: everything.attrId,
          priority: BLOCK_PRIORITY,
          action: 'BLOCK',
          blockResponse: 'NXDOMAIN',
        },
      ],
    });
    new CfnFirewallRuleGroupAssociation(this, 'DnsFirewallAssociation', {
      firewallRuleGroupId: group.attrId,
      vpcId: this.vpc.vpcId,
      priority: ASSOCIATION_PRIORITY,
      name: props.namePrefix,
      mutationProtection: 'DISABLED',
    });
    return group;
  }
}
