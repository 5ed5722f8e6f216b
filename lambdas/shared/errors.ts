/**
 * The typed errors the state machine routes on. Each class sets `name` explicitly: on Lambda the
 * thrown error's `name` becomes the ASL `Error`, and these names appear verbatim in the
 * `ErrorEquals` of `statemachine/transcription.asl.json` and in the failure result's `error.type`.
 *
 * Messages are written for the bot's user (they end up in the failure result) and must never
 * contain a secret, a presigned URL or transcript text.
 */

export const ERROR_TYPES = [
  'InvalidInput',
  'AudioNotFound',
  'AudioEmpty',
  'AudioTooLarge',
  'AudioTooLong',
  'AudioTooShort',
  'UnsupportedAudioFormat',
  'AudioChanged',
  'AudioDownloadFailed',
  'ProviderRateLimited',
  'ProviderUnavailable',
  'ProviderRejected',
  'TranscriptionFailed',
  'TranscriptionTimedOut',
  'StorageUnavailable',
  'InternalError',
] as const;

export type ErrorType = (typeof ERROR_TYPES)[number];

export function isErrorType(value: unknown): value is ErrorType {
  return typeof value === 'string' && (ERROR_TYPES as readonly string[]).includes(value);
}

/**
 * Who a failure is down to: `user` — the request or the upload itself (bad input, missing, empty,
 * too large, too long or too short audio, not audio, replaced mid-run), which no retry or fix on
 * our side changes; `system` — everything else (the provider, storage, timeouts, bugs), which
 * ops must hear about. Metrics and alarms split on this, so a wave of bad uploads never pages
 * anyone and an outage is never lost among them.
 */
export type ErrorCategory = 'user' | 'system';

const USER_ERRORS: ReadonlySet<ErrorType> = new Set<ErrorType>([
  'InvalidInput',
  'AudioNotFound',
  'AudioEmpty',
  'AudioTooLarge',
  'AudioTooLong',
  'AudioTooShort',
  'UnsupportedAudioFormat',
  'AudioChanged',
]);

export function errorCategory(type: ErrorType): ErrorCategory {
  return USER_ERRORS.has(type) ? 'user' : 'system';
}

export abstract class TranscriptionError extends Error {
  abstract override readonly name: ErrorType;
  /** True when the state machine retries this error (see the Retry blocks in the ASL). */
  readonly retryable: boolean = false;
  /** The provider's HTTP status when it answered with one (not for timeouts or dropped connections). */
  httpStatus?: number;
}

/**
 * Errors the state machine routes on that never reach a result under their own name: each has a
 * Retry block of its own, and when the retries run out Record failure reports the type given here.
 */
export const INTERNAL_ERRORS = {
  /** An earlier submit may still be creating its job (see Submit); retried until that is known. */
  SubmissionPending: 'ProviderUnavailable',
} as const satisfies Record<string, ErrorType>;

export class SubmissionPending extends Error {
  override readonly name = 'SubmissionPending';
}

/** The execution input breaks the contract (see README, "Execution input"). */
export class InvalidInput extends TranscriptionError {
  override readonly name = 'InvalidInput';
}

/** No object at `s3://bucket/s3_key`. */
export class AudioNotFound extends TranscriptionError {
  override readonly name = 'AudioNotFound';
}

/** The object exists but has 0 bytes, or holds no audio frames. */
export class AudioEmpty extends TranscriptionError {
  override readonly name = 'AudioEmpty';
}

/** The object is larger than the configured size limit. */
export class AudioTooLarge extends TranscriptionError {
  override readonly name = 'AudioTooLarge';
}

/** The audio is longer than the configured duration limit. */
export class AudioTooLong extends TranscriptionError {
  override readonly name = 'AudioTooLong';
}

/** The audio is shorter than the provider accepts. */
export class AudioTooShort extends TranscriptionError {
  override readonly name = 'AudioTooShort';
}

/** The bytes are not audio in a supported container/codec, whatever the file name says. */
export class UnsupportedAudioFormat extends TranscriptionError {
  override readonly name = 'UnsupportedAudioFormat';
}

/**
 * The object at `s3_key` was replaced after Validate inspected it: what would be transcribed is
 * not what passed the checks. The bot uploads under a new key (or the same) and starts again.
 */
export class AudioChanged extends TranscriptionError {
  override readonly name = 'AudioChanged';
}

export const AUDIO_CHANGED_MESSAGE =
  'The audio file was replaced while it was being processed; please send it again';

/** The provider could not download the audio from the presigned URL. */
export class AudioDownloadFailed extends TranscriptionError {
  override readonly name = 'AudioDownloadFailed';
}

/** HTTP 429 from the provider. Retried with backoff. */
export class ProviderRateLimited extends TranscriptionError {
  override readonly name = 'ProviderRateLimited';
  override readonly retryable = true;
  constructor(
    message: string,
    /**
     * Seconds from the `Retry-After` header, when the provider sent one. The state machine's
     * backoff cannot follow it; it is logged so ops can compare it with the Retry intervals.
     */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** 5xx, network failure or timeout talking to the provider. Retried with backoff. */
export class ProviderUnavailable extends TranscriptionError {
  override readonly name = 'ProviderUnavailable';
  override readonly retryable = true;
}

/** Any other 4xx from the provider (bad key, bad request, negative balance). Not retried. */
export class ProviderRejected extends TranscriptionError {
  override readonly name = 'ProviderRejected';
}

/** The provider finished the job with `status: "error"` for a reason other than the audio. */
export class TranscriptionFailed extends TranscriptionError {
  override readonly name = 'TranscriptionFailed';
}

/** The poll deadline passed before the provider finished. */
export class TranscriptionTimedOut extends TranscriptionError {
  override readonly name = 'TranscriptionTimedOut';
}

/** S3 throttled or failed after the SDK's own retries. Retried by the state machine. */
export class StorageUnavailable extends TranscriptionError {
  override readonly name = 'StorageUnavailable';
  override readonly retryable = true;
}

/** Misconfiguration detected at cold start. Not retried: the deployment must be fixed. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
