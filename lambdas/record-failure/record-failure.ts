/**
 * "Record failure": every Catch and the provider-error path end here. It turns whatever failed
 * into a typed, user-safe failure result at the same key a completed result would have, names the
 * state that failed, and hands the error type to the Fail state so the execution fails too.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { isTranscriptId, type TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { type FailedResult, FILE_ID_PATTERN, parseUserId, resultKey } from '../shared/contracts.js';
import { type ErrorType, INTERNAL_ERRORS, isErrorType } from '../shared/errors.js';
import { writeResult } from '../shared/result-writer.js';
import { deleteKeys, getJsonIfExists, listKeys } from '../shared/storage.js';
import { processingTimeSeconds } from '../shared/timing.js';
import {
  CLAIMS_FOLDER,
  type ExecutionRef,
  SUBMISSION_RECORD,
  WEBHOOKS_FOLDER,
  workKey,
} from '../shared/workflow-state.js';

/** State names as in `statemachine/transcription.asl.json` (a test keeps them in step). */
export const STATE_NAMES = {
  validate: 'Validate audio',
  submit: 'Submit to AssemblyAI',
  submitWebhook: 'Submit and wait for webhook',
  check: 'Check transcript status',
  format: 'Format segments',
  persist: 'Persist result',
} as const;

export interface RecordFailureEvent {
  /** The state at the moment of failure, with `failure: { Error, Cause }` added by a Catch or Pass. */
  state: Record<string, unknown> & { failure?: { Error?: string; Cause?: string } };
  execution: ExecutionRef;
}

/** Returned into `$.failure`: the Fail state reads Error and Cause from it. */
export interface RecordedFailure {
  Error: ErrorType;
  Cause: string;
  failed_state: string;
  /** Null when the input had no usable user_id/file_id, so there was nowhere to write. */
  result_key: string | null;
}

export interface RecordFailureDeps {
  s3: S3Client;
  config: WorkflowConfig;
  now?: () => Date;
}

/** The message inside a Cause: JSON `{errorType, errorMessage, trace}` on Lambda, plain text locally. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/**
 * Our own error types keep their (user-safe) messages. Anything else — a Lambda timeout, a crash,
 * an unexpected SDK error — becomes InternalError with a generic message: its text was not written
 * for users and could carry details they should not see.
 */
export function describeFailure(failure: { Error?: string; Cause?: string } | undefined): {
  type: ErrorType;
  message: string;
} {
  const error = failure?.Error;
  if (error !== undefined && error in INTERNAL_ERRORS) {
    return {
      type: INTERNAL_ERRORS[error as keyof typeof INTERNAL_ERRORS],
      message: 'AssemblyAI did not confirm the submission in time; please try again later',
    };
  }
  if (isErrorType(error)) {
    return { type: error, message: causeMessage(failure?.Cause).slice(0, 1000) || error };
  }
  if (error === 'States.Timeout' || error === 'Sandbox.Timedout') {
    return { type: 'InternalError', message: 'A processing step took too long; please try again later' };
  }
  return {
    type: 'InternalError',
    message: 'An internal error stopped the transcription; please try again later',
  };
}

/** Derived from how far the state got: each step adds its own key to it. */
export function failedStateOf(state: Record<string, unknown>): string {
  if (!state.request || !state.audio) return STATE_NAMES.validate;
  const transcript = state.transcript as { status?: string } | undefined;
  // Webhook mode until the wait timed out (`webhook.wait`, the fallback to polling): the job and
  // its status came from "Submit and wait for webhook", not from Submit and Check.
  const webhook = state.webhook as { wait?: unknown } | undefined;
  const waitedForWebhook = webhook !== undefined && webhook.wait === undefined;
  if (!transcript) return waitedForWebhook ? STATE_NAMES.submitWebhook : STATE_NAMES.submit;
  if (transcript.status !== 'completed')
    return waitedForWebhook ? STATE_NAMES.submitWebhook : STATE_NAMES.check;
  if (!state.segments) return STATE_NAMES.format;
  return STATE_NAMES.persist;
}

/** user_id and file_id from the validated request, or from the raw input (`$.input`) when each is valid on its own. */
export function resultOwner(
  state: Record<string, unknown>,
): { user_id: number; file_id: string } | undefined {
  const raw = state.request ?? state.input;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const source = raw as Record<string, unknown>;
  const userId = parseUserId(source.user_id);
  const fileId = source.file_id;
  if (userId === undefined || typeof fileId !== 'string' || !FILE_ID_PATTERN.test(fileId)) return undefined;
  return { user_id: userId, file_id: fileId };
}

export async function recordFailure(
  event: RecordFailureEvent,
  deps: RecordFailureDeps,
): Promise<RecordedFailure> {
  const { s3, config } = deps;
  const now = deps.now ?? (() => new Date());
  const error = describeFailure(event.state.failure);
  const failedState = failedStateOf(event.state);
  const owner = resultOwner(event.state);
  if (!owner) {
    return {
      Error: error.type,
      Cause: `${error.message} (no result was written: the input has no valid user_id and file_id)`,
      failed_state: failedState,
      result_key: null,
    };
  }
  const key = resultKey(config.resultsPrefix, owner.user_id, owner.file_id);
  const request = runRequest(event.state);
  const result: FailedResult = {
    status: 'failed',
    file_id: owner.file_id,
    user_id: owner.user_id,
    error,
    metadata: {
      processing_time: processingTimeSeconds(event.execution.started_at, now()),
      execution_arn: event.execution.arn,
      failed_state: failedState,
      // Only a validated key is echoed: a raw input's may hold anything the contract refuses.
      ...(typeof (event.state.request as { s3_key?: unknown } | undefined)?.s3_key === 'string' && {
        s3_key: (event.state.request as { s3_key: string }).s3_key,
      }),
      ...sharedFailure(event.state),
    },
  };
  // Conditional, so a failure never overwrites a completed transcript it should not (see result-writer).
  const write = await writeResult(s3, config.bucket, key, result, {
    execution_arn: event.execution.arn,
    ...request,
  });
  if (!write.written) {
    return {
      Error: error.type,
      Cause: `${error.message} (the completed result already at this key was kept)`,
      failed_state: failedState,
      result_key: key,
    };
  }
  return { Error: error.type, Cause: error.message, failed_state: failedState, result_key: key };
}

/**
 * A run that followed another execution's transcription (Submit's file claim) and fails with that
 * execution's failure says so: the next request then knows the file's holder has ended.
 */
function sharedFailure(state: Record<string, unknown>): { followed_execution_arn?: string } {
  const transcript = state.transcript as
    | { status?: unknown; follows?: { execution_arn?: unknown } }
    | undefined;
  const arn = transcript?.follows?.execution_arn;
  return transcript?.status === 'error' && typeof arn === 'string' ? { followed_execution_arn: arn } : {};
}

/** What the failed run knew of its request and audio, for the result writer. */
function runRequest(state: Record<string, unknown>): {
  s3_key?: string;
  audio_etag?: string;
  force?: boolean;
} {
  const request = (state.request ?? state.input) as Record<string, unknown> | undefined;
  const audio = state.audio as { etag?: unknown } | undefined;
  const key = typeof request?.s3_key === 'string' ? request.s3_key : undefined;
  return {
    ...(key !== undefined && { s3_key: key }),
    ...(typeof audio?.etag === 'string' && { audio_etag: audio.etag }),
    force: request?.force === true,
  };
}

/**
 * The job this execution created at AssemblyAI, if it can be known: from the state, else from
 * the submission record Submit writes before and after its call (a lost answer, a failed record
 * write or a lookup that could not finish all leave a job the state never heard of).
 */
export async function jobOfExecution(
  state: RecordFailureEvent['state'],
  execution: ExecutionRef,
  deps: { s3: S3Client; config: WorkflowConfig; provider: Pick<TranscriptionProvider, 'findSubmitted'> },
): Promise<string | undefined> {
  const id = (state.transcript as { id?: unknown } | undefined)?.id;
  if (isTranscriptId(id)) return id;
  const record = await getJsonIfExists<{
    transcript_id?: unknown;
    submitting_since?: unknown;
    audio_url_sha256?: unknown;
  }>(deps.s3, deps.config.bucket, workKey(deps.config.workPrefix, execution, SUBMISSION_RECORD));
  if (isTranscriptId(record?.transcript_id)) return record.transcript_id;
  if (typeof record?.audio_url_sha256 !== 'string' || typeof record.submitting_since !== 'string')
    return undefined;
  return (await deps.provider.findSubmitted(record.audio_url_sha256, new Date(record.submitting_since)))?.id;
}

/**
 * Removes everything the execution left under `work/{execution name}/`, listed rather than named
 * so nothing a step adds later is forgotten. Returns how many were deleted and the keys S3 could
 * not delete (the lifecycle rule expires those). Used by Record failure and the finalizer.
 */
export async function discardWorkObjects(
  s3: S3Client,
  config: WorkflowConfig,
  execution: Pick<ExecutionRef, 'name'>,
): Promise<{ deleted: number; left: string[] }> {
  // Execution names never contain "/": anything else would not name one work folder. The claims
  // and webhooks folders hold other executions' records, never one execution's objects.
  if (
    !execution.name ||
    /[/]|^\.\.?$/.test(execution.name) ||
    execution.name === CLAIMS_FOLDER ||
    execution.name === WEBHOOKS_FOLDER
  ) {
    return { deleted: 0, left: [] };
  }
  const keys = await listKeys(s3, config.bucket, `${config.workPrefix}${execution.name}/`);
  const left = await deleteKeys(s3, config.bucket, keys);
  return { deleted: keys.length - left.length, left };
}

/**
 * After a failure, the transcript at AssemblyAI (if a job was created) is deleted too, so a
 * failed run leaves no copy behind either. Best effort: a job still processing (a timed-out run)
 * may refuse; the caller logs and counts that.
 */
export async function discardProviderCopy(
  event: RecordFailureEvent,
  deps: {
    s3: S3Client;
    config: WorkflowConfig;
    provider: Pick<TranscriptionProvider, 'delete' | 'findSubmitted'>;
  },
): Promise<'deleted' | 'none'> {
  const id = await jobOfExecution(event.state, event.execution, deps);
  if (id === undefined) return 'none';
  await deps.provider.delete(id);
  return 'deleted';
}
