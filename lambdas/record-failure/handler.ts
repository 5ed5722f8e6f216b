/** Lambda entry point for "Record failure". */
import { createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { type RecordFailureEvent, recordFailure, resultOwner } from './record-failure.js';

const tools = createStepTools('record-failure');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);

export const handler = defineStep(
  tools,
  (event: RecordFailureEvent) => {
    const transcript = event.state?.transcript as { id?: string } | undefined;
    return {
      execution_arn: event.execution?.arn,
      ...resultOwner(event.state ?? {}),
      transcript_id: transcript?.id,
    };
  },
  async (event: RecordFailureEvent, { logger }) => {
    const recorded = await recordFailure(event, { s3, config });
    logger.warn('Transcription failed', {
      error_type: recorded.Error,
      failed_state: recorded.failed_state,
      result_written: recorded.result_key !== null,
    });
    return recorded;
  },
);
