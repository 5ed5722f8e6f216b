/**
 * The message published once per finished execution — completed, failed, timed out or aborted —
 * so the bot learns of every outcome without polling S3. One shape for the deployed queue and the
 * local one (`npm run serve`); the client's `consumeCompletions` parses it. References and
 * counts only: never transcript text, never a URL.
 */
import type { ErrorCategory, ErrorType } from './errors.js';

export const COMPLETION_MESSAGE_VERSION = 1;

/** Step Functions' terminal statuses. */
export type ExecutionEnding = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface CompletionMessage {
  version: typeof COMPLETION_MESSAGE_VERSION;
  execution_arn: string;
  execution_name: string;
  status: ExecutionEnding;
  /** What the result object says: `completed`, `failed`, or null when none could be written (no valid user_id/file_id). */
  outcome: 'completed' | 'failed' | null;
  /** Null when the input had no valid value. */
  user_id: number | null;
  file_id: string | null;
  /** `results/{user_id}/{file_id}.json`, or null when no result was written. */
  result_key: string | null;
  /** The failure's type; null on success. */
  error_type: ErrorType | null;
  /** `user` (the upload or request) or `system` (provider, storage, timeouts); null on success. */
  error_category: ErrorCategory | null;
  /** ISO 8601. */
  started_at: string;
  stopped_at: string;
  /** stopped_at − started_at. */
  duration_seconds: number;
  /** The audio's duration as Validate measured it, when known. */
  audio_duration_seconds: number | null;
}
