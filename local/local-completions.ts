/**
 * The completion messages of `npm run serve`: one per finished execution, on an in-process
 * SQS-compatible queue (fauxqs), in the same `CompletionMessage` shape as the deployed queue (built by
 * the deployed finalizer's `completionMessageOf`), so the bot's consumer code is the same locally. fauxqs 2 needs Node >= 22.5 (`node:sqlite`); the npm
 * scripts run on Node 24.
 */
import type { CompletionMessage } from '../lambdas/shared/completion-message.js';

export const COMPLETION_QUEUE_NAME = 'transcription-completions';

export interface LocalCompletionQueue {
  /** The SQS endpoint (fauxqs), for `SQSClient({ endpoint })`. */
  endpoint: string;
  queueUrl: string;
  queueArn: string;
  publish(message: CompletionMessage): void;
  close(): Promise<void>;
}

/** Starts fauxqs on `port` (a free one by default) with the completion queue created. */
export async function startLocalCompletionQueue(
  options: { port?: number; region?: string; queueName?: string } = {},
): Promise<LocalCompletionQueue> {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    defaultRegion: options.region ?? 'us-east-1',
  });
  const queueName = options.queueName ?? COMPLETION_QUEUE_NAME;
  const { queueUrl, queueArn } = server.createQueue(queueName);
  return {
    endpoint: server.address,
    queueUrl,
    queueArn,
    publish(message) {
      server.sendMessage(queueName, JSON.stringify(message));
    },
    close: () => server.stop(),
  };
}
