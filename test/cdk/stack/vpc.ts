/**
 * The VPC (`vpc=create` or `vpcId=vpc-…`): absent by default; with it, every function of the stack
 * in private subnets behind one security group that only lets HTTPS out, the endpoints exactly the
 * functions' own grants call for, flow logs and the DNS firewall on a created VPC, an existing VPC's
 * looked-up private subnets — and cdk-nag clean alone and beside the other options.
 */
import {
  type CfnResource,
  type CfnTemplate,
  nagReport,
  permissionsOf,
  recordedAcknowledgements,
  resourcesOfType,
  roleOf,
  type Statement,
  synth,
} from '../synth.js';

/** Every function the stack names (CDK's custom resource providers are unnamed). */
const FUNCTION_NAME = /^wisevoice-transcription-(dev|prod)-/;
const CREATE = { vpc: 'create' };
/** Every other option at once, in the EU, with a second NAT gateway and a longer log retention. */
const CREATE_WITH_EVERYTHING = {
  vpc: 'create',
  vpcNatGateways: '2',
  environment: 'prod',
  kms: 'true',
  alarmEmail: 'ops@example.com',
  assemblyaiRegion: 'eu',
  transcriptDelivery: 'webhook',
  intakeQueue: 'true',
  restApi: 'true',
  provisionedConcurrency: 'validate-audio:1',
  canary: 'rate(15 minutes)',
  logRetentionDays: '90',
};

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const ENV = { account: ACCOUNT, region: REGION };
const VPC_ID = 'vpc-0123456789abcdef0';
const PRIVATE_SUBNETS = ['subnet-0bbb0000000000001', 'subnet-0bbb0000000000002'];
const PRIVATE_ROUTE_TABLES = ['rtb-0bbb0000000000001', 'rtb-0bbb0000000000002'];
/**
 * What `cdk` stores in `cdk.context.json` after looking the VPC up (the key is the one
 * `Vpc.fromLookup` asks for): public, private (route to a NAT gateway) and isolated subnets.
 */
const LOOKED_UP = {
  [`vpc-provider:account=${ACCOUNT}:filter.vpc-id=${VPC_ID}:region=${REGION}:returnAsymmetricSubnets=true`]: {
    vpcId: VPC_ID,
    vpcCidrBlock: '10.20.0.0/16',
    ownerAccountId: ACCOUNT,
    availabilityZones: ['eu-central-1a', 'eu-central-1b'],
    subnetGroups: [
      {
        name: 'Public',
        type: 'Public',
        subnets: [
          {
            subnetId: 'subnet-0aaa0000000000001',
            availabilityZone: 'eu-central-1a',
            routeTableId: 'rtb-0aaa0000000000001',
          },
          {
            subnetId: 'subnet-0aaa0000000000002',
            availabilityZone: 'eu-central-1b',
            routeTableId: 'rtb-0aaa0000000000001',
          },
        ],
      },
      {
        name: 'Private',
        type: 'Private',
        subnets: PRIVATE_SUBNETS.map((subnetId, i) => ({
          subnetId,
          availabilityZone: ['eu-central-1a', 'eu-central-1b'][i],
          routeTableId: PRIVATE_ROUTE_TABLES[i],
        })),
      },
      {
        name: 'Isolated',
        type: 'Isolated',
        subnets: [
          {
            subnetId: 'subnet-0ccc0000000000001',
            availabilityZone: 'eu-central-1a',
            routeTableId: 'rtb-0ccc0000000000001',
          },
        ],
      },
    ],
  },
};
const EXISTING = { vpcId: VPC_ID, ...LOOKED_UP };
/** The existing VPC's owner has endpoints already and wants the firewall. */
const EXISTING_OWNED = { ...EXISTING, vpcEndpoints: 'false', vpcDnsFirewall: 'true' };

/** Lambda actions the role needs so that Lambda can manage the function's network interfaces. */
const NETWORK_INTERFACE_LINES = [
  'ec2:AssignPrivateIpAddresses *',
  'ec2:CreateNetworkInterface *',
  'ec2:DeleteNetworkInterface *',
  'ec2:DescribeNetworkInterfaces *',
  'ec2:DescribeSubnets *',
  'ec2:UnassignPrivateIpAddresses *',
];

/** The stack's own functions. */
function stackFunctions(json: CfnTemplate): { id: string; name: string; props: Record<string, unknown> }[] {
  return resourcesOfType(json, 'AWS::Lambda::Function')
    .filter(([, r]) => FUNCTION_NAME.test(String(r.Properties.FunctionName ?? '')))
    .map(([id, r]) => ({ id, name: String(r.Properties.FunctionName), props: r.Properties }));
}

interface VpcConfigProps {
  SubnetIds: unknown[];
  SecurityGroupIds: unknown[];
}

function vpcConfigOf(props: Record<string, unknown>): VpcConfigProps {
  const config = props.VpcConfig as VpcConfigProps | undefined;
  if (!config) throw new Error(`${String(props.FunctionName)} has no VpcConfig`);
  return config;
}

function refOf(value: unknown): string {
  const ref = (value as { Ref?: string }).Ref;
  if (!ref) throw new Error(`Not a Ref: ${JSON.stringify(value)}`);
  return ref;
}

function getAttOf(value: unknown): string {
  return (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** The routes of a subnet's route table, found through its route table association. */
function routesOfSubnet(json: CfnTemplate, subnetId: string): CfnResource[] {
  const association = resourcesOfType(json, 'AWS::EC2::SubnetRouteTableAssociation').find(
    ([, r]) => refOf(r.Properties.SubnetId) === subnetId,
  );
  if (!association) throw new Error(`${subnetId} has no route table`);
  const table = refOf(association[1].Properties.RouteTableId);
  return resourcesOfType(json, 'AWS::EC2::Route')
    .filter(([, r]) => refOf(r.Properties.RouteTableId) === table)
    .map(([, r]) => r);
}

function routeTableOfSubnet(json: CfnTemplate, subnetId: string): string {
  const association = resourcesOfType(json, 'AWS::EC2::SubnetRouteTableAssociation').find(
    ([, r]) => refOf(r.Properties.SubnetId) === subnetId,
  );
  return refOf(association?.[1].Properties.RouteTableId);
}

/** A subnet is private when nothing in it gets a public IP and its default route is a NAT gateway's. */
function isPrivate(json: CfnTemplate, subnetId: string): boolean {
  const subnet = json.Resources[subnetId];
  if (subnet?.Type !== 'AWS::EC2::Subnet' || subnet.Properties.MapPublicIpOnLaunch === true) return false;
  const routes = routesOfSubnet(json, subnetId);
  const toInternetGateway = routes.some((r) => {
    const gateway = r.Properties.GatewayId;
    return gateway !== undefined && json.Resources[refOf(gateway)]?.Type === 'AWS::EC2::InternetGateway';
  });
  const viaNat = routes.some(
    (r) =>
      r.Properties.DestinationCidrBlock === '0.0.0.0/0' &&
      json.Resources[refOf(r.Properties.NatGatewayId ?? { Ref: '-' })]?.Type === 'AWS::EC2::NatGateway',
  );
  return !toInternetGateway && viaNat;
}

/** `com.amazonaws.{region}.{service}` → `service`, whether the region is a token or not. */
function endpointService(endpoint: CfnResource): string {
  const name = endpoint.Properties.ServiceName;
  const text = typeof name === 'string' ? name : JSON.stringify(name);
  return text.replace(/^.*\.([a-z0-9-]+)"?\]*\}?$/, '$1');
}

function endpointsOf(json: CfnTemplate, type: 'Interface' | 'Gateway'): CfnResource[] {
  return resourcesOfType(json, 'AWS::EC2::VPCEndpoint')
    .map(([, r]) => r)
    .filter((r) => r.Properties.VpcEndpointType === type);
}

/**
 * The AWS services the functions' roles may call: the prefixes of their actions, less the ones
 * no function's code calls (logs and X-Ray are Lambda's own; ec2 is Lambda managing the network
 * interfaces), and KMS only where the grant is not limited to use through another service.
 */
function servicesTheFunctionsCall(json: CfnTemplate): Set<string> {
  const roles = new Set(stackFunctions(json).map((fn) => roleOf(fn.props)));
  const services = new Set<string>();
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    if (!(policy.Properties.Roles as { Ref: string }[]).some((r) => roles.has(r.Ref))) continue;
    for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
      const viaService = JSON.stringify(statement.Condition ?? {}).includes('kms:ViaService');
      for (const action of ([] as string[]).concat(statement.Action)) {
        const service = action.split(':')[0] as string;
        if (['logs', 'xray', 'ec2'].includes(service) || (service === 'kms' && viaService)) continue;
        services.add(service);
      }
    }
  }
  return services;
}

function functionSecurityGroup(json: CfnTemplate): string {
  const groups = new Set(
    stackFunctions(json).flatMap((fn) => vpcConfigOf(fn.props).SecurityGroupIds.map(getAttOf)),
  );
  if (groups.size !== 1) throw new Error(`Expected one function security group, found ${groups.size}`);
  return [...groups][0] as string;
}

describe('VPC', () => {
  it('is off by default: no function has a VpcConfig, and the stack has no network resources', () => {
    const { json } = synth();

    expect(resourcesOfType(json, 'AWS::Lambda::Function').filter(([, r]) => r.Properties.VpcConfig)).toEqual(
      [],
    );
    expect(
      Object.values(json.Resources)
        .map((r) => r.Type)
        .filter((type) => /^AWS::EC2::|^AWS::Route53Resolver::/.test(type)),
    ).toEqual([]);
  });

  describe.each([
    ['vpc=create', CREATE],
    ['vpc=create with every other option', CREATE_WITH_EVERYTHING],
  ])('with %s', (_name, context) => {
    let json: CfnTemplate;
    beforeAll(() => {
      json = synth(context).json;
    });

    it('runs every function of the stack in private subnets of two AZs only', () => {
      const functions = stackFunctions(json);

      expect(functions.length).toBeGreaterThanOrEqual(8);
      for (const fn of functions) {
        const subnets = vpcConfigOf(fn.props).SubnetIds.map(refOf);
        expect([fn.name, subnets.length]).toEqual([fn.name, 2]);
        expect(subnets.filter((s) => !isPrivate(json, s))).toEqual([]);
        const zones = new Set(
          subnets.map((s) => JSON.stringify(json.Resources[s]?.Properties.AvailabilityZone)),
        );
        expect(zones.size).toBe(2);
      }
    });

    it("leaves only CDK's own custom resource provider (it empties the default security group) outside the VPC", () => {
      const outside = resourcesOfType(json, 'AWS::Lambda::Function').filter(
        ([, r]) => !r.Properties.VpcConfig,
      );

      expect(outside.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual([
        'CustomVpcRestrictDefaultSGCustomResourceProviderHandler',
      ]);
      expect(resourcesOfType(json, 'Custom::VpcRestrictDefaultSG')).toHaveLength(1);
    });

    it('gives the functions one security group: nothing in, TCP 443 out, nothing else out', () => {
      const group = json.Resources[functionSecurityGroup(json)] as CfnResource;

      expect(group.Properties.SecurityGroupIngress).toBeUndefined();
      expect(
        (group.Properties.SecurityGroupEgress as Record<string, unknown>[]).map((rule) => [
          rule.IpProtocol,
          rule.FromPort,
          rule.ToPort,
        ]),
      ).toEqual([['tcp', 443, 443]]);
      const extraRules = [
        ...resourcesOfType(json, 'AWS::EC2::SecurityGroupEgress'),
        ...resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress'),
      ].filter(([, r]) => getAttOf(r.Properties.GroupId) === functionSecurityGroup(json));
      expect(extraRules).toEqual([]);
    });

    it('lets each function role manage its network interfaces, and grants nothing else new', () => {
      const withoutVpc = synth(
        Object.fromEntries(Object.entries(context).filter(([k]) => !k.startsWith('vpc'))),
      );
      const before = new Map(stackFunctions(withoutVpc.json).map((fn) => [fn.name, fn]));

      for (const fn of stackFunctions(json)) {
        const old = before.get(fn.name);
        if (!old) throw new Error(`${fn.name} exists only in the VPC`);
        const now = permissionsOf(json, roleOf(fn.props), { [roleOf(fn.props)]: 'role' });
        const was = permissionsOf(withoutVpc.json, roleOf(old.props), { [roleOf(old.props)]: 'role' });
        expect([fn.name, now.filter((line) => !was.includes(line))]).toEqual([
          fn.name,
          NETWORK_INTERFACE_LINES,
        ]);
        expect(json.Resources[roleOf(fn.props)]?.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });

    it("creates each function after its role's policy, so Lambda can create the network interfaces", () => {
      for (const fn of stackFunctions(json)) {
        const policies = resourcesOfType(json, 'AWS::IAM::Policy')
          .filter(([, p]) =>
            (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleOf(fn.props)),
          )
          .map(([id]) => id);
        const dependsOn = (json.Resources[fn.id] as CfnResource & { DependsOn?: string[] }).DependsOn ?? [];
        expect(policies.filter((p) => !dependsOn.includes(p))).toEqual([]);
      }
    });

    it('has an interface endpoint, with private DNS, for every AWS API the functions may call, and no other', () => {
      const needed = servicesTheFunctionsCall(json);
      const interfaces = endpointsOf(json, 'Interface');

      expect(interfaces.map(endpointService).sort()).toEqual([...needed].filter((s) => s !== 's3').sort());
      expect(needed.has('s3')).toBe(true);
      for (const endpoint of interfaces) {
        expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
        expect(
          (endpoint.Properties.SubnetIds as unknown[]).map(refOf).filter((s) => !isPrivate(json, s)),
        ).toEqual([]);
      }
    });

    it('opens the interface endpoints to HTTPS from the functions only', () => {
      const groups = new Set(
        endpointsOf(json, 'Interface').flatMap((e) =>
          (e.Properties.SecurityGroupIds as unknown[]).map(getAttOf),
        ),
      );
      expect(groups.size).toBe(1);
      const group = [...groups][0] as string;
      const ingress = [
        ...((json.Resources[group]?.Properties.SecurityGroupIngress as Record<string, unknown>[]) ?? []),
        ...resourcesOfType(json, 'AWS::EC2::SecurityGroupIngress')
          .filter(([, r]) => getAttOf(r.Properties.GroupId) === group)
          .map(([, r]) => r.Properties),
      ];

      expect(
        ingress.map((rule) => [
          rule.IpProtocol,
          rule.FromPort,
          rule.ToPort,
          getAttOf(rule.SourceSecurityGroupId ?? { 'Fn::GetAtt': [String(rule.CidrIp)] }),
        ]),
      ).toEqual([['tcp', 443, 443, functionSecurityGroup(json)]]);
    });

    it("routes S3 through the gateway endpoint from exactly the functions' route tables", () => {
      const [gateway, ...others] = endpointsOf(json, 'Gateway');
      const subnets = new Set(
        stackFunctions(json).flatMap((fn) => vpcConfigOf(fn.props).SubnetIds.map(refOf)),
      );

      expect(others).toEqual([]);
      expect(gateway && endpointService(gateway)).toBe('s3');
      expect(((gateway?.Properties.RouteTableIds ?? []) as unknown[]).map(refOf).sort()).toEqual(
        [...subnets].map((s) => routeTableOfSubnet(json, s)).sort(),
      );
    });

    it('answers only the AssemblyAI host the functions call and AWS service names, NXDOMAIN for the rest', () => {
      const [[, group] = []] = resourcesOfType(json, 'AWS::Route53Resolver::FirewallRuleGroup');
      const rules = [...((group?.Properties.FirewallRules ?? []) as Record<string, unknown>[])].sort(
        (a, b) => Number(a.Priority) - Number(b.Priority),
      );
      const domains = (rule: Record<string, unknown> | undefined) =>
        json.Resources[getAttOf(rule?.FirewallDomainListId)]?.Properties.Domains;
      const hosts = new Set(
        stackFunctions(json)
          .map(
            (fn) =>
              (fn.props.Environment as { Variables: Record<string, string> }).Variables.ASSEMBLYAI_BASE_URL,
          )
          .filter(Boolean)
          .map((url) => new URL(url as string).hostname),
      );

      expect(hosts.size).toBe(1);
      expect(rules.map((r) => [r.Action, r.BlockResponse])).toEqual([
        ['ALLOW', undefined],
        ['BLOCK', 'NXDOMAIN'],
      ]);
      expect(domains(rules[0])).toEqual([...hosts, { 'Fn::Join': ['', ['*.', { Ref: 'AWS::URLSuffix' }]] }]);
      expect(rules[0]?.FirewallDomainRedirectionAction).toBe('TRUST_REDIRECTION_DOMAIN');
      expect(domains(rules[1])).toEqual(['*']);
      const [[, association] = []] = resourcesOfType(
        json,
        'AWS::Route53Resolver::FirewallRuleGroupAssociation',
      );
      expect(association?.Properties.VpcId).toEqual({ Ref: resourcesOfType(json, 'AWS::EC2::VPC')[0]?.[0] });
    });

    it("logs every flow of the VPC to a log group with the stack's retention", () => {
      const [[, flowLog] = [], ...others] = resourcesOfType(json, 'AWS::EC2::FlowLog');
      const logGroup = json.Resources[refOf(flowLog?.Properties.LogGroupName)];
      const retention = stackFunctions(json).map(
        (fn) =>
          json.Resources[refOf((fn.props.LoggingConfig as { LogGroup: unknown }).LogGroup)]?.Properties
            .RetentionInDays,
      )[0];

      expect(others).toEqual([]);
      expect(flowLog?.Properties).toMatchObject({
        ResourceId: { Ref: resourcesOfType(json, 'AWS::EC2::VPC')[0]?.[0] },
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
      expect(logGroup?.Properties.RetentionInDays).toBe(retention);
    });
  });

  it('has one NAT gateway by default and one per AZ with vpcNatGateways=2', () => {
    expect(resourcesOfType(synth(CREATE).json, 'AWS::EC2::NatGateway')).toHaveLength(1);
    expect(resourcesOfType(synth(CREATE_WITH_EVERYTHING).json, 'AWS::EC2::NatGateway')).toHaveLength(2);
  });

  it('gives nothing in the public subnets a public IP (they hold the NAT gateways only)', () => {
    for (const [, subnet] of resourcesOfType(synth(CREATE).json, 'AWS::EC2::Subnet')) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  describe('with vpcId', () => {
    let json: CfnTemplate;
    beforeAll(() => {
      json = synth(EXISTING, { env: ENV }).json;
    });

    it("runs every function in the looked-up VPC's private subnets", () => {
      for (const fn of stackFunctions(json)) {
        expect([fn.name, vpcConfigOf(fn.props).SubnetIds]).toEqual([fn.name, PRIVATE_SUBNETS]);
      }
      expect(json.Resources[functionSecurityGroup(json)]?.Properties.VpcId).toBe(VPC_ID);
    });

    it('creates no VPC, NAT gateway, flow log or DNS firewall in it, but the endpoints', () => {
      const types = new Set(Object.values(json.Resources).map((r) => r.Type));

      for (const type of [
        'AWS::EC2::VPC',
        'AWS::EC2::Subnet',
        'AWS::EC2::NatGateway',
        'AWS::EC2::FlowLog',
        'AWS::Route53Resolver::FirewallRuleGroupAssociation',
      ]) {
        expect([type, types.has(type)]).toEqual([type, false]);
      }
      expect(endpointsOf(json, 'Interface').map((e) => e.Properties.SubnetIds)).toEqual(
        endpointsOf(json, 'Interface').map(() => PRIVATE_SUBNETS),
      );
      expect(endpointsOf(json, 'Gateway').map((e) => e.Properties.RouteTableIds)).toEqual([
        PRIVATE_ROUTE_TABLES,
      ]);
    });

    it('creates no endpoint with vpcEndpoints=false, and associates the DNS firewall with vpcDnsFirewall=true', () => {
      const { json: owned } = synth(EXISTING_OWNED, { env: ENV });

      expect(resourcesOfType(owned, 'AWS::EC2::VPCEndpoint')).toEqual([]);
      expect(
        resourcesOfType(owned, 'AWS::Route53Resolver::FirewallRuleGroupAssociation').map(
          ([, r]) => r.Properties.VpcId,
        ),
      ).toEqual([VPC_ID]);
    });

    it('refuses to synthesize without the account and region to look the VPC up in', () => {
      expect(() => synth({ vpcId: VPC_ID })).toThrow(/"vpcId".*account and region.*unknown/);
    });
  });

  it.each([
    [{ vpc: 'create', vpcId: VPC_ID }, /"vpc=create" and "vpcId" exclude each other/],
    [{ vpc: 'yes' }, /Context "vpc" must be "create"/],
    [{ vpcId: 'vpc-123' }, /Context "vpcId" must be a VPC id/],
    [{ vpc: 'create', vpcNatGateways: '3' }, /Context "vpcNatGateways" must be 1 or 2/],
    [{ vpcEndpoints: 'false' }, /Context "vpcEndpoints" needs "vpc=create" or "vpcId"/],
    [{ regions: 'eu-central-1,us-east-1', vpcId: VPC_ID }, /Context "vpcId" names a resource in one region/],
  ])('refuses to synthesize with %j', (context, message) => {
    expect(() => synth(context, { env: ENV })).toThrow(message);
  });

  describe('cdk-nag', () => {
    it.each([
      ['alone', CREATE, undefined],
      ['with every other option', CREATE_WITH_EVERYTHING, undefined],
      ['in an existing VPC', EXISTING, ENV],
      ['in an existing VPC, with the DNS firewall and without endpoints', EXISTING_OWNED, ENV],
    ])('leaves no finding unacknowledged %s, and acknowledges only real ones', (_name, context, env) => {
      const result = synth(context, { env });
      const report = nagReport(result);
      const used = new Set(
        (report.suppressedViolations ?? []).map((v) => `(${v.acknowledgedAt}) ${v.acknowledgedId}`),
      );

      expect(
        report.violations.map((v) => `${v.ruleName} ${v.violatingConstructs[0]?.constructPath}`),
      ).toEqual([]);
      expect(report.conclusion).toBe('success');
      expect(recordedAcknowledgements(result.app).filter((a) => !used.has(a))).toEqual([]);
      // The network itself needs no acknowledgement (flow logs on, no open ingress, no wildcard).
      expect(
        (report.suppressedViolations ?? []).filter((v) =>
          v.violatingConstructs.some((c) => c.constructPath.includes('/Network/')),
        ),
      ).toEqual([]);
    });
  });
});
