/** Lambda entry point for "Check transcript status". */
import { createProvider, createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep, stateCorrelation } from '../shared/observability.js';
import type { SubmittedState } from '../shared/workflow-state.js';
import { checkTranscript } from './check-transcript.js';

const tools = createStepTools('check-transcript');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);

export const handler = defineStep(
  tools,
  stateCorrelation,
  async (state: SubmittedState, { logger }, context) => {
    // The hold never outlasts the invocation (local runs pass a context without the method).
    const job = await checkTranscript(state, {
      s3,
      provider,
      config,
      remainingMs: context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : undefined,
    });
    logger.info('Transcript status', {
      status: job.status,
      checks: job.checks,
      wait_seconds: job.wait_seconds,
    });
    return job;
  },
);
