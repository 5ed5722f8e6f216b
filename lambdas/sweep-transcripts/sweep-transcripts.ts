/**
 * "Sweep transcripts": the backstop behind every path that deletes its AssemblyAI job (Persist
 * result, Record failure, Finalize execution). A job can still be left behind — a delete that
 * failed, a job whose submit answer was lost and never looked up, a job that was still processing
 * when its execution ended — and it keeps the user's transcript at AssemblyAI. On a schedule, this
 * reads the account's transcript list newest first and deletes the jobs whose audio URL points into
 * this deployment's bucket under its input prefix and that are older than a bound above the
 * longest an execution can run, so no job an execution still uses is ever touched. Jobs of other
 * buckets, prefixes or applications sharing the account are never touched either.
 */
import {
  DELETED_AUDIO_URL,
  isTranscriptId,
  parseProviderTime,
  type TranscriptionProvider,
  type TranscriptLister,
  type TranscriptListItem,
  urlPointsAtBucket,
} from '../shared/assemblyai.js';
import type { SweepSettings } from './sweep-settings.js';

export * from './sweep-settings.js';

/** Why a run stopped reading the list: the first two mean it saw everything in its window. */
export type SweepStop =
  | 'end-of-list'
  | 'lookback'
  | 'max-pages'
  | 'max-deletes'
  | 'time'
  | 'rate-limited'
  | 'list-failed';

/** Endings that left part of the window unread: the next run carries on. */
export const INCOMPLETE_STOPS: readonly SweepStop[] = [
  'max-pages',
  'max-deletes',
  'time',
  'rate-limited',
  'list-failed',
];

export interface SweepDeps {
  provider: TranscriptLister & Pick<TranscriptionProvider, 'delete'>;
  /** This deployment's audio: TRANSCRIPTION_BUCKET and INPUT_PREFIX. */
  target: { bucket: string; inputPrefix: string };
  settings: Omit<SweepSettings, 'timeBudgetMs'>;
  /** The time job ages are measured from. @default the current time */
  now?: Date;
  /** Time left for this run; no request starts that could outlast it. */
  timeLeftMs: () => number;
  /** The longest one AssemblyAI request may take (ASSEMBLYAI_TIMEOUT_MS). */
  requestTimeoutMs: number;
}

/** What a run did, by transcript id and count only: list items carry presigned URLs, never copied here. */
export interface SweepSummary {
  stopped_by: SweepStop;
  /** The error type of the list request that failed (`list-failed`, `rate-limited` on a list). */
  list_error_type?: string;
  pages_read: number;
  transcripts_listed: number;
  /** Deleted now. */
  swept_ids: string[];
  /** Delete refused or failed; tried again by the next run. */
  delete_failed: { transcript_id: string; error_type: string }[];
  /** This deployment's, old enough, but still queued or processing: left for a later run. */
  unfinished_ids: string[];
  /** Created after the bound (or with a time that could not be read): may still be in use. */
  too_recent: number;
  /** Deleted before (by a step or an earlier run). */
  already_deleted: number;
  /** Audio of another bucket, another prefix or another application. */
  other_audio: number;
}

const UNFINISHED: ReadonlySet<string> = new Set(['queued', 'processing']);

type Verdict = 'stop' | 'too-recent' | 'deleted' | 'other' | 'unfinished' | 'sweep';

function verdict(item: TranscriptListItem, deps: SweepDeps, bound: number, horizon: number): Verdict {
  const created = parseProviderTime(String(item.created)).getTime();
  // Newest first: past the horizon every later item is older still.
  if (created < horizon) return 'stop';
  if (!isTranscriptId(item.id)) return 'other';
  if (item.audio_url === DELETED_AUDIO_URL) return 'deleted';
  const ours =
    typeof item.audio_url === 'string' &&
    urlPointsAtBucket(item.audio_url, { bucket: deps.target.bucket, prefix: deps.target.inputPrefix });
  if (!ours) return 'other';
  // NaN (an unreadable time) fails this test too: a job whose age is unknown is never swept.
  if (!(created < bound)) return 'too-recent';
  // AssemblyAI does not document deleting an unfinished job; it would at best cancel work
  // already billed. Skipped without a request, and swept once it has finished.
  if (UNFINISHED.has(item.status)) return 'unfinished';
  return 'sweep';
}

export async function sweepTranscripts(deps: SweepDeps): Promise<SweepSummary> {
  const { provider, settings } = deps;
  const now = (deps.now ?? new Date()).getTime();
  const bound = now - settings.minAgeMs;
  const horizon = bound - settings.lookbackMs;
  const summary: SweepSummary = {
    stopped_by: 'end-of-list',
    pages_read: 0,
    transcripts_listed: 0,
    swept_ids: [],
    delete_failed: [],
    unfinished_ids: [],
    too_recent: 0,
    already_deleted: 0,
    other_audio: 0,
  };
  const outOfTime = () => deps.timeLeftMs() < deps.requestTimeoutMs;
  const stop = (reason: SweepStop) => {
    summary.stopped_by = reason;
    return summary;
  };

  let beforeId: string | undefined;
  for (;;) {
    if (summary.pages_read >= settings.maxPages) return stop('max-pages');
    if (outOfTime()) return stop('time');
    let page: Awaited<ReturnType<TranscriptLister['listTranscripts']>>;
    try {
      page = await provider.listTranscripts({ limit: settings.pageSize, beforeId });
    } catch (error) {
      summary.list_error_type = error instanceof Error ? error.name : 'Error';
      return stop(summary.list_error_type === 'ProviderRateLimited' ? 'rate-limited' : 'list-failed');
    }
    summary.pages_read += 1;
    summary.transcripts_listed += page.transcripts.length;

    for (const item of page.transcripts) {
      switch (verdict(item, deps, bound, horizon)) {
        case 'stop':
          return stop('lookback');
        case 'too-recent':
          summary.too_recent += 1;
          continue;
        case 'deleted':
          summary.already_deleted += 1;
          continue;
        case 'other':
          summary.other_audio += 1;
          continue;
        case 'unfinished':
          summary.unfinished_ids.push(item.id);
          continue;
        case 'sweep':
          break;
      }
      if (summary.swept_ids.length + summary.delete_failed.length >= settings.maxDeletes) {
        return stop('max-deletes');
      }
      if (outOfTime()) return stop('time');
      try {
        await provider.delete(item.id);
        summary.swept_ids.push(item.id);
      } catch (error) {
        const errorType = error instanceof Error ? error.name : 'Error';
        summary.delete_failed.push({ transcript_id: item.id, error_type: errorType });
        // The account's rate limit is shared with the workflow: back off until the next run.
        if (errorType === 'ProviderRateLimited') return stop('rate-limited');
      }
    }

    const last = page.transcripts.at(-1);
    if (!page.more || !last || !isTranscriptId(last.id)) return stop('end-of-list');
    beforeId = last.id;
  }
}
