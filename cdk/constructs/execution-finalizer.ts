/**
 * Finalizes and tells every ending: an EventBridge rule on this state machine's "Execution Status
 * Change" events (SUCCEEDED, TIMED_OUT, ABORTED, FAILED) invokes the finalize-execution Lambda,
 * which writes the missing failure result of an ending no Catch saw, cleans up, sends one
 * completion message per execution to the completion queue (when `completionQueue` is on) and
 * emits the outcome metrics. EventBridge retries delivery, the Lambda's asynchronous invocation
 * retries failures, and whatever still fails lands in one dead letter queue that the monitoring
 * alarms on: a message there is a user who may never have heard back.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  ENDED_STATUSES,
  EXECUTION_STATUS_CHANGE,
} from '../../lambdas/finalize-execution/execution-events.js';
import { FINALIZE_STEP_NAME } from '../../lambdas/shared/telemetry-names.js';
import type { DeploymentConfig } from '../config.js';
import { keyUseThrough } from '../key-use.js';
import { acknowledge } from '../nag.js';
import { executionsArn, namePrefix } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import type { AssemblyAiApiKey } from './assemblyai-api-key.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import { workflowEnvironment } from './transcription-steps.js';
import { OBJECT_PREFIX_WILDCARD_REASON, type TranscriptionStorage } from './transcription-storage.js';

export const FINALIZE_STEP = FINALIZE_STEP_NAME;

export interface ExecutionFinalizerProps {
  config: DeploymentConfig;
  stateMachine: StateMachine;
  storage: TranscriptionStorage;
  apiKey: AssemblyAiApiKey;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
  /**
   * Create the completion queue and send one message per finished execution to it.
   * @default true (`completionQueue` in the deployment config)
   */
  completionQueue?: boolean;
  /**
   * Encrypt the completion queues with this key (the stack's key when `kms=true`).
   * @default - SQS managed encryption (SSE-SQS)
   */
  completionQueueKey?: IKey;
  /**
   * Receives of one completion message by consumers before SQS moves it to the completion dead
   * letter queue (a consumer that crashes on it each time). @default 5
   */
  completionMaxReceiveCount?: number;
  /** Delivery attempts EventBridge makes while the Lambda cannot be invoked (throttling, an outage). @default 20 */
  deliveryRetryAttempts?: number;
}

export class ExecutionFinalizer extends Construct {
  readonly function: TranscriptionFunction;
  readonly rule: Rule;
  /** Events EventBridge could not deliver, and invocations that failed after Lambda's own retries. */
  readonly deadLetterQueue: Queue;
  /** One message per finished execution, for the bot; absent when `completionQueue` is off. */
  readonly completionQueue?: Queue;
  /** Completion messages consumers received `completionMaxReceiveCount` times without deleting them. */
  readonly completionDeadLetterQueue?: Queue;
  /** The key of the completion queues, when they use SSE-KMS. */
  readonly completionQueueKey?: IKey;

  constructor(scope: Construct, id: string, props: ExecutionFinalizerProps) {
    super(scope, id);
    const { config, storage, apiKey, stateMachine } = props;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // As long as SQS keeps anything: time to find the cause and re-drive by hand.
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead letter queue of the finalize rule target and of the finalize Lambda; a message in it raises the FinalizeDeadLetters alarm and is handled by hand.',
    );

    this.function = new TranscriptionFunction(this, 'FinalizeExecution', {
      step: FINALIZE_STEP,
      entry: handlerEntry(FINALIZE_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(config.environment)}-${FINALIZE_STEP}`,
      // A few S3 calls and one AssemblyAI delete (ASSEMBLYAI_TIMEOUT_MS, 10 s by default).
      memorySize: 256,
      timeout: Duration.seconds(60),
      logLevel: config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: { ...workflowEnvironment(config, storage), ASSEMBLYAI_API_KEY_SECRET_ID: apiKey.secretId },
    });
    const access = [
      // Reads the result first: never over a completed result, nor over this execution's own.
      { prefix: storage.resultsPrefix, actions: ['read', 'write'] as const },
      // Reads the submission record (the AssemblyAI job id), then deletes the execution's objects.
      { prefix: storage.workPrefix, actions: ['read', 'delete'] as const },
    ].map((a) => ({ prefix: a.prefix, actions: [...a.actions] }));
    for (const statement of storage.statementsFor(access, { listBucket: true })) {
      this.function.allow(statement, OBJECT_PREFIX_WILDCARD_REASON);
    }
    for (const statement of apiKey.readStatements()) this.function.allow(statement);
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeExecution'],
        resources: [executionsArn(this, stateMachine)],
      }),
      'DescribeExecution (for an event too large to carry the input) on this state machine\'s executions only: execution ARNs are the state machine\'s plus a name chosen per file, so "{stateMachine}:*" is the narrowest resource.',
    );

    if (props.completionQueue ?? config.completionQueue) {
      const key = props.completionQueueKey;
      const encryption = key
        ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key }
        : { encryption: QueueEncryption.SQS_MANAGED };
      this.completionQueueKey = key;
      this.completionDeadLetterQueue = new Queue(this, 'CompletionDeadLetterQueue', {
        ...encryption,
        enforceSSL: true,
        // Longer than the queue's own retention: SQS keeps a message's first enqueue time when it
        // moves it here, so an equal retention would expire it on arrival.
        retentionPeriod: Duration.days(14),
      });
      this.completionQueue = new Queue(this, 'CompletionQueue', {
        ...encryption,
        enforceSSL: true,
        // Four days for the bot to be back after an outage (the AgeOfOldestMessage alarm fires
        // after minutes); the result objects themselves stay for resultRetentionDays.
        retentionPeriod: Duration.days(4),
        deadLetterQueue: {
          queue: this.completionDeadLetterQueue,
          maxReceiveCount: props.completionMaxReceiveCount ?? 5,
        },
      });
      this.function.function.addEnvironment('COMPLETION_QUEUE_URL', this.completionQueue.queueUrl);
      this.function.allow(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['sqs:SendMessage'],
          resources: [this.completionQueue.queueArn],
        }),
      );
      if (key) {
        // SSE-KMS: a producer needs a data key and Decrypt (SQS checks it when it reuses one).
        this.function.allow(keyUseThrough(this, key, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']));
      }
    }

    // Lambda retries a failed asynchronous invocation twice; then the event goes to the queue.
    this.function.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    this.rule = new Rule(this, 'ExecutionEnded', {
      description: `Finalizes and tells ${ENDED_STATUSES.join(', ')} executions of the transcription state machine (result, AssemblyAI job, work objects, completion message, outcome metrics)`,
      eventPattern: {
        source: ['aws.states'],
        detailType: [EXECUTION_STATUS_CHANGE],
        detail: { stateMachineArn: [stateMachine.stateMachineArn], status: [...ENDED_STATUSES] },
      },
    });
    this.rule.addTarget(
      new LambdaFunction(this.function.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: props.deliveryRetryAttempts ?? 20,
        maxEventAge: Duration.hours(24),
      }),
    );
  }
}
