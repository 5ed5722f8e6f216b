/**
 * The live canary (`-c canary=rate(15 minutes)`, issue 11 part 7): an EventBridge schedule invokes
 * the run-canary Lambda, which puts the bundled sample (a CDK asset, so it ships with the stack)
 * where a bot's upload goes and starts the deployed workflow on it against the real AssemblyAI.
 * The finalizer counts each canary ending as `CanaryCompleted` and keeps it off the bot's
 * completion queue; TranscriptionMonitoring alarms when two intervals pass without a completed run.
 * The Lambda may write the canary's own audio keys and start the state machine, nothing else.
 */
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CANARY_ENV, CANARY_STEP } from '../../lambdas/run-canary/canary-settings.js';
import { CANARY_EXECUTION_PREFIX, CANARY_USER_ID } from '../../lambdas/shared/canary.js';
import { userInputPrefix } from '../../lambdas/shared/contracts.js';
import type { CanaryConfig, DeploymentConfig } from '../config.js';
import { namePrefix } from '../naming.js';
import { CANARY_SAMPLE_AUDIO, handlerEntry, LOCK_FILE } from '../paths.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import { OBJECT_PREFIX_WILDCARD_REASON, type TranscriptionStorage } from './transcription-storage.js';

export interface LiveCanaryProps {
  config: DeploymentConfig;
  storage: TranscriptionStorage;
  stateMachine: IStateMachine;
  /** `loadCanaryConfig`'s: the EventBridge `rate(…)` expression and its interval. */
  canary: CanaryConfig & { enabled: true };
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The stack's VPC (`vpc` / `vpcId`). @default - no VPC */
  network?: FunctionNetwork;
}

export class LiveCanary extends Construct {
  readonly function: TranscriptionFunction;
  readonly rule: Rule;
  readonly interval: Duration;
  readonly sample: Asset;

  constructor(scope: Construct, id: string, props: LiveCanaryProps) {
    super(scope, id);
    const { config, storage, stateMachine } = props;
    this.interval = Duration.seconds(props.canary.intervalSeconds);
    this.sample = new Asset(this, 'Sample', { path: CANARY_SAMPLE_AUDIO });

    this.function = new TranscriptionFunction(this, 'RunCanary', {
      step: CANARY_STEP,
      entry: handlerEntry(CANARY_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(config.environment)}-${CANARY_STEP}`,
      // One copy and one StartExecution.
      memorySize: 256,
      timeout: Duration.seconds(30),
      logLevel: config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: {
        [CANARY_ENV.stateMachineArn]: stateMachine.stateMachineArn,
        [CANARY_ENV.bucket]: storage.bucket.bucketName,
        [CANARY_ENV.inputPrefix]: storage.inputPrefix,
        [CANARY_ENV.sampleBucket]: this.sample.s3BucketName,
        [CANARY_ENV.sampleKey]: this.sample.s3ObjectKey,
      },
    });
    // The one sample object, not the asset bucket (Asset.grantRead would give s3:GetObject* and
    // s3:List* on it). The default bootstrap encrypts assets with SSE-S3 or the AWS managed key,
    // whose key policy already admits any principal of the account reading through S3.
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject'],
        resources: [
          Stack.of(this).formatArn({
            service: 's3',
            region: '',
            account: '',
            resource: this.sample.s3BucketName,
            resourceName: this.sample.s3ObjectKey,
          }),
        ],
      }),
    );
    const canaryAudio = `${userInputPrefix(storage.inputPrefix, CANARY_USER_ID)}${CANARY_EXECUTION_PREFIX}`;
    for (const statement of storage.statementsFor([{ prefix: canaryAudio, actions: ['write'] }])) {
      this.function.allow(statement, OBJECT_PREFIX_WILDCARD_REASON);
    }
    stateMachine.grantStartExecution(this.function.role);

    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the bundled sample through the deployed workflow (live canary)',
      schedule: Schedule.expression(props.canary.schedule),
    });
    // A run delivered later than its interval is the next run's business (Lambda keeps an
    // asynchronous event for 6 hours at most).
    const maxEventAge = Duration.seconds(Math.min(this.interval.toSeconds(), Duration.hours(6).toSeconds()));
    this.rule.addTarget(new LambdaFunction(this.function.function, { retryAttempts: 2, maxEventAge }));
    this.function.function.configureAsyncInvoke({ retryAttempts: 2, maxEventAge });
  }
}
