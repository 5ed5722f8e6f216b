/**
 * Powertools wiring shared by every step: one Logger, Tracer and Metrics per step (created once
 * at cold start), and `defineStep`, which wraps a step's logic with the same log keys, metrics
 * and error reporting everywhere. Steps never log transcript text, presigned URLs or the API key.
 *
 * Tracer wraps the X-Ray SDK (aws-xray-sdk-core 3.x), whose context is cls-hooked: an async_hooks
 * hook, enabled on import, that runs on every promise of the process, traced or not. Measured on
 * Node 24 (scripts/bench/xray-overhead.ts, table in docs/observability.md): ~2.3 µs per awaited
 * promise (100,000 awaits: 8 ms without, ~230 ms with); Validate's core, whose parsers await every
 * read, +20–31 % CPU from the hook and +43–60 % with tracing on (0.7–0.9 ms per captured S3 call);
 * Format's core a few ms at most. A few ms of CPU per invocation, below one S3 round trip, and no
 * setting lowers the hook (POWERTOOLS_TRACER_CAPTURE_* choose the subsegments): tracing stays as it
 * is until the SDK keeps its context in AsyncLocalStorage (aws/aws-xray-sdk-node#338).
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
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

/** The workflow's steps, and the Lambdas beside them (finalizer, sweeper, webhook receiver, intake, concurrency release, canary). */
export type ToolsName =
  | StepName
  | 'finalize-execution'
  | 'sweep-transcripts'
  | 'receive-webhook'
  | 'start-execution'
  | 'release-provisioned-concurrency'
  | 'run-canary';

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

/** Each bundle's source map, read on first use (an unexpected error) and kept for the next. */
const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapOf(file: string): SourceMap | undefined {
  if (!sourceMaps.has(file)) {
    try {
      sourceMaps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
    } catch {
      sourceMaps.set(file, undefined);
    }
  }
  return sourceMaps.get(file);
}

/** A position in an ES module bundle, as a stack frame prints it: `file:///var/task/index.mjs:1:2345`. */
const BUNDLE_POSITION = /(file:\/\/\/[^\s()]+\.mjs):(\d+):(\d+)/g;

/**
 * `stack` with each position in a bundle that has a source map replaced by the source's
 * (`lambdas/validate-audio/validate-audio.ts:181:11`); other positions as they are. What
 * `--enable-source-maps` would print, without its cost: Node would read and parse every map while
 * importing, 6–26 ms of each cold start (cdk/constructs/transcription-function.ts), where this reads
 * one only when an unexpected error is logged.
 */
export function sourceMappedStack(stack: string): string {
  return stack.replace(BUNDLE_POSITION, (position, url: string, line: string, column: string) => {
    const origin = sourceMapOf(fileURLToPath(url))?.findOrigin(Number(line), Number(column));
    if (!origin || !('fileName' in origin)) return position;
    return `${origin.fileName.replace(/^(\.\.\/)+/, '')}:${origin.lineNumber}:${origin.columnNumber}`;
  });
}

/** The error (and its causes) with source-mapped stacks, for the log line and for Lambda's error report. */
function withSourceStack<E extends Error>(error: E): E {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.stack) e.stack = sourceMappedStack(e.stack);
  }
  return error;
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
        logger.error('Step failed with an unexpected error', {
          error_type: type,
          error: withSourceStack(error as Error),
        });
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
