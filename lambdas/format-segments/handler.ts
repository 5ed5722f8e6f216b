/** Lambda entry point for "Format segments". */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import type { SubmittedState } from '../shared/workflow-state.js';
import { formatSegments } from './format-segments.js';

const tools = createStepTools('format-segments');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);

export const handler = defineStep(
  tools,
  (state: SubmittedState) => ({
    execution_arn: state.execution.arn,
    file_id: state.request.file_id,
    user_id: state.request.user_id,
    transcript_id: state.transcript.id,
  }),
  async (state: SubmittedState, { metrics }) => {
    const ref = await formatSegments(state, { s3, config });
    metrics.addMetric('Segments', MetricUnit.Count, ref.total_segments);
    return ref;
  },
);
