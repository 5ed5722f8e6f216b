/** Lambda entry point for "Submit to AssemblyAI". */
import { createProvider, createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import type { ValidatedState } from '../shared/workflow-state.js';
import { submitTranscription } from './submit-transcription.js';

const tools = createStepTools('submit-transcription');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);

export const handler = defineStep(tools, stateCorrelation, async (state: ValidatedState, { logger }) => {
  const job = await submitTranscription(state, { s3, provider, config });
  logger.appendKeys({ transcript_id: job.id });
  return job;
});
