/**
 * Lambda entry point of the webhook receiver (a Function URL, webhook mode only). Answers with
 * an empty body: AssemblyAI reads only the status code, and nothing about a job is echoed to a
 * caller that may not be AssemblyAI.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  createProvider,
  createS3Client,
  WEBHOOK_AUTH_HEADER,
  webhookSecretSource,
} from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { createTaskCallbacks } from '../shared/task-callbacks.js';
import { receiveWebhook } from './receive-webhook.js';

const tools = createStepTools('receive-webhook');
const config = loadConfig();
const s3 = createS3Client(tools.tracer);
const provider = createProvider(config, tools.tracer);
const tasks = createTaskCallbacks(tools.tracer);
const secret = webhookSecretSource(tools.tracer);

export const handler = defineStep(
  tools,
  () => ({}),
  async (event: APIGatewayProxyEventV2, { logger }): Promise<APIGatewayProxyStructuredResultV2> => {
    const result = await receiveWebhook(event, {
      s3,
      provider,
      config,
      tasks,
      secret,
      headerName: WEBHOOK_AUTH_HEADER,
    });
    if (result.transcriptId) logger.appendKeys({ transcript_id: result.transcriptId });
    logger.info('Webhook answered', {
      outcome: result.outcome,
      status_code: result.statusCode,
      ...(result.jobStatus && { job_status: result.jobStatus }),
      ...(result.errorType && { error_type: result.errorType }),
    });
    return { statusCode: result.statusCode, body: '' };
  },
  // Webhook mode: the task token (Submit) and the secret header (receiver) must never reach a log.
  { eventHoldsSecrets: true },
);
