/** Lambda entry point for "Submit to AssemblyAI". */
import { createProvider, createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import type { ValidatedState } from '../shared/workflow-state.js';
import { submitTranscription } from './submit-transcription.js';

const tools = createStepTools('submit-transcription');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);

export const handler = defineStep(
  tools,
  (state: ValidatedState) => ({
    execution_arn: state.execution.arn,
    file_id: state.request.file_id,
    user_id: state.request.user_id,
  }),
  async (state: ValidatedState, { logger }) => {
    const job = await submitTranscription(state, { s3, provider, config });
    logger.appendKeys({ transcript_id: job.id });
    return job;
  },
);
