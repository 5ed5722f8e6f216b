/**
 * Removes provisioned concurrency from the old versions a deploy leaves behind
 * (lambdas/release-provisioned-concurrency): each code deploy of a provisioned step publishes a new
 * version with its own, and the retained old one keeps its own, billed, until something removes it.
 * Runs when CloudFormation reports this stack UPDATE_COMPLETE, and once a day as a backstop for a
 * run that failed. Exists only when `provisionedConcurrency` is set.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  PROVISIONED_RELEASE_ENV,
  PROVISIONED_RELEASE_STEP,
} from '../../lambdas/release-provisioned-concurrency/release-settings.js';
import type { DeploymentConfig } from '../config.js';
import { namePrefix } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';

/** Why the grant names `function:name:*`: the old versions are not known at synth time. */
const OLD_VERSIONS_REASON =
  'The versions to release are the ones earlier deploys published, unknown at synth time; the grant is limited to the provisioned functions of this stack, by name';

export interface ProvisionedConcurrencyReleaseProps {
  config: DeploymentConfig;
  stateMachine: IStateMachine;
  /** The functions with provisioned concurrency on their versions. */
  functions: readonly TranscriptionFunction[];
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
  /** Between two backstop runs. @default Duration.days(1) */
  interval?: Duration;
}

export class ProvisionedConcurrencyRelease extends Construct {
  readonly function: TranscriptionFunction;
  /** Runs after every successful update of this stack. */
  readonly afterDeploy: Rule;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: ProvisionedConcurrencyReleaseProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.function = new TranscriptionFunction(this, 'ReleaseProvisionedConcurrency', {
      step: PROVISIONED_RELEASE_STEP,
      entry: handlerEntry(PROVISIONED_RELEASE_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(props.config.environment)}-${PROVISIONED_RELEASE_STEP}`,
      // A few list and delete calls.
      memorySize: 256,
      timeout: Duration.minutes(1),
      logLevel: props.config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: {
        [PROVISIONED_RELEASE_ENV.stackName]: stack.stackId,
        [PROVISIONED_RELEASE_ENV.stateMachineArn]: props.stateMachine.stateMachineArn,
        [PROVISIONED_RELEASE_ENV.functionNames]: props.functions
          .map((fn) => fn.function.functionName)
          .join(','),
      },
    });
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudformation:DescribeStacks'],
        resources: [stack.stackId],
      }),
    );
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeStateMachine'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['lambda:ListProvisionedConcurrencyConfigs', 'lambda:DeleteProvisionedConcurrencyConfig'],
        resources: props.functions.flatMap((fn) => [fn.function.functionArn, `${fn.function.functionArn}:*`]),
      }),
      OLD_VERSIONS_REASON,
    );
    // A failed run is retried by Lambda; each run recomputes everything, so a late one is harmless.
    this.function.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6) });

    const target = new LambdaFunction(this.function.function, {
      retryAttempts: 4,
      maxEventAge: Duration.hours(6),
    });
    this.afterDeploy = new Rule(this, 'AfterDeploy', {
      description: 'Releases the provisioned concurrency of old versions once this stack is updated',
      eventPattern: {
        source: ['aws.cloudformation'],
        detailType: ['CloudFormation Stack Status Change'],
        detail: { 'stack-id': [stack.stackId], 'status-details': { status: ['UPDATE_COMPLETE'] } },
      },
      targets: [target],
    });
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Releases the provisioned concurrency of old versions (backstop of the after-deploy run)',
      schedule: Schedule.rate(props.interval ?? Duration.days(1)),
      targets: [target],
    });
  }
}
