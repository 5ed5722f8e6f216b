/**
 * The completion message: one per finished execution — completed, failed, timed out or aborted —
 * built from the execution's status-change event and the result object, and sent only after that
 * object exists, so a consumer that reads `results/…` on a message never finds nothing.
 *
 * `completionMessageOf` is pure, for the local runner's endpoint as much as for the Lambda;
 * `completeExecution` is the Lambda's order of work (finalize, read the result, send), with the
 * sender injected so tests and local runs swap SQS out.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import { resultOwner } from '../record-failure/record-failure.js';
import { CANARY_COMPLETED_METRIC, isCanaryExecution } from '../shared/canary.js';
import { COMPLETION_MESSAGE_VERSION, type CompletionMessage } from '../shared/completion-message.js';
import { resultKey, type TranscriptionResult, tellsEndOf } from '../shared/contracts.js';
import { ConfigurationError, type ErrorType, errorCategory, isErrorType } from '../shared/errors.js';
import { getJsonIfExists } from '../shared/storage.js';
import {
  AUDIO_LENGTH_DIMENSION,
  audioLengthBucket,
  METRIC_NAMES,
  OUTCOME_DIMENSION,
  type Outcome,
} from '../shared/telemetry-names.js';
import { type ExecutionStatusChangeDetail, isEndedStatus } from './execution-events.js';
import {
  endingError,
  type FinalizeDeps,
  type FinalizedExecution,
  finalizeExecution,
  parseExecutionInput,
} from './finalize-execution.js';

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The failure's type: the result's when it tells this execution's end, else the ending's own. */
function errorTypeOf(
  detail: ExecutionStatusChangeDetail,
  result: TranscriptionResult | undefined,
): ErrorType | null {
  if (detail.status === 'SUCCEEDED') return null;
  if (
    result?.status === 'failed' &&
    tellsEndOf(result, detail.executionArn) &&
    isErrorType(result.error?.type)
  ) {
    return result.error.type;
  }
  return endingError(detail).type;
}

/** Validate's measurement from the execution output (`$.audio`), else the completed result's. */
function audioDurationOf(
  detail: ExecutionStatusChangeDetail,
  result: TranscriptionResult | undefined,
): number | null {
  const output = parseExecutionInput(detail.output) as { audio?: { duration_seconds?: unknown } } | undefined;
  const measured = output?.audio?.duration_seconds;
  if (typeof measured === 'number' && Number.isFinite(measured)) return measured;
  const ownResult = detail.status === 'SUCCEEDED' || tellsEndOf(result, detail.executionArn);
  if (result?.status === 'completed' && ownResult && typeof result.metadata?.audio_duration === 'number') {
    return result.metadata.audio_duration;
  }
  return null;
}

/**
 * The message for one ending. `detail.input` must hold the execution input (resolve it with
 * DescribeExecution first when the event could not carry it); `result` is what is at the
 * result key now, read after the finalizer made sure it exists. `outcome` is what that object
 * says — a status and an outcome can differ, e.g. an aborted re-run leaves an earlier completed
 * result in place — and `error_type` is this execution's failure.
 */
export function completionMessageOf(
  detail: ExecutionStatusChangeDetail,
  result: TranscriptionResult | undefined,
  options: { resultsPrefix: string; now?: Date },
): CompletionMessage {
  if (!isEndedStatus(detail.status)) {
    throw new Error(`Execution status ${detail.status} is not an ending`);
  }
  const owner = resultOwner({ input: parseExecutionInput(detail.input) });
  const stopDate = detail.stopDate ?? (options.now ?? new Date()).getTime();
  const errorType = errorTypeOf(detail, result);
  return {
    version: COMPLETION_MESSAGE_VERSION,
    execution_arn: detail.executionArn,
    execution_name: detail.name,
    status: detail.status,
    outcome: owner && result ? result.status : null,
    user_id: owner?.user_id ?? null,
    file_id: owner?.file_id ?? null,
    result_key: owner && result ? resultKey(options.resultsPrefix, owner.user_id, owner.file_id) : null,
    error_type: errorType,
    error_category: errorType ? errorCategory(errorType) : null,
    started_at: iso(detail.startDate),
    stopped_at: iso(stopDate),
    duration_seconds: Math.max(0, Math.round(stopDate - detail.startDate)) / 1000,
    audio_duration_seconds: audioDurationOf(detail, result),
  };
}

/** The `outcome` dimension: a success, the user's own mistake, or a fault ops must hear of. */
export function outcomeOf(message: Pick<CompletionMessage, 'status' | 'error_category'>): Outcome {
  if (message.status === 'SUCCEEDED') return 'completed';
  return message.error_category === 'user' ? 'user_error' : 'system_error';
}

/**
 * `TranscriptionOutcome` for every ending and `TimeToResult` for a success, each as a single
 * metric: its extra dimension must not attach to the step's other metrics (StepSucceeded,
 * StepDuration), which are flushed together at the end of the invocation.
 */
export function recordCompletionMetrics(
  metrics: Pick<Metrics, 'singleMetric'>,
  message: CompletionMessage,
): void {
  const outcome = metrics.singleMetric();
  outcome.addDimension(OUTCOME_DIMENSION, outcomeOf(message));
  outcome.addMetric(METRIC_NAMES.transcriptionOutcome, MetricUnit.Count, 1);
  if (message.status === 'SUCCEEDED') {
    const time = metrics.singleMetric();
    time.addDimension(AUDIO_LENGTH_DIMENSION, audioLengthBucket(message.audio_duration_seconds));
    time.addMetric(METRIC_NAMES.timeToResult, MetricUnit.Seconds, message.duration_seconds);
  }
}

/** A canary's ending (see shared/canary.ts): never on the bot's queue, never in the bot's outcome metrics. */
export function isCanaryEnding(message: Pick<CompletionMessage, 'execution_name' | 'user_id'>): boolean {
  return isCanaryExecution(message.execution_name, message.user_id);
}

/**
 * `CanaryCompleted`: 1 when the canary's run completed with a result, 0 for any other ending. The
 * canary's alarm wants a 1 in each of its periods, so a run that never ends also alarms.
 */
export function recordCanaryMetric(
  metrics: { addMetric(name: string, unit: Parameters<Metrics['addMetric']>[1], value: number): unknown },
  message: CompletionMessage,
): void {
  const completed = message.status === 'SUCCEEDED' && message.outcome === 'completed';
  metrics.addMetric(CANARY_COMPLETED_METRIC, MetricUnit.Count, completed ? 1 : 0);
}

/**
 * The SendMessage request: the message as the body, and as attributes what a consumer filters or
 * deduplicates on without parsing it — `execution_arn` is the message's stable id (EventBridge
 * and Lambda retries may deliver one ending twice).
 */
export function completionSendInput(queueUrl: string, message: CompletionMessage): SendMessageCommandInput {
  const attributes: NonNullable<SendMessageCommandInput['MessageAttributes']> = {
    execution_arn: { DataType: 'String', StringValue: message.execution_arn },
    status: { DataType: 'String', StringValue: message.status },
    version: { DataType: 'Number', StringValue: String(message.version) },
  };
  if (message.outcome) attributes.outcome = { DataType: 'String', StringValue: message.outcome };
  return { QueueUrl: queueUrl, MessageBody: JSON.stringify(message), MessageAttributes: attributes };
}

/** The queue URL from the environment; unset or empty: no queue. A malformed one fails the cold start. */
export function completionQueueUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  const url = env.COMPLETION_QUEUE_URL?.trim();
  if (!url) return undefined;
  if (!/^https?:\/\/[^\s/]+\/\d{12}\/[A-Za-z0-9_-]{1,80}$/.test(url)) {
    throw new ConfigurationError(`COMPLETION_QUEUE_URL is not an SQS queue URL (got ${url})`);
  }
  return url;
}

export type CompletionSender = (message: CompletionMessage) => Promise<void>;

/** Sends to the completion queue; a failure throws, so the invocation is retried, then dead-lettered. */
export function sqsCompletionSender(sqs: Pick<SQSClient, 'send'>, queueUrl: string): CompletionSender {
  return async (message) => {
    await sqs.send(new SendMessageCommand(completionSendInput(queueUrl, message)));
  };
}

export interface CompleteDeps extends FinalizeDeps {
  /** Absent: no completion queue configured, nothing is sent. */
  sendCompletion?: CompletionSender;
}

export interface CompletedExecution {
  finalized: FinalizedExecution;
  /** Absent for a status that is not an ending. */
  message?: CompletionMessage;
  sent: boolean;
  /** The live canary's ending: finalized like any other, its message never sent. */
  canary: boolean;
}

/** The detail with the execution input in it, read with DescribeExecution when the event could not carry it. */
async function withInput(
  detail: ExecutionStatusChangeDetail,
  describeInput: FinalizeDeps['describeInput'],
): Promise<ExecutionStatusChangeDetail> {
  if (detail.inputDetails?.included !== false) return detail;
  const input = (await describeInput(detail.executionArn)) ?? null;
  return { ...detail, input, inputDetails: { included: true } };
}

/**
 * Finalizes the ending (the failure result when none exists, clean-up), then reads the result and
 * sends the message. Each stage throws on failure, so nothing is sent before the result exists
 * and a retry repeats only what is safe to repeat.
 */
export async function completeExecution(
  event: { detail: ExecutionStatusChangeDetail },
  deps: CompleteDeps,
): Promise<CompletedExecution> {
  const detail = await withInput(event.detail, deps.describeInput);
  const finalized = await finalizeExecution({ detail }, deps);
  if (!isEndedStatus(detail.status)) return { finalized, sent: false, canary: false };

  const owner = resultOwner({ input: parseExecutionInput(detail.input) });
  const result = owner
    ? await getJsonIfExists<TranscriptionResult>(
        deps.s3,
        deps.config.bucket,
        resultKey(deps.config.resultsPrefix, owner.user_id, owner.file_id),
      )
    : undefined;
  const message = completionMessageOf(detail, result, {
    resultsPrefix: deps.config.resultsPrefix,
    now: deps.now?.(),
  });
  const canary = isCanaryEnding(message);
  if (!deps.sendCompletion || canary) return { finalized, message, sent: false, canary };
  await deps.sendCompletion(message);
  return { finalized, message, sent: true, canary };
}
