/**
 * Lambda entry point of the intake queue's consumer (an SQS event source mapping with
 * ReportBatchItemFailures): starts one execution per message under its deterministic name.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { START_EXECUTION_STEP } from '../shared/telemetry-names.js';
import { type IntakeOutcome, loadIntakeSettings, startFromBatch } from './start-execution.js';

const tools = createStepTools(START_EXECUTION_STEP);
const config = loadConfig();
const settings = loadIntakeSettings();
// Endpoints read once at cold start, like every other setting: the SDK would read
// AWS_ENDPOINT_URL_* at each client's first call, and a local run (npm run serve) sets them for
// this handler's import only (its other handlers may talk to another local endpoint).
const endpoint = (name: string) => process.env[name]?.trim() || undefined;
const sfn = tools.tracer.captureAWSv3Client(new SFNClient({ endpoint: endpoint('AWS_ENDPOINT_URL_SFN') }));
const sqs = tools.tracer.captureAWSv3Client(new SQSClient({ endpoint: endpoint('AWS_ENDPOINT_URL_SQS') }));

function logOutcome(outcome: IntakeOutcome): void {
  const keys = { ...outcome };
  switch (outcome.outcome) {
    case 'started':
      tools.logger.info('Execution started', keys);
      return;
    case 'already-started':
      tools.logger.info('Execution already started: nothing to do', keys);
      return;
    case 'refused':
      tools.logger.warn(
        outcome.forwarded
          ? 'Message refused: moved to the dead-letter queue'
          : 'Message refused, and the move to the dead-letter queue failed: it comes back',
        keys,
      );
      return;
    case 'retry':
      tools.logger.warn('Execution not started: the message comes back after the visibility timeout', keys);
  }
}

export const handler = defineStep(
  tools,
  () => ({}),
  async (event: SQSEvent, { logger }, context): Promise<SQSBatchResponse> => {
    const { batchItemFailures, outcomes } = await startFromBatch(event.Records ?? [], {
      sfn,
      sqs,
      config,
      settings,
      timeLeftMs: () => context.getRemainingTimeInMillis(),
    });
    for (const outcome of outcomes) logOutcome(outcome);
    const count = (name: IntakeOutcome['outcome']) => outcomes.filter((o) => o.outcome === name).length;
    logger.info('Batch done', {
      messages: outcomes.length,
      started: count('started'),
      already_started: count('already-started'),
      refused: count('refused'),
      retried: batchItemFailures.length,
    });
    return { batchItemFailures };
  },
);
