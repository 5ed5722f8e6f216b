/**
 * Step 4, "Check transcript status": one status read per loop. A finished transcript is stored in
 * S3 (the state only gets its key); a failed job is classified for the bot; past the deadline the
 * loop ends with TranscriptionTimedOut. The next wait comes from the wait policy.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { classifyJobError, type TranscriptionProvider, toStoredTranscript } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { TranscriptionTimedOut } from '../shared/errors.js';
import { putJson } from '../shared/storage.js';
import { nextWaitSeconds, plannedAudioSeconds } from '../shared/wait-policy.js';
import {
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

export async function checkTranscript(state: SubmittedState, deps: CheckDeps): Promise<TranscriptJob> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const job = state.transcript;
  const transcript = await provider.get(job.id);
  const checked: TranscriptJob = { ...job, checks: job.checks + 1, status: transcript.status };

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
