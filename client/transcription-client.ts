/**
 * The bot's side of the contract: start a transcription (or enqueue it on the intake queue), read
 * its result, wait for it. Inputs are checked with the very function "Validate audio" runs
 * (`parseRequest`), execution names come from `executionName`, results are the shared result
 * types, and a message on the intake queue is what its consumer reads: nothing here is a copy.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { loadConfig } from '../lambdas/shared/config.js';
import {
  type CompletedResult,
  executionName,
  type FailedResult,
  FILE_ID_PATTERN,
  type OutputFormat,
  parseUserId,
  resultKey,
  type TranscriptionInput,
  type TranscriptionRequest,
  type TranscriptionResult,
  userInputPrefix,
} from '../lambdas/shared/contracts.js';
import { getJsonIfExists } from '../lambdas/shared/storage.js';
import { ATTEMPT_ATTRIBUTE, sameExecutionInput } from '../lambdas/start-execution/start-execution.js';
import { parseRequest } from '../lambdas/validate-audio/validate-audio.js';
import { parseCompletionMessage } from './completions.js';
import { type AwsClients, type ClientConfig, createAwsClients, resolvedPrefixes } from './config.js';
import {
  ClientConfigurationError,
  ExecutionNameTaken,
  ExecutionNotFound,
  ResultMissing,
  ResultWaitTimedOut,
} from './errors.js';
import { ENDED_STATUSES, type ExecutionStatus, executionArnOf, resultAnswers } from './executions.js';

export interface StartTranscriptionRequest {
  userId: number;
  fileId: string;
  /** The audio's key; with `audio` it defaults to `{inputPrefix}{userId}/{fileId}{extension of the path}`. */
  s3Key?: string;
  /** Must be the deployment's bucket; defaults to it. */
  bucket?: string;
  /** An AssemblyAI code (`ru`, `en_us`, …); absent: detection among the deployment's expected languages. */
  languageCode?: string;
  /** 1–10. */
  speakersExpected?: number;
  /** A range of speakers instead of `speakersExpected` (1–10 each, min ≤ max). */
  speakersMin?: number;
  speakersMax?: number;
  /** Names the result uses instead of AssemblyAI's letters, e.g. `{ A: 'Anna' }` (1–35 characters each). */
  speakerNames?: Record<string, string>;
  /** Words and phrases to boost; refused where the deployment's models cannot take them (e.g. Russian). */
  keyterms?: string[];
  /** Files written beside the result: `srt`, `vtt` (captions), `txt`; read them with `getOutput`. */
  outputs?: OutputFormat[];
  /** Redact personal information (`[PERSON_NAME]`, …); absent: the deployment's default. */
  redactPii?: boolean;
  /** AssemblyAI's PII policy names to redact; absent: the deployment's. */
  redactPiiPolicies?: string[];
  /** Transcribe even when a completed result of this audio exists. */
  force?: boolean;
  /** 1 (default) for the first try; 2, 3, … to try again after a failed result. */
  attempt?: number;
  /** Upload these bytes, or this local file, to `s3Key` first (skipped when the execution already exists). */
  audio?: Uint8Array | { path: string };
}

export interface StartedTranscription {
  executionArn: string;
  executionName: string;
  attempt: number;
  bucket: string;
  s3Key: string;
  /** `results/{user_id}/{file_id}.json`. */
  resultKey: string;
  /** The normalized input the execution runs with. */
  input: TranscriptionRequest;
  startDate: Date;
  /**
   * True when the start found an execution of this name and input that had ended (AWS answers
   * ExecutionAlreadyExists), or any such execution when `audio` was given (checked before the
   * upload). A start of a still-running execution succeeds on AWS with that execution's ARN and
   * start date and nothing else to tell it apart: false then, with the same `executionArn`.
   */
  alreadyStarted: boolean;
  uploaded: boolean;
}

/**
 * What `enqueueTranscription` takes: a start's request without `audio` (a message carries the
 * input, not the bytes: upload first, then enqueue).
 */
export type EnqueueTranscriptionRequest = Omit<StartTranscriptionRequest, 'audio'>;

export interface EnqueuedTranscription {
  /** The name the intake consumer starts the execution under (the same as `startTranscription`'s). */
  executionName: string;
  /** Its ARN, when the client knows the state machine (TRANSCRIPTION_STATE_MACHINE_ARN): for `waitForResult`. */
  executionArn?: string;
  attempt: number;
  bucket: string;
  s3Key: string;
  /** `results/{user_id}/{file_id}.json`. */
  resultKey: string;
  /** The normalized input, which is the message body. */
  input: TranscriptionRequest;
  /** SQS's id of the message sent. */
  messageId: string;
}

/** An execution by ARN, or a file's attempt by user, file id and attempt number (default 1). */
export type ExecutionSelector =
  | string
  | { executionArn: string }
  | { userId: number; fileId: string; attempt?: number };

export interface PendingResult {
  status: 'pending';
  executionArn: string;
  executionStatus: ExecutionStatus;
  /**
   * `running`: the execution has not ended; `result-not-written`: it ended and its result is not
   * (yet) there — the finalizer writes it within seconds of a time-out or abort; `result-of-another-execution`:
   * the key holds an earlier (stale) or later run's result.
   */
  reason: 'running' | 'result-not-written' | 'result-of-another-execution';
  /** Null when the execution's input names no valid user and file. */
  resultKey: string | null;
  startDate?: Date;
  stopDate?: Date;
  /** The execution's Error and Cause, when it failed. */
  executionError?: string;
  executionCause?: string;
}

export type ResultLookup = TranscriptionResult | PendingResult;

export interface WaitProgress {
  pending: PendingResult;
  elapsedMs: number;
  /** Checks made so far. */
  checks: number;
  /** How long until the next check. */
  nextCheckInMs: number;
}

export interface WaitOptions {
  /** Give up after this long (default 20 min): ResultWaitTimedOut. */
  timeoutMs?: number;
  /** Aborting rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (progress: WaitProgress) => void;
  /** First pause between checks (default 1 s), growing ×`backoffFactor` (1.5) up to `maxDelayMs` (15 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  backoffFactor?: number;
  /** How long an ended execution may take to show its result before ResultMissing (default 60 s). */
  resultGraceMs?: number;
  /**
   * Wake on the completion queue instead of sleeping out each pause (needs `completionQueueUrl`).
   * Messages are only looked at (visibility 0) and never deleted — that is consumeCompletions' job —
   * but each look counts toward the queue's maxReceiveCount: use a queue of its own for this.
   */
  useCompletionQueue?: boolean;
}

/** Time, injectable so tests need not wait. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now(), sleep: abortableSleep };

export interface TranscriptionClientOptions extends ClientConfig {
  /** Clients to use instead of building them from the configuration (tests, custom middleware). */
  clients?: Partial<AwsClients>;
  clock?: Clock;
}

function awsErrorName(error: unknown): string | undefined {
  return (error as { name?: string })?.name;
}

function isResultObject(value: unknown): value is TranscriptionResult {
  const r = value as Partial<TranscriptionResult> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    (r.status === 'completed' || r.status === 'failed') &&
    typeof r.metadata === 'object' &&
    r.metadata !== null
  );
}

/** `.ogg` from `voice.OGG`; nothing when the extension would break the key rules. */
function keyExtension(path: string): string {
  const ext = extname(path).toLowerCase();
  return /^\.[a-z0-9]{1,10}$/.test(ext) ? ext : '';
}

export class TranscriptionClient {
  readonly config: ClientConfig;
  readonly sfn: SFNClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  private readonly clock: Clock;

  constructor(options: TranscriptionClientOptions = {}) {
    const { clients, clock, ...config } = options;
    this.config = config;
    const missing = !clients?.sfn || !clients?.s3 || !clients?.sqs;
    const built = missing ? createAwsClients(config) : undefined;
    this.sfn = clients?.sfn ?? (built as AwsClients).sfn;
    this.s3 = clients?.s3 ?? (built as AwsClients).s3;
    this.sqs = clients?.sqs ?? (built as AwsClients).sqs;
    this.clock = clock ?? SYSTEM_CLOCK;
  }

  private stateMachineArn(): string {
    const arn = this.config.stateMachineArn;
    if (!arn) throw new ClientConfigurationError('No state machine ARN: set TRANSCRIPTION_STATE_MACHINE_ARN');
    return arn;
  }

  private bucket(requested?: string): string {
    const bucket = this.config.bucket ?? requested;
    if (!bucket) throw new ClientConfigurationError('No bucket: set TRANSCRIPTION_S3_BUCKET');
    return bucket;
  }

  /** The ARN an attempt of a file runs under. */
  executionArnFor(userId: number, fileId: string, attempt = 1): string {
    return executionArnOf(this.stateMachineArn(), executionName(userId, fileId, attempt));
  }

  private arnOf(selector: ExecutionSelector): string {
    if (typeof selector === 'string') return selector;
    if ('executionArn' in selector) return selector.executionArn;
    return this.executionArnFor(selector.userId, selector.fileId, selector.attempt);
  }

  /** DescribeExecution, or undefined when there is no such execution. */
  async describe(executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
    try {
      return await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if (awsErrorName(error) === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  /**
   * The checked input of a request (InvalidInput with the workflow's own message), its attempt,
   * execution name and result key. With `audio` and no `s3Key`, the key is the user's own
   * `{inputPrefix}{userId}/{fileId}{extension}`.
   */
  private prepare(request: StartTranscriptionRequest) {
    const bucket = this.bucket(request.bucket);
    const prefixes = resolvedPrefixes(this.config);
    const attempt = request.attempt ?? 1;
    const userId = parseUserId(request.userId);
    const s3Key =
      request.s3Key ??
      (request.audio !== undefined && userId !== undefined
        ? `${userInputPrefix(prefixes.inputPrefix, userId)}${request.fileId}${
            request.audio instanceof Uint8Array ? '' : keyExtension(request.audio.path)
          }`
        : undefined);
    const raw: Partial<TranscriptionInput> = {
      s3_key: s3Key,
      user_id: request.userId,
      file_id: request.fileId,
      bucket: request.bucket ?? bucket,
      language_code: request.languageCode,
      speakers_expected: request.speakersExpected,
      speakers_min: request.speakersMin,
      speakers_max: request.speakersMax,
      speaker_names: request.speakerNames,
      keyterms: request.keyterms,
      outputs: request.outputs,
      redact_pii: request.redactPii,
      redact_pii_policies: request.redactPiiPolicies,
      force: request.force,
    };
    const input = parseRequest(
      Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
      loadConfig({
        TRANSCRIPTION_BUCKET: bucket,
        INPUT_PREFIX: prefixes.inputPrefix,
        INPUT_PER_USER: String(prefixes.inputPerUser),
      }),
    );
    return {
      executionName: executionName(input.user_id, input.file_id, attempt),
      attempt,
      bucket: input.bucket,
      s3Key: input.s3_key,
      resultKey: resultKey(prefixes.resultsPrefix, input.user_id, input.file_id),
      input,
    };
  }

  /**
   * Validates the input as the workflow will (InvalidInput with the workflow's own message),
   * uploads the audio when given and no execution of this name exists yet, and starts the
   * execution under its deterministic name. A start retried with the same input returns the
   * execution already started, running or ended; another input under the name is ExecutionNameTaken.
   */
  async startTranscription(request: StartTranscriptionRequest): Promise<StartedTranscription> {
    const stateMachineArn = this.stateMachineArn();
    const prepared = this.prepare(request);
    const { input, attempt, executionName: name } = prepared;
    const executionArn = executionArnOf(stateMachineArn, name);
    const started = { ...prepared, executionArn };
    const existingOrTaken = async (): Promise<StartedTranscription | undefined> => {
      const existing = await this.describe(executionArn);
      if (!existing) return undefined;
      if (!sameExecutionInput(existing.input, input))
        throw new ExecutionNameTaken(name, executionArn, attempt + 1);
      return {
        ...started,
        startDate: existing.startDate ?? new Date(0),
        alreadyStarted: true,
        uploaded: false,
      };
    };

    let uploaded = false;
    if (request.audio !== undefined) {
      // Never upload under a running execution: replacing its audio fails it with AudioChanged.
      const existing = await existingOrTaken();
      if (existing) return existing;
      const body = request.audio instanceof Uint8Array ? request.audio : await readFile(request.audio.path);
      await this.s3.send(new PutObjectCommand({ Bucket: input.bucket, Key: input.s3_key, Body: body }));
      uploaded = true;
    }
    try {
      const response = await this.sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return {
        ...started,
        executionArn: response.executionArn ?? executionArn,
        startDate: response.startDate ?? new Date(this.clock.now()),
        alreadyStarted: false,
        uploaded,
      };
    } catch (error) {
      // Same name and input after the execution ended (while it runs AWS returns it instead).
      if (awsErrorName(error) !== 'ExecutionAlreadyExists') throw error;
      const existing = await existingOrTaken();
      if (!existing) throw error;
      return existing;
    }
  }

  /**
   * Sends the request to the intake queue (TRANSCRIPTION_INTAKE_QUEUE_URL) instead of starting it:
   * the deployment's start-execution Lambda starts it under the same name `startTranscription`
   * would use, so sending it again (or starting it directly) runs one execution. The input is
   * checked here first, as the consumer will check it; the audio must already be uploaded. The
   * body is the execution input, the attempt travels as the message attribute `attempt`.
   */
  async enqueueTranscription(request: EnqueueTranscriptionRequest): Promise<EnqueuedTranscription> {
    const queueUrl = this.config.intakeQueueUrl;
    if (!queueUrl) {
      throw new ClientConfigurationError(
        'No intake queue: set TRANSCRIPTION_INTAKE_QUEUE_URL (stack output IntakeQueueUrl of a deployment with -c intakeQueue=true)',
      );
    }
    if ((request as StartTranscriptionRequest).audio !== undefined) {
      throw new TypeError(
        'enqueueTranscription does not upload audio: upload it first, or use startTranscription',
      );
    }
    const prepared = this.prepare(request);
    const response = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(prepared.input),
        MessageAttributes: {
          [ATTEMPT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(prepared.attempt) },
        },
      }),
    );
    const stateMachineArn = this.config.stateMachineArn;
    return {
      ...prepared,
      ...(stateMachineArn && { executionArn: executionArnOf(stateMachineArn, prepared.executionName) }),
      messageId: response.MessageId ?? '',
    };
  }

  /**
   * This execution's result, or `pending`. The key holds whichever run wrote last, so the result is
   * checked against the execution (see `resultAnswers`): a stale one is `pending`, never returned.
   */
  async getResult(selector: ExecutionSelector): Promise<ResultLookup> {
    const executionArn = this.arnOf(selector);
    const execution = await this.describe(executionArn);
    if (!execution) throw new ExecutionNotFound(executionArn);
    const status = (execution.status ?? 'RUNNING') as ExecutionStatus;
    const ended = ENDED_STATUSES.has(status);
    const owner = this.resultLocation(execution.input);
    const pending = (reason: PendingResult['reason']): PendingResult => ({
      status: 'pending',
      executionArn,
      executionStatus: status,
      reason,
      resultKey: owner?.key ?? null,
      ...(execution.startDate && { startDate: execution.startDate }),
      ...(execution.stopDate && { stopDate: execution.stopDate }),
      ...(execution.error && { executionError: execution.error }),
      ...(execution.cause && { executionCause: execution.cause }),
    });
    if (!owner) return pending(ended ? 'result-not-written' : 'running');
    const stored = await getJsonIfExists<unknown>(this.s3, owner.bucket, owner.key);
    const result = isResultObject(stored) ? stored : undefined;
    if (resultAnswers(result, { executionArn, status, output: execution.output })) {
      return result as CompletedResult | FailedResult;
    }
    if (!ended) return pending('running');
    return pending(result ? 'result-of-another-execution' : 'result-not-written');
  }

  /**
   * An output file of a completed result (`metadata.outputs`), as text: `srt`, `vtt` or `txt`.
   * Undefined when the result has none of that format.
   */
  async getOutput(result: CompletedResult, format: OutputFormat): Promise<string | undefined> {
    const key = result.metadata.outputs?.[format];
    if (!key) return undefined;
    const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket(), Key: key }));
    return answer.Body?.transformToString('utf-8');
  }

  private resultLocation(rawInput: string | undefined): { bucket: string; key: string } | undefined {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(rawInput ?? 'null') as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (typeof input !== 'object' || input === null) return undefined;
    const userId = parseUserId(input.user_id);
    const fileId = input.file_id;
    if (userId === undefined || typeof fileId !== 'string' || !FILE_ID_PATTERN.test(fileId)) return undefined;
    const bucket = this.config.bucket ?? (typeof input.bucket === 'string' ? input.bucket : undefined);
    if (!bucket) return undefined;
    return { bucket, key: resultKey(resolvedPrefixes(this.config).resultsPrefix, userId, fileId) };
  }

  /**
   * Checks until the execution's result is there, with growing pauses. Rejects with
   * ResultWaitTimedOut at `timeoutMs`, ResultMissing when an ended execution's result does not
   * appear within `resultGraceMs`, or the signal's reason when aborted.
   */
  async waitForResult(selector: ExecutionSelector, options: WaitOptions = {}): Promise<TranscriptionResult> {
    const executionArn = this.arnOf(selector);
    const timeoutMs = options.timeoutMs ?? 20 * 60_000;
    const maxDelayMs = options.maxDelayMs ?? 15_000;
    const factor = options.backoffFactor ?? 1.5;
    const graceMs = options.resultGraceMs ?? 60_000;
    const { signal } = options;
    if (options.useCompletionQueue && !this.config.completionQueueUrl) {
      throw new ClientConfigurationError('useCompletionQueue needs TRANSCRIPTION_COMPLETION_QUEUE_URL');
    }
    const startedAt = this.clock.now();
    let delay = options.initialDelayMs ?? 1_000;
    let checks = 0;
    let endedSeenAt: number | undefined;
    let last: PendingResult | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const lookup = await this.getResult(executionArn);
      checks += 1;
      if (lookup.status !== 'pending') return lookup;
      last = lookup;
      const now = this.clock.now();
      if (lookup.reason !== 'running') {
        endedSeenAt ??= now;
        if (now - endedSeenAt >= graceMs) {
          throw new ResultMissing(lookup, lookup.executionError, lookup.executionCause);
        }
      }
      const remaining = startedAt + timeoutMs - now;
      if (remaining <= 0) throw new ResultWaitTimedOut(timeoutMs, last);
      const pause = Math.min(delay, remaining);
      options.onProgress?.({ pending: lookup, elapsedMs: now - startedAt, checks, nextCheckInMs: pause });
      if (options.useCompletionQueue && lookup.reason === 'running') {
        await this.completionOrPause(executionArn, pause, signal);
      } else {
        await this.clock.sleep(pause, signal);
      }
      delay = Math.min(maxDelayMs, delay * factor);
    }
  }

  /** Long-polls the completion queue for this execution's message, for at most `ms`. */
  private async completionOrPause(executionArn: string, ms: number, signal?: AbortSignal): Promise<void> {
    const until = this.clock.now() + ms;
    const waitSeconds = Math.min(20, Math.floor(ms / 1000));
    if (waitSeconds >= 1) {
      const response = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.config.completionQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: waitSeconds,
          VisibilityTimeout: 0,
        }),
        { abortSignal: signal },
      );
      for (const message of response.Messages ?? []) {
        try {
          if (parseCompletionMessage(message.Body ?? '').execution_arn === executionArn) return;
        } catch {
          // not ours to judge: consumeCompletions reports malformed messages
        }
      }
    }
    const left = until - this.clock.now();
    if (left > 0) await this.clock.sleep(left, signal);
  }
}
