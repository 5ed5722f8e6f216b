/**
 * A local Step Functions endpoint for `npm run serve` and the client tests: an HTTP server speaking
 * the service's own API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.*`) for what a bot and an
 * operator use — StartExecution, DescribeExecution, ListExecutions, GetExecutionHistory,
 * StopExecution, RedriveExecution — so `@aws-sdk/client-sfn` and `aws stepfunctions
 * --endpoint-url` work against it unchanged. Executions run on LocalWorkflow (the one local
 * runner) with the real handlers, beside the embedded S3, the AssemblyAI emulator (or the real
 * one), a local completion queue, a local intake queue, whose messages the real start-execution
 * handler starts through this endpoint, and the REST API's two routes (local/rest-api.ts).
 *
 * Kept as the service does where a client can see it: name uniqueness and idempotent starts,
 * statuses, error/cause, history events, the 256 KB input limit, the error codes. Not kept:
 * signatures (any credentials are accepted), the 90-day name memory (executions live as long as
 * the process), tags, state machine management, Map runs.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSBatchResponse } from 'aws-lambda';
import { completionMessageOf, isCanaryEnding } from '../lambdas/finalize-execution/completion.js';
import { resultOwner } from '../lambdas/record-failure/record-failure.js';
import type { CompletionMessage, ExecutionEnding } from '../lambdas/shared/completion-message.js';
import { loadConfig } from '../lambdas/shared/config.js';
import {
  DEFAULT_RESULTS_PREFIX,
  MAX_EXECUTION_NAME_LENGTH,
  resultKey,
  type TranscriptionResult,
} from '../lambdas/shared/contracts.js';
import { getJsonIfExists } from '../lambdas/shared/storage.js';
import { type EmulatorStats, startEmulator } from './assemblyai-emulator/emulator.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from './embedded-s3.js';
import { type IntakeHandler, pollIntakeQueue, startLocalQueues } from './local-completions.js';
import { LOCAL_BUCKET, providerMode } from './provider-mode.js';
import { startLocalRestApi } from './rest-api.js';
import { startLocalWebhookMode } from './webhook-mode.js';
import {
  type EventLog,
  type ExecutionEnded,
  executionArnOf,
  LocalWorkflow,
  loadLambdaHandlers,
  MAX_STATE_BYTES,
  type RunningExecution,
  StartExecutionRefused,
} from './workflow.js';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_STATE_MACHINE_NAME = 'wisevoice-transcription-local';

export interface LocalServicesOptions {
  /** Port of the Step Functions endpoint. @default a free one */
  port?: number;
  /** Port of the embedded S3. @default a free one */
  s3Port?: number;
  /** Port of the SQS endpoint (fauxqs). @default a free one */
  sqsPort?: number;
  /** Port of the bundled AssemblyAI emulator. @default a free one */
  emulatorPort?: number;
  /** Where the embedded S3 keeps its objects. @default `.local/s3` */
  directory?: string;
  /** @default `wisevoice-transcription-local` */
  bucket?: string;
  /** Wait states take 0 s, Retry intervals 0 s (SubmissionPending keeps 0.5 s), the emulator answers in 20 ms. @default false: the service's timing */
  fast?: boolean;
  /** Like the deployed `TimeoutSeconds`. @default none */
  executionTimeoutSeconds?: number;
  /** Completion messages on a local SQS queue. @default true */
  completions?: boolean;
  /** An intake queue (and its dead-letter queue) whose messages start executions, as `-c intakeQueue=true` deploys. @default true */
  intake?: boolean;
  /** The REST API of `-c restApi=true` on a local port (no signature checks). @default true */
  restApi?: boolean;
  /** Port of the local REST API. @default a free one */
  restApiPort?: number;
  /** Webhook mode (`transcriptDelivery=webhook` deployed): the emulator's webhooks reach a local receiver. @default false */
  webhook?: boolean;
  /** Diagnostics (never stdout). @default silent */
  log?: (line: string) => void;
}

export interface LocalServices {
  stepfunctions: string;
  s3: string;
  region: string;
  bucket: string;
  stateMachineArn: string;
  /** What the embedded S3 requires; absent with a real bucket. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  sqs?: string;
  completionQueueUrl?: string;
  /** Send execution inputs here (the message attribute `attempt` for a retry). */
  intakeQueueUrl?: string;
  /** Where the start-execution handler puts the messages it refuses, and SQS those it kept failing on. */
  intakeDeadLetterQueueUrl?: string;
  /** The local REST API (`POST /transcriptions`, `GET /transcriptions/{user_id}/{file_id}`), unsigned. */
  restApi?: string;
  /** The bundled AssemblyAI emulator's counters (jobs created, requests, …); absent with another AssemblyAI. */
  emulatorStats?: () => EmulatorStats;
  /** The line `npm run serve` prints. */
  readyLine(): string;
  close(): Promise<void>;
}

type Status = 'RUNNING' | ExecutionEnding;

interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

interface ExecutionRecord {
  executionArn: string;
  name: string;
  inputText: string;
  input: unknown;
  status: Status;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  running?: RunningExecution;
  /** The last state entered and its input: where a redrive starts. */
  lastEntered?: { state: string; input: unknown };
  taskResults: Map<string, unknown>;
  events: HistoryEvent[];
  redriveCount: number;
  redriveDate?: Date;
}

/** An answer the service gives as an error: HTTP 400 and `{"__type", "message"}`. */
class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const NAME_FORBIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what the service forbids
  /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;
/** The service's longest redrive window. */
const REDRIVE_WINDOW_MS = 14 * 24 * 3600 * 1000;
const MAX_REDRIVES = 1000;

const epochSeconds = (date: Date | undefined) => (date === undefined ? undefined : date.getTime() / 1000);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(body: Record<string, unknown>, field: string, required = false): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return undefined;
  }
  if (typeof value !== 'string') throw new ApiError('SerializationException', `${field} must be a string`);
  return value;
}

function pageSize(body: Record<string, unknown>): number {
  const value = body.maxResults ?? 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  }
  return value === 0 ? 100 : value;
}

function pageStart(body: Record<string, unknown>, scope: string): number {
  const token = stringField(body, 'nextToken');
  if (token === undefined) return 0;
  const [tokenScope, offset] = Buffer.from(token, 'base64url').toString('utf8').split('|');
  const start = Number(offset);
  if (tokenScope !== scope || !Number.isInteger(start) || start < 0) {
    throw new ApiError('InvalidToken', `Invalid Token: '${token}'`);
  }
  return start;
}

const nextToken = (scope: string, offset: number) => Buffer.from(`${scope}|${offset}`).toString('base64url');

/**
 * Starts the embedded S3 (or uses a real bucket with the real AssemblyAI), the AssemblyAI
 * emulator (unless ASSEMBLYAI_API_KEY is set), the completion and intake queues and the Step
 * Functions endpoint. Sets the handlers' environment in `process.env` and imports them: one per process.
 */
export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const log = options.log ?? (() => undefined);
  const region = LOCAL_REGION;
  const stateMachineArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };

  try {
    const mode = providerMode();
    const baseUrl = process.env.ASSEMBLYAI_BASE_URL?.trim();
    const realProvider = mode === 'assemblyai';

    let bucket = options.bucket ?? LOCAL_BUCKET;
    let s3Endpoint: string;
    let s3Client: S3Client;
    let storageEnv: Record<string, string> = {};
    let credentials: LocalServices['credentials'];
    if (realProvider) {
      // AssemblyAI downloads the audio from a presigned URL: it cannot reach an S3 on this machine.
      const realBucket = process.env.TRANSCRIPTION_BUCKET?.trim();
      if (!realBucket) {
        throw new Error(
          'ASSEMBLYAI_API_KEY is set: the real AssemblyAI cannot reach the embedded S3. Set TRANSCRIPTION_BUCKET to a real bucket (AWS credentials from the usual chain), or unset ASSEMBLYAI_API_KEY to use the emulator.',
        );
      }
      bucket = realBucket;
      const { S3Client: RealS3Client } = await import('@aws-sdk/client-s3');
      s3Client = new RealS3Client({});
      const clientRegion = await s3Client.config.region();
      s3Endpoint = `https://s3.${clientRegion}.amazonaws.com`;
      closers.push(async () => s3Client.destroy());
      log(`Using the real AssemblyAI at ${baseUrl ?? 'https://api.assemblyai.com'} and s3://${bucket}`);
    } else {
      const storage = await startEmbeddedS3({
        directory: resolve(options.directory ?? '.local/s3'),
        bucket,
        port: options.s3Port,
      });
      closers.push(() => storage.close());
      s3Endpoint = storage.endpoint;
      s3Client = storage.client;
      storageEnv = storage.env;
      credentials = { ...EMBEDDED_S3_CREDENTIALS };
    }

    const emulator =
      mode !== 'bundled-emulator'
        ? undefined
        : await startEmulator({
            port: options.emulatorPort,
            processingDelayMs: options.fast ? 20 : 1500,
            // A 20 ms job can end before Submit has recorded its token: the receiver answers 503
            // and AssemblyAI delivers again, here soon (its real interval is undocumented).
            ...(options.fast && { webhookRetryDelayMs: 100 }),
          });
    if (emulator) {
      closers.push(() => emulator.close());
      log(`No ASSEMBLYAI_API_KEY: using the bundled AssemblyAI emulator at ${emulator.url}`);
    } else if (mode === 'local-emulator') {
      log(`Using the AssemblyAI emulator at ${baseUrl}`);
    }

    const queues =
      options.completions === false && options.intake === false
        ? undefined
        : await startLocalQueues({
            port: options.sqsPort,
            region,
            completions: options.completions !== false,
            intake: options.intake !== false,
            fast: options.fast,
          });
    if (queues) closers.push(() => queues.close());
    const queue = queues?.completion;

    if (options.webhook && mode === 'assemblyai') {
      throw new Error(
        'Webhook mode needs a receiver AssemblyAI can reach: locally it works with the emulator only.',
      );
    }
    const webhook = options.webhook ? await startLocalWebhookMode() : undefined;
    if (webhook) {
      closers.push(() => webhook.close());
      log(`Webhook mode: AssemblyAI's webhooks go to the local receiver at ${webhook.url}`);
    }

    Object.assign(process.env, storageEnv, webhook?.env, {
      TRANSCRIPTION_BUCKET: bucket,
      POWERTOOLS_SERVICE_NAME: 'transcription',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      // The endpoint publishes every ending itself (local-completions.ts); finalize-execution must
      // not also send (it would reach for a real queue).
      COMPLETION_QUEUE_URL: '',
      TRANSCRIPT_DELIVERY: webhook ? 'webhook' : 'poll',
      ...(emulator && { ASSEMBLYAI_BASE_URL: emulator.url, ASSEMBLYAI_API_KEY: emulator.apiKey }),
      // Fast runs shorten the submit settle window with the retry intervals, as the tests do.
      ...(options.fast && { ASSEMBLYAI_SUBMIT_SETTLE_MS: process.env.ASSEMBLYAI_SUBMIT_SETTLE_MS ?? '300' }),
    });
    const handlers = await loadLambdaHandlers();
    webhook?.attach(handlers);
    const workflow = new LocalWorkflow(handlers, { taskTokens: webhook?.tokens });
    const endpoint = new StepFunctionsEndpoint({
      workflow,
      stateMachineArn,
      region,
      fast: options.fast ?? false,
      executionTimeoutMs:
        options.executionTimeoutSeconds === undefined ? undefined : options.executionTimeoutSeconds * 1000,
      onFinished: async (record) => {
        if (!queue) return;
        const stored = await readResult(s3Client, bucket, record.input);
        // The deployed finalizer's own builder, fed what its status-change event would carry.
        const message: CompletionMessage = completionMessageOf(
          {
            executionArn: record.executionArn,
            stateMachineArn,
            name: record.name,
            status: record.status,
            startDate: record.startDate.getTime(),
            stopDate: (record.stopDate ?? new Date()).getTime(),
            input: record.inputText,
            output: record.output ?? null,
            error: record.error ?? null,
            cause: record.cause ?? null,
          },
          stored,
          { resultsPrefix: DEFAULT_RESULTS_PREFIX },
        );
        // As deployed: the live canary's endings never reach the bot's queue.
        if (!isCanaryEnding(message)) queue.publish(message);
      },
      log,
    });
    const server = await endpoint.listen(options.port ?? 0);
    closers.push(() => endpoint.close());
    const stepfunctions = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    log(`Step Functions endpoint at ${stepfunctions}, state machine ${stateMachineArn}`);

    const intake = queues?.intake;
    if (queues && intake) {
      const handler = await importIntakeHandler({
        AWS_ENDPOINT_URL_SFN: stepfunctions,
        AWS_ENDPOINT_URL_SQS: queues.endpoint,
        STATE_MACHINE_ARN: stateMachineArn,
        INTAKE_DEAD_LETTER_QUEUE_URL: intake.deadLetterQueueUrl,
      });
      const poller = pollIntakeQueue({ endpoint: queues.endpoint, region, queue: intake, handler, log });
      closers.push(() => poller.stop());
      log(`Intake queue at ${intake.queueUrl}: each message starts an execution through this endpoint`);
    }
    let restApi: string | undefined;
    if (options.restApi !== false) {
      const api = await startLocalRestApi({
        stepfunctions,
        stateMachineArn,
        region,
        s3: s3Client,
        // The handlers' own configuration, read from the environment set above, as Validate reads it.
        config: loadConfig(),
        port: options.restApiPort,
        log,
      });
      closers.push(() => api.close());
      restApi = api.url;
      log(`REST API at ${restApi} (as -c restApi=true deploys; signatures are not checked)`);
    }

    const sqsLines = {
      ...(queues && { sqs: queues.endpoint }),
      ...(queue && { completionQueueUrl: queue.queueUrl }),
      ...(intake && { intakeQueueUrl: intake.queueUrl, intakeDeadLetterQueueUrl: intake.deadLetterQueueUrl }),
    };

    const services: LocalServices = {
      stepfunctions,
      s3: s3Endpoint,
      region,
      bucket,
      stateMachineArn,
      ...(credentials && { credentials }),
      ...sqsLines,
      ...(restApi && { restApi }),
      ...(emulator && { emulatorStats: () => emulator.stats() }),
      readyLine: () =>
        JSON.stringify({
          stepfunctions,
          s3: s3Endpoint,
          region,
          bucket,
          stateMachineArn,
          ...(credentials && credentials),
          ...sqsLines,
          ...(restApi && { restApi }),
        }),
      close: closeAll,
    };
    return services;
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * Imports the real start-execution handler with `env` set for its cold start only: it reads its
 * endpoints then, and the other handlers keep theirs (in webhook mode AWS_ENDPOINT_URL_SFN is
 * the task-token endpoint).
 */
async function importIntakeHandler(env: Record<string, string>): Promise<IntakeHandler> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    const module = (await import('../lambdas/start-execution/handler.js')) as {
      handler: (event: unknown, context: unknown) => Promise<SQSBatchResponse>;
    };
    return (event, context) => module.handler(event, context);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The result object at the input's key; undefined when there is none or it cannot be read. */
async function readResult(
  s3: S3Client,
  bucket: string,
  input: unknown,
): Promise<TranscriptionResult | undefined> {
  const owner = resultOwner({ input });
  if (!owner) return undefined;
  const key = resultKey(DEFAULT_RESULTS_PREFIX, owner.user_id, owner.file_id);
  return getJsonIfExists<TranscriptionResult>(s3, bucket, key).catch(() => undefined);
}

interface EndpointOptions {
  workflow: LocalWorkflow;
  stateMachineArn: string;
  region: string;
  fast: boolean;
  executionTimeoutMs?: number;
  /** After the execution ended and finalize-execution (if any) ran. */
  onFinished: (record: ExecutionRecord) => Promise<void>;
  log: (line: string) => void;
}

/** The HTTP server and the executions it holds. */
export class StepFunctionsEndpoint {
  private readonly executions = new Map<string, ExecutionRecord>();
  /** Newest first, as ListExecutions answers. */
  private readonly order: ExecutionRecord[] = [];
  private readonly pending = new Set<Promise<void>>();
  private server?: Server;

  constructor(private readonly options: EndpointOptions) {}

  listen(port: number): Promise<Server> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.options.log(`Endpoint error: ${(error as Error).stack ?? String(error)}`);
        if (!response.headersSent)
          this.send(response, 500, { __type: 'InternalFailure', message: 'Internal error' });
      });
    });
    this.server = server;
    return new Promise((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => done(server));
    });
  }

  /** Stops the server and every running execution (they end ABORTED, as if stopped). */
  async close(): Promise<void> {
    for (const record of this.executions.values()) record.running?.abort();
    await Promise.allSettled([...this.pending]);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers['x-amz-target'] ?? '');
    try {
      if (request.method !== 'POST' || !target.startsWith('AWSStepFunctions.')) {
        throw new ApiError('UnknownOperationException', `Unknown operation ${target || request.method}`);
      }
      let body: unknown;
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new ApiError('SerializationException', 'The request body is not valid JSON');
      }
      if (!isRecord(body))
        throw new ApiError('SerializationException', 'The request body must be a JSON object');
      const operation = target.slice('AWSStepFunctions.'.length);
      const answer = this.operation(operation, body);
      this.send(response, 200, answer);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.send(response, error.status, { __type: error.code, message: error.message });
    }
  }

  private send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.0',
      'Content-Length': Buffer.byteLength(text),
      'x-amzn-RequestId': randomUUID(),
      ...(status >= 400 && { 'x-amzn-ErrorType': (body as { __type: string }).__type }),
    });
    response.end(text);
  }

  private operation(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(body);
      case 'ListExecutions':
        return this.listExecutions(body);
      case 'GetExecutionHistory':
        return this.getExecutionHistory(body);
      case 'StopExecution':
        return this.stopExecution(body);
      case 'RedriveExecution':
        return this.redriveExecution(body);
      default:
        throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported locally`);
    }
  }

  private checkStateMachine(arn: string | undefined): void {
    if (arn === undefined) return;
    if (!/^arn:aws[a-z-]*:states:[^:]*:\d{12}:stateMachine:[^:]+$/.test(arn)) {
      throw new ApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    if (arn !== this.options.stateMachineArn) {
      throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    }
  }

  private execution(body: Record<string, unknown>): ExecutionRecord {
    const arn = stringField(body, 'executionArn', true) as string;
    if (!/^arn:aws[a-z-]*:states:[^:]*:\d{12}:execution:[^:]+:[^:]+$/.test(arn)) {
      throw new ApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    const record = this.executions.get(arn);
    if (!record) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return record;
  }

  private startExecution(body: Record<string, unknown>) {
    this.checkStateMachine(stringField(body, 'stateMachineArn', true));
    const name = stringField(body, 'name') ?? randomUUID();
    if (name.length < 1 || name.length > MAX_EXECUTION_NAME_LENGTH || NAME_FORBIDDEN.test(name)) {
      throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    }
    const inputText = stringField(body, 'input') ?? '{}';
    const inputBytes = Buffer.byteLength(inputText, 'utf8');
    if (inputBytes > MAX_STATE_BYTES) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_STATE_BYTES}`,
      );
    }
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch (error) {
      throw new ApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    const executionArn = executionArnOf(this.options.stateMachineArn, name);
    const existing = this.executions.get(executionArn);
    if (existing) {
      // The service's rule: the same name and input while it runs is the same request.
      if (existing.status === 'RUNNING' && existing.inputText === inputText) {
        return { executionArn, startDate: epochSeconds(existing.startDate) };
      }
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      name,
      inputText,
      input,
      status: 'RUNNING',
      startDate: new Date(),
      taskResults: new Map(),
      events: [],
      redriveCount: 0,
    };
    this.addEvent(record, 'ExecutionStarted', {
      executionStartedEventDetails: {
        input: inputText,
        inputDetails: { truncated: false },
        roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/${LOCAL_STATE_MACHINE_NAME}`,
      },
    });
    try {
      this.run(record);
    } catch (error) {
      if (error instanceof StartExecutionRefused) throw new ApiError('ValidationException', error.message);
      throw error;
    }
    this.executions.set(executionArn, record);
    this.order.unshift(record);
    this.options.log(`Started ${executionArn}`);
    return { executionArn, startDate: epochSeconds(record.startDate) };
  }

  /** Starts (or, with `from`, redrives) the record's execution on LocalWorkflow. */
  private run(record: ExecutionRecord, from?: { state: string; input: unknown }): void {
    const { fast } = this.options;
    const running = this.options.workflow.start(record.input, {
      executionName: record.name,
      stateMachineArn: this.options.stateMachineArn,
      startTime: record.startDate,
      ...(from && { startAt: from }),
      ...(fast && { waitMs: 0, retryIntervalMs: 0 }),
      executionTimeoutMs: this.options.executionTimeoutMs,
      onEvent: (event) => this.onStateEvent(record, event),
      onTaskResult: (state, output) => record.taskResults.set(state, output),
      onEnded: (ending) => this.onEnded(record, ending),
    });
    record.running = running;
    const finished = running.outcome
      .then(async (outcome) => {
        record.running = undefined;
        // onEnded already recorded it; an execution ended by StopExecution keeps that moment.
        if (record.status === 'RUNNING') this.onEnded(record, { ...outcome, stopDate: new Date() });
        this.options.log(`${record.status} ${record.executionArn}`);
        await this.options.onFinished(record);
      })
      .catch((error: unknown) => {
        record.running = undefined;
        this.options.log(
          `Execution ${record.executionArn} crashed: ${(error as Error).stack ?? String(error)}`,
        );
        if (record.status === 'RUNNING') {
          this.onEnded(record, {
            status: 'FAILED',
            error: 'States.Runtime',
            cause: (error as Error).message,
            stopDate: new Date(),
          });
        }
      })
      .finally(() => this.pending.delete(finished));
    this.pending.add(finished);
  }

  private onEnded(record: ExecutionRecord, ending: ExecutionEnded): void {
    if (record.status !== 'RUNNING') return;
    record.status = ending.status;
    record.stopDate = ending.stopDate;
    record.error = ending.error;
    record.cause = ending.cause;
    if (ending.status === 'SUCCEEDED') {
      record.output = JSON.stringify(ending.output ?? null);
      this.addEvent(record, 'ExecutionSucceeded', {
        executionSucceededEventDetails: { output: record.output, outputDetails: { truncated: false } },
      });
    } else if (ending.status === 'FAILED') {
      this.addEvent(record, 'ExecutionFailed', {
        executionFailedEventDetails: { error: ending.error, cause: ending.cause },
      });
    } else if (ending.status === 'TIMED_OUT') {
      this.addEvent(record, 'ExecutionTimedOut', { executionTimedOutEventDetails: {} });
    } else {
      this.addEvent(record, 'ExecutionAborted', {
        executionAbortedEventDetails: {
          ...(record.error !== undefined && { error: record.error }),
          ...(record.cause !== undefined && { cause: record.cause }),
        },
      });
    }
  }

  private addEvent(record: ExecutionRecord, type: string, details: Record<string, unknown> = {}): void {
    const id = record.events.length + 1;
    record.events.push({ timestamp: Date.now() / 1000, type, id, previousEventId: id - 1, ...details });
  }

  /** The service's history events for LocalWorkflow's state events (after the execution ended: none). */
  private onStateEvent(record: ExecutionRecord, event: EventLog): void {
    if (record.status !== 'RUNNING' || !('state' in event)) return;
    const { name, type } = event.state;
    // `Task` → `TaskStateEntered`, `Choice` → `ChoiceStateEntered`: the service's event names.
    const prefix = type;
    // The Lambda of a Task: its Resource, or a callback task's FunctionName (see taskLambdas).
    const lambda = this.options.workflow.lambdaOf(name);
    const isTask = type === 'Task' && lambda !== undefined;
    const scheduled = () => {
      const input = JSON.stringify(event.state.input ?? null);
      this.addEvent(record, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: `arn:aws:lambda:${this.options.region}:${LOCAL_ACCOUNT}:function:transcription-local-${lambda}`,
          input,
          inputDetails: { truncated: false },
          timeoutInSeconds: this.options.workflow.definition.States[name]?.TimeoutSeconds ?? 60,
        },
      });
      this.addEvent(record, 'LambdaFunctionStarted');
    };
    if (event.type === 'StateEntered') {
      record.lastEntered = { state: name, input: event.state.input };
      this.addEvent(record, `${prefix}StateEntered`, {
        stateEnteredEventDetails: {
          name,
          input: JSON.stringify(event.state.input ?? null),
          inputDetails: { truncated: false },
        },
      });
      if (isTask) scheduled();
    } else if (event.type === 'StateExited') {
      if (isTask) {
        this.addEvent(record, 'LambdaFunctionSucceeded', {
          lambdaFunctionSucceededEventDetails: {
            output: JSON.stringify(record.taskResults.get(name) ?? null),
            outputDetails: { truncated: false },
          },
        });
      }
      this.addEvent(record, `${prefix}StateExited`, {
        stateExitedEventDetails: {
          name,
          output: JSON.stringify(event.state.output ?? null),
          outputDetails: { truncated: false },
        },
      });
    } else if (event.type === 'StateFailed' && isTask) {
      const details = {
        error: event.Error,
        cause: typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause),
      };
      if (event.Error === 'States.Timeout') {
        this.addEvent(record, 'LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: details });
      } else {
        this.addEvent(record, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: details });
      }
    } else if (event.type === 'StateRetried' && isTask) {
      scheduled();
    }
  }

  private describeExecution(body: Record<string, unknown>) {
    const record = this.execution(body);
    const redrivable = this.redriveProblem(record) === undefined;
    return {
      executionArn: record.executionArn,
      stateMachineArn: this.options.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      ...(record.stopDate && { stopDate: epochSeconds(record.stopDate) }),
      input: record.inputText,
      inputDetails: { included: true },
      ...(record.output !== undefined && { output: record.output, outputDetails: { included: true } }),
      ...(record.error !== undefined && { error: record.error }),
      ...(record.cause !== undefined && { cause: record.cause }),
      redriveCount: record.redriveCount,
      ...(record.redriveDate && { redriveDate: epochSeconds(record.redriveDate) }),
      ...(record.status !== 'RUNNING' && {
        redriveStatus: redrivable ? 'REDRIVABLE' : 'NOT_REDRIVABLE',
        ...(!redrivable && { redriveStatusReason: this.redriveProblem(record) }),
      }),
    };
  }

  private listExecutions(body: Record<string, unknown>) {
    const arn = stringField(body, 'stateMachineArn');
    if (arn === undefined && body.mapRunArn === undefined) {
      throw new ApiError('ValidationException', 'Must provide a StateMachine ARN or MapRun ARN');
    }
    if (body.mapRunArn !== undefined) throw new ApiError('ResourceNotFound', 'No Map runs locally');
    this.checkStateMachine(arn);
    const statusFilter = stringField(body, 'statusFilter');
    if (
      statusFilter !== undefined &&
      !['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'].includes(statusFilter)
    ) {
      throw new ApiError(
        'ValidationException',
        `1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]`,
      );
    }
    const size = pageSize(body);
    const scope = `list:${statusFilter ?? ''}`;
    const start = pageStart(body, scope);
    const matching = this.order.filter((r) => statusFilter === undefined || r.status === statusFilter);
    const page = matching.slice(start, start + size);
    return {
      executions: page.map((r) => ({
        executionArn: r.executionArn,
        stateMachineArn: this.options.stateMachineArn,
        name: r.name,
        status: r.status,
        startDate: epochSeconds(r.startDate),
        ...(r.stopDate && { stopDate: epochSeconds(r.stopDate) }),
        redriveCount: r.redriveCount,
        ...(r.redriveDate && { redriveDate: epochSeconds(r.redriveDate) }),
      })),
      ...(start + size < matching.length && { nextToken: nextToken(scope, start + size) }),
    };
  }

  private getExecutionHistory(body: Record<string, unknown>) {
    const record = this.execution(body);
    const size = pageSize(body);
    const reverse = body.reverseOrder === true;
    const includeData = body.includeExecutionData !== false;
    const scope = `history:${record.executionArn}:${reverse}`;
    const start = pageStart(body, scope);
    const events = reverse ? [...record.events].reverse() : record.events;
    const page = events.slice(start, start + size).map((event) => (includeData ? event : withoutData(event)));
    return {
      events: page,
      ...(start + size < events.length && { nextToken: nextToken(scope, start + size) }),
    };
  }

  private stopExecution(body: Record<string, unknown>) {
    const record = this.execution(body);
    const error = stringField(body, 'error');
    const cause = stringField(body, 'cause');
    if (record.status === 'RUNNING') {
      // The service shows ABORTED at once; the execution then unwinds and finalize-execution runs.
      record.error = error;
      record.cause = cause;
      this.onEnded(record, { status: 'ABORTED', error, cause, stopDate: new Date() });
      record.running?.abort();
    }
    return { stopDate: epochSeconds(record.stopDate) };
  }

  /** Why the service would refuse to redrive this execution, or undefined. */
  private redriveProblem(record: ExecutionRecord): string | undefined {
    if (record.status === 'RUNNING' || record.running) return 'Execution is RUNNING and cannot be redriven';
    if (record.status === 'SUCCEEDED') return 'Execution is SUCCEEDED and cannot be redriven';
    if (!record.lastEntered) return 'Execution has no state to redrive from';
    if (record.redriveCount >= MAX_REDRIVES) return 'Execution has reached the maximum number of redrives';
    if (Date.now() - (record.stopDate ?? record.startDate).getTime() > REDRIVE_WINDOW_MS) {
      return 'Execution can no longer be redriven: it stopped more than 14 days ago';
    }
    return undefined;
  }

  /**
   * Continues the execution from the state that did not complete, with that state's input and the
   * same ARN and execution input, as the service does; the execution timeout starts again.
   */
  private redriveExecution(body: Record<string, unknown>) {
    const record = this.execution(body);
    const problem = this.redriveProblem(record);
    if (problem) throw new ApiError('ExecutionNotRedrivable', problem);
    const from = record.lastEntered as { state: string; input: unknown };
    const before = { ...record, eventCount: record.events.length };
    record.status = 'RUNNING';
    record.stopDate = undefined;
    record.output = undefined;
    record.error = undefined;
    record.cause = undefined;
    record.redriveCount += 1;
    record.redriveDate = new Date();
    this.addEvent(record, 'ExecutionRedriven', {
      executionRedrivenEventDetails: { redriveCount: record.redriveCount },
    });
    try {
      this.run(record, from);
    } catch (error) {
      const { eventCount, ...fields } = before;
      Object.assign(record, fields);
      record.events.length = eventCount;
      throw error;
    }
    this.options.log(`Redriven ${record.executionArn} from ${from.state}`);
    return { redriveDate: epochSeconds(record.redriveDate) };
  }
}

/** GetExecutionHistory with `includeExecutionData: false`: no inputs, outputs, errors or causes. */
function withoutData(event: HistoryEvent): HistoryEvent {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => {
      if (!key.endsWith('EventDetails') || !isRecord(value)) return [key, value];
      const kept = Object.fromEntries(
        Object.entries(value).filter(([field]) => !['input', 'output', 'error', 'cause'].includes(field)),
      );
      return [key, kept];
    }),
  ) as HistoryEvent;
}
