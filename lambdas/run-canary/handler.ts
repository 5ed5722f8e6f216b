/**
 * Lambda entry point for "Run canary", invoked by the canary's schedule
 * (cdk/constructs/live-canary.ts). A failure throws: Lambda retries the asynchronous invocation,
 * and the function's error alarm and the missing `CanaryCompleted` both tell ops.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { createStepTools, defineStep } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { CANARY_STEP, loadCanarySettings } from './canary-settings.js';
import { runCanary, type ScheduledEvent } from './run-canary.js';

const tools = createStepTools(CANARY_STEP);
const settings = loadCanarySettings();
const s3 = createS3Client(tools.tracer);
const sfn = tools.tracer.captureAWSv3Client(new SFNClient({}));

export const handler = defineStep(
  tools,
  () => ({}),
  async (event: ScheduledEvent, { logger }) => {
    const start = await runCanary(event, { s3, sfn, ...settings });
    logger.info(start.started ? 'Canary run started' : 'Canary run was already started', { ...start });
    return start;
  },
);
