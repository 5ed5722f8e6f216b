/**
 * The JSON that travels between the states of `statemachine/transcription.asl.json`.
 * It carries references and counts, never transcript text: a state's input/output must stay far
 * below Step Functions' 256 KB limit whatever the audio's length.
 */
import type { OutputFormat, Redaction, Segment, TranscriptionRequest } from './contracts.js';
import type { ErrorType } from './errors.js';

/** From the context object (`$$.Execution`), passed in by the ASL `Parameters`. */
export interface ExecutionRef {
  arn: string;
  name: string;
  /** ISO 8601 */
  started_at: string;
}

export interface AudioInfo {
  /** Container as detected from the bytes: `Ogg`, `MPEG`, `M4A/isom`, `WAVE`, `EBML/webm`, `FLAC`, … */
  container: string;
  codec: string | null;
  /** Seconds; null when the header does not say and it cannot be estimated. */
  duration_seconds: number | null;
  size_bytes: number;
  /** The object's ETag as Validate saw it: Submit pins the audio to it, results record it. */
  etag?: string;
}

export type ProviderStatus = 'queued' | 'processing' | 'completed' | 'error';

/** Another execution of the same audio that holds the file's claim: this one waits for its result. */
export interface FollowedExecution {
  execution_arn: string;
  execution_name: string;
}

/**
 * The provider job, written by "Submit to AssemblyAI" and rewritten by each "Check transcript status".
 * When another execution is already transcribing this very audio (`follows`), this execution
 * created no job (`id` is empty) and the loop watches the file's result instead of AssemblyAI.
 */
export interface TranscriptJob {
  id: string;
  status: ProviderStatus;
  submitted_at: string;
  /** Past this instant "Check transcript status" fails with TranscriptionTimedOut. */
  deadline_at: string;
  /** Status checks made so far. */
  checks: number;
  /** Read by the Wait state (`SecondsPath`). */
  wait_seconds: number;
  /** Set when status is `error`: read by the "AssemblyAI reported an error" Pass state. */
  error?: { type: ErrorType; message: string };
  /** Set when status is `completed`: the raw transcript stored in S3. */
  transcript_key?: string;
  /** Set when this execution waits for another one's result instead of submitting. */
  follows?: FollowedExecution;
  /** Set when the followed execution's result answers this request: "Transcript ready?" ends the run. */
  existing_result?: { key: string; execution_arn: string };
}

export interface SegmentsRef {
  key: string;
  total_segments: number;
  audio_duration: number | null;
  language_code: string | null;
}

/** The intermediate object "Format segments" writes and "Persist result" reads. */
export interface SegmentsDocument {
  transcript_id: string;
  language_code: string | null;
  /** Absent in documents written before these fields existed. */
  language_confidence?: number | null;
  speech_model_used?: string | null;
  audio_duration: number | null;
  segments: Segment[];
  /** The request's `speaker_names`, already applied to `segments`. */
  speaker_names?: Record<string, string>;
  /** The requested output files' contents, for Persist to write beside the result. */
  outputs?: Partial<Record<OutputFormat, string>>;
  /** Set when AssemblyAI redacted PII: the policies and the counts of placeholders. */
  redaction?: Redaction;
}

export interface ValidatedState {
  execution: ExecutionRef;
  request: TranscriptionRequest;
  audio: AudioInfo;
  /**
   * Set in webhook mode (TRANSCRIPT_DELIVERY=webhook): "Already transcribed?" then routes to the
   * Submit that waits for AssemblyAI's webhook, whose `TimeoutSecondsPath` reads this.
   */
  webhook?: { timeout_seconds: number };
}

/** "Validate audio" found a completed result for this file: the "Already transcribed?" Choice ends the run. */
export interface AlreadyTranscribedState {
  execution: ExecutionRef;
  request: TranscriptionRequest;
  existing_result: { key: string; execution_arn: string };
}

export interface SubmittedState extends ValidatedState {
  transcript: TranscriptJob;
}

export interface FormattedState extends SubmittedState {
  segments: SegmentsRef;
}

/**
 * `work/claims/{user_id}/{file_id}.json`: which execution is transcribing the file (see Submit).
 * Execution folders sit beside it; an execution named `claims` gets no work folder clean-up.
 */
export const CLAIMS_FOLDER = 'claims';

export function claimKey(workPrefix: string, userId: number, fileId: string): string {
  return `${workPrefix}${CLAIMS_FOLDER}/${userId}/${fileId}.json`;
}

/** Names of the intermediate objects under an execution's work prefix. */
export const SUBMISSION_RECORD = 'submission.json';
export const TRANSCRIPT_OBJECT = 'transcript.json';
export const SEGMENTS_OBJECT = 'segments.json';

/**
 * `work/webhooks/{transcript_id}.json`: the task token of the execution waiting for this job's
 * webhook, written by Submit and read by receive-webhook, which has only the transcript id.
 * Beside the execution folders, like `claims`; expires with the work prefix.
 */
export const WEBHOOKS_FOLDER = 'webhooks';

export function webhookRecordKey(workPrefix: string, transcriptId: string): string {
  return `${workPrefix}${WEBHOOKS_FOLDER}/${transcriptId}.json`;
}

/** What Submit stores for the webhook receiver: enough to answer the task as Check would. */
export interface WebhookRecord {
  task_token: string;
  execution: ExecutionRef;
  /** The poll loop's starting state, as Submit returns it in poll mode. */
  job: TranscriptJob;
}

/** `work/{execution name}/{name}`: intermediate objects of one execution, deleted when it ends. */
export function workKey(workPrefix: string, execution: ExecutionRef, name: string): string {
  return `${workPrefix}${execution.name}/${name}`;
}
