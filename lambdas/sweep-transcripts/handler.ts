/** Lambda entry point for "Sweep transcripts", invoked by the stack's schedule rule. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ScheduledEvent } from 'aws-lambda';
import { createAssemblyAIProvider } from '../shared/assemblyai.js';
import { apiKeySource } from '../shared/clients.js';
import { loadConfig } from '../shared/config.js';
import { ProviderUnavailable } from '../shared/errors.js';
import { createStepTools, defineStep } from '../shared/observability.js';
import { METRIC_NAMES, SWEEP_STEP } from '../shared/telemetry-names.js';
import { INCOMPLETE_STOPS, loadSweepSettings, sweepTranscripts } from './sweep-transcripts.js';

const tools = createStepTools(SWEEP_STEP);
const config = loadConfig();
const settings = loadSweepSettings();
const provider = createAssemblyAIProvider({
  apiKey: apiKeySource(tools.tracer),
  baseUrl: config.assemblyai.baseUrl,
  speechModels: config.assemblyai.speechModels,
  languageDetection: config.assemblyai.languageDetection,
  timeoutMs: config.assemblyai.timeoutMs,
});

export const handler = defineStep(
  tools,
  () => ({}),
  async (_event: ScheduledEvent, { logger, metrics }) => {
    const deadline = Date.now() + settings.timeBudgetMs;
    const summary = await sweepTranscripts({
      provider,
      target: { bucket: config.bucket, inputPrefix: config.inputPrefix },
      settings,
      timeLeftMs: () => deadline - Date.now(),
      requestTimeoutMs: config.assemblyai.timeoutMs,
    });
    const incomplete = INCOMPLETE_STOPS.includes(summary.stopped_by);
    metrics.addMetric(METRIC_NAMES.transcriptsSwept, MetricUnit.Count, summary.swept_ids.length);
    metrics.addMetric(METRIC_NAMES.sweepDeleteFailed, MetricUnit.Count, summary.delete_failed.length);
    metrics.addMetric(METRIC_NAMES.sweepUnfinishedSkipped, MetricUnit.Count, summary.unfinished_ids.length);
    metrics.addMetric(METRIC_NAMES.sweepIncomplete, MetricUnit.Count, incomplete ? 1 : 0);
    // Ids and counts only: the list's audio URLs are presigned credentials.
    logger.info('Sweep finished', { ...summary });
    for (const failure of summary.delete_failed) {
      logger.warn('Could not delete a leftover transcript at AssemblyAI', { ...failure });
    }
    if (summary.stopped_by === 'list-failed') {
      // Nothing past this point was seen: fail the run so the sweeper's error alarm counts it.
      throw new ProviderUnavailable(
        `Could not list AssemblyAI transcripts (${summary.list_error_type}); the next run tries again`,
      );
    }
    return summary;
  },
);
