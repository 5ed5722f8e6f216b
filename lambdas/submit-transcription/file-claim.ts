/**
 * One job per file, however many executions the bot starts for it. Execution names make a retried
 * StartExecution idempotent, but a bot that does not reuse the name (a restart, two webhook
 * deliveries) starts a second execution for the same voice message while the first is still
 * transcribing; "Already transcribed?" cannot see a result that does not exist yet.
 *
 * So Submit claims the file before it pays AssemblyAI: `work/claims/{user_id}/{file_id}.json`,
 * created with `If-None-Match: *`, taken over with `If-Match` on the ETag it read — S3's atomic
 * conditional writes, so exactly one of any number of racing executions holds the claim.
 * Another execution of the same audio (same `s3_key`, same object) that finds a live claim
 * follows the holder: it creates no job and waits for the holder's result.
 *
 * A claim is live while its holder has written no result and is within its poll deadline plus
 * `FINISH_ALLOWANCE_SECONDS`. Every execution ends with a result (Record failure, or the finalizer
 * for timed-out and aborted ones), so a claim is never released explicitly: a holder that failed
 * leaves a failed result, and the next execution takes the claim over and transcribes. The
 * deadline only matters when even the finalizer could not write; claims expire with `work/`.
 *
 * Written here rather than with a lock library: the lock is one S3 object with S3's own
 * preconditions, which the result writer already relies on; a DynamoDB lock table would add a
 * second store for the same guarantee.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { WorkflowConfig } from '../shared/config.js';
import { resultKey, type TranscriptionResult, tellsEndOf } from '../shared/contracts.js';
import { StorageUnavailable } from '../shared/errors.js';
import { getJsonIfExists, getJsonWithEtag, putJsonIfAbsent, putJsonIfMatch } from '../shared/storage.js';
import { plannedAudioSeconds, pollDeadline } from '../shared/wait-policy.js';
import { claimKey, type FollowedExecution, type ValidatedState } from '../shared/workflow-state.js';

/** How long after its poll deadline a holder may still be formatting and persisting. */
export const FINISH_ALLOWANCE_SECONDS = 30 * 60;

export interface FileClaim {
  execution_arn: string;
  execution_name: string;
  s3_key: string;
  audio_etag: string | null;
  claimed_at: string;
  /** Past this instant, a claim whose holder wrote no result is taken over. */
  live_until: string;
}

export type ClaimOutcome = { holds: true } | { holds: false; follows: FollowedExecution };

/** Lost races re-read the claim; one per competing writer is plenty. */
const MAX_ATTEMPTS = 4;

function claimOf(state: ValidatedState, config: WorkflowConfig, now: Date): FileClaim {
  const audioSeconds = plannedAudioSeconds(state.audio, config.maxAudioSeconds);
  const deadline = pollDeadline(now, audioSeconds, config.poll);
  return {
    execution_arn: state.execution.arn,
    execution_name: state.execution.name,
    s3_key: state.request.s3_key,
    audio_etag: state.audio.etag ?? null,
    claimed_at: now.toISOString(),
    live_until: new Date(deadline.getTime() + FINISH_ALLOWANCE_SECONDS * 1000).toISOString(),
  };
}

/** Whether `claim`'s holder is transcribing the same audio as `state`, and may still be at it. */
async function isLiveClaimOfSameAudio(
  s3: S3Client,
  config: WorkflowConfig,
  claim: FileClaim,
  state: ValidatedState,
  now: Date,
): Promise<boolean> {
  const sameAudio =
    claim.s3_key === state.request.s3_key &&
    claim.audio_etag !== null &&
    claim.audio_etag === (state.audio.etag ?? null);
  if (!sameAudio || !(Date.parse(claim.live_until) > now.getTime())) return false;
  const { user_id, file_id } = state.request;
  const result = await getJsonIfExists<TranscriptionResult>(
    s3,
    config.bucket,
    resultKey(config.resultsPrefix, user_id, file_id),
  );
  // A holder that has ended left its result (or a follower shared its failure): a completed one of
  // this audio is worth following (Check reuses it at once); a failed one hands the file over.
  if (!tellsEndOf(result, claim.execution_arn)) return true;
  return result?.status === 'completed';
}

/**
 * Takes the file's claim for this execution, or names the execution to follow. A forced run always
 * takes the claim (a deliberate re-transcription does not wait for an older one).
 */
export async function claimFile(
  s3: S3Client,
  config: WorkflowConfig,
  state: ValidatedState,
  now: Date,
): Promise<ClaimOutcome> {
  const key = claimKey(config.workPrefix, state.request.user_id, state.request.file_id);
  const mine = claimOf(state, config, now);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const existing = await getJsonWithEtag<FileClaim>(s3, config.bucket, key);
    if (existing?.value.execution_arn === state.execution.arn) return { holds: true };
    if (
      existing &&
      !state.request.force &&
      (await isLiveClaimOfSameAudio(s3, config, existing.value, state, now))
    ) {
      return {
        holds: false,
        follows: {
          execution_arn: existing.value.execution_arn,
          execution_name: existing.value.execution_name,
        },
      };
    }
    const write = existing
      ? await putJsonIfMatch(s3, config.bucket, key, mine, existing.etag)
      : await putJsonIfAbsent(s3, config.bucket, key, mine);
    if (write.written) return { holds: true };
  }
  throw new StorageUnavailable('Storage is busy with other claims of this file; please try again later');
}
