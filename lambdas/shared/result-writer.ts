/**
 * The one way a result object is written. Persist result, Record failure and the execution
 * finalizer all race for `results/{user_id}/{file_id}.json`; a read-then-write lets a late failure
 * overwrite a completed transcript. Every write here is an S3 conditional request — create only
 * if absent (`If-None-Match: *`), replace only the object that was read (`If-Match`) — and a lost
 * race re-reads and decides again.
 *
 * Who may replace what (README, "Reliability"):
 * - nothing there, or a failed result: any outcome is written;
 * - a result of this same execution: a retry; a completed one stands, a failure never replaces it;
 * - a completed result of another execution: replaced when this run is forced (a deliberate
 *   re-transcription owns the key, success or failure) or is about other audio (another `s3_key`
 *   or another object at it); kept when it transcribes this very audio, so a duplicate execution
 *   that fails cannot destroy a good transcript.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { RESULT_CONTENT_TYPE, type TranscriptionResult } from './contracts.js';
import { StorageUnavailable } from './errors.js';
import { getJsonWithEtag, putJsonIfAbsent, putJsonIfMatch } from './storage.js';

/** What a run knows about itself when it writes its outcome. */
export interface ResultWriter {
  execution_arn: string;
  /** The input's key, when the input had a valid one. */
  s3_key?: string;
  /** ETag of the audio object Validate inspected, when it got that far. */
  audio_etag?: string;
  force?: boolean;
}

export type ResultWrite =
  | { written: true }
  | { written: false; kept: 'completed-of-this-audio' | 'completed-of-this-execution' };

/** Re-reads after a lost race; more than this many writers at once means something else is wrong. */
const MAX_ATTEMPTS = 4;

/** Whether `existing` transcribes the audio this run is about; `unknown` for results older than `s3_key`. */
function sameAudio(existing: TranscriptionResult, writer: ResultWriter): boolean | 'unknown' {
  const meta = (existing.metadata ?? {}) as { s3_key?: unknown; audio_etag?: unknown };
  if (typeof meta.s3_key !== 'string') return 'unknown';
  if (writer.s3_key === undefined || meta.s3_key !== writer.s3_key) return false;
  // Without both ETags the object cannot be told apart: same key counts as same audio, so a run
  // that could not even see its audio (AudioNotFound) never destroys the transcript of that key.
  return writer.audio_etag === undefined || meta.audio_etag == null || meta.audio_etag === writer.audio_etag;
}

/** Why `existing` must stay, or undefined when `result` may replace it. */
export function keepReason(
  existing: TranscriptionResult,
  result: Pick<TranscriptionResult, 'status'>,
  writer: ResultWriter,
): Exclude<ResultWrite, { written: true }>['kept'] | undefined {
  if (existing.status !== 'completed') return undefined;
  if (existing.metadata?.execution_arn === writer.execution_arn) {
    return result.status === 'completed' ? undefined : 'completed-of-this-execution';
  }
  if (writer.force) return undefined;
  const same = sameAudio(existing, writer);
  // A result written before results named their audio: a new transcript replaces it, a failure does not.
  if (same === 'unknown') return result.status === 'completed' ? undefined : 'completed-of-this-audio';
  return same ? 'completed-of-this-audio' : undefined;
}

export async function writeResult(
  s3: S3Client,
  bucket: string,
  key: string,
  result: TranscriptionResult,
  writer: ResultWriter,
): Promise<ResultWrite> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const existing = await getJsonWithEtag<TranscriptionResult>(s3, bucket, key);
    if (existing) {
      const kept = keepReason(existing.value, result, writer);
      if (kept) return { written: false, kept };
    }
    const write = existing
      ? await putJsonIfMatch(s3, bucket, key, result, existing.etag, RESULT_CONTENT_TYPE)
      : await putJsonIfAbsent(s3, bucket, key, result, RESULT_CONTENT_TYPE);
    if (write.written) return { written: true };
  }
  throw new StorageUnavailable('Storage is busy with other writes of this result; please try again later');
}
