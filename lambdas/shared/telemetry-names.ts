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
} as const;
