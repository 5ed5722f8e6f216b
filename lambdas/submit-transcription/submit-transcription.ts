/**
 * Step 2, "Submit to AssemblyAI": creates the transcript job from a presigned GET URL, so no audio
 * passes through Lambda. Idempotent per execution: the job id is recorded under the execution's
 * work prefix, and a retried or re-run Submit returns that job instead of paying for a second one.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { getJsonIfExists, putJson } from '../shared/storage.js';
import { nextWaitSeconds, pollDeadline } from '../shared/wait-policy.js';
import {
  SUBMISSION_RECORD,
  type TranscriptJob,
  type ValidatedState,
  workKey,
} from '../shared/workflow-state.js';

export interface SubmitDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  now?: () => Date;
}

/** What is recorded per execution before the job id is returned to the state machine. */
interface SubmissionRecord {
  transcript_id: string;
  submitted_at: string;
}

export async function submitTranscription(state: ValidatedState, deps: SubmitDeps): Promise<TranscriptJob> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const recordKey = workKey(config.workPrefix, state.execution, SUBMISSION_RECORD);

  let record = await getJsonIfExists<SubmissionRecord>(s3, config.bucket, recordKey);
  if (!record) {
    const audioUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: config.bucket, Key: state.request.s3_key }),
      { expiresIn: config.presignedUrlTtlSeconds },
    );
    const job = await provider.submit({
      audioUrl,
      languageCode: state.request.language_code,
      speakersExpected: state.request.speakers_expected,
    });
    record = { transcript_id: job.id, submitted_at: now().toISOString() };
    await putJson(s3, config.bucket, recordKey, record);
  }

  const submittedAt = new Date(record.submitted_at);
  const deadline = pollDeadline(submittedAt, state.audio.duration_seconds, config.poll);
  return {
    id: record.transcript_id,
    status: 'queued',
    submitted_at: record.submitted_at,
    deadline_at: deadline.toISOString(),
    checks: 0,
    wait_seconds: nextWaitSeconds(
      { audioSeconds: state.audio.duration_seconds, submittedAt, deadline, now: now() },
      config.poll,
    ),
  };
}
