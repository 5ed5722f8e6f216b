/**
 * Webhook mode (`transcriptDelivery=webhook`): AssemblyAI POSTs `{transcript_id, status}` to a
 * Lambda Function URL when a job ends, and the receive-webhook Lambda answers the task token that
 * Submit left for that transcript (`{workPrefix}webhooks/{transcript_id}.json`), so an execution
 * waits for its job without a poll loop.
 *
 * A Function URL rather than API Gateway: no extra service and no per-request price, no 29 s
 * integration limit, and the 10 s in which AssemblyAI wants its 2xx is the Lambda's own time. Its
 * auth type is NONE because AssemblyAI cannot sign SigV4 requests: the authentication is a random
 * secret (a Secrets Manager secret this construct generates) that Submit hands AssemblyAI as the
 * job's custom webhook header, and that the receiver compares in constant time before it reads
 * anything. AssemblyAI signs nothing, so the receiver also re-reads the job from AssemblyAI rather
 * than trusting the payload. Reserved concurrency (`webhookReservedConcurrency`) can bound what a
 * flood of requests at the public URL takes from the account.
 *
 * The receiver answers tasks of this stack's state machine, whose ARN is built here from its known
 * name: Submit's environment holds the URL and the state machine invokes Submit's version, so a
 * reference to the state machine construct from these policies would be a dependency cycle.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type CfnFunction, type FunctionUrl, FunctionUrlAuthType, InvokeMode } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config.js';
import { secretReadStatements } from '../key-use.js';
import { acknowledge } from '../nag.js';
import { namePrefix } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import type { AssemblyAiApiKey } from './assemblyai-api-key.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import { workflowEnvironment } from './transcription-steps.js';
import { OBJECT_PREFIX_WILDCARD_REASON, type TranscriptionStorage } from './transcription-storage.js';

/** The receiver's step name (the Powertools `step` dimension, `lambdas/receive-webhook/`). */
export const WEBHOOK_STEP = 'receive-webhook';

/**
 * The receiver's memory: one S3 read, one AssemblyAI GET (the transcript, tens of MB for hours of
 * audio), one S3 write and one SendTask call, within AssemblyAI's 10 s.
 */
export const WEBHOOK_RECEIVER_MEMORY_MB = 512;

/** `wisevoice/transcription/{environment}/webhook-secret`, beside the API key's secret. */
export function webhookSecretName(environment: string): string {
  return `wisevoice/transcription/${environment}/webhook-secret`;
}

export interface WebhookReceiverProps {
  config: DeploymentConfig;
  storage: TranscriptionStorage;
  apiKey: AssemblyAiApiKey;
  /** The name of this stack's state machine, whose tasks the receiver and Submit answer. */
  stateMachineName: string;
  /** Submit: it gets the URL, the secret and SendTaskSuccess (it answers its own task when there is no job to wait for). */
  submit: TranscriptionFunction;
  /** Encrypt the secret with this key (and let its readers decrypt with it). @default - the account's `aws/secretsmanager` key */
  encryptionKey?: IKey;
  /** What happens to the secret when the stack is deleted. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  removalPolicy?: RemovalPolicy;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
}

export class WebhookReceiver extends Construct {
  /** The random value AssemblyAI sends back in the webhook's custom header. */
  readonly secret: Secret;
  readonly function: TranscriptionFunction;
  readonly url: FunctionUrl;
  /** `arn:…:states:…:stateMachine:{name}`, built from the name (see the module comment). */
  readonly stateMachineArn: string;
  private readonly encryptionKey?: IKey;

  constructor(scope: Construct, id: string, props: WebhookReceiverProps) {
    super(scope, id);
    const { config, storage, apiKey, submit } = props;
    this.encryptionKey = props.encryptionKey;
    this.stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: props.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.secret = new Secret(this, 'Secret', {
      secretName: webhookSecretName(config.environment),
      description:
        "Shared secret AssemblyAI sends back in the custom header of its webhook requests to the transcription workflow's Function URL (a plain string, generated at create).",
      // A plain string (no template), letters and digits only: it travels as an HTTP header value.
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'Every AssemblyAI job carries the secret it was submitted with, and its webhook arrives with that value hours later: an automatic rotation would make the receiver refuse the in-flight jobs submitted before it. Rotate by hand between deploys, when no execution is running (put-secret-value with a new random value).',
    );

    this.function = new TranscriptionFunction(this, 'ReceiveWebhook', {
      step: WEBHOOK_STEP,
      entry: handlerEntry(WEBHOOK_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(config.environment)}-${WEBHOOK_STEP}`,
      // The timeout only bounds a stuck call: AssemblyAI gives up on an answer after 10 s.
      memorySize: WEBHOOK_RECEIVER_MEMORY_MB,
      timeout: Duration.seconds(30),
      logLevel: config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: {
        ...workflowEnvironment(config, storage),
        ASSEMBLYAI_API_KEY_SECRET_ID: apiKey.secretId,
        WEBHOOK_SECRET_ID: this.secret.secretArn,
      },
    });
    // A flood at the public URL is then throttled (HTTP 429, the throttle alarm): AssemblyAI retries
    // a throttled genuine delivery, and a lost one only means the execution falls back to polling.
    if (config.webhookReservedConcurrency > 0) {
      (this.function.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions =
        config.webhookReservedConcurrency;
    }
    this.url = this.function.function.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.BUFFERED,
    });

    // Reads the task token Submit recorded ({workPrefix}webhooks/{transcript_id}.json, which may be
    // missing: ListBucket makes that a 404) and writes the execution's transcript under the prefix.
    const access = [{ prefix: storage.workPrefix, actions: ['read' as const, 'write' as const] }];
    for (const statement of storage.statementsFor(access, { listBucket: true })) {
      this.function.allow(statement, OBJECT_PREFIX_WILDCARD_REASON);
    }
    for (const statement of apiKey.readStatements()) this.function.allow(statement);
    for (const statement of this.readStatements()) this.function.allow(statement);
    this.function.allow(this.taskResponseStatement(['states:SendTaskSuccess', 'states:SendTaskFailure']));

    submit.function.addEnvironment('WEBHOOK_URL', this.url.url);
    submit.function.addEnvironment('WEBHOOK_SECRET_ID', this.secret.secretArn);
    for (const statement of this.readStatements()) submit.allow(statement);
    submit.allow(this.taskResponseStatement(['states:SendTaskSuccess']));
  }

  /** `secretsmanager:GetSecretValue` on the webhook secret, plus decrypt through Secrets Manager when it uses our key. */
  readStatements(): PolicyStatement[] {
    return secretReadStatements(this, this.secret.secretArn, this.encryptionKey);
  }

  /** Task responses on this stack's state machine only (a task token names its execution's state machine). */
  private taskResponseStatement(actions: string[]): PolicyStatement {
    return new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [this.stateMachineArn] });
  }
}
