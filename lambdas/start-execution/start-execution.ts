/**
 * The intake queue's consumer (`-c intakeQueue=true`): each SQS message body is an execution input
 * (docs/contracts.md), checked with the very function "Validate audio" runs, and started under its
 * deterministic name (`executionName(user_id, file_id, attempt)`, the client's rule), so a message
 * SQS delivers twice, or one the bot sends twice, starts one execution.
 *
 * The attempt travels as the message attribute `attempt` (a Number, default 1), not in the body:
 * like the execution name it is not part of the input, and the body stays exactly what
 * StartExecution would take, so the strict input schema applies unchanged.
 *
 * Every message ends one of four ways: `started`; `already-started` (Step Functions answered
 * ExecutionAlreadyExists and the execution of that name has this input: a redelivery, or a start
 * of the same file by another path); `refused` (it can never start: not JSON, against the
 * contract, a bad attempt, the name taken by another input) — forwarded to the dead-letter queue
 * at once with the reason, instead of being received `maxReceiveCount` times first, so the alarm
 * fires within minutes and the reason travels with it; or `retry` (throttling, 5xx, a network
 * fault, no time left) — reported as a batch item failure, so SQS delivers it again after the
 * visibility timeout and, after `maxReceiveCount` receives, moves it to the dead-letter queue.
 *
 * Messages of a batch are started one after the other, so the StartExecution calls in flight are
 * never more than the event source mapping's maximum concurrency: that is the rate bound.
 */
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchItemFailure, SQSRecord } from 'aws-lambda';
import type { WorkflowConfig } from '../shared/config.js';
import { executionName, type TranscriptionRequest } from '../shared/contracts.js';
import { ConfigurationError, InvalidInput } from '../shared/errors.js';
import { parseRequest } from '../validate-audio/validate-audio.js';

/** The message attribute holding the attempt number (1, 2, …); absent means 1. */
export const ATTEMPT_ATTRIBUTE = 'attempt';
/** Set on a refused message forwarded to the dead-letter queue: the reason code (`RefusalReason`). */
export const REFUSAL_ATTRIBUTE = 'refusal';
/** Set beside it: the refusal in words (the workflow's own InvalidInput message, for one). */
export const REFUSAL_DETAIL_ATTRIBUTE = 'refusal_detail';

/**
 * Time a message needs before the Lambda's deadline: one StartExecution (and a DescribeExecution),
 * with the SDK's own retries. Messages reached later are handed back to SQS untouched.
 */
export const MIN_TIME_PER_MESSAGE_MS = 5_000;

/** Step Functions' answers that no redelivery can change: the message is refused. */
const UNSTARTABLE = new Set(['InvalidExecutionInput', 'InvalidName', 'ValidationException']);

export type RefusalReason = 'invalid-input' | 'invalid-attempt' | 'name-taken' | 'execution-refused';

/** A message that can never start an execution. */
export class IntakeRefused extends Error {
  override readonly name = 'IntakeRefused';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/** Where the consumer starts executions and puts what it refuses; from its environment. */
export interface IntakeSettings {
  /** STATE_MACHINE_ARN: the transcription state machine. */
  stateMachineArn: string;
  /** INTAKE_DEAD_LETTER_QUEUE_URL: refused messages go here at once. */
  deadLetterQueueUrl: string;
}

export function loadIntakeSettings(env: Record<string, string | undefined> = process.env): IntakeSettings {
  const stateMachineArn = env.STATE_MACHINE_ARN?.trim() ?? '';
  if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/.test(stateMachineArn)) {
    throw new ConfigurationError('STATE_MACHINE_ARN must be a state machine ARN');
  }
  const deadLetterQueueUrl = env.INTAKE_DEAD_LETTER_QUEUE_URL?.trim() ?? '';
  if (!/^https?:\/\/\S+$/.test(deadLetterQueueUrl)) {
    throw new ConfigurationError('INTAKE_DEAD_LETTER_QUEUE_URL must be a queue URL');
  }
  return { stateMachineArn, deadLetterQueueUrl };
}

/** What a message asks for, once checked. */
export interface IntakeRequest {
  /** The normalized input the execution runs with (user_id a number, unknown fields refused). */
  input: TranscriptionRequest;
  attempt: number;
  executionName: string;
}

function attemptOf(record: Pick<SQSRecord, 'messageAttributes'>): number {
  const attribute = record.messageAttributes?.[ATTEMPT_ATTRIBUTE];
  if (attribute === undefined) return 1;
  const value = attribute.stringValue?.trim() ?? '';
  const attempt = /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(attempt)) {
    throw new IntakeRefused(
      'invalid-attempt',
      `The message attribute "${ATTEMPT_ATTRIBUTE}" must be a positive integer (a Number attribute, e.g. 2)`,
    );
  }
  return attempt;
}

/** The message's input, attempt and execution name; IntakeRefused when it can never start. */
export function parseIntakeMessage(
  record: Pick<SQSRecord, 'body' | 'messageAttributes'>,
  config: WorkflowConfig,
): IntakeRequest {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new IntakeRefused('invalid-input', 'Invalid input: the message body is not JSON');
  }
  let input: TranscriptionRequest;
  try {
    input = parseRequest(body, config);
  } catch (error) {
    if (error instanceof InvalidInput) throw new IntakeRefused('invalid-input', error.message);
    throw error;
  }
  const attempt = attemptOf(record);
  return { input, attempt, executionName: executionName(input.user_id, input.file_id, attempt) };
}

/** JSON with sorted keys, so two inputs compare by content, not by key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether an execution's input (DescribeExecution's string) is this input, whatever its key order. */
export function sameExecutionInput(existing: string | undefined, input: unknown): boolean {
  if (existing === undefined) return false;
  try {
    return canonical(JSON.parse(existing)) === canonical(input);
  } catch {
    return false;
  }
}

/** `arn:…:stateMachine:{name}` + `123-abc` → `arn:…:execution:{name}:123-abc`. */
function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export interface IntakeDeps {
  sfn: SFNClient;
  sqs: SQSClient;
  config: WorkflowConfig;
  settings: IntakeSettings;
  /** The Lambda's remaining time (`context.getRemainingTimeInMillis`). */
  timeLeftMs: () => number;
}

interface OutcomeBase {
  message_id: string;
  /** SQS's count of receives of this message, this one included. */
  receive_count?: number;
}

interface StartedFields {
  execution_name: string;
  execution_arn: string;
  attempt: number;
  user_id: number;
  file_id: string;
}

export type IntakeOutcome =
  | (OutcomeBase & StartedFields & { outcome: 'started' | 'already-started' })
  | (OutcomeBase &
      Partial<StartedFields> & {
        outcome: 'refused';
        reason: RefusalReason;
        detail: string;
        /** False when the forward to the dead-letter queue failed: then it is retried like a fault. */
        forwarded: boolean;
      })
  | (OutcomeBase & Partial<StartedFields> & { outcome: 'retry'; error_type: string; http_status?: number });

export interface IntakeBatchResult {
  /** What the Lambda returns (`ReportBatchItemFailures`): the messages SQS must deliver again. */
  batchItemFailures: SQSBatchItemFailure[];
  outcomes: IntakeOutcome[];
}

function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? 'Error';
}

function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** The record's attributes as SendMessage takes them (binary values arrive base64-encoded). */
function forwardedAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (name === REFUSAL_ATTRIBUTE || name === REFUSAL_DETAIL_ATTRIBUTE) continue;
    attributes[name] = value.binaryValue
      ? { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') }
      : { DataType: value.dataType, StringValue: value.stringValue ?? '' };
  }
  return attributes;
}

/** Puts a refused message on the dead-letter queue as it came, with the reason beside it. */
async function forwardRefused(record: SQSRecord, refusal: IntakeRefused, deps: IntakeDeps): Promise<void> {
  await deps.sqs.send(
    new SendMessageCommand({
      QueueUrl: deps.settings.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageAttributes: {
        ...forwardedAttributes(record),
        [REFUSAL_ATTRIBUTE]: { DataType: 'String', StringValue: refusal.reason },
        [REFUSAL_DETAIL_ATTRIBUTE]: { DataType: 'String', StringValue: refusal.message.slice(0, 1000) },
      },
    }),
  );
}

async function refuse(
  record: SQSRecord,
  refusal: IntakeRefused,
  deps: IntakeDeps,
  base: OutcomeBase & Partial<StartedFields>,
): Promise<IntakeOutcome> {
  try {
    await forwardRefused(record, refusal, deps);
    return { ...base, outcome: 'refused', reason: refusal.reason, detail: refusal.message, forwarded: true };
  } catch {
    return { ...base, outcome: 'refused', reason: refusal.reason, detail: refusal.message, forwarded: false };
  }
}

/** One message: started, already started, refused or to be retried. Never throws for AWS errors. */
export async function startFromMessage(record: SQSRecord, deps: IntakeDeps): Promise<IntakeOutcome> {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount);
  const base: OutcomeBase = {
    message_id: record.messageId,
    ...(Number.isFinite(receiveCount) && { receive_count: receiveCount }),
  };
  let request: IntakeRequest;
  try {
    request = parseIntakeMessage(record, deps.config);
  } catch (error) {
    if (error instanceof IntakeRefused) return refuse(record, error, deps, base);
    throw error;
  }
  const { input, attempt } = request;
  const name = request.executionName;
  const started: OutcomeBase & StartedFields = {
    ...base,
    execution_name: name,
    execution_arn: executionArnOf(deps.settings.stateMachineArn, name),
    attempt,
    user_id: input.user_id,
    file_id: input.file_id,
  };
  try {
    const response = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: deps.settings.stateMachineArn,
        name,
        // The normalized input, serialized as the client serializes it: a direct start of the same
        // file by the client and this message are then the same request while it runs.
        input: JSON.stringify(input),
      }),
    );
    // A running execution of this name and input is answered as a start (its own ARN and date).
    return { ...started, execution_arn: response.executionArn ?? started.execution_arn, outcome: 'started' };
  } catch (error) {
    const type = errorName(error);
    if (UNSTARTABLE.has(type)) {
      return refuse(
        record,
        new IntakeRefused('execution-refused', `Step Functions refused the start: ${type}`),
        deps,
        started,
      );
    }
    if (type !== 'ExecutionAlreadyExists') {
      return { ...started, outcome: 'retry', error_type: type, http_status: httpStatus(error) };
    }
  }
  // The name is taken: an ended execution (whatever its input), or a running one with another input.
  try {
    const existing = await deps.sfn.send(
      new DescribeExecutionCommand({ executionArn: started.execution_arn }),
    );
    if (sameExecutionInput(existing.input, input)) return { ...started, outcome: 'already-started' };
  } catch (error) {
    return { ...started, outcome: 'retry', error_type: errorName(error), http_status: httpStatus(error) };
  }
  return refuse(
    record,
    new IntakeRefused(
      'name-taken',
      `Execution ${name} already exists with another input: send it with the message attribute ${ATTEMPT_ATTRIBUTE}=${attempt + 1}`,
    ),
    deps,
    started,
  );
}

/**
 * A batch, message after message (the rate bound, see the module comment). A message reached with
 * less than MIN_TIME_PER_MESSAGE_MS left is handed back untouched; failures and refusals that
 * could not be forwarded are the batch item failures SQS delivers again.
 */
export async function startFromBatch(records: SQSRecord[], deps: IntakeDeps): Promise<IntakeBatchResult> {
  const outcomes: IntakeOutcome[] = [];
  for (const record of records) {
    if (deps.timeLeftMs() < MIN_TIME_PER_MESSAGE_MS) {
      outcomes.push({ message_id: record.messageId, outcome: 'retry', error_type: 'NoTimeLeft' });
      continue;
    }
    outcomes.push(await startFromMessage(record, deps));
  }
  const again = outcomes.filter((o) => o.outcome === 'retry' || (o.outcome === 'refused' && !o.forwarded));
  return { batchItemFailures: again.map((o) => ({ itemIdentifier: o.message_id })), outcomes };
}
