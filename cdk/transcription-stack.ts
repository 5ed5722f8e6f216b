/**
 * The transcription service for one environment. It only composes the constructs and publishes
 * what the bot and ops need as outputs; every decision lives in a construct or in `config.ts`.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type StepName, serviceNameOf } from '../lambdas/shared/telemetry-names.js';
import {
  ASSEMBLYAI_BASE_URLS,
  type DeploymentConfig,
  loadCanaryConfig,
  loadIntakeQueueConfig,
  loadProvisionedConcurrencyConfig,
  loadRestApiConfig,
  loadTranscriptSweepConfig,
  loadVpcConfig,
} from './config.js';
import { AssemblyAiApiKey } from './constructs/assemblyai-api-key.js';
import { BotAccessPolicy } from './constructs/bot-access-policy.js';
import { ExecutionFinalizer } from './constructs/execution-finalizer.js';
import { IntakeQueue } from './constructs/intake-queue.js';
import { LiveCanary } from './constructs/live-canary.js';
import { ProvisionedConcurrencyRelease } from './constructs/provisioned-concurrency-release.js';
import { TranscriptionRestApi } from './constructs/rest-api.js';
import { TranscriptSweeper } from './constructs/transcript-sweeper.js';
import { TranscriptionMonitoring } from './constructs/transcription-monitoring.js';
import { interfaceEndpointsFor, TranscriptionNetwork } from './constructs/transcription-network.js';
import { TranscriptionSteps, WORKFLOW_STEPS } from './constructs/transcription-steps.js';
import { TranscriptionStorage } from './constructs/transcription-storage.js';
import { TranscriptionWorkflow } from './constructs/transcription-workflow.js';
import { WebhookReceiver } from './constructs/webhook-receiver.js';
import { namePrefix } from './naming.js';
import { STATE_MACHINE_DEFINITION } from './paths.js';

export interface TranscriptionStackProps extends StackProps {
  config: DeploymentConfig;
}

export class TranscriptionStack extends Stack {
  readonly storage: TranscriptionStorage;
  readonly apiKey: AssemblyAiApiKey;
  readonly steps: TranscriptionSteps;
  readonly workflow: TranscriptionWorkflow;
  readonly finalizer: ExecutionFinalizer;
  /** Absent when `transcriptSweeper` is off. */
  readonly sweeper?: TranscriptSweeper;
  /** Present with `transcriptDelivery=webhook` only. */
  readonly webhook?: WebhookReceiver;
  /** Present with `intakeQueue=true` only. */
  readonly intake?: IntakeQueue;
  /** Present with `restApi=true` only. */
  readonly restApi?: TranscriptionRestApi;
  /** Present with `provisionedConcurrency` only. */
  readonly provisionedRelease?: ProvisionedConcurrencyRelease;
  /** Present with `canary` only. */
  readonly canary?: LiveCanary;
  /** Present with `vpc=create` or `vpcId` only: every function of the stack then runs in it. */
  readonly network?: TranscriptionNetwork;
  readonly monitoring: TranscriptionMonitoring;
  readonly botAccess: BotAccessPolicy;

  constructor(scope: Construct, id: string, props: TranscriptionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const prefix = namePrefix(config.environment);
    // Production keeps data, keys and logs when the stack goes; other environments clean up. Not
    // RETAIN: that also keeps what a failed first deploy created while rolling back, and the retry
    // then fails with "already exists" on the named bucket, secret and log groups.
    const removalPolicy = config.production
      ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
      : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as RetentionDays;
    const intake = loadIntakeQueueConfig(this.node);
    const provisioned = Object.keys(loadProvisionedConcurrencyConfig(this.node).byStep) as StepName[];

    const vpc = loadVpcConfig(this.node);
    if (vpc.mode !== 'none') {
      this.network = new TranscriptionNetwork(this, 'Network', {
        config: vpc,
        namePrefix: prefix,
        providerHost: new URL(ASSEMBLYAI_BASE_URLS[config.assemblyaiRegion]).hostname,
        interfaceEndpoints: interfaceEndpointsFor({
          completionQueue: config.completionQueue,
          intakeQueue: intake.enabled,
          provisionedConcurrency: provisioned.length > 0,
        }),
        logRetention,
        logRemovalPolicy: removalPolicy,
      });
    }
    const network = this.network;

    this.storage = new TranscriptionStorage(this, 'Storage', {
      bucketName: config.bucketName,
      existingBucketName: config.existingBucketName,
      kms: config.kms,
      existingKmsKeyArn: config.existingKmsKeyArn,
      accessLogs: config.accessLogs,
      inputPrefix: config.inputPrefix,
      resultsPrefix: config.resultsPrefix,
      workPrefix: config.workPrefix,
      audioRetentionDays: config.audioRetentionDays,
      resultRetentionDays: config.resultRetentionDays,
      workRetentionDays: config.workRetentionDays,
      accessLogRetentionDays: config.accessLogRetentionDays,
      removalPolicy,
    });

    this.apiKey = new AssemblyAiApiKey(this, 'AssemblyAiApiKey', {
      secretName: config.secretName,
      existingSecretName: config.existingSecretName,
      encryptionKey: this.storage.key,
      removalPolicy,
    });

    this.steps = new TranscriptionSteps(this, 'Steps', {
      config,
      storage: this.storage,
      apiKey: this.apiKey,
      logRetention,
      logRemovalPolicy: removalPolicy,
      network,
    });

    // Before the workflow: Submit's environment holds the receiver's URL, and the receiver's policy
    // names the state machine by this name, not by a reference (which would be a cycle).
    const stateMachineName = prefix;
    if (config.transcriptDelivery === 'webhook') {
      this.webhook = new WebhookReceiver(this, 'WebhookReceiver', {
        config,
        storage: this.storage,
        apiKey: this.apiKey,
        stateMachineName,
        submit: this.steps.functions['submit-transcription'],
        encryptionKey: this.storage.key,
        removalPolicy,
        logRetention,
        logRemovalPolicy: removalPolicy,
        network,
      });
    }

    this.workflow = new TranscriptionWorkflow(this, 'Workflow', {
      definitionPath: STATE_MACHINE_DEFINITION,
      functionsByPlaceholder: Object.fromEntries(
        WORKFLOW_STEPS.map((spec) => [spec.placeholder, this.steps.functions[spec.step].version]),
      ),
      executionTimeout: Duration.seconds(config.executionTimeoutSeconds),
      stateMachineName,
      logGroupName: `/aws/vendedlogs/states/${prefix}`,
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    if (provisioned.length > 0) {
      this.provisionedRelease = new ProvisionedConcurrencyRelease(this, 'ProvisionedConcurrencyRelease', {
        config,
        stateMachine: this.workflow.stateMachine,
        functions: provisioned.map((step) => this.steps.functions[step]),
        logRetention,
        logRemovalPolicy: removalPolicy,
        network,
      });
    }

    this.finalizer = new ExecutionFinalizer(this, 'Finalizer', {
      config,
      stateMachine: this.workflow.stateMachine,
      storage: this.storage,
      apiKey: this.apiKey,
      logRetention,
      logRemovalPolicy: removalPolicy,
      network,
      completionQueue: config.completionQueue,
      completionQueueKey: this.storage.key,
    });

    const sweep = loadTranscriptSweepConfig(this.node, config);
    if (sweep.enabled) {
      this.sweeper = new TranscriptSweeper(this, 'TranscriptSweeper', {
        config,
        storage: this.storage,
        apiKey: this.apiKey,
        logRetention,
        logRemovalPolicy: removalPolicy,
        network,
        executionTimeout: Duration.seconds(config.executionTimeoutSeconds),
        minAge: Duration.seconds(sweep.minAgeSeconds),
        interval: Duration.minutes(sweep.intervalMinutes),
      });
    }

    if (intake.enabled) {
      this.intake = new IntakeQueue(this, 'Intake', {
        config,
        intake,
        stateMachine: this.workflow.stateMachine,
        storage: this.storage,
        encryptionKey: this.storage.key,
        logRetention,
        logRemovalPolicy: removalPolicy,
        network,
      });
    }

    const restApi = loadRestApiConfig(this.node);
    if (restApi.enabled) {
      this.restApi = new TranscriptionRestApi(this, 'RestApi', {
        restApi,
        stateMachine: this.workflow.stateMachine,
        storage: this.storage,
        name: prefix,
        logRetention,
        logRemovalPolicy: removalPolicy,
      });
    }

    const canary = loadCanaryConfig(this.node);
    if (canary.enabled) {
      this.canary = new LiveCanary(this, 'Canary', {
        config,
        canary,
        storage: this.storage,
        stateMachine: this.workflow.stateMachine,
        logRetention,
        logRemovalPolicy: removalPolicy,
        network,
      });
    }

    this.monitoring = new TranscriptionMonitoring(this, 'Monitoring', {
      stateMachine: this.workflow.stateMachine,
      functions: [
        ...WORKFLOW_STEPS.map((spec) => this.steps.functions[spec.step]),
        this.finalizer.function,
        ...(this.webhook ? [this.webhook.function] : []),
        ...(this.intake ? [this.intake.function] : []),
        ...(this.provisionedRelease ? [this.provisionedRelease.function] : []),
        ...(this.canary ? [this.canary.function] : []),
      ],
      finalizeDeadLetterQueue: this.finalizer.deadLetterQueue,
      completionQueue: this.finalizer.completionQueue &&
        this.finalizer.completionDeadLetterQueue && {
          queue: this.finalizer.completionQueue,
          deadLetterQueue: this.finalizer.completionDeadLetterQueue,
        },
      intakeQueue: this.intake && { queue: this.intake.queue, deadLetterQueue: this.intake.deadLetterQueue },
      restApi: this.restApi?.api,
      transcriptSweeper: this.sweeper && { function: this.sweeper.function, interval: this.sweeper.interval },
      canary: this.canary && { function: this.canary.function, interval: this.canary.interval },
      providerSteps: ['submit-transcription', 'check-transcript'],
      namePrefix: prefix,
      serviceName: serviceNameOf(config.environment),
      alarmEmail: config.alarmEmail,
      // Only a key this stack owns can be opened to CloudWatch in its key policy.
      topicKey: this.storage.key instanceof Key ? this.storage.key : undefined,
    });

    this.botAccess = new BotAccessPolicy(this, 'BotAccess', {
      storage: this.storage,
      stateMachine: this.workflow.stateMachine,
      completionQueue: this.finalizer.completionQueue,
      completionQueueKey: this.finalizer.completionQueueKey,
      intakeQueue: this.intake?.queue,
      intakeQueueKey: this.intake?.encryptionKey,
      restApiInvokeArns: this.restApi && [this.restApi.invokeArns.start, this.restApi.invokeArns.result],
    });

    const bucketName = this.storage.bucket.bucketName;
    const stateMachineArn = this.workflow.stateMachine.stateMachineArn;
    new CfnOutput(this, 'StateMachineArn', {
      value: stateMachineArn,
      description: 'The transcription state machine',
    });
    new CfnOutput(this, 'BucketName', { value: bucketName, description: 'Audio in, results out' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.topic.topicArn,
      description: 'Subscribe on-call here (e-mail, chat, pager)',
    });
    new CfnOutput(this, 'ApiKeySecretId', {
      value: this.apiKey.secretId,
      description: 'Put the AssemblyAI API key here with aws secretsmanager put-secret-value',
    });
    new CfnOutput(this, 'BotAccessPolicyArn', {
      value: this.botAccess.policy.managedPolicyArn,
      description: "Attach to the bot's IAM role or user",
    });
    if (this.finalizer.completionQueue) {
      new CfnOutput(this, 'CompletionQueueUrl', {
        value: this.finalizer.completionQueue.queueUrl,
        description: 'One message per finished execution: the bot receives and deletes them here',
      });
      new CfnOutput(this, 'CompletionQueueArn', { value: this.finalizer.completionQueue.queueArn });
    }
    if (this.intake) {
      new CfnOutput(this, 'IntakeQueueUrl', {
        value: this.intake.queue.queueUrl,
        description:
          'Send execution inputs here instead of calling StartExecution (message attribute "attempt" for a retry); each starts under its deterministic name',
      });
      new CfnOutput(this, 'IntakeQueueArn', { value: this.intake.queue.queueArn });
    }
    if (this.restApi) {
      new CfnOutput(this, 'RestApiUrl', {
        value: this.restApi.api.url,
        description:
          'POST transcriptions and GET transcriptions/{user_id}/{file_id} here, signed with SigV4 (service execute-api)',
      });
    }
    if (this.webhook) {
      new CfnOutput(this, 'WebhookUrl', {
        value: this.webhook.url.url,
        description:
          'Where AssemblyAI delivers webhooks (Submit passes it with each job); do not share it: the secret header is its only lock',
      });
    }
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    new CfnOutput(this, 'BotUseTranscriptionMicroservice', { value: 'USE_TRANSCRIPTION_MICROSERVICE=true' });
    new CfnOutput(this, 'BotTranscriptionS3Bucket', { value: `TRANSCRIPTION_S3_BUCKET=${bucketName}` });
    new CfnOutput(this, 'BotTranscriptionStateMachineArn', {
      value: `TRANSCRIPTION_STATE_MACHINE_ARN=${stateMachineArn}`,
    });
    new CfnOutput(this, 'BotAwsRegion', { value: `AWS_REGION=${this.region}` });
    new CfnOutput(this, 'BotEnvironment', {
      value: [
        'USE_TRANSCRIPTION_MICROSERVICE=true',
        `TRANSCRIPTION_S3_BUCKET=${bucketName}`,
        `TRANSCRIPTION_STATE_MACHINE_ARN=${stateMachineArn}`,
        `AWS_REGION=${this.region}`,
        ...(this.finalizer.completionQueue
          ? [`TRANSCRIPTION_COMPLETION_QUEUE_URL=${this.finalizer.completionQueue.queueUrl}`]
          : []),
        ...(this.intake ? [`TRANSCRIPTION_INTAKE_QUEUE_URL=${this.intake.queue.queueUrl}`] : []),
        ...(this.restApi ? [`TRANSCRIPTION_REST_API_URL=${this.restApi.api.url}`] : []),
      ].join(' '),
      description:
        "The bot's environment in one line: prefix with `export ` in a shell, or split on spaces for a .env file",
    });
  }
}
