/**
 * What ops watch: alarms on the state machine, on the workflow's own outcome metric (system
 * failures only, so users' bad uploads never page anyone), on each step's Lambda, on the
 * provider-error metric the steps emit through Powertools and on the completion and intake queues, all
 * notifying one SNS topic; and one dashboard with executions, outcomes, time to result, per-step
 * metrics and Lambda health. Thresholds are sized for a chat bot's traffic
 * (tens to hundreds of voice messages an hour) and explained where they are set.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import type { RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CANARY_COMPLETED_METRIC } from '../../lambdas/shared/canary.js';
import {
  AUDIO_LENGTH_BUCKET_NAMES,
  AUDIO_LENGTH_DIMENSION,
  FINALIZE_STEP_NAME,
  METRIC_NAMES,
  METRICS_NAMESPACE,
  OUTCOME_DIMENSION,
  OUTCOMES,
  type Outcome,
} from '../../lambdas/shared/telemetry-names.js';
import { pascalCase } from '../naming.js';
import type { TranscriptionFunction } from './transcription-function.js';

export { METRICS_NAMESPACE };

/** Functions whose failure means a user never hears back: one error raises their alarm. */
// A failed release leaves old versions' provisioned concurrency billed.
const MUST_NOT_FAIL = [
  'record-failure',
  'finalize-execution',
  'release-provisioned-concurrency',
  'run-canary',
];

export interface TranscriptionMonitoringProps {
  stateMachine: StateMachine;
  /** The step functions, in workflow order, and the finalize-execution function. */
  functions: TranscriptionFunction[];
  /**
   * The finalizer's dead letter queue: an execution that ended without a result (timed out,
   * aborted, uncatchable failure) that could not be finalized. @default - no alarm
   */
  finalizeDeadLetterQueue?: IQueue;
  /**
   * The completion queue and its dead letter queue: alarms when a message was dead-lettered (a
   * consumer failed on it `maxReceiveCount` times) and when the oldest message waits longer than
   * `completionQueueMaxAge` (the consumer stopped), and a dashboard row. @default - no queue
   */
  completionQueue?: { queue: IQueue; deadLetterQueue: IQueue };
  /**
   * Age of the oldest completion message that means its consumer has stalled. The bot receives
   * with long polling, so a healthy queue's oldest message is seconds old.
   * @default Duration.minutes(15)
   */
  completionQueueMaxAge?: Duration;
  /**
   * The intake queue and its dead letter queue (`intakeQueue`): alarms when a message was
   * dead-lettered (refused by the start-execution Lambda, or its start failed `maxReceiveCount`
   * times) and when the oldest message waits longer than `intakeQueueMaxAge` (starts are failing
   * or slower than the bot sends), and a dashboard row. @default - no intake queue
   */
  intakeQueue?: { queue: IQueue; deadLetterQueue: IQueue };
  /**
   * Age of the oldest intake message that means starts are not keeping up. A healthy queue's
   * messages are picked up within seconds; a retried one waits a visibility timeout (3 min).
   * @default Duration.minutes(10)
   */
  intakeQueueMaxAge?: Duration;
  /**
   * The REST API (`restApi`): alarms when its 5xx answers (an integration the role may not call, a
   * Step Functions or S3 outage) reach 5 in 5 minutes. 4xx are the caller's and never page.
   * @default - no REST API
   */
  restApi?: RestApiBase;
  /**
   * System failures (TranscriptionOutcome, outcome=system_error: the provider, storage, timeouts,
   * aborts, bugs) per 15 minutes that raise the SystemFailures alarm. Users' own mistakes
   * (user_error) never count here.
   * @default 3
   */
  systemFailuresThreshold?: number;
  /**
   * The scheduled sweeper of leftover AssemblyAI jobs and its interval: alarms when three runs in a
   * row failed, or had deletes fail (one is retried by the next run), and a dashboard row.
   * @default - no sweeper
   */
  transcriptSweeper?: { function: TranscriptionFunction; interval: Duration };
  /**
   * The live canary (`canary`) and its schedule's interval: alarms when two intervals in a row
   * passed without a canary run that completed (a failed run counts 0, a run that never ends or
   * never starts counts nothing, and missing data breaches), and a dashboard row.
   * @default - no canary
   */
  canary?: { function: TranscriptionFunction; interval: Duration };
  /**
   * The steps whose AssemblyAI errors fail the step, and so emit `ProviderErrors` (Persist and
   * Record failure only delete, catch a failure and count `ProviderDeleteFailed` instead).
   */
  providerSteps: string[];
  /** Prefix of alarm and dashboard names, e.g. `wisevoice-transcription-prod`. */
  namePrefix: string;
  /** The Lambdas' Powertools service (the `service` dimension of their metrics), e.g. `transcription-prod`. */
  serviceName: string;
  /** Subscribe this address to the alarm topic. @default - no subscription */
  alarmEmail?: string;
  /**
   * Encrypt the topic with this key; its key policy is extended so CloudWatch can publish. Alarm
   * messages hold names and numbers only, and CloudWatch cannot publish to a topic under the AWS
   * managed SNS key, so without a customer managed key the topic stays unencrypted.
   * @default - unencrypted
   */
  topicKey?: Key;
  /**
   * Failed executions per 15 minutes, of any cause, that raise the ExecutionsFailed alarm. A
   * backstop behind SystemFailures: it also counts users' own bad uploads, which the workflow
   * reports to the bot by design, so only a flood of them (a broken client, abuse) or an outage
   * the outcome metric cannot see (the finalizer itself down) reaches it.
   * @default 20
   */
  failedExecutionsThreshold?: number;
  /**
   * Lambda errors per 15 minutes, per step. Steps throw typed errors so the state machine can
   * route them, so validate-audio's errors include every rejected upload.
   * @default 5 for every step except record-failure and finalize-execution, 1 for those two (if they fail, the bot never hears back)
   */
  lambdaErrorsThresholds?: Record<string, number>;
  /**
   * Provider errors (429, 5xx, timeouts, rejections from AssemblyAI) per 10 minutes, summed over
   * the steps. Single ones are retried by the state machine; five in ten minutes mean AssemblyAI
   * is degraded or the key or balance is wrong.
   * @default 5
   */
  providerErrorsThreshold?: number;
}

export class TranscriptionMonitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  private readonly namePrefix: string;

  constructor(scope: Construct, id: string, props: TranscriptionMonitoringProps) {
    super(scope, id);
    const { stateMachine, namePrefix } = props;
    this.namePrefix = namePrefix;

    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${namePrefix} alarms`,
      enforceSSL: true,
      masterKey: props.topicKey,
    });
    if (props.topicKey) {
      props.topicKey.grant(
        new ServicePrincipal('cloudwatch.amazonaws.com'),
        'kms:Decrypt',
        'kms:GenerateDataKey*',
      );
    }
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    const quarterHour = Duration.minutes(15);

    this.alarm('ExecutionsFailed', {
      metric: stateMachine.metricFailed({ period: quarterHour, statistic: 'Sum' }),
      threshold: props.failedExecutionsThreshold ?? 20,
      description:
        "Very many executions failed, of any cause, users' bad uploads included (the backstop behind SystemFailures): a broken or abused client, or an outage while the finalizer cannot count outcomes. Open a few failed executions and group by Error.",
    });
    this.alarm('SystemFailures', {
      // Unlabelled, so the alarm names the metric itself (MetricName and Dimensions).
      metric: outcomeMetric(props.serviceName, 'system_error', quarterHour, false),
      threshold: props.systemFailuresThreshold ?? 3,
      description:
        'Executions are failing for reasons on our side (TranscriptionOutcome outcome=system_error: provider, storage, timeouts, aborts, bugs), not because of users\' uploads. Filter the finalize-execution log group for "Completion message" with error_category "system" to see the error types.',
    });
    this.alarm('ExecutionsTimedOut', {
      metric: stateMachine.metricTimedOut({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      description:
        'An execution hit the state machine timeout. The poll deadline and the retry budget after it should always end the run first: a bug, or a stuck Wait. The finalizer wrote its TranscriptionTimedOut result.',
    });
    this.alarm('ExecutionsThrottled', {
      metric: stateMachine.metricThrottled({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      description:
        'Step Functions throttled StartExecution or state transitions: the bot is starting more executions than the account quota allows.',
    });
    this.alarm('ExecutionsAborted', {
      metric: stateMachine.metricAborted({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      description:
        'Someone stopped executions. The finalizer writes their failure results (InternalError) and deletes their AssemblyAI jobs and work objects.',
    });

    for (const fn of props.functions) {
      const threshold = props.lambdaErrorsThresholds?.[fn.step] ?? (MUST_NOT_FAIL.includes(fn.step) ? 1 : 5);
      this.alarm(`${pascalCase(fn.step)}Errors`, {
        metric: fn.function.metricErrors({ period: quarterHour, statistic: 'Sum' }),
        threshold,
        description: `The ${fn.step} Lambda threw errors (typed errors included). Check its log group for "Step failed".`,
      });
      this.alarm(`${pascalCase(fn.step)}Throttles`, {
        metric: fn.function.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 1,
        description: `The ${fn.step} Lambda was throttled (account concurrency exhausted). The state machine retries, but transcriptions slow down.`,
      });
    }

    if (props.finalizeDeadLetterQueue) {
      this.alarm('FinalizeDeadLetters', {
        metric: props.finalizeDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 1,
        description:
          'An execution ending could not be finalized or told: its user may have no result object, or no completion message (a failed SendMessage ends here too). Read the message in the dead letter queue (the event, or the failed invocation with its error), fix the cause, then re-send the event to the finalize-execution Lambda; every step of it is safe to repeat.',
      });
    }

    const completion = props.completionQueue;
    if (completion) {
      this.alarm('CompletionDeadLetters', {
        metric: completion.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 1,
        description:
          'A completion message was received by the bot several times and never deleted: the consumer fails on it, and that user was not told. The result object is in S3 (result_key in the message). Fix the consumer, then redrive the dead letter queue to the completion queue.',
      });
      const maxAge = props.completionQueueMaxAge ?? quarterHour;
      this.alarm('CompletionQueueStalled', {
        metric: completion.queue.metricApproximateAgeOfOldestMessage({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: maxAge.toSeconds(),
        description: `The oldest completion message has waited ${maxAge.toHumanString()} or more: the bot is not consuming the completion queue (down, or not wired to it), so users are not told their transcriptions finished. Messages expire after 4 days.`,
      });
    }

    const intake = props.intakeQueue;
    if (intake) {
      this.alarm('IntakeDeadLetters', {
        metric: intake.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: 1,
        description:
          'A transcription request on the intake queue was not started: refused (message attribute "refusal": invalid-input, invalid-attempt, name-taken, execution-refused; "refusal_detail" says why) or its StartExecution failed five times (see the start-execution log group for "Execution not started"). That user got no transcription. Fix the cause or the message, then redrive the dead letter queue to the intake queue (a repeated start is harmless).',
      });
      const maxAge = props.intakeQueueMaxAge ?? Duration.minutes(10);
      this.alarm('IntakeQueueBacklog', {
        metric: intake.queue.metricApproximateAgeOfOldestMessage({
          period: fiveMinutes,
          statistic: 'Maximum',
        }),
        threshold: maxAge.toSeconds(),
        description: `The oldest transcription request on the intake queue has waited ${maxAge.toHumanString()} or more: StartExecution is failing (throttling, an outage, a permission) or the bot sends faster than intakeMaxConcurrency starts. Check the start-execution log group for "Execution not started" and the ExecutionsThrottled alarm.`,
      });
    }

    if (props.restApi) {
      this.alarm('RestApi5xx', {
        metric: props.restApi.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
        threshold: 5,
        description:
          'The REST API answered 5xx five times or more in 5 minutes: StartExecution or the S3 read of a result failed behind it (the integration role, a KMS grant, a service outage). The bot got "StartFailed" or "ResultUnavailable". See the stage\'s execution log group API-Gateway-Execution-Logs_{api id}/v1 and its access log (integrationStatus).',
      });
    }

    const sweeper = props.transcriptSweeper;
    if (sweeper) {
      // One datapoint per run; three in a row is a cause, not a blip the next run absorbs.
      const perRun = { period: sweeper.interval, statistic: 'Sum' };
      this.alarm('TranscriptSweepFailing', {
        metric: sweeper.function.function.metricErrors(perRun),
        threshold: 1,
        evaluationPeriods: 3,
        description: `The ${sweeper.function.step} Lambda failed three runs in a row (usually: AssemblyAI's transcript list could not be read). Leftover AssemblyAI jobs, which hold users' transcripts, are not being deleted. Check its log group for "Step failed".`,
      });
      this.alarm('TranscriptSweepDeleteFailed', {
        metric: stepMetric(
          props.serviceName,
          METRIC_NAMES.sweepDeleteFailed,
          sweeper.function.step,
          'Sum',
          sweeper.interval,
        ),
        threshold: 1,
        evaluationPeriods: 3,
        description: `Three sweeper runs in a row could not delete leftover AssemblyAI jobs. Their ids are in the ${sweeper.function.step} log group ("Could not delete a leftover transcript"); delete them by hand if AssemblyAI keeps refusing.`,
      });
    }

    const canary = props.canary;
    if (canary) {
      this.alarm('CanaryNotCompleting', {
        metric: stepMetric(
          props.serviceName,
          CANARY_COMPLETED_METRIC,
          FINALIZE_STEP_NAME,
          'Sum',
          canary.interval,
        ),
        threshold: 1,
        evaluationPeriods: 2,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        // No canary ending at all is the outage this alarm is for.
        treatMissingData: TreatMissingData.BREACHING,
        description: `No live canary run completed in two ${canary.interval.toHumanString()} intervals in a row: the deployed workflow cannot transcribe the bundled sample against the real AssemblyAI (a retired model, a revoked key, a broken deploy or an outage), so the bot's requests are failing too. Open the newest canary-… execution in the Step Functions console; its failed state and error say where. Its ${canary.function.step} Lambda's log group shows whether runs start at all.`,
      });
    }

    const providerErrors = new MathExpression({
      expression: props.providerSteps.map((_, i) => `FILL(p${i}, 0)`).join(' + '),
      usingMetrics: Object.fromEntries(
        props.providerSteps.map((step, i) => [
          `p${i}`,
          stepMetric(props.serviceName, METRIC_NAMES.providerErrors, step, 'Sum', Duration.minutes(10)),
        ]),
      ),
      label: 'Provider errors',
      period: Duration.minutes(10),
    });
    this.alarm('ProviderErrors', {
      metric: providerErrors,
      threshold: props.providerErrorsThreshold ?? 5,
      description:
        'AssemblyAI calls are failing (rate limits, 5xx, timeouts or rejections such as a bad key or an empty balance). See the ProviderErrors widget for the step.',
    });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboard names are account-wide: a stack pinned to a region (-c regions=…) says which.
      dashboardName: Token.isUnresolved(Stack.of(this).region)
        ? namePrefix
        : `${namePrefix}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(24),
    });
    const steps = props.functions.map((fn) => fn.step);
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${namePrefix}\nExecutions of the transcription state machine, the steps' own metrics (namespace \`${METRICS_NAMESPACE}\`) and their Lambdas.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Executions',
        width: 12,
        left: [
          stateMachine.metricStarted({ statistic: 'Sum', label: 'Started' }),
          stateMachine.metricSucceeded({ statistic: 'Sum', label: 'Succeeded' }),
          stateMachine.metricFailed({ statistic: 'Sum', label: 'Failed' }),
          stateMachine.metricTimedOut({ statistic: 'Sum', label: 'Timed out' }),
          stateMachine.metricAborted({ statistic: 'Sum', label: 'Aborted' }),
          stateMachine.metricThrottled({ statistic: 'Sum', label: 'Throttled' }),
        ],
      }),
      new GraphWidget({
        title: 'Execution duration (ms)',
        width: 12,
        left: ['p50', 'p90', 'p99'].map((p) => stateMachine.metricTime({ statistic: p, label: p })),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Outcomes (user mistakes vs system failures)',
        width: 12,
        left: OUTCOMES.map((outcome) => outcomeMetric(props.serviceName, outcome, fiveMinutes)),
      }),
      new GraphWidget({
        title: 'Time to result p50 / p95 by audio length (s)',
        width: 12,
        left: AUDIO_LENGTH_BUCKET_NAMES.flatMap((bucket) =>
          ['p50', 'p95'].map((statistic) => timeToResultMetric(props.serviceName, bucket, statistic)),
        ),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Steps succeeded',
        width: 8,
        left: steps.map((step) => stepMetric(props.serviceName, METRIC_NAMES.stepSucceeded, step, 'Sum')),
      }),
      new GraphWidget({
        title: 'Steps failed',
        width: 8,
        left: steps.map((step) => stepMetric(props.serviceName, METRIC_NAMES.stepFailed, step, 'Sum')),
      }),
      new GraphWidget({
        title: 'Step duration p90 (ms)',
        width: 8,
        left: steps.map((step) => stepMetric(props.serviceName, METRIC_NAMES.stepDuration, step, 'p90')),
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Provider errors',
        width: 8,
        left: props.providerSteps.map((step) =>
          stepMetric(props.serviceName, METRIC_NAMES.providerErrors, step, 'Sum'),
        ),
        // A transcript that could not be deleted at AssemblyAI: the result is stored, a copy remains there.
        right: [
          searchMetric(props.serviceName, METRIC_NAMES.providerDeleteFailed, 'Sum').with({
            label: 'transcript not deleted',
          }),
        ],
      }),
      new GraphWidget({
        title: 'Audio transcribed (seconds)',
        width: 8,
        left: [searchMetric(props.serviceName, METRIC_NAMES.audioSeconds, 'Sum')],
      }),
      new GraphWidget({
        title: 'Segments produced',
        width: 8,
        left: [searchMetric(props.serviceName, METRIC_NAMES.segments, 'Sum')],
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Lambda errors',
        width: 8,
        left: props.functions.map((fn) => fn.function.metricErrors({ statistic: 'Sum', label: fn.step })),
      }),
      new GraphWidget({
        title: 'Lambda duration p99 (ms)',
        width: 8,
        left: props.functions.map((fn) => fn.function.metricDuration({ statistic: 'p99', label: fn.step })),
      }),
      new GraphWidget({
        title: 'Lambda throttles',
        width: 8,
        left: props.functions.map((fn) => fn.function.metricThrottles({ statistic: 'Sum', label: fn.step })),
      }),
    );
    if (completion) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Completion queue',
          width: 12,
          left: [
            completion.queue.metricNumberOfMessagesSent({ statistic: 'Sum', label: 'sent' }),
            completion.queue.metricNumberOfMessagesDeleted({ statistic: 'Sum', label: 'consumed' }),
            completion.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              statistic: 'Maximum',
              label: 'dead letters',
            }),
          ],
        }),
        new GraphWidget({
          title: 'Completion queue: oldest message (s)',
          width: 12,
          left: [completion.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })],
        }),
      );
    }
    if (intake) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Intake queue',
          width: 12,
          left: [
            intake.queue.metricNumberOfMessagesSent({ statistic: 'Sum', label: 'sent' }),
            intake.queue.metricNumberOfMessagesDeleted({ statistic: 'Sum', label: 'started or refused' }),
            intake.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
              statistic: 'Maximum',
              label: 'dead letters',
            }),
          ],
        }),
        new GraphWidget({
          title: 'Intake queue: oldest message (s)',
          width: 12,
          left: [intake.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum' })],
        }),
      );
    }
    if (sweeper) {
      const step = sweeper.function.step;
      const perRun = (name: string) =>
        stepMetric(props.serviceName, name, step, 'Sum', sweeper.interval).with({ label: name });
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Leftover AssemblyAI jobs (sweeper, per run)',
          width: 12,
          left: [
            perRun(METRIC_NAMES.transcriptsSwept),
            perRun(METRIC_NAMES.sweepDeleteFailed),
            perRun(METRIC_NAMES.sweepUnfinishedSkipped),
          ],
          // 1: a per-run limit ended the run early; the next run carries on.
          right: [perRun(METRIC_NAMES.sweepIncomplete)],
        }),
        new GraphWidget({
          title: 'Sweeper Lambda',
          width: 12,
          left: [sweeper.function.function.metricErrors({ statistic: 'Sum', period: sweeper.interval })],
          right: [
            sweeper.function.function.metricDuration({ statistic: 'Maximum', period: sweeper.interval }),
          ],
        }),
      );
    }
    if (canary) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Live canary: completed runs per interval (expect ≥ 1)',
          width: 12,
          left: [
            stepMetric(
              props.serviceName,
              CANARY_COMPLETED_METRIC,
              FINALIZE_STEP_NAME,
              'Sum',
              canary.interval,
            ).with({ label: 'completed' }),
            stepMetric(
              props.serviceName,
              CANARY_COMPLETED_METRIC,
              FINALIZE_STEP_NAME,
              'SampleCount',
              canary.interval,
            ).with({ label: 'ended' }),
          ],
        }),
        new GraphWidget({
          title: 'Canary Lambda',
          width: 12,
          left: [canary.function.function.metricErrors({ statistic: 'Sum', period: canary.interval })],
          right: [canary.function.function.metricDuration({ statistic: 'Maximum', period: canary.interval })],
        }),
      );
    }
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }));
  }

  /** An alarm to the topic; with `evaluationPeriods` n it fires when n periods in a row breach. */
  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
      /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
      comparisonOperator?: ComparisonOperator;
      /** @default NOT_BREACHING: no traffic is not an incident */
      treatMissingData?: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `${this.namePrefix}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.evaluationPeriods,
      comparisonOperator: options.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: options.treatMissingData ?? TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}

/** A Powertools metric of one step of one deployment (dimensions `service` and `step`). */
export function stepMetric(
  service: string,
  name: string,
  step: string,
  statistic: string,
  period = Duration.minutes(5),
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service, step },
    statistic,
    period,
    label: step,
  });
}

/**
 * `TranscriptionOutcome` of one outcome, with exactly the dimensions finalize-execution emits:
 * its Powertools defaults (`service`, `step`) plus `outcome`.
 */
export function outcomeMetric(service: string, outcome: Outcome, period: Duration, labelled = true): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES.transcriptionOutcome,
    dimensionsMap: { service, step: FINALIZE_STEP_NAME, [OUTCOME_DIMENSION]: outcome },
    statistic: 'Sum',
    period,
    label: labelled ? outcome : undefined,
  });
}

/** `TimeToResult` of one audio-length bucket (dimensions `service`, `step`, `audio_length`). */
function timeToResultMetric(service: string, bucket: string, statistic: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRIC_NAMES.timeToResult,
    dimensionsMap: { service, step: FINALIZE_STEP_NAME, [AUDIO_LENGTH_DIMENSION]: bucket },
    statistic,
    period: Duration.minutes(5),
    label: `${bucket} ${statistic}`,
  });
}

/** A metric of one deployment summed over whichever steps emit it. */
function searchMetric(service: string, name: string, statistic: string): MathExpression {
  return new MathExpression({
    expression: `SUM(SEARCH('{${METRICS_NAMESPACE},service,step} service="${service}" MetricName="${name}"', '${statistic}', 300))`,
    usingMetrics: {},
    label: name,
    period: Duration.minutes(5),
  });
}
