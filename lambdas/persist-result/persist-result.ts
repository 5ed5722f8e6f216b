/**
 * Step 7, "Persist result": writes the completed result where the bot reads it, then removes the
 * other copies of the transcript — at AssemblyAI (configurable) and the intermediate objects —
 * so the result object is the only one. Safe to retry: a retry after the clean-up finds the
 * result already written and stops there. The write goes through the result writer's
 * conditional requests, so it never races a failure or another execution's result.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TranscriptionProvider } from '../shared/assemblyai.js';
import type { WorkflowConfig } from '../shared/config.js';
import {
  type CompletedResult,
  type OutputFormat,
  outputKey,
  resultKey,
  type TranscriptionResult,
} from '../shared/contracts.js';
import { keepReason, type ResultWriter, writeResult } from '../shared/result-writer.js';
import { deleteKeys, getJsonIfExists, putBytes } from '../shared/storage.js';
import { processingTimeSeconds } from '../shared/timing.js';
import {
  type FormattedState,
  type SegmentsDocument,
  SUBMISSION_RECORD,
  TRANSCRIPT_OBJECT,
  workKey,
} from '../shared/workflow-state.js';

export interface PersistDeps {
  s3: S3Client;
  provider: TranscriptionProvider;
  config: WorkflowConfig;
  logger?: Pick<Logger, 'warn'>;
  now?: () => Date;
}

export interface PersistedResult {
  key: string;
  status: 'completed';
  /** False when the transcript was kept at the provider: by configuration, or because deleting failed (logged and counted). */
  provider_copy_deleted: boolean;
}

/** How each output is served: players and browsers pick captions by these types. */
export const OUTPUT_CONTENT_TYPES: Record<OutputFormat, string> = {
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

/**
 * Writes the requested outputs beside the result, before it: a bot that reads the result and
 * follows `metadata.outputs` always finds them. Their keys, by format.
 */
async function writeOutputs(
  state: FormattedState,
  document: SegmentsDocument,
  deps: PersistDeps,
): Promise<Partial<Record<OutputFormat, string>> | undefined> {
  if (!document.outputs) return undefined;
  const keys: Partial<Record<OutputFormat, string>> = {};
  for (const [format, body] of Object.entries(document.outputs) as [OutputFormat, string][]) {
    const key = outputKey(deps.config.resultsPrefix, state.request.user_id, state.request.file_id, format);
    await putBytes(
      deps.s3,
      deps.config.bucket,
      key,
      Buffer.from(body, 'utf-8'),
      OUTPUT_CONTENT_TYPES[format],
    );
    keys[format] = key;
  }
  return keys;
}

/** Whether a completed result already at `key` would stay whatever this run writes (another execution's, of this audio). */
async function resultStands(
  s3: S3Client,
  bucket: string,
  key: string,
  writer: ResultWriter,
): Promise<boolean> {
  const existing = await getJsonIfExists<TranscriptionResult>(s3, bucket, key);
  return existing !== undefined && keepReason(existing, { status: 'completed' }, writer) !== undefined;
}

function completedResult(
  state: FormattedState,
  document: SegmentsDocument,
  now: Date,
  outputs: Partial<Record<OutputFormat, string>> | undefined,
): CompletedResult {
  return {
    status: 'completed',
    file_id: state.request.file_id,
    user_id: state.request.user_id,
    segments: document.segments,
    metadata: {
      total_segments: document.segments.length,
      processing_time: processingTimeSeconds(state.execution.started_at, now),
      audio_duration: document.audio_duration,
      language_code: document.language_code,
      language_confidence: document.language_confidence ?? null,
      speech_model_used: document.speech_model_used ?? null,
      transcript_id: document.transcript_id,
      execution_arn: state.execution.arn,
      s3_key: state.request.s3_key,
      audio_etag: state.audio.etag ?? null,
      ...(document.speaker_names && { speaker_names: document.speaker_names }),
      ...(outputs && { outputs }),
      ...(document.redaction && { redaction: document.redaction }),
    },
  };
}

export async function persistResult(state: FormattedState, deps: PersistDeps): Promise<PersistedResult> {
  const { s3, provider, config } = deps;
  const now = deps.now ?? (() => new Date());
  const key = resultKey(config.resultsPrefix, state.request.user_id, state.request.file_id);

  const document = await getJsonIfExists<SegmentsDocument>(s3, config.bucket, state.segments.key);
  if (!document) {
    // A retry after an earlier attempt wrote the result and cleaned up. That attempt got past the
    // provider delete too (it runs before the clean-up); a failure there was logged and counted then.
    const existing = await getJsonIfExists<TranscriptionResult>(s3, config.bucket, key);
    if (existing?.status !== 'completed' || existing.metadata.execution_arn !== state.execution.arn) {
      throw new Error('The formatted segments are missing and no result was written');
    }
    return { key, status: 'completed', provider_copy_deleted: config.assemblyai.deleteAfterPersist };
  }
  const writer = {
    execution_arn: state.execution.arn,
    s3_key: state.request.s3_key,
    audio_etag: state.audio.etag,
    force: state.request.force,
  };
  // The outputs of a result that will be kept are that result's: not overwritten with this run's
  // rendering (other names or formats). Two runs of one audio persisting at the same instant can
  // still both write them; both render a transcript of that audio, and the file claim makes it rare.
  const outputs = (await resultStands(s3, config.bucket, key, writer))
    ? undefined
    : await writeOutputs(state, document, deps);
  const write = await writeResult(
    s3,
    config.bucket,
    key,
    completedResult(state, document, now(), outputs),
    writer,
  );
  if (!write.written) {
    // Another execution already stored a transcript of this very audio: equivalent, so it stays.
    deps.logger?.warn('A completed result of this audio was already written; kept it', { kept: write.kept });
  }

  // From here on the bot has its result: clean-up failures are logged (the provider one also
  // counted by the handler), never turned into a failed execution.
  let providerCopyDeleted = false;
  if (config.assemblyai.deleteAfterPersist) {
    try {
      await provider.delete(state.transcript.id);
      providerCopyDeleted = true;
    } catch (error) {
      deps.logger?.warn('Could not delete the transcript at AssemblyAI', {
        error_type: (error as Error).name,
      });
    }
  }
  try {
    const left = await deleteKeys(s3, config.bucket, [
      workKey(config.workPrefix, state.execution, TRANSCRIPT_OBJECT),
      workKey(config.workPrefix, state.execution, SUBMISSION_RECORD),
      state.segments.key,
    ]);
    if (left.length > 0) deps.logger?.warn('Some intermediate objects were not deleted', { keys: left });
  } catch (error) {
    deps.logger?.warn('Could not delete the intermediate objects', { error_type: (error as Error).name });
  }
  return { key, status: 'completed', provider_copy_deleted: providerCopyDeleted };
}
