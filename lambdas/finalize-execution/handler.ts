/** Lambda entry point for "Finalize execution", the target of the execution status-change rule. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { resultOwner } from '../record-failure/record-failure.js';
import { createProvider, createS3Client } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import {
  type ExecutionStatusChangeEvent,
  finalizeExecution,
  parseExecutionInput,
} from './finalize-execution.js';

const tools = createStepTools('finalize-execution');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = config.assemblyai.deleteAfterPersist ? createProvider(config, tools.tracer) : undefined;
const sfn = tools.tracer.captureAWSv3Client(new SFNClient({}));

async function describeInput(executionArn: string): Promise<string | undefined> {
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return execution.input;
}

export const handler = defineStep(
  tools,
  (event: ExecutionStatusChangeEvent) => ({
    execution_arn: event.detail?.executionArn,
    ...resultOwner({ input: parseExecutionInput(event.detail?.input) }),
  }),
  async (event: ExecutionStatusChangeEvent, { logger, metrics }) => {
    const finalized = await finalizeExecution(event, { s3, config, provider, describeInput });
    logger.appendKeys({ transcript_id: finalized.transcript_id });
    logger.info('Execution finalized', { ...finalized });
    if (finalized.provider_job === 'failed') {
      logger.warn('Could not delete the transcript at AssemblyAI');
      metrics.addMetric(METRIC_NAMES.providerDeleteFailed, MetricUnit.Count, 1);
    }
    return finalized;
  },
);
