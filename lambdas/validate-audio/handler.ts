/** Lambda entry point for "Validate audio". */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import { type ValidateEvent, validateAudio } from './validate-audio.js';

const tools = createStepTools('validate-audio');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);

/** Best effort: the raw input may be anything, so only well-typed keys are logged. */
function correlate(event: ValidateEvent) {
  const input = (event.input ?? {}) as Record<string, unknown>;
  const pick = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, 128) : undefined;
  return { execution_arn: event.execution?.arn, file_id: pick(input.file_id), user_id: pick(input.user_id) };
}

export const handler = defineStep(tools, correlate, async (event: ValidateEvent, { logger, metrics }) => {
  const state = await validateAudio(event, { s3, config });
  if ('existing_result' in state) {
    logger.info('A completed result already exists; not transcribing again', {
      result_key: state.existing_result.key,
    });
  } else if (state.audio.duration_seconds !== null) {
    metrics.addMetric(METRIC_NAMES.audioSeconds, MetricUnit.Seconds, state.audio.duration_seconds);
  }
  return state;
});
