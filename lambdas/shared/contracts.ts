/**
 * The public contract between the bot and the workflow: the execution input it sends, the
 * result object it reads from S3, and where that object lives. This file is the one definition;
 * the Lambdas, the local runner, the tests and (later) the typed client all import it.
 */
import { createHash } from 'node:crypto';
import type { ErrorType } from './errors.js';

export const FILE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const MAX_SPEAKERS_EXPECTED = 10;
/** S3's own limit on key length, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Characters that reorder or break the text a person sees: bidi embeddings, overrides and isolates, line/paragraph separators. */
const INVISIBLE_FORMATTING = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

/** Where the workflow may read audio from and which bucket is its own; from the deployment. */
export interface InputPolicy {
  bucket: string;
  inputPrefix: string;
  /**
   * True or absent (the default): the audio must lie under `{inputPrefix}{user_id}/`, so one user's request
   * cannot transcribe another user's upload into its own results.
   */
  inputPerUser?: boolean;
}

/** `transcription/123/`: where a user's audio must be when uploads are scoped per user. */
export function userInputPrefix(inputPrefix: string, userId: number): string {
  return `${inputPrefix}${userId}/`;
}

function safeDecode(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** The problem with an `s3_key`, or undefined when it is acceptable. */
export function s3KeyProblem(key: string, inputPrefix: string): string | undefined {
  // A lone surrogate is not Unicode: S3's SDK fails to encode it (URIError), so it never names an object.
  if (LONE_SURROGATE.test(key)) return 'is not valid Unicode text';
  if (Buffer.byteLength(key, 'utf8') > MAX_S3_KEY_BYTES) return `is longer than ${MAX_S3_KEY_BYTES} bytes`;
  // Check the key as written and percent-decoded, so `%2e%2e` or `%2F` cannot smuggle a traversal
  // past a downstream tool that decodes keys.
  for (const form of [key, safeDecode(key)]) {
    if (CONTROL_CHARACTERS.test(form)) return 'contains control characters';
    if (INVISIBLE_FORMATTING.test(form))
      return 'contains invisible formatting characters (text direction or line separators)';
    if (form.startsWith('/')) return 'must not start with "/"';
    if (form.includes('\\')) return 'must not contain "\\"';
    if (form.split('/').some((segment) => segment === '..' || segment === '.')) {
      return 'must not contain "." or ".." segments';
    }
  }
  if (!key.startsWith(inputPrefix) || key.length === inputPrefix.length) {
    return `must be an object under "${inputPrefix}"`;
  }
  return undefined;
}

/** `user_id` as a number, when the value is a positive safe integer or a string of its digits. */
export function parseUserId(value: unknown): number | undefined {
  const number = typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number > 0 ? number : undefined;
}

/** The execution input as the bot sends it (see README, "Execution input"). */
export interface TranscriptionInput {
  /** Under the input prefix, e.g. `transcription/123/abc-123.ogg`. */
  s3_key: string;
  /** A positive integer; a string of digits is accepted and normalized. */
  user_id: number | string;
  /** 1-128 characters of `[A-Za-z0-9_-]`. */
  file_id: string;
  /** The bucket this deployment serves. */
  bucket: string;
  /**
   * One of AssemblyAI's published codes (`LANGUAGE_CODES` in assemblyai-catalog.ts), e.g. `ru`,
   * `en_us`; absent: detection among the deployment's expected languages.
   */
  language_code?: string;
  /** 1-10. */
  speakers_expected?: number;
  /** Transcribe again even when a completed result for this file exists. */
  force?: boolean;
  /** 1-10 each, min ≤ max: a range of speakers instead of `speakers_expected` (not both). */
  speakers_min?: number;
  speakers_max?: number;
  /**
   * Names the result uses instead of AssemblyAI's letters, e.g. `{"A": "Anna"}`: a segment's
   * `speaker` is then the name (letters without a name stay letters); `metadata.speaker_names`
   * keeps the mapping.
   */
  speaker_names?: Record<string, string>;
  /** Words and phrases to boost (AssemblyAI's keyterms prompting); limits per model in KEYTERM_LIMITS. */
  keyterms?: string[];
  /** Files written beside the result, `results/{user_id}/{file_id}.{ext}`: captions and plain text. */
  outputs?: OutputFormat[];
  /** Redact personal information at AssemblyAI (`[PERSON_NAME]`, …); absent: the deployment's default. */
  redact_pii?: boolean;
  /** What to redact, AssemblyAI's policy names; absent: the deployment's. Only with `redact_pii` not false. */
  redact_pii_policies?: string[];
}

export interface Redaction {
  policies: string[];
  /** Placeholders in the transcript by policy, e.g. `{"person_name": 2}`; policies with none are absent. */
  counts: Record<string, number>;
}

export const OUTPUT_FORMATS = ['srt', 'vtt', 'txt'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `results/123/abc.srt`: an output file beside the result. */
export function outputKey(
  resultsPrefix: string,
  userId: number,
  fileId: string,
  format: OutputFormat,
): string {
  return `${resultsPrefix}${userId}/${fileId}.${format}`;
}

/** AssemblyAI's speaker labels: `A`, `B`, … */
export const SPEAKER_LABEL_PATTERN = /^[A-Z]$/;
/** A name as a caption shows it (AssemblyAI's own speaker identification allows 35 characters). */
export const MAX_SPEAKER_NAME_LENGTH = 35;

/** The execution input after validation and normalization. */
export interface TranscriptionRequest extends Omit<TranscriptionInput, 'user_id'> {
  user_id: number;
}

export interface Segment {
  /** Speaker label from diarization: "A", "B", … */
  speaker: string;
  text: string;
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
}

/** Why a segment breaks the result contract, or undefined: checked before any result is written. */
export function segmentProblem(segment: unknown): string | undefined {
  const s = segment as Partial<Record<keyof Segment, unknown>> | null;
  if (typeof s !== 'object' || s === null) return 'is not an object';
  if (typeof s.speaker !== 'string' || s.speaker === '') return 'has no speaker label';
  if (typeof s.text !== 'string') return 'has no text';
  if (typeof s.start !== 'number' || !Number.isFinite(s.start) || s.start < 0)
    return 'has no valid start time';
  if (typeof s.end !== 'number' || !Number.isFinite(s.end) || s.end < s.start) return 'has no valid end time';
  return undefined;
}

export interface CompletedResult {
  status: 'completed';
  file_id: string;
  user_id: number;
  segments: Segment[];
  metadata: {
    total_segments: number;
    /** Seconds from the start of the execution to the moment the result was written. */
    processing_time: number;
    audio_duration: number | null;
    language_code: string | null;
    /** 0–1 when AssemblyAI detected the language; null when the request named it. */
    language_confidence: number | null;
    /** The model that ran, from the request's priority list (e.g. `universal-2` for Russian). */
    speech_model_used: string | null;
    transcript_id: string;
    execution_arn: string;
    /** The audio this transcript is of: "Already transcribed?" reuses a result only for the same object. */
    s3_key: string;
    /** ETag of that object when it was validated; null for results written before this field. */
    audio_etag: string | null;
    /** The request's `speaker_names`, when it gave any: which letter each name stands for. */
    speaker_names?: Record<string, string>;
    /** The request's `outputs`, each with its key, written before this result. */
    outputs?: Partial<Record<OutputFormat, string>>;
    /** When PII was redacted: the policies asked for and how many of each were found (counts, never values). */
    redaction?: Redaction;
  };
}

export interface FailedResult {
  status: 'failed';
  file_id: string;
  user_id: number;
  error: { type: ErrorType; message: string };
  metadata: {
    processing_time: number;
    execution_arn: string;
    /** The state in which the execution failed, as named in the state machine. */
    failed_state: string;
    /** The input's key, when it had a valid one. */
    s3_key?: string;
    /**
     * Set when this execution did not transcribe but waited for another one of the same audio,
     * and fails because that one failed: its ARN.
     */
    followed_execution_arn?: string;
  };
}

/** Whether `result` tells that `executionArn` has ended: its own result, or its failure shared by a follower. */
export function tellsEndOf(result: TranscriptionResult | undefined, executionArn: string): boolean {
  if (!result?.metadata) return false;
  if (result.metadata.execution_arn === executionArn) return true;
  return result.status === 'failed' && result.metadata.followed_execution_arn === executionArn;
}

export type TranscriptionResult = CompletedResult | FailedResult;

/**
 * A completed result of exactly this audio — the same `s3_key` and the same object (its ETag) —
 * answers a request for it. One of other audio under the same file id (a new upload, another
 * key) does not, nor does one written before results named their audio.
 */
export function transcribesAudio(
  result: TranscriptionResult,
  s3Key: string,
  etag: string | undefined,
): result is CompletedResult {
  if (result.status !== 'completed' || !etag) return false;
  return result.metadata?.s3_key === s3Key && result.metadata.audio_etag === etag;
}

export const DEFAULT_INPUT_PREFIX = 'transcription/';
export const DEFAULT_RESULTS_PREFIX = 'results/';
export const RESULT_CONTENT_TYPE = 'application/json; charset=utf-8';

/** `results/{user_id}/{file_id}.json`: the only place a result is ever written. */
export function resultKey(resultsPrefix: string, userId: number, fileId: string): string {
  return `${resultsPrefix}${userId}/${fileId}.json`;
}

/** Step Functions' limit on execution names. */
export const MAX_EXECUTION_NAME_LENGTH = 80;

/**
 * The execution name the bot should use: one per user, file and deliberate attempt. A second
 * StartExecution with the same name and input while the first runs returns the running execution
 * instead of starting another; after it ended, Step Functions answers ExecutionAlreadyExists and
 * the bot reads the result object. To try again after a *failed* result (names stay taken for 90
 * days), the bot passes attempt 2, 3, …
 *
 * Injective over valid inputs and within `[A-Za-z0-9_-]` (the characters AWS recommends, so
 * CloudWatch metrics and logs keep the name): the user id is digits, and the character after
 * them tells the form — `-` plain first attempt (`123-abc-123`), `_` plain later attempt
 * (`123_2-abc-123`), `h` a file id hashed to fit 80 characters (`123h-<40 hex>`, `123h2-<40 hex>`).
 */
export function executionName(userId: number, fileId: string, attempt = 1): string {
  if (parseUserId(userId) !== userId)
    throw new RangeError('executionName: userId must be a positive safe integer');
  if (!FILE_ID_PATTERN.test(fileId)) throw new RangeError('executionName: fileId must match FILE_ID_PATTERN');
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError('executionName: attempt must be a positive safe integer');
  }
  const plain = attempt === 1 ? `${userId}-${fileId}` : `${userId}_${attempt}-${fileId}`;
  if (plain.length <= MAX_EXECUTION_NAME_LENGTH) return plain;
  const hash = createHash('sha256').update(fileId).digest('hex').slice(0, 40);
  return `${userId}h${attempt === 1 ? '' : attempt}-${hash}`;
}
