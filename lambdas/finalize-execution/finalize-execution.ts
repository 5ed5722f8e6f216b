/**
 * "Finalize execution": the promise of one result per execution for the endings no Catch sees.
 * Step Functions runs no Catch when an execution times out or is aborted, nor for an uncatchable
 * failure (`States.DataLimitExceeded`, `States.Runtime`) or a Record failure that failed itself.
 * An EventBridge rule on the state machine's "Execution Status Change" events invokes this step
 * (through `completeExecution`, which then sends the completion message); for TIMED_OUT, ABORTED
 * and FAILED it writes the failure result when this execution has none (never over a completed
 * result), deletes the execution's job at AssemblyAI and removes its work objects. A SUCCEEDED
 * execution has nothing to finalize (Persist result did all of it). EventBridge delivers at least
 * once: every action is safe to repeat.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  describeFailure,
  discardWorkObjects,
  jobOfExecution,
  resultOwner,
} from '../record-failure/record-failure.js';
import {
  type ExecutionStatusChangeDetail,
  type ExecutionStatusChangeEvent,
  type FinalizedStatus,
  isFinalizedStatus,
} from './execution-events.js';

export * from './execution-events.js';

import type { TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import {
  type FailedResult,
  RESULT_CONTENT_TYPE,
  resultKey,
  type TranscriptionResult,
} from '../shared/contracts.js';
import { type ErrorType, StorageUnavailable } from '../shared/errors.js';
import { getJsonWithEtag, putJsonIfAbsent, putJsonIfMatch } from '../shared/storage.js';
import { processingTimeSeconds } from '../shared/timing.js';

/** What the bot reads in `metadata.failed_state` when the execution itself ended, not a state. */
export const EXECUTION_ENDINGS: Record<FinalizedStatus, string> = {
  TIMED_OUT: 'Execution timed out',
  ABORTED: 'Execution aborted',
  FAILED: 'Execution failed',
};

export interface FinalizeDeps {
  s3: S3Client;
  config: WorkflowConfig;
  /** Deletes the job at AssemblyAI; absent when DELETE_TRANSCRIPT_AFTER_PERSIST is off. */
  provider?: Pick<TranscriptionProvider, 'delete' | 'findSubmitted'>;
  /** The execution's input from DescribeExecution, for an event that could not carry it. */
  describeInput: (executionArn: string) => Promise<string | undefined>;
  now?: () => Date;
}

export interface FinalizedExecution {
  status: string;
  /**
   * `written`: the failure result was written now; `kept`: a result of this execution, a completed
   * one, or a newer execution's was already there; `no-owner`: the input names no valid user and
   * file; `ignored`: not an ending this step handles.
   */
  result: 'written' | 'kept' | 'no-owner' | 'ignored';
  result_key: string | null;
  error_type?: ErrorType;
  /** `deleted`; `none` (no job recorded, or the step that wrote the result already handled it); `failed` (best effort, see the caller). */
  provider_job: 'deleted' | 'none' | 'failed';
  transcript_id?: string;
  work_objects_deleted: number;
}

/** The failure result's error for an execution that ended without running Record failure. */
export function endingError(detail: ExecutionStatusChangeDetail): { type: ErrorType; message: string } {
  if (detail.status === 'TIMED_OUT') {
    return {
      type: 'TranscriptionTimedOut',
      message: 'The transcription took too long and was stopped; please try again later',
    };
  }
  if (detail.status === 'ABORTED') {
    return {
      type: 'InternalError',
      message: 'The transcription was stopped before it finished; please try again later',
    };
  }
  // FAILED without a result: our own error types keep their messages, anything else
  // (States.DataLimitExceeded, States.Runtime, a crashed Record failure) is InternalError.
  return describeFailure({ Error: detail.error ?? undefined, Cause: detail.cause ?? undefined });
}

/** The execution input as sent to StartExecution, or undefined when it is not JSON. */
export function parseExecutionInput(text: string | null | undefined): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function finalizeExecution(
  event: Pick<ExecutionStatusChangeEvent, 'detail'>,
  deps: FinalizeDeps,
): Promise<FinalizedExecution> {
  const { s3, config } = deps;
  const detail = event.detail;
  const outcome: FinalizedExecution = {
    status: detail.status,
    result: 'ignored',
    result_key: null,
    provider_job: 'none',
    work_objects_deleted: 0,
  };
  if (!isFinalizedStatus(detail.status)) return outcome;

  const inputText =
    detail.inputDetails?.included === false ? await deps.describeInput(detail.executionArn) : detail.input;
  const owner = resultOwner({ input: parseExecutionInput(inputText) });

  // A result this execution wrote means the step that wrote it (Persist result or Record failure)
  // also dealt with the job at AssemblyAI.
  let resultOfThisExecution = false;
  if (!owner) {
    outcome.result = 'no-owner';
  } else {
    const key = resultKey(config.resultsPrefix, owner.user_id, owner.file_id);
    outcome.result_key = key;
    const read = await getJsonWithEtag<TranscriptionResult>(s3, config.bucket, key);
    const existing = read && { result: read.value, writtenAt: read.lastModified, etag: read.etag };
    const stoppedAt = new Date(detail.stopDate ?? (deps.now ?? (() => new Date()))());
    resultOfThisExecution = existing?.result.metadata?.execution_arn === detail.executionArn;
    const keep =
      resultOfThisExecution ||
      // Never over a completed transcript, whichever execution wrote it.
      existing?.result.status === 'completed' ||
      // A failure written after this execution stopped belongs to a newer execution.
      (existing?.writtenAt !== undefined && existing.writtenAt.getTime() > stoppedAt.getTime());
    if (keep) {
      outcome.result = 'kept';
    } else {
      const error = endingError(detail);
      const result: FailedResult = {
        status: 'failed',
        file_id: owner.file_id,
        user_id: owner.user_id,
        error,
        metadata: {
          processing_time: processingTimeSeconds(new Date(detail.startDate).toISOString(), stoppedAt),
          execution_arn: detail.executionArn,
          failed_state: EXECUTION_ENDINGS[detail.status],
        },
      };
      // Conditional on what was read: a result written meanwhile (Record failure's retry, a newer
      // execution) wins, and this execution's ending is then already told.
      const write = existing
        ? await putJsonIfMatch(s3, config.bucket, key, result, existing.etag, RESULT_CONTENT_TYPE)
        : await putJsonIfAbsent(s3, config.bucket, key, result, RESULT_CONTENT_TYPE);
      outcome.result = write.written ? 'written' : 'kept';
      if (write.written) outcome.error_type = error.type;
    }
  }

  if (deps.provider && !resultOfThisExecution) {
    // From the submission record, or by the marker's audio-URL digest when the answer was lost.
    const id = await jobOfExecution(
      {},
      { arn: detail.executionArn, name: detail.name, started_at: new Date(detail.startDate).toISOString() },
      { s3, config, provider: deps.provider },
    ).catch(() => undefined);
    if (id !== undefined) {
      outcome.transcript_id = id;
      try {
        await deps.provider.delete(id);
        outcome.provider_job = 'deleted';
      } catch {
        // Best effort, as in Record failure: a job still processing may refuse. The caller logs it.
        outcome.provider_job = 'failed';
      }
    }
  }
  const { deleted, left } = await discardWorkObjects(s3, config, detail);
  if (left.length > 0) {
    // S3 reports per key; thrown so the invocation is retried (a repeat deletes what is left).
    throw new StorageUnavailable('Storage is temporarily unavailable (delete); please try again later');
  }
  outcome.work_objects_deleted = deleted;
  return outcome;
}
