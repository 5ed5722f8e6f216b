import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { CompletionMessage } from '../lambdas/shared/completion-message.js';
import { lambdaContext } from './workflow.js';

export const COMPLETION_QUEUE_NAME = 'transcription-completions';
export const INTAKE_QUEUE_NAME = 'transcription-intake';
export const INTAKE_DEAD_LETTER_QUEUE_NAME = 'transcription-intake-dlq';
/** As deployed: receives before SQS moves a message whose start kept failing to the dead-letter queue. */
export const INTAKE_MAX_RECEIVE_COUNT = 5;
/** As deployed (cdk/constructs/intake-queue.ts): messages per handler call. */
export const INTAKE_BATCH_SIZE = 10;

export interface LocalCompletionQueue {
  /** The SQS endpoint (fauxqs), for `SQSClient({ endpoint })`. */
  endpoint: string;
  queueUrl: string;
  queueArn: string;
  publish(message: CompletionMessage): void;
  close(): Promise<void>;
}

export interface LocalIntakeQueue {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
  /** Seconds a received message stays hidden: the deployed 180 s, 2 s with `fast`. */
  visibilityTimeoutSeconds: number;
}

export interface LocalQueues {
  /** The SQS endpoint (fauxqs), for `SQSClient({ endpoint })`. */
  endpoint: string;
  completion?: Omit<LocalCompletionQueue, 'endpoint' | 'close'>;
  intake?: LocalIntakeQueue;
  close(): Promise<void>;
}

/** Starts fauxqs on `port` (a free one by default) with the queues asked for. */
export async function startLocalQueues(options: {
  port?: number;
  region?: string;
  completions: boolean;
  intake: boolean;
  /** Retried intake messages come back after 2 s instead of the deployed 180 s. */
  fast?: boolean;
}): Promise<LocalQueues> {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    defaultRegion: options.region ?? 'us-east-1',
  });
  let completion: LocalQueues['completion'];
  if (options.completions) {
    const { queueUrl, queueArn } = server.createQueue(COMPLETION_QUEUE_NAME);
    completion = {
      queueUrl,
      queueArn,
      publish(message) {
        server.sendMessage(COMPLETION_QUEUE_NAME, JSON.stringify(message));
      },
    };
  }
  let intake: LocalIntakeQueue | undefined;
  if (options.intake) {
    const dlq = server.createQueue(INTAKE_DEAD_LETTER_QUEUE_NAME, {
      attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
    });
    const visibilityTimeoutSeconds = options.fast ? 2 : 180;
    const queue = server.createQueue(INTAKE_QUEUE_NAME, {
      attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlq.queueArn,
          maxReceiveCount: String(INTAKE_MAX_RECEIVE_COUNT),
        }),
      },
    });
    intake = {
      queueUrl: queue.queueUrl,
      queueArn: queue.queueArn,
      deadLetterQueueUrl: dlq.queueUrl,
      deadLetterQueueArn: dlq.queueArn,
      visibilityTimeoutSeconds,
    };
  }
  return { endpoint: server.address, completion, intake, close: () => server.stop() };
}

/** Starts fauxqs on `port` (a free one by default) with the completion queue created. */
export async function startLocalCompletionQueue(
  options: { port?: number; region?: string } = {},
): Promise<LocalCompletionQueue> {
  const queues = await startLocalQueues({ ...options, completions: true, intake: false });
  const completion = queues.completion as NonNullable<LocalQueues['completion']>;
  return { endpoint: queues.endpoint, ...completion, close: queues.close };
}

export type IntakeHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface IntakePoller {
  /** Handler calls so far (batches received). */
  batches(): number;
  /** Stops polling after the batch in hand (the handler is never cut off mid-batch). */
  stop(): Promise<void>;
}

/** A received message as Lambda's SQS event source hands it over. */
function recordOf(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
          ...(value.BinaryValue !== undefined && {
            binaryValue: Buffer.from(value.BinaryValue).toString('base64'),
          }),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes && { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * Polls the intake queue like the deployed event source mapping (one poller: the local maximum
 * concurrency is 1): batches of up to INTAKE_BATCH_SIZE to `handler`, then deletes every message
 * not in its `batchItemFailures`. A handler that throws leaves the whole batch for redelivery
 * after the visibility timeout, as Lambda does.
 */
export function pollIntakeQueue(options: {
  endpoint: string;
  region: string;
  queue: LocalIntakeQueue;
  handler: IntakeHandler;
  /** As deployed: 30 s. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}): IntakePoller {
  const log = options.log ?? (() => undefined);
  const sqs = new SQSClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const abort = new AbortController();
  let batches = 0;
  const { queueUrl, queueArn } = options.queue;

  const loop = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: INTAKE_BATCH_SIZE,
            WaitTimeSeconds: 2,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (abort.signal.aborted) return;
        log(`Intake queue: receive failed (${(error as Error).name}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) continue;
      batches += 1;
      const records = messages.map((m) => recordOf(m, queueArn, options.region));
      let failed: Set<string>;
      try {
        const response = await options.handler(
          { Records: records },
          lambdaContext('start-execution', options.timeoutSeconds ?? 30),
        );
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (error) {
        log(
          `Intake queue: the start-execution handler failed (${(error as Error).message}); the batch comes back`,
        );
        continue;
      }
      const done = records.filter((r) => !failed.has(r.messageId));
      if (done.length === 0) continue;
      await sqs
        .send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
          }),
        )
        .catch((error: unknown) => log(`Intake queue: delete failed (${(error as Error).name})`));
    }
  };
  const running = loop();
  return {
    batches: () => batches,
    async stop() {
      abort.abort();
      await running;
      sqs.destroy();
    },
  };
}
