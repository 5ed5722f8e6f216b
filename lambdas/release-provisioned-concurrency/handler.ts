/**
 * Lambda entry point for "Release provisioned concurrency", invoked by the stack's
 * UPDATE_COMPLETE event and a daily schedule (cdk/constructs/provisioned-concurrency-release.ts).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { createStepTools, defineStep } from '../shared/observability.js';
import { releaseProvisionedConcurrency } from './release-provisioned-concurrency.js';
import {
  loadReleaseSettings,
  PROVISIONED_RELEASE_METRICS,
  PROVISIONED_RELEASE_STEP,
} from './release-settings.js';

const tools = createStepTools(PROVISIONED_RELEASE_STEP);

const settings = loadReleaseSettings();
const lambda = tools.tracer.captureAWSv3Client(new LambdaClient({}));
const sfn = tools.tracer.captureAWSv3Client(new SFNClient({}));
const cloudformation = tools.tracer.captureAWSv3Client(new CloudFormationClient({}));

export const handler = defineStep(
  tools,
  () => ({}),
  async (_event: unknown, { logger, metrics }) => {
    const summary = await releaseProvisionedConcurrency({
      lambda,
      sfn,
      cloudformation,
      ...settings,
    });
    metrics.addMetric(PROVISIONED_RELEASE_METRICS.released, MetricUnit.Count, summary.released.length);
    metrics.addMetric(PROVISIONED_RELEASE_METRICS.failed, MetricUnit.Count, summary.failed.length);
    logger.info('Provisioned concurrency release finished', { ...summary });
    if (summary.failed.length > 0 || summary.unnamed_functions.length > 0) {
      // Still billed: fail the run, so Lambda retries it and the function's error alarm counts it.
      throw new Error(
        `Provisioned concurrency left on ${summary.failed.length} old version(s) and ${summary.unnamed_functions.length} function(s) the definition names no version of`,
      );
    }
    return summary;
  },
);
