/** Lambda entry point for "Record failure". */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createProvider } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import {
  discardProviderCopy,
  discardWorkObjects,
  type RecordFailureEvent,
  recordFailure,
  resultOwner,
} from './record-failure.js';

const tools = createStepTools('record-failure');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = config.assemblyai.deleteAfterPersist ? createProvider(config, tools.tracer) : undefined;

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
  async (event: RecordFailureEvent, { logger, metrics }) => {
    // The clean-up comes first and never depends on the result write: when S3 refuses that write
    // (retried, maybe for good), the job at AssemblyAI and the work objects are gone already.
    if (provider) {
      try {
        await discardProviderCopy({ ...event, state: event.state ?? {} }, { s3, config, provider });
      } catch (error) {
        logger.warn('Could not delete the transcript at AssemblyAI', { error_type: (error as Error).name });
        metrics.addMetric(METRIC_NAMES.providerDeleteFailed, MetricUnit.Count, 1);
      }
    }
    if (event.execution) {
      await discardWorkObjects(s3, config, event.execution).catch((error: unknown) =>
        logger.warn('Could not delete the work objects', { error_type: (error as Error).name }),
      );
    }
    const recorded = await recordFailure(event, { s3, config });
    logger.warn('Transcription failed', {
      error_type: recorded.Error,
      failed_state: recorded.failed_state,
      result_written: recorded.result_key !== null,
    });
    return recorded;
  },
);
