/**
 * Powertools wiring shared by every step: one Logger, Tracer and Metrics per step (created once
 * at cold start), and `defineStep`, which wraps a step's logic with the same log keys, metrics
 * and error reporting everywhere. Steps never log transcript text, presigned URLs or the API key.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ProviderRateLimited, TranscriptionError } from './errors.js';
import { METRIC_NAMES, METRICS_NAMESPACE, SERVICE_NAME, type StepName } from './telemetry-names.js';

export interface StepTools {
  logger: Logger;
  tracer: Tracer;
  metrics: Metrics;
}

/** The workflow's steps, and the Lambdas beside them (finalizer, sweeper, webhook receiver, intake). */
export type ToolsName =
  | StepName
  | 'finalize-execution'
  | 'sweep-transcripts'
  | 'receive-webhook'
  | 'start-execution';

/**
 * The Logger at POWERTOOLS_LOG_LEVEL when it is set. With JSON logs Lambda also sets
 * AWS_LAMBDA_LOG_LEVEL (its own filter, kept at INFO so the metric lines pass), and Powertools
 * Logger lets that win over POWERTOOLS_LOG_LEVEL, over a level given to its constructor and over
 * `setLogLevel` alike (`setInitialLogLevel`/`awsLogLevelShortCircuit` in Logger 2.x), so a WARN
 * setting would log at INFO. Hiding AWS_LAMBDA_LOG_LEVEL while the Logger reads its options is the
 * one way to make the deployment's level hold; the variable is put back at once, unchanged.
 */
export function createLogger(options: {
  serviceName: string;
  persistentKeys: Record<string, string>;
}): Logger {
  const level = process.env.POWERTOOLS_LOG_LEVEL?.trim().toUpperCase();
  const lambdaLevel = process.env.AWS_LAMBDA_LOG_LEVEL;
  if (!level || lambdaLevel === undefined) return new Logger(options);
  delete process.env.AWS_LAMBDA_LOG_LEVEL;
  try {
    return new Logger({ ...options, logLevel: level as LogLevel });
  } finally {
    process.env.AWS_LAMBDA_LOG_LEVEL = lambdaLevel;
  }
}

export function createStepTools(step: ToolsName): StepTools {
  // The stack sets POWERTOOLS_SERVICE_NAME per environment (serviceNameOf); local runs use the default.
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME?.trim() || SERVICE_NAME;
  const logger = createLogger({ serviceName, persistentKeys: { step } });
  const tracer = new Tracer({ serviceName });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName, defaultDimensions: { step } });
  return { logger, tracer, metrics };
}

/** The correlation keys every log line of an execution carries, when known. */
export interface CorrelationKeys {
  execution_arn?: string;
  file_id?: string;
  user_id?: number | string;
  transcript_id?: string;
}

/** Correlation keys of a state that has passed "Validate audio" (and maybe "Submit"). */
export function stateCorrelation(state: {
  execution: { arn: string };
  request: { file_id: string; user_id: number };
  transcript?: { id: string };
}): CorrelationKeys {
  return {
    execution_arn: state.execution.arn,
    file_id: state.request.file_id,
    user_id: state.request.user_id,
    transcript_id: state.transcript?.id,
  };
}

const PROVIDER_ERRORS = new Set(['ProviderRateLimited', 'ProviderUnavailable', 'ProviderRejected']);

/**
 * Builds a Lambda handler from a step's logic. The logic receives the tools so it can add
 * correlation keys (e.g. the transcript id) and step-specific metrics.
 */
export function defineStep<Event, Result>(
  tools: StepTools,
  correlate: (event: Event) => CorrelationKeys,
  run: (event: Event, tools: StepTools, context: Context) => Promise<Result>,
  options: {
    /**
     * The event carries a credential (a task token, the webhook's secret header): it is never
     * logged, even with POWERTOOLS_LOGGER_LOG_EVENT on.
     */
    eventHoldsSecrets?: boolean;
  } = {},
) {
  const { logger, tracer, metrics } = tools;
  const step = async (event: Event, context: Context): Promise<Result> => {
    const started = performance.now();
    const keys = Object.fromEntries(Object.entries(correlate(event)).filter(([, v]) => v !== undefined));
    logger.appendKeys(keys);
    if (keys.transcript_id) tracer.putAnnotation('transcript_id', String(keys.transcript_id));
    if (keys.file_id) tracer.putAnnotation('file_id', String(keys.file_id));
    try {
      const result = await run(event, tools, context);
      metrics.addMetric(METRIC_NAMES.stepSucceeded, MetricUnit.Count, 1);
      logger.info('Step succeeded');
      return result;
    } catch (error) {
      const type = error instanceof Error ? error.name : 'Error';
      metrics.addMetric(METRIC_NAMES.stepFailed, MetricUnit.Count, 1);
      if (PROVIDER_ERRORS.has(type)) metrics.addMetric(METRIC_NAMES.providerErrors, MetricUnit.Count, 1);
      if (error instanceof TranscriptionError) {
        // Our own errors carry user-safe messages; log them without a stack to keep logs readable.
        logger.warn('Step failed', {
          error_type: type,
          error_message: error.message,
          retryable: error.retryable,
          ...(error instanceof ProviderRateLimited && { retry_after_seconds: error.retryAfterSeconds }),
        });
      } else {
        logger.error('Step failed with an unexpected error', { error_type: type, error: error as Error });
      }
      throw error;
    } finally {
      metrics.addMetric(METRIC_NAMES.stepDuration, MetricUnit.Milliseconds, performance.now() - started);
    }
  };
  return middy(step)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(
      injectLambdaContext(logger, { resetKeys: true, ...(options.eventHoldsSecrets && { logEvent: false }) }),
    )
    .use(logMetrics(metrics));
}
