/**
 * Answers a task token (webhook mode): Submit's `.waitForTaskToken` task resumes with the output
 * of SendTaskSuccess, or fails with SendTaskFailure's error. Used by receive-webhook, and by Submit
 * itself when there is no webhook to wait for.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { MAX_PROVIDER_TEXT } from './assemblyai.js';

export interface TaskCallbacks {
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/**
 * The errors of SendTask* that mean the task is over — it timed out (the execution fell back to
 * polling), or another delivery already answered it, or it belongs to an ended execution — so
 * there is nothing left to do and the caller must not retry.
 */
const TASK_OVER = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export function isTaskOver(error: unknown): boolean {
  return TASK_OVER.has((error as { name?: string })?.name ?? '');
}

/** SendTaskFailure's `error` is at most 256 characters, its `cause` at most 32,768. */
const MAX_ERROR_LENGTH = 256;

export function createTaskCallbacks(tracer?: Tracer): TaskCallbacks {
  // Locally AWS_ENDPOINT_URL_SFN points this client at the runner's task-token endpoint.
  const sfn = new SFNClient({});
  const client = tracer ? tracer.captureAWSv3Client(sfn) : sfn;
  return {
    async succeed(taskToken, output) {
      await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    async fail(taskToken, error, cause) {
      await client.send(
        new SendTaskFailureCommand({
          taskToken,
          error: error.slice(0, MAX_ERROR_LENGTH),
          cause: cause.slice(0, MAX_PROVIDER_TEXT * 4),
        }),
      );
    },
  };
}
