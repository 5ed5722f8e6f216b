/**
 * Step 4, "Check transcript status": one status read per loop. A finished transcript is stored in
 * S3 (the state only gets its key); a failed job is classified for the bot; past the deadline the
 * loop ends with TranscriptionTimedOut. The next wait comes from the wait policy.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  classifyJobError,
  type ProviderTranscript,
  type TranscriptionProvider,
  toStoredTranscript,
} from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { ProviderUnavailable, TranscriptionFailed, TranscriptionTimedOut } from '../shared/errors.js';
import { putJson } from '../shared/storage.js';
import { nextWaitSeconds, plannedAudioSeconds } from '../shared/wait-policy.js';
import {
  type ProviderStatus,
  type SubmittedState,
  TRANSCRIPT_OBJECT,
  type TranscriptJob,
  workKey,
} from '../shared/workflow-state.js';

export interface CheckDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  now?: () => Date;
}

const STATUSES: ReadonlySet<string> = new Set<ProviderStatus>(['queued', 'processing', 'completed', 'error']);

/** What AssemblyAI leaves of a deleted transcript (its `audio_url` and `text` are replaced). */
export function isDeletedTranscript(transcript: Pick<ProviderTranscript, 'audio_url' | 'text'>): boolean {
  return transcript.audio_url === 'http://deleted_by_user' || transcript.text === 'Deleted by user.';
}

/**
 * The answer as a transcript of this job, or a typed error: "Transcript ready?" reads
 * `$.transcript.status`, and a Choice whose path is missing fails with States.Runtime, which no
 * Catch handles. So an answer without a known status, for another id, or not an object at all
 * (`{}`, a JSON string, a proxy's page) never leaves this step.
 */
function checkedAnswer(answer: unknown, id: string): ProviderTranscript & { status: ProviderStatus } {
  const transcript = answer as Partial<ProviderTranscript> | null;
  if (typeof transcript !== 'object' || transcript === null || Array.isArray(transcript)) {
    throw new ProviderUnavailable('AssemblyAI answered with something that is not a transcript');
  }
  if (typeof transcript.status !== 'string' || !STATUSES.has(transcript.status)) {
    throw new ProviderUnavailable('AssemblyAI answered with a transcript without a known status');
  }
  if (transcript.id !== id) throw new ProviderUnavailable('AssemblyAI answered with another transcript');
  return transcript as ProviderTranscript & { status: ProviderStatus };
}

export async function checkTranscript(state: SubmittedState, deps: CheckDeps): Promise<TranscriptJob> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const job = state.transcript;
  const transcript = checkedAnswer(await provider.get(job.id), job.id);
  const checked: TranscriptJob = { ...job, checks: job.checks + 1, status: transcript.status };

  if (isDeletedTranscript(transcript)) {
    // Someone (or a sweeper) deleted the job before this execution stored it: its text is gone.
    throw new TranscriptionFailed('The transcript was deleted at AssemblyAI before it could be stored');
  }

  if (transcript.status === 'completed') {
    const key = workKey(config.workPrefix, state.execution, TRANSCRIPT_OBJECT);
    await putJson(s3, config.bucket, key, toStoredTranscript(transcript));
    return { ...checked, transcript_key: key, wait_seconds: 0 };
  }

  if (transcript.status === 'error') {
    const error = classifyJobError(transcript.error);
    return { ...checked, error: { type: error.name, message: error.message }, wait_seconds: 0 };
  }

  const at = now();
  const deadline = new Date(job.deadline_at);
  if (at >= deadline) {
    const minutes = Math.round((at.getTime() - new Date(job.submitted_at).getTime()) / 60_000);
    throw new TranscriptionTimedOut(
      `The transcription did not finish in time (${minutes} min, status "${transcript.status}"); please try again later`,
    );
  }
  return {
    ...checked,
    wait_seconds: nextWaitSeconds(
      {
        audioSeconds: plannedAudioSeconds(state.audio, config.maxAudioSeconds),
        submittedAt: new Date(job.submitted_at),
        deadline,
        now: at,
      },
      config.poll,
    ),
  };
}
