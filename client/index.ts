/**
 * The typed client of the transcription workflow: `startTranscription`, `enqueueTranscription`,
 * `getResult`, `waitForResult`, `getOutput`, `consumeCompletions`, and the contract's own types (re-exported from
 * lambdas/shared, never copied). See README "Use from your bot".
 */
export type { CompletionMessage, ExecutionEnding } from '../lambdas/shared/completion-message.js';
export {
  type CompletedResult,
  executionName,
  type FailedResult,
  FILE_ID_PATTERN,
  OUTPUT_FORMATS,
  type OutputFormat,
  outputKey,
  resultKey,
  type Segment,
  type TranscriptionInput,
  type TranscriptionRequest,
  type TranscriptionResult,
} from '../lambdas/shared/contracts.js';
export {
  ERROR_TYPES,
  type ErrorCategory,
  type ErrorType,
  errorCategory,
  InvalidInput,
  isErrorType,
} from '../lambdas/shared/errors.js';
export {
  type CompletionContext,
  type ConsumeCompletionsOptions,
  type ConsumeSummary,
  consumeCompletions,
  parseCompletionMessage,
} from './completions.js';
export {
  type AwsClients,
  type ClientConfig,
  type ClientEndpoints,
  clientConfigFromEnv,
  createAwsClients,
} from './config.js';
export {
  ClientConfigurationError,
  ExecutionNameTaken,
  ExecutionNotFound,
  MalformedCompletionMessage,
  ResultMissing,
  ResultWaitTimedOut,
} from './errors.js';
export {
  consoleUrl,
  type ExecutionStatus,
  executionArnOf,
  resultAnswers,
  reusedResultOwner,
} from './executions.js';
export {
  type Clock,
  type EnqueuedTranscription,
  type EnqueueTranscriptionRequest,
  type ExecutionSelector,
  type PendingResult,
  type ResultLookup,
  type StartedTranscription,
  type StartTranscriptionRequest,
  TranscriptionClient,
  type TranscriptionClientOptions,
  type WaitOptions,
  type WaitProgress,
} from './transcription-client.js';

import { clientConfigFromEnv } from './config.js';
import { TranscriptionClient, type TranscriptionClientOptions } from './transcription-client.js';

/** A client configured from the environment (TRANSCRIPTION_STATE_MACHINE_ARN, TRANSCRIPTION_S3_BUCKET, …), with overrides. */
export function createTranscriptionClient(
  overrides: TranscriptionClientOptions = {},
  env: Record<string, string | undefined> = process.env,
): TranscriptionClient {
  return new TranscriptionClient({ ...clientConfigFromEnv(env), ...overrides });
}
