/**
 * Completion messages (lambdas/shared/completion-message.ts) off an SQS queue: parsed and checked
 * before a handler sees them, deleted only after the handler succeeded, so a failing handler gets
 * the message again (and the queue's redrive policy decides when to give up).
 */
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { COMPLETION_MESSAGE_VERSION, type CompletionMessage } from '../lambdas/shared/completion-message.js';
import { FILE_ID_PATTERN } from '../lambdas/shared/contracts.js';
import { ERROR_TYPES } from '../lambdas/shared/errors.js';
import { MalformedCompletionMessage } from './errors.js';

const isoInstant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 instant');

const completionMessageSchema = z
  .object({
    version: z.literal(COMPLETION_MESSAGE_VERSION),
    execution_arn: z.string().regex(/^arn:[^:]+:states:/, 'must be an execution ARN'),
    execution_name: z.string().min(1),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    outcome: z.enum(['completed', 'failed']).nullable(),
    user_id: z.number().int().positive().nullable(),
    file_id: z.string().regex(FILE_ID_PATTERN).nullable(),
    result_key: z.string().min(1).nullable(),
    error_type: z.enum(ERROR_TYPES).nullable(),
    error_category: z.enum(['user', 'system']).nullable(),
    started_at: isoInstant,
    stopped_at: isoInstant,
    duration_seconds: z.number().nonnegative(),
    audio_duration_seconds: z.number().nonnegative().nullable(),
  })
  .superRefine((m, ctx) => {
    if (m.status === 'SUCCEEDED' && (m.outcome !== 'completed' || m.error_type !== null)) {
      ctx.addIssue({
        code: 'custom',
        message: 'a succeeded execution must have outcome "completed" and no error',
      });
    }
    if (m.outcome === 'failed' && m.error_type === null) {
      ctx.addIssue({ code: 'custom', message: 'a failed outcome must name its error_type' });
    }
    if (m.outcome !== null && m.result_key === null) {
      ctx.addIssue({ code: 'custom', message: 'an outcome without a result_key' });
    }
  });

/** SNS (without raw delivery) and EventBridge wrap the message; unwrap them. */
function unwrap(value: unknown): unknown {
  const v = value as { Type?: unknown; Message?: unknown; 'detail-type'?: unknown; detail?: unknown } | null;
  if (v && v.Type === 'Notification' && typeof v.Message === 'string') return JSON.parse(v.Message);
  if (v && typeof v['detail-type'] === 'string' && typeof v.detail === 'object') return v.detail;
  return value;
}

/** The message in an SQS body, or MalformedCompletionMessage saying what is wrong with it. */
export function parseCompletionMessage(body: string, messageId?: string): CompletionMessage {
  let value: unknown;
  try {
    value = unwrap(JSON.parse(body));
  } catch {
    throw new MalformedCompletionMessage('the body is not JSON', messageId);
  }
  const parsed = completionMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
      .join('; ');
    throw new MalformedCompletionMessage(issues, messageId);
  }
  return parsed.data as CompletionMessage;
}

export interface CompletionContext {
  messageId: string;
  /** How often SQS has delivered this message, this delivery included. */
  receiveCount: number;
}

export interface ConsumeCompletionsOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Resolves: the message is deleted. Throws: it stays, and comes back after the visibility timeout. */
  handler: (message: CompletionMessage, context: CompletionContext) => Promise<void> | void;
  /** Stops the loop (between messages, or during a long poll). */
  signal?: AbortSignal;
  /**
   * A handler's error, or MalformedCompletionMessage (left on the queue for its dead-letter queue).
   * Default: written to stderr.
   */
  onError?: (error: unknown, message: Message) => void;
  /** Long-poll time, 0–20 s (default 20). */
  waitTimeSeconds?: number;
  /** 1–10 (default 10). */
  maxMessages?: number;
  /** The visibility timeout while a handler runs; default the queue's own. */
  visibilityTimeoutSeconds?: number;
  /** Stop after this many ReceiveMessage calls (a batch job, a test); default: until aborted. */
  maxReceives?: number;
  /** Stop at the first receive that returns nothing. */
  stopWhenEmpty?: boolean;
}

export interface ConsumeSummary {
  received: number;
  handled: number;
  /** Handler errors: left on the queue. */
  failed: number;
  /** Not completion messages: left on the queue. */
  malformed: number;
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (error as { name?: string })?.name === 'AbortError';
}

/**
 * Receives completion messages until aborted (or `maxReceives`), handing each valid one to the
 * handler in order. ReceiveMessage errors (after the SDK's retries) reject the returned promise.
 */
export async function consumeCompletions(options: ConsumeCompletionsOptions): Promise<ConsumeSummary> {
  const { sqs, queueUrl, handler, signal } = options;
  const onError =
    options.onError ??
    ((error: unknown) => process.stderr.write(`consumeCompletions: ${(error as Error)?.message ?? error}\n`));
  const summary: ConsumeSummary = { received: 0, handled: 0, failed: 0, malformed: 0 };
  let receives = 0;
  while (!signal?.aborted && (options.maxReceives === undefined || receives < options.maxReceives)) {
    receives += 1;
    let messages: Message[];
    try {
      const response = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.maxMessages ?? 10,
          WaitTimeSeconds: options.waitTimeSeconds ?? 20,
          VisibilityTimeout: options.visibilityTimeoutSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
        { abortSignal: signal },
      );
      messages = response.Messages ?? [];
    } catch (error) {
      if (isAbort(error, signal)) break;
      throw error;
    }
    if (messages.length === 0 && options.stopWhenEmpty) break;
    for (const message of messages) {
      // The rest of the batch comes back after its visibility timeout.
      if (signal?.aborted) break;
      summary.received += 1;
      const messageId = message.MessageId ?? '';
      let parsed: CompletionMessage;
      try {
        parsed = parseCompletionMessage(message.Body ?? '', messageId);
      } catch (error) {
        summary.malformed += 1;
        onError(error, message);
        continue;
      }
      try {
        await handler(parsed, {
          messageId,
          receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        });
      } catch (error) {
        summary.failed += 1;
        onError(error, message);
        continue;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      summary.handled += 1;
    }
  }
  return summary;
}
