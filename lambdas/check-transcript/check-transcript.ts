/**
 * Step 4, "Check transcript status": one status read per loop — or, inside AssemblyAI's published
 * turnaround window, a read every second for up to ASSEMBLYAI_CHECK_HOLD_SECONDS (a second of this
 * Lambda costs a tenth of a loop's transitions). A finished transcript is stored in S3 (the state
 * only gets its key); a failed job is classified for the bot; past the deadline the loop ends with
 * TranscriptionTimedOut. The hold and the next wait come from the wait policy.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { capProviderText, type TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import { resultKey, type TranscriptionResult, tellsEndOf, transcribesAudio } from '../shared/contracts.js';
import { TranscriptionTimedOut } from '../shared/errors.js';
import {
  type CheckedTranscript,
  checkedAnswer,
  concludeJob,
  isDeletedTranscript,
  isFinal,
} from '../shared/job-outcome.js';
import { getJsonIfExists } from '../shared/storage.js';
import {
  HOLD_POLL_INTERVAL_SECONDS,
  holdSecondsAt,
  nextWaitSeconds,
  type PollMoment,
  plannedAudioSeconds,
} from '../shared/wait-policy.js';
import type { FollowedExecution, SubmittedState, TranscriptJob } from '../shared/workflow-state.js';

export interface CheckDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  now?: () => Date;
  /** How the hold sleeps between two reads (tests pass one that advances their clock). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The Lambda's remaining time (`context.getRemainingTimeInMillis`). Without it Check never
   * holds: a hold must always end while there is still time to store a completed transcript.
   */
  remainingMs?: () => number;
}

/**
 * Lambda time a hold always leaves for the last status read (its client timeout is on top) and
 * for storing a ten-hour transcript (~19 MB: a streaming read of its routing fields, about 1 s of
 * one core in scripts/bench/transcript-memory.ts, then one PutObject): the hold ends this long
 * plus ASSEMBLYAI_TIMEOUT_MS before the Lambda's own timeout.
 */
export const HOLD_RESERVE_MS = 20_000;

/** Past the deadline: the loop ends with a typed error (and a failed result for the bot). */
function timedOut(job: TranscriptJob, status: string, at: Date): TranscriptionTimedOut {
  const minutes = Math.round((at.getTime() - new Date(job.submitted_at).getTime()) / 60_000);
  return new TranscriptionTimedOut(
    `The transcription did not finish in time (${minutes} min, status "${status}"); please try again later`,
  );
}

function pollMoment(state: SubmittedState, config: WorkflowConfig, at: Date): PollMoment {
  const job = state.transcript;
  return {
    audioSeconds: plannedAudioSeconds(state.audio, config.maxAudioSeconds),
    submittedAt: new Date(job.submitted_at),
    deadline: new Date(job.deadline_at),
    now: at,
  };
}

function nextWait(state: SubmittedState, config: WorkflowConfig, at: Date): number {
  return nextWaitSeconds(pollMoment(state, config, at), config.poll);
}

/**
 * Reads the job again every HOLD_POLL_INTERVAL_SECONDS while the wait policy allows a hold and the
 * Lambda has time to spare; returns the last answer (final, or still running when the hold ends).
 * Bounded by a number of reads as well as by the clock, so a frozen test clock cannot spin it.
 */
async function hold(
  state: SubmittedState,
  deps: CheckDeps,
  first: CheckedTranscript,
): Promise<CheckedTranscript> {
  const { provider, config, remainingMs } = deps;
  if (!remainingMs || isFinal(first)) return first;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const job = state.transcript;
  const started = now().getTime();
  const reserveMs = HOLD_RESERVE_MS + config.assemblyai.timeoutMs;
  const holdMs = Math.min(
    holdSecondsAt(pollMoment(state, config, new Date(started)), config.poll) * 1000,
    remainingMs() - reserveMs,
  );
  const intervalMs = HOLD_POLL_INTERVAL_SECONDS * 1000;
  let transcript = first;
  for (let read = 1; read <= Math.ceil(holdMs / intervalMs); read += 1) {
    const left = started + holdMs - now().getTime();
    if (left <= 0 || remainingMs() - reserveMs <= 0) break;
    await sleep(Math.min(intervalMs, left));
    transcript = checkedAnswer(await provider.get(job.id), job.id);
    if (isFinal(transcript) || isDeletedTranscript(transcript)) break;
  }
  return transcript;
}

/**
 * An execution following another one's transcription of the same audio (see Submit's file claim)
 * reads the file's result instead of AssemblyAI: a completed result of this audio, whoever wrote
 * it, ends the run through "Transcript ready?" without a job of its own; a failure of the followed
 * execution is this one's too (a new request then transcribes afresh).
 */
async function checkFollowed(state: SubmittedState, deps: CheckDeps): Promise<TranscriptJob> {
  const { s3, config } = deps;
  const job = state.transcript;
  const follows = job.follows as FollowedExecution;
  const checked: TranscriptJob = { ...job, checks: job.checks + 1 };
  const key = resultKey(config.resultsPrefix, state.request.user_id, state.request.file_id);
  const result = await getJsonIfExists<TranscriptionResult>(s3, config.bucket, key);
  if (result && transcribesAudio(result, state.request.s3_key, state.audio.etag)) {
    const existing_result = { key, execution_arn: result.metadata.execution_arn };
    return { ...checked, status: 'completed', existing_result, wait_seconds: 0 };
  }
  if (result?.status === 'failed' && tellsEndOf(result, follows.execution_arn)) {
    const error = { type: result.error.type, message: capProviderText(result.error.message) };
    return { ...checked, status: 'error', error, wait_seconds: 0 };
  }
  const at = deps.now?.() ?? new Date();
  if (at >= new Date(job.deadline_at)) throw timedOut(job, 'waiting for another request', at);
  return { ...checked, wait_seconds: nextWait(state, config, at) };
}

export async function checkTranscript(state: SubmittedState, deps: CheckDeps): Promise<TranscriptJob> {
  const { provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const job = state.transcript;
  if (job.follows) return checkFollowed(state, deps);
  const transcript = await hold(state, deps, checkedAnswer(await provider.get(job.id), job.id));
  const concluded = await concludeJob(job, state.execution, transcript, deps);
  if (concluded) return concluded;

  const at = now();
  if (at >= new Date(job.deadline_at)) throw timedOut(job, transcript.status, at);
  return {
    ...job,
    checks: job.checks + 1,
    status: transcript.status,
    wait_seconds: nextWait(state, config, at),
  };
}
