/** Lambda entry point for "Format segments". */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import type { SubmittedState } from '../shared/workflow-state.js';
import { formatSegments } from './format-segments.js';

const tools = createStepTools('format-segments');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);

export const handler = defineStep(tools, stateCorrelation, async (state: SubmittedState, { metrics }) => {
  const ref = await formatSegments(state, { s3, config });
  metrics.addMetric(METRIC_NAMES.segments, MetricUnit.Count, ref.total_segments);
  return ref;
});
