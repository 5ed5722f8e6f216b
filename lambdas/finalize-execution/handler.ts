/**
 * Lambda entry point for "Finalize execution", the target of the execution status-change rule:
 * every ending is finalized, told on the completion queue (COMPLETION_QUEUE_URL, when the stack
 * has one) and counted in the outcome metrics; the live canary's endings only in `CanaryCompleted`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { resultOwner } from '../record-failure/record-failure.js';
import { createProvider } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { createS3Client } from '../shared/s3-client.js';
import { METRIC_NAMES } from '../shared/telemetry-names.js';
import {
  completeExecution,
  completionQueueUrlOf,
  recordCanaryMetric,
  recordCompletionMetrics,
  sqsCompletionSender,
} from './completion.js';
import { type ExecutionStatusChangeEvent, parseExecutionInput } from './finalize-execution.js';

const tools = createStepTools('finalize-execution');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = config.assemblyai.deleteAfterPersist ? createProvider(config, tools.tracer) : undefined;
const sfn = tools.tracer.captureAWSv3Client(new SFNClient({}));
const completionQueueUrl = completionQueueUrlOf(process.env);
const sendCompletion = completionQueueUrl
  ? sqsCompletionSender(tools.tracer.captureAWSv3Client(new SQSClient({})), completionQueueUrl)
  : undefined;

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
    const { finalized, message, sent, canary } = await completeExecution(event, {
      s3,
      config,
      provider,
      describeInput,
      sendCompletion,
    });
    logger.appendKeys({ transcript_id: finalized.transcript_id });
    logger.info('Execution finalized', { ...finalized });
    if (finalized.provider_job === 'failed') {
      logger.warn('Could not delete the transcript at AssemblyAI');
      metrics.addMetric(METRIC_NAMES.providerDeleteFailed, MetricUnit.Count, 1);
    }
    if (message && canary) {
      recordCanaryMetric(metrics, message);
      logger.info('Canary run ended (no completion message)', {
        status: message.status,
        outcome: message.outcome,
        error_type: message.error_type,
        duration_seconds: message.duration_seconds,
      });
    } else if (message) {
      // Counted once the message is out: a retried invocation counts its ending once more only
      // when EventBridge delivered the event twice.
      recordCompletionMetrics(metrics, message);
      logger.info(sent ? 'Completion message sent' : 'Completion message built (no queue configured)', {
        status: message.status,
        outcome: message.outcome,
        error_type: message.error_type,
        error_category: message.error_category,
        duration_seconds: message.duration_seconds,
      });
    }
    return { ...finalized, completion_sent: sent };
  },
);
