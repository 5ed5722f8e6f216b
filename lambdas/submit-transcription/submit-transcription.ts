/**
 * Step 2, "Submit to AssemblyAI": creates the transcript job from a presigned GET URL, so no audio
 * passes through Lambda.
 *
 * Idempotent per execution, so a Step Functions retry never pays AssemblyAI twice. A record under
 * the execution's work prefix is written *before* the call (`submitting_since`) and completed
 * after it (`transcript_id`). A retry that finds a completed record reuses the job; one that finds
 * only the marker — the earlier attempt died or lost the answer after the request left — looks
 * the job up among AssemblyAI's recent transcripts by the digest of the exact audio URL it sent,
 * once that request can no longer be creating the job (ASSEMBLYAI_SUBMIT_SETTLE_MS).
 * Before a first submission the execution claims the file (`file-claim.ts`): when another
 * execution is already transcribing the same audio, this one submits nothing and follows it.
 * Chosen over Powertools Idempotency, which needs a DynamoDB table for the same guarantee and
 * cannot recover a job whose answer was lost (AssemblyAI has no idempotency key: the job exists
 * once the POST arrives, whatever happens to the answer).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  audioUrlDigest,
  type SubmittedJob,
  type TranscriptionProvider,
  type WebhookTarget,
} from '../shared/assemblyai.js';
import { redactionOf, type WorkflowConfig } from '../shared/config.js';
import {
  AUDIO_CHANGED_MESSAGE,
  AudioChanged,
  AudioNotFound,
  SubmissionPending,
  type TranscriptionError,
} from '../shared/errors.js';
import { checkedAnswer, concludeJob } from '../shared/job-outcome.js';
import { getJsonIfExists, headObject, isPreconditionFailed, putJson } from '../shared/storage.js';
import type { TaskCallbacks } from '../shared/task-callbacks.js';
import { nextWaitSeconds, plannedAudioSeconds, pollDeadline } from '../shared/wait-policy.js';
import {
  type FollowedExecution,
  SUBMISSION_RECORD,
  type TranscriptJob,
  type ValidatedState,
  type WebhookRecord,
  webhookRecordKey,
  workKey,
} from '../shared/workflow-state.js';
import { type AudioUrlSigner, signerOfClient } from './audio-url-signer.js';
import { claimFile } from './file-claim.js';

export interface SubmitDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  /** Signs the audio URL with credentials that outlive it. @default the S3 client's own credentials */
  signer?: AudioUrlSigner;
  now?: () => Date;
}

/** Recorded per execution: the marker before the provider call, then the job. */
interface SubmissionRecord {
  submitting_since?: string;
  /** SHA-256 of the presigned URL sent as `audio_url`: unique to this attempt (see `signAudioUrl`). */
  audio_url_sha256?: string;
  transcript_id?: string;
  submitted_at?: string;
}

/**
 * How long AssemblyAI may take to start downloading: until the poll deadline (a job still queued
 * then is abandoned anyway), capped by PRESIGNED_URL_TTL_SECONDS. A 10 s voice message gets
 * about 15 minutes, not the cap. The signer may shorten it to what its credentials allow.
 */
export function presignedUrlLifetime(state: ValidatedState, config: WorkflowConfig, now: Date): number {
  const deadline = pollDeadline(now, plannedAudioSeconds(state.audio, config.maxAudioSeconds), config.poll);
  const untilDeadline = Math.ceil((deadline.getTime() - now.getTime()) / 1000);
  return Math.max(1, Math.min(config.presignedUrlTtlSeconds, untilDeadline));
}

/**
 * The presigned GET URL AssemblyAI downloads from. It names the execution in a signed
 * `response-content-disposition`, so two executions signing the same key in the same second still
 * get different URLs: the lost-answer lookup, which matches the URL's digest, then never adopts
 * another execution's job.
 */
async function signAudioUrl(
  signer: AudioUrlSigner,
  state: ValidatedState,
  config: WorkflowConfig,
  now: Date,
): Promise<string> {
  const extension = /\.[A-Za-z0-9]{1,8}$/.exec(state.request.s3_key)?.[0] ?? '';
  const signed = await signer.sign(
    {
      bucket: config.bucket,
      key: state.request.s3_key,
      contentDisposition: `inline; filename="${state.execution.name}${extension}"`,
    },
    presignedUrlLifetime(state, config, now),
  );
  return signed.url;
}

/**
 * The object at `s3_key` is still the one Validate inspected (its ETag, `If-Match`): an upload
 * replaced after the checks is not sent under their verdict. What remains is the time between this
 * HEAD and AssemblyAI's download; closing it needs bucket versioning (a presigned `versionId`),
 * which the stack leaves off because it would keep deleted transcripts as noncurrent versions.
 */
async function assertAudioUnchanged(s3: S3Client, state: ValidatedState, config: WorkflowConfig) {
  const etag = state.audio.etag;
  if (!etag) return;
  try {
    const head = await headObject(s3, config.bucket, state.request.s3_key, { ifMatch: etag });
    if (!head) throw new AudioNotFound('The audio file was not found in storage');
  } catch (error) {
    if (isPreconditionFailed(error)) throw new AudioChanged(AUDIO_CHANGED_MESSAGE);
    throw error;
  }
}

/** The job an interrupted earlier attempt created, if the marker allows knowing it. */
async function jobOfEarlierAttempt(
  marker: SubmissionRecord,
  provider: TranscriptionProvider,
  config: WorkflowConfig,
  now: Date,
): Promise<SubmittedJob | undefined> {
  const since = marker.submitting_since ? Date.parse(marker.submitting_since) : Number.NaN;
  if (!marker.audio_url_sha256 || Number.isNaN(since)) return undefined;
  // After the client timeout an earlier request may still be turning into a job at AssemblyAI (a
  // slow answer means the job was created; its list may not show it yet): until the marker is
  // older than both, a retry neither looks up nor submits.
  const settled = since + config.assemblyai.timeoutMs + config.assemblyai.submitSettleMs;
  if (now.getTime() < settled) {
    throw new SubmissionPending(
      `An earlier submission may still be creating the job; looking it up after ${new Date(settled).toISOString()}`,
    );
  }
  return provider.findSubmitted(marker.audio_url_sha256, new Date(since));
}

/**
 * The poll loop's starting state: the deadline and first wait from the submission time. An
 * execution that follows another one's transcription (see `claimFile`) has no job of its own
 * (`id` empty) and gets the same deadline and waits as one submitted now.
 */
function queuedJob(
  state: ValidatedState,
  config: WorkflowConfig,
  job: { id: string; submitted_at: string; follows?: FollowedExecution },
  now: Date,
): TranscriptJob {
  const submittedAt = new Date(job.submitted_at);
  const audioSeconds = plannedAudioSeconds(state.audio, config.maxAudioSeconds);
  const deadline = pollDeadline(submittedAt, audioSeconds, config.poll);
  return {
    ...job,
    status: 'queued',
    deadline_at: deadline.toISOString(),
    checks: 0,
    wait_seconds: nextWaitSeconds({ audioSeconds, submittedAt, deadline, now }, config.poll),
  };
}

export async function submitTranscription(state: ValidatedState, deps: SubmitDeps): Promise<TranscriptJob> {
  return (await submitOrAdopt(state, deps)).job;
}

/** The job this execution waits for, and whether this very attempt created it. */
async function submitOrAdopt(
  state: ValidatedState,
  deps: SubmitDeps,
  webhook?: WebhookTarget,
): Promise<{ job: TranscriptJob; fresh: boolean }> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const recordKey = workKey(config.workPrefix, state.execution, SUBMISSION_RECORD);

  const found = await getJsonIfExists<SubmissionRecord>(s3, config.bucket, recordKey);
  let record: Required<Pick<SubmissionRecord, 'transcript_id' | 'submitted_at'>>;
  let fresh = false;
  if (found?.transcript_id && found.submitted_at) {
    record = { transcript_id: found.transcript_id, submitted_at: found.submitted_at };
  } else {
    let job = found ? await jobOfEarlierAttempt(found, provider, config, now()) : undefined;
    // An attempt that may have created a job (a marker) owns the file whatever the claim says now.
    if (!job && !found?.audio_url_sha256) {
      const claim = await claimFile(s3, config, state, now());
      if (!claim.holds) {
        const at = now();
        const job = queuedJob(
          state,
          config,
          { id: '', submitted_at: at.toISOString(), follows: claim.follows },
          at,
        );
        return { job, fresh: false };
      }
    }
    if (!job) {
      await assertAudioUnchanged(s3, state, config);
      const audioUrl = await signAudioUrl(deps.signer ?? signerOfClient(s3), state, config, now());
      await putJson(s3, config.bucket, recordKey, {
        submitting_since: now().toISOString(),
        audio_url_sha256: audioUrlDigest(audioUrl),
      } satisfies SubmissionRecord);
      try {
        job = await provider.submit({
          audioUrl,
          languageCode: state.request.language_code,
          speakersExpected: state.request.speakers_expected,
          speakersRange:
            state.request.speakers_min !== undefined || state.request.speakers_max !== undefined
              ? { min: state.request.speakers_min, max: state.request.speakers_max }
              : undefined,
          keyterms: state.request.keyterms,
          redactPii: redactionOf(state.request, config),
          webhook,
        });
        fresh = true;
      } catch (error) {
        // An HTTP error answer (429, 4xx, 5xx) means this request created no job: the retry may
        // submit at once. Timeouts, dropped connections and a 200 that is not a transcript leave
        // the marker, so the retry waits out the settle window and looks first.
        if ((error as TranscriptionError).httpStatus !== undefined) {
          await putJson(s3, config.bucket, recordKey, {} satisfies SubmissionRecord).catch(() => undefined);
        }
        throw error;
      }
    }
    record = { transcript_id: job.id, submitted_at: now().toISOString() };
    // If this write fails the marker (with the URL's digest) is still there: the retry finds
    // this job by looking it up, and if every retry fails Record failure finds and deletes it.
    await putJson(s3, config.bucket, recordKey, record);
  }

  const job = queuedJob(
    state,
    config,
    { id: record.transcript_id, submitted_at: record.submitted_at },
    now(),
  );
  return { job, fresh };
}

export interface WebhookSubmitDeps extends SubmitDeps {
  tasks: TaskCallbacks;
  webhook: WebhookTarget;
}

/**
 * Webhook mode, "Submit, then wait for AssemblyAI's webhook" (a `.waitForTaskToken` task): submits
 * as above with `webhook_url`, then leaves the task token where receive-webhook finds it by
 * transcript id. The task resumes when the receiver answers it; this Lambda's own result is
 * ignored by Step Functions. Answers the token itself when there is nothing to wait for: an
 * execution that follows another one's transcription (it goes on to the poll loop), and a job an
 * earlier attempt created that has already ended (its webhook may have come before this token
 * existed). A webhook that arrives between the submission and the record is answered 5xx by the
 * receiver, so AssemblyAI delivers it again.
 */
export async function submitAndAwaitWebhook(
  state: ValidatedState,
  taskToken: string,
  deps: WebhookSubmitDeps,
): Promise<TranscriptJob> {
  const { s3, provider, config, tasks } = deps;
  const { job, fresh } = await submitOrAdopt(state, deps, deps.webhook);
  if (!job.id) {
    await tasks.succeed(taskToken, job);
    return job;
  }
  await putJson(s3, config.bucket, webhookRecordKey(config.workPrefix, job.id), {
    task_token: taskToken,
    execution: state.execution,
    job,
  } satisfies WebhookRecord);
  if (!fresh) {
    const concluded = await concludeJob(
      job,
      state.execution,
      checkedAnswer(await provider.get(job.id), job.id),
      {
        s3,
        config,
      },
    );
    if (concluded) await tasks.succeed(taskToken, concluded);
  }
  return job;
}
