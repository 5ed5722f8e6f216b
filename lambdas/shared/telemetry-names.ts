/**
 * Names shared by the Lambdas that emit telemetry and the CDK stack that alarms and graphs on it:
 * the Powertools service and metric namespace, the step names (the `step` dimension) and the
 * metric names. Plain constants so the CDK app can import them without loading Powertools.
 */
export const SERVICE_NAME = 'transcription';

/**
 * The Powertools service (a metric dimension and a log key) of one deployment, so that a dev
 * stack's metrics never feed a prod alarm in the same account. Local runs use SERVICE_NAME.
 */
export function serviceNameOf(environment: string): string {
  return `${SERVICE_NAME}-${environment}`;
}
export const METRICS_NAMESPACE = 'Transcription';

export const STEP_NAMES = [
  'validate-audio',
  'submit-transcription',
  'check-transcript',
  'format-segments',
  'persist-result',
  'record-failure',
] as const;

export type StepName = (typeof STEP_NAMES)[number];

/** The scheduled Lambda that deletes this deployment's leftover AssemblyAI jobs (the `step` dimension of its metrics). */
export const SWEEP_STEP = 'sweep-transcripts';

/** The intake queue's consumer (`-c intakeQueue=true`): starts one execution per message, under its deterministic name. */
export const START_EXECUTION_STEP = 'start-execution';

export const METRIC_NAMES = {
  stepSucceeded: 'StepSucceeded',
  stepFailed: 'StepFailed',
  stepDuration: 'StepDuration',
  providerErrors: 'ProviderErrors',
  providerDeleteFailed: 'ProviderDeleteFailed',
  audioSeconds: 'AudioSeconds',
  segments: 'Segments',
  /** Per sweep run: leftover jobs of this deployment deleted at AssemblyAI. */
  transcriptsSwept: 'TranscriptsSwept',
  /** Per sweep run: leftover jobs whose delete failed (tried again next run). */
  sweepDeleteFailed: 'SweepDeleteFailed',
  /** Per sweep run: leftover jobs still queued or processing, left for a later run. */
  sweepUnfinishedSkipped: 'SweepUnfinishedSkipped',
  /** Per sweep run: 1 when a per-run limit (pages, deletes, time, rate limit) ended it early. */
  sweepIncomplete: 'SweepIncomplete',
  /**
   * Per finished execution (finalize-execution, once per ending): Count, with the extra dimension
   * `outcome` (OUTCOME_DIMENSION) — completed, user_error or system_error (see `errorCategory`).
   */
  transcriptionOutcome: 'TranscriptionOutcome',
  /**
   * Per succeeded execution: Seconds from start to stop, with the extra dimension `audio_length`
   * (AUDIO_LENGTH_DIMENSION), the bucket of the audio's duration.
   */
  timeToResult: 'TimeToResult',
} as const;

/**
 * The workflow's own outcome metrics carry the step's default dimensions (`service`, `step` =
 * finalize-execution) plus one of these; an alarm must name exactly that dimension set.
 */
export const OUTCOME_DIMENSION = 'outcome';
export const OUTCOMES = ['completed', 'user_error', 'system_error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const AUDIO_LENGTH_DIMENSION = 'audio_length';
/** Upper bounds in seconds of the audio-length buckets, in order; longer audio is `over-30m`. */
export const AUDIO_LENGTH_BUCKETS = [
  { name: 'under-30s', below: 30 },
  { name: '30s-5m', below: 300 },
  { name: '5m-30m', below: 1800 },
  { name: 'over-30m', below: Number.POSITIVE_INFINITY },
] as const;
export type AudioLengthBucket = (typeof AUDIO_LENGTH_BUCKETS)[number]['name'] | 'unknown';
export const AUDIO_LENGTH_BUCKET_NAMES: readonly AudioLengthBucket[] = [
  ...AUDIO_LENGTH_BUCKETS.map((b) => b.name),
  'unknown',
];

/** The bucket of an audio duration; `unknown` when Validate could not tell it. */
export function audioLengthBucket(seconds: number | null | undefined): AudioLengthBucket {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return 'unknown';
  return (AUDIO_LENGTH_BUCKETS.find((b) => seconds < b.below) ?? AUDIO_LENGTH_BUCKETS[3]).name;
}

/** The step dimension of the outcome metrics: the one Lambda that sees every ending. */
export const FINALIZE_STEP_NAME = 'finalize-execution';
