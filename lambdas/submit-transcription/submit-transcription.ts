/**
 * Step 2, "Submit to AssemblyAI": creates the transcript job from a presigned GET URL, so no audio
 * passes through Lambda.
 *
 * Idempotent per execution, so a Step Functions retry never pays AssemblyAI twice. A record under
 * the execution's work prefix is written *before* the call (`submitting_since`) and completed
 * after it (`transcript_id`). A retry that finds a completed record reuses the job; one that finds
 * only the marker — the earlier attempt died or lost the answer after the request left — looks
 * the job up among AssemblyAI's recent transcripts by the audio's S3 key before submitting again.
 * Chosen over Powertools Idempotency, which needs a DynamoDB table for the same guarantee and
 * cannot recover a job whose answer was lost, and over S3 conditional writes, which the local
 * S3 emulators do not enforce (so the guarantee could not be tested here).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { getJsonIfExists, putJson } from '../shared/storage.js';
import { nextWaitSeconds, plannedAudioSeconds, pollDeadline } from '../shared/wait-policy.js';
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

/** Recorded per execution: the marker before the provider call, then the job. */
interface SubmissionRecord {
  submitting_since?: string;
  transcript_id?: string;
  submitted_at?: string;
}

/** Allowance for clock skew between Lambda and AssemblyAI when matching a job to the marker. */
const CLOCK_SKEW_MS = 5_000;

/**
 * How long AssemblyAI may take to start downloading: until the poll deadline (a job still queued
 * then is abandoned anyway), capped by PRESIGNED_URL_TTL_SECONDS. A 10 s voice message gets
 * about 15 minutes, not the cap.
 */
export function presignedUrlLifetime(state: ValidatedState, config: WorkflowConfig, now: Date): number {
  const deadline = pollDeadline(now, plannedAudioSeconds(state.audio, config.maxAudioSeconds), config.poll);
  const untilDeadline = Math.ceil((deadline.getTime() - now.getTime()) / 1000);
  return Math.max(1, Math.min(config.presignedUrlTtlSeconds, untilDeadline));
}

export async function submitTranscription(state: ValidatedState, deps: SubmitDeps): Promise<TranscriptJob> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const recordKey = workKey(config.workPrefix, state.execution, SUBMISSION_RECORD);

  const found = await getJsonIfExists<SubmissionRecord>(s3, config.bucket, recordKey);
  let record: Required<Pick<SubmissionRecord, 'transcript_id' | 'submitted_at'>>;
  if (found?.transcript_id && found.submitted_at) {
    record = { transcript_id: found.transcript_id, submitted_at: found.submitted_at };
  } else {
    const since = found?.submitting_since;
    let job = since
      ? await provider.findSubmitted(
          { bucket: config.bucket, key: state.request.s3_key },
          new Date(Date.parse(since) - CLOCK_SKEW_MS),
        )
      : undefined;
    if (!job) {
      await putJson(s3, config.bucket, recordKey, {
        submitting_since: now().toISOString(),
      } satisfies SubmissionRecord);
      const audioUrl = await getSignedUrl(
        s3,
        new GetObjectCommand({ Bucket: config.bucket, Key: state.request.s3_key }),
        { expiresIn: presignedUrlLifetime(state, config, now()) },
      );
      job = await provider.submit({
        audioUrl,
        languageCode: state.request.language_code,
        speakersExpected: state.request.speakers_expected,
      });
    }
    record = { transcript_id: job.id, submitted_at: now().toISOString() };
    await putJson(s3, config.bucket, recordKey, record);
  }

  const submittedAt = new Date(record.submitted_at);
  const audioSeconds = plannedAudioSeconds(state.audio, config.maxAudioSeconds);
  const deadline = pollDeadline(submittedAt, audioSeconds, config.poll);
  return {
    id: record.transcript_id,
    status: 'queued',
    submitted_at: record.submitted_at,
    deadline_at: deadline.toISOString(),
    checks: 0,
    wait_seconds: nextWaitSeconds({ audioSeconds, submittedAt, deadline, now: now() }, config.poll),
  };
}
