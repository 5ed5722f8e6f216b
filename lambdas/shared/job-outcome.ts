/**
 * What an AssemblyAI answer about a job means for the workflow, in one place for the two steps
 * that read it: "Check transcript status" (poll mode) and receive-webhook (webhook mode, answering
 * Submit's task token). A finished transcript is stored in S3, never passed in the state.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { classifyJobError, DELETED_AUDIO_URL, type ProviderJob } from './assemblyai.js';
import type { WorkflowConfig } from './config.js';
import { ProviderUnavailable, TranscriptionFailed } from './errors.js';
import { putBytes } from './storage.js';
import {
  type ExecutionRef,
  type ProviderStatus,
  TRANSCRIPT_OBJECT,
  type TranscriptJob,
  workKey,
} from './workflow-state.js';

export type CheckedTranscript = ProviderJob & { status: ProviderStatus };

const STATUSES: ReadonlySet<string> = new Set<ProviderStatus>(['queued', 'processing', 'completed', 'error']);

/** What AssemblyAI leaves of a deleted transcript (its `audio_url` and `text` are replaced). */
export function isDeletedTranscript(transcript: Pick<ProviderJob, 'audio_url' | 'text'>): boolean {
  return transcript.audio_url === DELETED_AUDIO_URL || transcript.text === 'Deleted by user.';
}

/**
 * The answer as a transcript of this job, or a typed error: "Transcript ready?" reads
 * `$.transcript.status`, and a Choice whose path is missing fails with States.Runtime, which no
 * Catch handles. So an answer without a known status, for another id, or not an object at all
 * (`{}`, a JSON string, a proxy's page) never leaves this step.
 */
export function checkedAnswer(answer: unknown, id: string): CheckedTranscript {
  const transcript = answer as ProviderJob | null;
  if (typeof transcript !== 'object' || transcript === null || Array.isArray(transcript)) {
    throw new ProviderUnavailable('AssemblyAI answered with something that is not a transcript');
  }
  if (typeof transcript.status !== 'string' || !STATUSES.has(transcript.status)) {
    throw new ProviderUnavailable('AssemblyAI answered with a transcript without a known status');
  }
  if (transcript.id !== id) throw new ProviderUnavailable('AssemblyAI answered with another transcript');
  return transcript as CheckedTranscript;
}

export const isFinal = (transcript: CheckedTranscript): boolean =>
  transcript.status === 'completed' || transcript.status === 'error';

/**
 * What a final answer means for the job, shared with receive-webhook (which answers Submit's task
 * with it): a completed transcript is stored in S3 and the job gets its key; a failed one gets its
 * classified error; a deleted one fails. Undefined while the job is still queued or processing.
 *
 * The transcript is stored as the bytes AssemblyAI sent (`body`), never parsed nor serialized
 * again here: so the object under TRANSCRIPT_OBJECT is AssemblyAI's whole answer (Format reads the
 * fields it needs), minus its `audio_url`, which the provider blanks out.
 */
export async function concludeJob(
  job: TranscriptJob,
  execution: ExecutionRef,
  transcript: CheckedTranscript,
  deps: { s3: S3Client; config: WorkflowConfig },
): Promise<TranscriptJob | undefined> {
  const checked: TranscriptJob = { ...job, checks: job.checks + 1, status: transcript.status };
  if (isDeletedTranscript(transcript)) {
    // Someone (or a sweeper) deleted the job before this execution stored it: its text is gone.
    throw new TranscriptionFailed('The transcript was deleted at AssemblyAI before it could be stored');
  }
  if (transcript.status === 'completed') {
    if (!(transcript.body instanceof Uint8Array)) {
      throw new ProviderUnavailable('AssemblyAI answered "completed" without the transcript');
    }
    const key = workKey(deps.config.workPrefix, execution, TRANSCRIPT_OBJECT);
    await putBytes(deps.s3, deps.config.bucket, key, transcript.body);
    return { ...checked, transcript_key: key, wait_seconds: 0 };
  }
  if (transcript.status === 'error') {
    const error = classifyJobError(transcript.error);
    return { ...checked, error: { type: error.name, message: error.message }, wait_seconds: 0 };
  }
  return undefined;
}
