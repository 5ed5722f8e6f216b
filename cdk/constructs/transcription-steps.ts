/**
 * The six step Lambdas of `statemachine/transcription.asl.json`, one row each: the ASL placeholder
 * it fills, the memory and timeout it needs (and why), and exactly which prefixes and secrets it
 * touches. Reviewing least privilege means reading this table.
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { ArnPrincipal, Effect, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type StepName, serviceNameOf } from '../../lambdas/shared/telemetry-names.js';
import type { DeploymentConfig } from '../config.js';
import { ASSEMBLYAI_BASE_URLS, loadProvisionedConcurrencyConfig } from '../config.js';
import { acknowledgeWildcardResources } from '../nag.js';
import { namePrefix, pascalCase } from '../naming.js';
import { handlerEntry, LOCK_FILE } from '../paths.js';
import type { AssemblyAiApiKey } from './assemblyai-api-key.js';
import { TranscriptionFunction } from './transcription-function.js';
import type { FunctionNetwork } from './transcription-network.js';
import {
  OBJECT_PREFIX_WILDCARD_REASON,
  type ObjectAction,
  type TranscriptionStorage,
} from './transcription-storage.js';

export type { StepName };

type PrefixName = 'input' | 'results' | 'work';

export interface StepSpec {
  step: StepName;
  /** The `${…}` placeholder in the ASL that receives this function's ARN. */
  placeholder: string;
  memorySize: number;
  /**
   * At least 10 s (Lambda's init phase, not counted in the function timeout) plus a margin below
   * the ASL state's TimeoutSeconds: the Lambda always ends before its state times out, so a retry
   * never runs beside a still-running attempt (for Submit, that would be a second AssemblyAI job).
   */
  timeout: Duration;
  objects: Partial<Record<PrefixName, ObjectAction[]>>;
  /** Reads objects that may be missing: without s3:ListBucket S3 answers 403 instead of 404. */
  listBucket: boolean;
  /** Calls AssemblyAI, so reads the API key secret. */
  readsApiKey: boolean;
}

/*
 * Memory: on Lambda it also buys CPU (1,769 MB = one vCPU), and the SDK-heavy bundles start
 * noticeably faster above 256 MB. Work per step:
 * - validate-audio 512 MB: 3–8 ranged GETs plus music-metadata's header parse (CPU-bound).
 * - submit-transcription 256 MB: one S3 read/write and one small HTTP call.
 * - check-transcript 512 MB: a status call, or one a second for up to ASSEMBLYAI_CHECK_HOLD_SECONDS
 *   (its hold ends 20 s + ASSEMBLYAI_TIMEOUT_MS before the 50 s timeout); on completion it downloads the whole
 *   transcript JSON (tens of MB for hours of audio) and writes it to S3.
 * - format-segments 1024 MB: parses that transcript and builds the segments in memory.
 * - persist-result 512 MB: reads the segments and writes the result (same size as the segments).
 * - record-failure 256 MB: writes a small JSON object.
 * Timeouts: 20-25 s under the state's TimeoutSeconds (45/45/75/135/75/45).
 */
export const WORKFLOW_STEPS: readonly StepSpec[] = [
  {
    step: 'validate-audio',
    placeholder: 'ValidateAudioFunctionArn',
    memorySize: 512,
    timeout: Duration.seconds(25),
    objects: { input: ['read'], results: ['read'] },
    listBucket: true,
    readsApiKey: false,
  },
  {
    step: 'submit-transcription',
    placeholder: 'SubmitTranscriptionFunctionArn',
    memorySize: 256,
    timeout: Duration.seconds(25),
    // `read` on the input prefix is what the presigned GET URL handed to AssemblyAI is signed with;
    // `read` on results tells whether the holder of a file's claim has ended.
    objects: { input: ['read'], work: ['read', 'write'], results: ['read'] },
    listBucket: true,
    readsApiKey: true,
  },
  {
    step: 'check-transcript',
    placeholder: 'CheckTranscriptFunctionArn',
    memorySize: 512,
    timeout: Duration.seconds(50),
    // `read` on results: an execution following another one's transcription waits for its result.
    objects: { work: ['write'], results: ['read'] },
    listBucket: true,
    readsApiKey: true,
  },
  {
    step: 'format-segments',
    placeholder: 'FormatSegmentsFunctionArn',
    memorySize: 1024,
    timeout: Duration.seconds(110),
    objects: { work: ['read', 'write'] },
    listBucket: false,
    readsApiKey: false,
  },
  {
    step: 'persist-result',
    placeholder: 'PersistResultFunctionArn',
    memorySize: 512,
    timeout: Duration.seconds(50),
    // Reads an existing result to stay idempotent on retry; deletes the execution's work objects.
    objects: { work: ['read', 'delete'], results: ['read', 'write'] },
    listBucket: true,
    readsApiKey: true,
  },
  {
    step: 'record-failure',
    placeholder: 'RecordFailureFunctionArn',
    memorySize: 256,
    timeout: Duration.seconds(25),
    // Reads the result key first: a completed result is never replaced by a failure. Leaves the
    // work objects of a failed execution in place (a redrive may need them; they expire in a day).
    objects: { results: ['read', 'write'] },
    listBucket: true,
    // Deletes the failed run's transcript at AssemblyAI, as Persist does after a success.
    readsApiKey: true,
  },
];

export interface TranscriptionStepsProps {
  config: DeploymentConfig;
  storage: TranscriptionStorage;
  apiKey: AssemblyAiApiKey;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** The VPC the function runs in (`-c vpc=create` / `-c vpcId=…`). @default - none */
  network?: FunctionNetwork;
}

export class TranscriptionSteps extends Construct {
  /** The functions by step, in workflow order. */
  readonly functions: Record<StepName, TranscriptionFunction>;

  constructor(scope: Construct, id: string, props: TranscriptionStepsProps) {
    super(scope, id);
    const { config, storage, apiKey } = props;
    const prefixes: Record<PrefixName, string> = {
      input: storage.inputPrefix,
      results: storage.resultsPrefix,
      work: storage.workPrefix,
    };
    const environment = workflowEnvironment(config, storage);
    // `-c provisionedConcurrency=step:N,…`: on the version each state invokes (off by default).
    const provisioned: Partial<Record<StepName, number>> = loadProvisionedConcurrencyConfig(this.node).byStep;

    const functions: Partial<Record<StepName, TranscriptionFunction>> = {};
    for (const spec of WORKFLOW_STEPS) {
      const fn = new TranscriptionFunction(this, pascalCase(spec.step), {
        step: spec.step,
        entry: handlerEntry(spec.step),
        depsLockFilePath: LOCK_FILE,
        functionName: `${namePrefix(config.environment)}-${spec.step}`,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        logLevel: config.logLevel,
        provisionedConcurrency: provisioned[spec.step],
        logRetention: props.logRetention,
        logRemovalPolicy: props.logRemovalPolicy,
        network: props.network,
        environment: spec.readsApiKey
          ? { ...environment, ASSEMBLYAI_API_KEY_SECRET_ID: apiKey.secretId }
          : environment,
      });
      const access = Object.entries(spec.objects).map(([name, actions]) => ({
        prefix: prefixes[name as PrefixName],
        actions,
      }));
      for (const statement of storage.statementsFor(access, { listBucket: spec.listBucket })) {
        fn.allow(statement, OBJECT_PREFIX_WILDCARD_REASON);
      }
      if (spec.readsApiKey) {
        for (const statement of apiKey.readStatements()) fn.allow(statement);
      }
      functions[spec.step] = fn;
    }
    this.functions = functions as Record<StepName, TranscriptionFunction>;
    this.audioUrlSigner = this.signerRole(this.functions['submit-transcription'], storage);
  }

  /** The role whose sessions sign AssemblyAI's audio URL (`lambdas/submit-transcription/audio-url-signer.ts`). */
  readonly audioUrlSigner: Role;

  /**
   * A URL signed with the Lambda role's own session dies with it, before its `X-Amz-Expires` if the
   * session ends first; a session of this role states its expiry, so Submit signs for no longer than
   * it lives. Assumable by Submit's role only, reading audio only; one hour is the longest session
   * role chaining allows.
   */
  private signerRole(submit: TranscriptionFunction, storage: TranscriptionStorage): Role {
    const role = new Role(this, 'AudioUrlSigner', {
      assumedBy: new ArnPrincipal(submit.role.roleArn),
      maxSessionDuration: Duration.hours(1),
      description: "Signs the presigned audio URLs AssemblyAI downloads from (Submit's role assumes it)",
    });
    for (const statement of storage.statementsFor([{ prefix: storage.inputPrefix, actions: ['read'] }])) {
      if (statement.resources.some((resource) => resource.includes('*'))) {
        acknowledgeWildcardResources(role, statement, OBJECT_PREFIX_WILDCARD_REASON);
      }
      role.addToPrincipalPolicy(statement);
    }
    submit.allow(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['sts:AssumeRole'], resources: [role.roleArn] }),
    );
    submit.function.addEnvironment('AUDIO_URL_SIGNER_ROLE_ARN', role.roleArn);
    return role;
  }
}

/** The variables `lambdas/shared/config.ts` reads; identical for every step. */
export function workflowEnvironment(
  config: DeploymentConfig,
  storage: TranscriptionStorage,
): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: serviceNameOf(config.environment),
    TRANSCRIPTION_BUCKET: storage.bucket.bucketName,
    INPUT_PREFIX: config.inputPrefix,
    RESULTS_PREFIX: config.resultsPrefix,
    WORK_PREFIX: config.workPrefix,
    MAX_AUDIO_BYTES: String(config.maxAudioBytes),
    MAX_AUDIO_SECONDS: String(config.maxAudioSeconds),
    MIN_AUDIO_SECONDS: String(config.minAudioSeconds),
    ASSEMBLYAI_BASE_URL: ASSEMBLYAI_BASE_URLS[config.assemblyaiRegion],
    ASSEMBLYAI_SPEECH_MODELS: config.speechModels,
    ASSEMBLYAI_EXPECTED_LANGUAGES: config.expectedLanguages,
    ASSEMBLYAI_FALLBACK_LANGUAGE: config.fallbackLanguage,
    ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD: String(config.languageConfidenceThreshold),
    ASSEMBLYAI_TIMEOUT_MS: String(config.assemblyaiTimeoutMs),
    DELETE_TRANSCRIPT_AFTER_PERSIST: String(config.deleteTranscriptAfterPersist),
    REDACT_PII: String(config.redactPii),
    REDACT_PII_POLICIES: config.redactPiiPolicies,
    PRESIGNED_URL_TTL_SECONDS: String(config.presignedUrlTtlSeconds),
    POLL_DEADLINE_BASE_SECONDS: String(config.pollDeadlineBaseSeconds),
    POLL_DEADLINE_PER_AUDIO_SECOND: String(config.pollDeadlinePerAudioSecond),
    POLL_MAX_WAIT_SECONDS: String(config.pollMaxWaitSeconds),
    ASSEMBLYAI_CHECK_HOLD_SECONDS: String(config.checkHoldSeconds),
    TRANSCRIPT_DELIVERY: config.transcriptDelivery,
  };
}
