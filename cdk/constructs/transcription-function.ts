/**
 * The one place every workflow Lambda gets its defaults, so the six steps differ only in what a
 * step really needs (memory, timeout, permissions, environment). It also gives each function its
 * own role with no managed policy, and makes every wildcard grant carry its reason for cdk-nag.
 */
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  type IVersion,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/telemetry-names.js';
import { acknowledge, acknowledgeWildcardResources, hasWildcardResource } from '../nag.js';
import type { FunctionNetwork } from './transcription-network.js';

/**
 * ESM bundles run `require` for Node built-ins through this shim: some dependencies (e.g. `ws`
 * under the AssemblyAI SDK) call `require('events')`, which an ES module does not have. The
 * aliased import cannot collide with a bundled module's own `createRequire`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as topLevelCreateRequire } from 'module';const require = topLevelCreateRequire(import.meta.url);";

/**
 * What esbuild leaves out of every bundle (issue 10: nothing bundled that a step does not use).
 * Each is reached only through a dynamic `import()` that never runs on Lambda, so leaving it out
 * changes no code path there (were one taken, that import would fail). About 108 KB of every
 * bundle, the baseline's too, and 22 KB more of Validate's. test/cdk/bundling.test.ts checks that
 * nothing else is left out and only dynamically; test/lambdas/validate-audio-bundle.test.ts that the
 * bundled Validate judges every audio fixture as its sources do.
 * - The AWS SDK's credential providers for profiles, SSO, `credential_process` and web-identity
 *   token files, with the STS, SSO and sign-in clients they bring: the default chain tries the
 *   environment first, and Lambda always puts the role's credentials there.
 * - music-metadata's MPEG and Ogg parsers (its loaders import them by these relative paths):
 *   Validate reads MP3/MP2/AAC and Ogg with its own code and never hands them to music-metadata
 *   (lambdas/validate-audio/validate-audio.ts, `probe`), which picks a parser by the MIME type.
 */
export const NEVER_LOADED_MODULES = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  './MpegParser.js',
  './OggParser.js',
] as const;

/**
 * The esbuild options of every step's bundle, shared with `scripts/bundle-report.ts` so that the
 * sizes and cold starts it measures are those of the deployed code.
 */
export const ESM_BUNDLING = {
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  // Source maps (issue 10; `npx tsx scripts/bundle-report.ts --source-maps`, 30 fresh Node 24
  // processes per bundle and choice, table in docs/observability.md). A linked map costs nothing
  // at import (no map: Validate 162 ms, linked map 163 ms); `--enable-source-maps` makes Node read
  // and parse every map while importing: +6 to +26 ms per cold start, median +17 (baseline 104 →
  // 122 ms, Submit 154 → 172, the webhook receiver 155 → 181). So the map ships in the asset
  // (Validate's zip ≈ 230 KB without it, 520 KB with) and NODE_OPTIONS does not load it: when
  // `defineStep` logs an unexpected error it maps that error's stack through the map itself
  // (`sourceMappedStack`, lambdas/shared/observability.ts), so CloudWatch still shows
  // `lambdas/…/file.ts:line:col` where it matters. Other traces (an error at import) stay minified.
  sourceMap: true,
  // Stack traces need the mappings, not a second copy of every dependency's source.
  sourcesContent: false,
  bundleAwsSDK: true,
  externalModules: [...NEVER_LOADED_MODULES],
} as const satisfies BundlingOptions;

export interface TranscriptionFunctionProps {
  /** The step's name (`validate-audio`, …): the Powertools `step` dimension and part of the function name. */
  readonly step: string;
  /** Absolute path of the TypeScript entry file that exports `handler`. */
  readonly entry: string;
  /** Absolute path of the lock file; its folder is the project root esbuild resolves from. */
  readonly depsLockFilePath: string;
  /** Memory in MB; on Lambda it also buys CPU. Chosen per step, see the step table. */
  readonly memorySize: number;
  /** Chosen per step, a little below the state's `TimeoutSeconds` so Lambda's own timeout reports first. */
  readonly timeout: Duration;
  /** Step-specific environment; merged over the Powertools defaults. */
  readonly environment: Record<string, string>;
  /** Function name. @default - generated by CloudFormation */
  readonly functionName?: string;
  /** Retention of the function's log group. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Powertools and Lambda application log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default Architecture.ARM_64 (about 20% cheaper per GB-second than x86 for the same work) */
  readonly architecture?: Architecture;
  /** @default Runtime.NODEJS_24_X (the newest Node.js Lambda offers; cdk-nag L1 checks it) */
  readonly runtime?: Runtime;
  /** @default Tracing.ACTIVE (each invocation joins the state machine's X-Ray trace) */
  readonly tracing?: Tracing;
  /**
   * Provisioned concurrency on `version`, the published version the state machine invokes (not on
   * `$LATEST` or an alias, which the definition never names): that many execution environments
   * are initialized before any request. @default - none
   */
  readonly provisionedConcurrency?: number;
  /**
   * Run in these private subnets with this security group (`-c vpc=create` / `-c vpcId=…`, see
   * `TranscriptionNetwork`); the role then also gets the EC2 actions Lambda manages the function's
   * network interfaces with. @default - Lambda's own network, no VPC
   */
  readonly network?: FunctionNetwork;
}

/**
 * What Lambda needs on the execution role to create, describe and delete a VPC function's network
 * interfaces (the actions of AWSLambdaVPCAccessExecutionRole without its log actions on "*"; this
 * role already writes to its own log group only). Lambda refuses to create a VPC function whose
 * role lacks them; the function's dependency on its role (policy included) creates it after them and
 * deletes it before them.
 */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

const XRAY_WILDCARD_REASON =
  'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions, so AWS requires Resource "*".';
const VPC_WILDCARD_REASON =
  'VPC networking: Lambda manages the function\'s network interfaces with the execution role, and ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets work only on Resource "*" (the same actions as the AWS managed policy AWSLambdaVPCAccessExecutionRole, which grants them on "*" too, without its logs actions on "*").';

/**
 * A workflow step's Lambda with the service's defaults (see the props for each `@default`):
 * arm64, Node.js 24, X-Ray active tracing, JSON logs into `/aws/lambda/{name}` with retention,
 * and an ES module bundle built by local esbuild (no Docker): minified, with a source map that
 * Node does not load at start (see `ESM_BUNDLING`) and with the AWS SDK inside, so the deployed code runs
 * the SDK version the tests ran rather than whatever the runtime ships that month. Powertools is
 * set to service `transcription`, namespace `Transcription`. The function gets its own role with
 * no managed policy: log writes to its log group, X-Ray, the network interface actions when it
 * runs in a VPC (`network`), and what `allow` adds.
 */
export class TranscriptionFunction extends Construct {
  readonly step: string;
  readonly function: NodejsFunction;
  /**
   * The version published from this deploy's code and configuration. The state machine invokes
   * versions, never `$LATEST`: an execution keeps the definition it started with, so it keeps
   * running the code it started with, whatever deploys happen during its hours of polling. Old
   * versions are retained for the executions still using them. Published on first use only.
   */
  get version(): IVersion {
    return this.function.currentVersion;
  }
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: TranscriptionFunctionProps) {
    super(scope, id);
    const logLevel = props.logLevel ?? 'INFO';
    this.step = props.step;
    this.logGroup = new LogGroup(this, 'LogGroup', {
      // Where the Lambda console and every runbook look first.
      logGroupName: props.functionName ? `/aws/lambda/${props.functionName}` : undefined,
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.step} step of the transcription workflow`,
    });
    this.logGroup.grant(this.role, 'logs:CreateLogStream', 'logs:PutLogEvents');

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      depsLockFilePath: props.depsLockFilePath,
      functionName: props.functionName,
      description: `Transcription workflow: ${props.step}`,
      runtime: props.runtime ?? Runtime.NODEJS_24_X,
      architecture: props.architecture ?? Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: props.tracing ?? Tracing.ACTIVE,
      role: this.role,
      vpc: props.network?.vpc,
      vpcSubnets: props.network?.subnets,
      securityGroups: props.network && [props.network.securityGroup],
      currentVersionOptions: {
        description: `Transcription workflow: ${props.step}`,
        // A version still named by a running execution's definition must outlive the deploy that
        // replaced it; versions go with the function when the stack is deleted.
        removalPolicy: RemovalPolicy.RETAIN,
        // On this version, so on exactly what the definition invokes. A deploy that publishes a
        // new version gives it its own; the old one is retained as it is, concurrency included
        // (CloudFormation leaves a retained resource untouched) until ProvisionedConcurrencyRelease
        // removes it after the deploy: docs/deploy.md, "Provisioned concurrency".
        provisionedConcurrentExecutions: props.provisionedConcurrency,
      },
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      // Lambda's own filter never goes above INFO: Powertools writes its metrics (EMF) as log lines
      // without a level, which Lambda treats as INFO, so a WARN filter would drop every custom
      // metric and silence the alarms built on them. POWERTOOLS_LOG_LEVEL filters the logs instead:
      // Lambda also sets AWS_LAMBDA_LOG_LEVEL (INFO here), which Powertools Logger would prefer to
      // it, so `createStepTools` (lambdas/shared/observability.ts) builds the Logger at
      // POWERTOOLS_LOG_LEVEL explicitly.
      applicationLogLevelV2: logLevel === 'DEBUG' ? ApplicationLogLevel.DEBUG : ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.INFO,
      environment: {
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: logLevel,
        // Step results carry S3 keys and transcript ids only, but traces stay metadata-only anyway.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
        ...props.environment,
      },
      bundling: {
        ...ESM_BUNDLING,
        mainFields: [...ESM_BUNDLING.mainFields],
        externalModules: [...ESM_BUNDLING.externalModules],
      },
    });

    if (props.network) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...VPC_NETWORK_INTERFACE_ACTIONS], resources: ['*'] }),
      );
    }
    // One acknowledgement of the role's "*" with every reason it has: cdk-nag reports it once.
    const wildcardReasons = [
      ...((props.tracing ?? Tracing.ACTIVE) !== Tracing.DISABLED ? [XRAY_WILDCARD_REASON] : []),
      ...(props.network ? [VPC_WILDCARD_REASON] : []),
    ];
    if (wildcardReasons.length > 0) {
      acknowledge(this, 'AwsSolutions-IAM5[Resource::*]', wildcardReasons.join(' '));
    }
  }

  /**
   * Adds a statement to this function's role. A statement with a wildcard resource must say why
   * the wildcard is the narrowest option; the reason becomes its cdk-nag acknowledgement.
   */
  allow(statement: PolicyStatement, wildcardReason?: string): this {
    if (statement.effect !== Effect.ALLOW) throw new Error('allow() takes Allow statements only');
    if (hasWildcardResource(this, statement)) {
      if (!wildcardReason) throw new Error(`${this.node.path}: a wildcard resource needs a reason`);
      acknowledgeWildcardResources(this, statement, wildcardReason);
    }
    this.role.addToPrincipalPolicy(statement);
    return this;
  }
}
