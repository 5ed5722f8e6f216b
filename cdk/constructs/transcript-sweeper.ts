/**
 * Sweeps this deployment's leftover AssemblyAI jobs: an EventBridge schedule rule invokes the
 * sweep-transcripts Lambda, which deletes the jobs whose audio URL points into this stack's bucket
 * under the input prefix and that were created longer ago than `minAge` (see
 * lambdas/sweep-transcripts/sweep-transcripts.ts). `minAge` is checked here against the state
 * machine's execution timeout, so no deploy can sweep a job an execution still uses. The Lambda
 * talks to AssemblyAI only: it may read the API key and nothing in the bucket.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SWEEP_STEP } from '../../lambdas/shared/telemetry-names.js';
import { SWEEP_DEFAULTS, SWEEP_ENV } from '../../lambdas/sweep-transcripts/sweep-settings.js';
import type { DeploymentConfig } from '../config.js';
import { namePrefix } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import type { AssemblyAiApiKey } from './assemblyai-api-key.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import { workflowEnvironment } from './transcription-steps.js';
import type { TranscriptionStorage } from './transcription-storage.js';

/** Left of the Lambda's timeout when the run's time budget is over: cold start, log and metric flush. */
const TIME_BUDGET_MARGIN = Duration.seconds(30);

export interface TranscriptSweeperProps {
  config: DeploymentConfig;
  storage: TranscriptionStorage;
  apiKey: AssemblyAiApiKey;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
  /** The state machine's execution timeout: the longest a job can be in use. */
  executionTimeout: Duration;
  /** Jobs created longer ago than this are swept; at least `executionTimeout`, or the synth fails. */
  minAge: Duration;
  /** Time between two runs. @default Duration.hours(1) */
  interval?: Duration;
  /** How far past `minAge` a run still looks; at least `interval`, so every job is looked at. @default 3 days (`SWEEP_DEFAULTS`) */
  lookback?: Duration;
  /** List pages (of 200) read per run. @default 50 */
  maxPages?: number;
  /** Deletes attempted per run. @default 500 */
  maxDeletes?: number;
  /** The Lambda's timeout; below `interval`, so runs never overlap. @default Duration.minutes(5) */
  timeout?: Duration;
}

export class TranscriptSweeper extends Construct {
  readonly function: TranscriptionFunction;
  readonly rule: Rule;
  readonly interval: Duration;

  constructor(scope: Construct, id: string, props: TranscriptSweeperProps) {
    super(scope, id);
    const { config, storage, apiKey, minAge, executionTimeout } = props;
    this.interval = props.interval ?? Duration.hours(1);
    const lookback = props.lookback ?? Duration.seconds(SWEEP_DEFAULTS.lookbackSeconds);
    const timeout = props.timeout ?? Duration.minutes(5);

    if (minAge.toSeconds() < executionTimeout.toSeconds()) {
      throw new Error(
        `TranscriptSweeper: minAge (${minAge.toSeconds()} s) is below the execution timeout (${executionTimeout.toSeconds()} s); it would sweep jobs that running executions still use`,
      );
    }
    if (lookback.toSeconds() < this.interval.toSeconds()) {
      throw new Error(
        'TranscriptSweeper: lookback must be at least the interval, or some jobs are never looked at',
      );
    }
    if (timeout.toSeconds() >= this.interval.toSeconds()) {
      throw new Error('TranscriptSweeper: the timeout must be below the interval, so runs never overlap');
    }

    this.function = new TranscriptionFunction(this, 'SweepTranscripts', {
      step: SWEEP_STEP,
      entry: handlerEntry(SWEEP_STEP),
      depsLockFilePath: LOCK_FILE,
      functionName: `${namePrefix(config.environment)}-${SWEEP_STEP}`,
      // Sequential list pages and deletes; waiting on AssemblyAI, not computing.
      memorySize: 256,
      timeout,
      logLevel: config.logLevel,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      network: props.network,
      environment: {
        ...workflowEnvironment(config, storage),
        ASSEMBLYAI_API_KEY_SECRET_ID: apiKey.secretId,
        [SWEEP_ENV.minAgeSeconds]: String(minAge.toSeconds()),
        [SWEEP_ENV.lookbackSeconds]: String(lookback.toSeconds()),
        [SWEEP_ENV.pageSize]: String(SWEEP_DEFAULTS.pageSize),
        [SWEEP_ENV.maxPages]: String(props.maxPages ?? SWEEP_DEFAULTS.maxPages),
        [SWEEP_ENV.maxDeletes]: String(props.maxDeletes ?? SWEEP_DEFAULTS.maxDeletes),
        [SWEEP_ENV.timeBudgetSeconds]: String(timeout.minus(TIME_BUDGET_MARGIN).toSeconds()),
      },
    });
    // AssemblyAI only: the bucket is identified by name in the audio URLs, never read or written.
    for (const statement of apiKey.readStatements()) this.function.allow(statement);
    // Every run starts from the newest job and repeats nothing harmful: a failed run is simply
    // followed by the next one, not retried beside it.
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    this.rule = new Rule(this, 'Schedule', {
      description: `Deletes this deployment's AssemblyAI jobs older than ${minAge.toHumanString()} (transcript sweeper)`,
      schedule: Schedule.rate(this.interval),
    });
    this.rule.addTarget(
      // Delivery retries cover a throttled invoke; a run delivered later than this is not worth it.
      new LambdaFunction(this.function.function, {
        retryAttempts: 2,
        maxEventAge: Duration.minutes(30),
      }),
    );
  }
}
