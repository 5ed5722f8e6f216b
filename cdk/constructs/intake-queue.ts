/**
 * The intake queue (`-c intakeQueue=true`): the bot may send the execution input as an SQS message
 * instead of calling StartExecution, and the start-execution Lambda, behind an SQS event source
 * mapping, starts each message's execution under its deterministic name — so a message delivered
 * twice starts one execution, and a burst beyond the start rate waits in the queue instead of
 * failing the bot's calls.
 *
 * Not an EventBridge Pipe: a Pipe's Step Functions target takes only an InvocationType
 * (PipeTargetStateMachineParameters) and starts every execution under a generated name, which
 * would transcribe a redelivered message twice. The Lambda is the smallest piece that can name
 * the execution; it also validates the body with the workflow's own input check.
 *
 * The rate bound is the mapping's maximum concurrency: the Lambda starts the messages of a batch
 * one after the other, so at most `maxConcurrency` StartExecution calls are ever in flight.
 * Batches of up to 10 and no batching window: a message starts as soon as a poller sees it.
 * Both queues are encrypted (the stack's key with `kms=true`, SQS-managed keys otherwise) and
 * TLS-only; the monitoring construct alarms on the dead letter queue and on a backlog.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { START_EXECUTION_STEP } from '../../lambdas/shared/telemetry-names.js';
import type { DeploymentConfig, IntakeQueueConfig } from '../config.js';
import { keyUseThrough } from '../key-use.js';
import { executionsArn, namePrefix } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import { workflowEnvironment } from './transcription-steps.js';
import type { TranscriptionStorage } from './transcription-storage.js';

/** Messages per invocation: SQS's largest batch without a batching window. */
export const INTAKE_BATCH_SIZE = 10;

/**
 * The consumer's timeout: ten starts one after the other, each with the SDK's retries; it stops
 * taking new messages 5 s before it (MIN_TIME_PER_MESSAGE_MS) and hands them back.
 */
export const INTAKE_FUNCTION_TIMEOUT = Duration.seconds(30);

export interface IntakeQueueProps {
  config: DeploymentConfig;
  intake: IntakeQueueConfig;
  stateMachine: StateMachine;
  storage: TranscriptionStorage;
  /**
   * Encrypt both queues with this key (the stack's key when `kms=true`).
   * @default - SQS managed encryption (SSE-SQS)
   */
  encryptionKey?: IKey;
  /**
   * Receives of one message before SQS moves it to the dead letter queue: five failed starts
   * (throttling, 5xx) a visibility timeout apart, about 15 minutes. A refused message does not
   * wait for them: the Lambda moves it at once. @default 5
   */
  maxReceiveCount?: number;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
}

export class IntakeQueue extends Construct {
  readonly queue: Queue;
  /** Refused messages (moved by the Lambda at once) and messages whose start failed `maxReceiveCount` times. */
  readonly deadLetterQueue: Queue;
  readonly function: TranscriptionFunction;
  readonly eventSourceMapping: EventSourceMapping;
  /** The queues' key, when they use SSE-KMS: senders need GenerateDataKey and Decrypt on it. */
  readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: IntakeQueueProps) {
    super(scope, id);
    const { config, storage, stateMachine } = props;
    const key = props.encryptionKey;
    this.encryptionKey = key;
    const encryption = key
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key }
      : { encryption: QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      // Longer than the queue's own retention: SQS keeps a message's first enqueue time when it
      // moves it here, so an equal retention would expire it on arrival.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...encryption,
      enforceSSL: true,
      // AWS's rule for a Lambda consumer: six times the function timeout, so a batch retried
      // after the function was throttled is not delivered again while it still runs.
      visibilityTimeout: Duration.seconds(INTAKE_FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.function = new TranscriptionFunction(this, 'StartExecution', {
      step: START_EXECUTION_STEP,
      entry: handlerEntry(START_EXECUTION_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(config.environment)}-${START_EXECUTION_STEP}`,
      // No S3 or provider calls: a JSON check and up to ten StartExecution calls per batch.
      memorySize: 256,
      timeout: INTAKE_FUNCTION_TIMEOUT,
      logLevel: config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: {
        // The bucket and prefixes the input check needs, exactly as Validate gets them.
        ...workflowEnvironment(config, storage),
        STATE_MACHINE_ARN: stateMachine.stateMachineArn,
        INTAKE_DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
      },
    });
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:StartExecution'],
        resources: [stateMachine.stateMachineArn],
      }),
    );
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeExecution'],
        resources: [executionsArn(this, stateMachine)],
      }),
      'DescribeExecution (only after ExecutionAlreadyExists, to tell a repeated message from a name taken by another input) on this state machine\'s executions only: execution ARNs are the state machine\'s plus a name chosen per file, so "{stateMachine}:*" is the narrowest resource.',
    );
    // Refused messages are moved to the dead letter queue by the Lambda itself.
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sqs:SendMessage'],
        resources: [this.deadLetterQueue.queueArn],
      }),
    );
    // What the event source mapping polls with (the actions of AWSLambdaSQSQueueExecutionRole).
    // Granted here rather than by CDK's SqsEventSource, whose grant would add kms:Decrypt on the
    // stack's key with no condition; through SQS is all the poller needs.
    this.function.allow(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [this.queue.queueArn],
      }),
    );
    if (key) {
      // Receiving needs Decrypt; sending the refused messages also a data key.
      this.function.allow(keyUseThrough(this, key, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']));
    }

    // The function depends on its role's policy, and the mapping on the function: CloudFormation
    // creates the mapping only once the role may poll.
    this.eventSourceMapping = this.function.function.addEventSourceMapping('IntakeQueue', {
      eventSourceArn: this.queue.queueArn,
      batchSize: INTAKE_BATCH_SIZE,
      maxConcurrency: props.intake.maxConcurrency,
      reportBatchItemFailures: true,
    });
  }
}
