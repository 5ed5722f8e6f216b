/** Lambda entry point for "Persist result". */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createProvider } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import type { FormattedState } from '../shared/workflow-state.js';
import { persistResult } from './persist-result.js';

const tools = createStepTools('persist-result');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);

export const handler = defineStep(
  tools,
  stateCorrelation,
  async (state: FormattedState, { logger, metrics }) => {
    const persisted = await persistResult(state, { s3, provider, config, logger });
    if (!persisted.provider_copy_deleted && config.assemblyai.deleteAfterPersist) {
      metrics.addMetric(METRIC_NAMES.providerDeleteFailed, MetricUnit.Count, 1);
    }
    return persisted;
  },
);
