/**
 * The deployment's settings, read from CDK context (`-c key=value` or `cdk.json`) in this one
 * typed place, with the defaults documented next to each field. A bad value stops the synth with
 * a message naming the key, instead of deploying something half-configured.
 */
import {
  DEFAULT_EXPECTED_LANGUAGES,
  DEFAULT_FALLBACK_LANGUAGE,
  DEFAULT_PII_POLICIES,
  DEFAULT_SPEECH_MODELS,
  isLanguageCode,
  isPiiPolicy,
  piiRedactionProblem,
  speechModelsProblem,
} from '../lambdas/shared/assemblyai-catalog.js';
import {
  MAX_CHECK_HOLD_SECONDS,
  TRANSCRIPT_DELIVERIES,
  type TranscriptDelivery,
} from '../lambdas/shared/config.js';
import { DEFAULT_INPUT_PREFIX, DEFAULT_RESULTS_PREFIX } from '../lambdas/shared/contracts.js';
import type { StepName } from '../lambdas/shared/telemetry-names.js';
import { namePrefix } from './naming.js';
import { readDefinitionFile, retryBudgetAfterDeadlineSeconds } from './retry-budget.js';

/**
 * Room in the execution timeout for the loop's last Wait: the wait policy never sleeps more than
 * 1 s past the deadline, and Check's hold stops before it (test/lambdas/wait-policy.test.ts), so
 * this covers the Wait state's own lag, not a whole `pollMaxWaitSeconds` (which is now up to an
 * hour). It is the old default max wait, so the execution timeout did not change.
 */
export const LAST_WAIT_MARGIN_SECONDS = 120;

export type AssemblyAiRegion = 'us' | 'eu';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export const ASSEMBLYAI_BASE_URLS: Record<AssemblyAiRegion, string> = {
  us: 'https://api.assemblyai.com',
  eu: 'https://api.eu.assemblyai.com',
};

/** Retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export interface DeploymentConfig {
  /** `environment`: names the stack and resources; `prod` also retains data and turns access logs on. @default 'dev' */
  environment: string;
  /** True when `environment` is `prod`. */
  production: boolean;
  /** `bucketName`: the bucket the stack creates. @default `wisevoice-transcription-{environment}` */
  bucketName: string;
  /** `existingBucketName`: use this bucket instead of creating one (its owner manages encryption, lifecycle, logs). @default - create */
  existingBucketName?: string;
  /** `secretName`: the Secrets Manager secret the stack creates for the AssemblyAI key. @default `wisevoice/transcription/{environment}/assemblyai-api-key` */
  secretName: string;
  /** `existingSecretName`: use this secret (name or complete ARN) instead of creating one. @default - create */
  existingSecretName?: string;
  /** `kms`: encrypt the bucket, the secret and the alarm topic with a customer managed key instead of SSE-S3. @default false */
  kms: boolean;
  /** `existingKmsKeyArn`: the key that encrypts an existing bucket's objects (needed with `existingBucketName` + `kms`). @default - none */
  existingKmsKeyArn?: string;
  /** `accessLogs`: S3 server access logs for the created bucket, into a separate log bucket. @default true for prod, false otherwise */
  accessLogs: boolean;
  /** `alarmEmail`: subscribe this address to the alarm topic. @default - no subscription */
  alarmEmail?: string;
  /** `audioRetentionDays`: uploaded audio under the input prefix expires after this many days. @default 7 */
  audioRetentionDays: number;
  /** `resultRetentionDays`: result objects under the results prefix expire after this many days. @default 30 */
  resultRetentionDays: number;
  /** `workRetentionDays`: leftovers of failed or aborted executions under the work prefix. @default 1 */
  workRetentionDays: number;
  /** `accessLogRetentionDays`: S3 server access log objects. @default 90 */
  accessLogRetentionDays: number;
  /** `logRetentionDays`: Lambda and state machine log groups (a CloudWatch Logs retention value). @default 30 */
  logRetentionDays: number;
  /** `logLevel`: Powertools and Lambda application log level. @default 'INFO' */
  logLevel: LogLevel;
  /** `inputPrefix` / `resultsPrefix` / `workPrefix`: key prefixes in the bucket. @default 'transcription/', 'results/', 'work/' */
  inputPrefix: string;
  resultsPrefix: string;
  workPrefix: string;
  /** `assemblyaiRegion`: `us` or `eu` (EU data residency). @default 'us' */
  assemblyaiRegion: AssemblyAiRegion;
  /**
   * `speechModels`: AssemblyAI `speech_models`, tried in order. A deprecated or unknown name stops
   * the synth (AssemblyAI would refuse every job). @default `DEFAULT_SPEECH_MODELS` of the catalog ('universal-3-5-pro,universal-2')
   */
  speechModels: string;
  /** `expectedLanguages`: the languages detection chooses among, AssemblyAI codes or `all`. @default 'ru,en' (`DEFAULT_EXPECTED_LANGUAGES`) */
  expectedLanguages: string;
  /** `fallbackLanguage`: used when detection finds none of the expected languages; a code or `auto`. @default 'ru' (`DEFAULT_FALLBACK_LANGUAGE`) */
  fallbackLanguage: string;
  /** `languageConfidenceThreshold`: 0–1; AssemblyAI fails a job whose detected language is less certain. @default 0 (off) */
  languageConfidenceThreshold: number;
  /** `assemblyaiTimeoutMs`: per HTTP request to AssemblyAI. @default 10000 */
  assemblyaiTimeoutMs: number;
  /** `deleteTranscriptAfterPersist`: delete the transcript at AssemblyAI once the result is stored. @default true */
  deleteTranscriptAfterPersist: boolean;
  /**
   * `redactPii` / `redactPiiPolicies`: PII redaction at AssemblyAI for requests that do not say
   * (`redact_pii` in the input wins), and the policies (AssemblyAI's names, comma-separated).
   * @default false / `DEFAULT_PII_POLICIES` of the catalog
   */
  redactPii: boolean;
  redactPiiPolicies: string;
  /**
   * `completionQueue`: one message per finished execution (completed, failed, timed out, aborted)
   * on an encrypted SQS queue with a dead letter queue, for the bot to consume instead of polling
   * S3. Off, nothing is sent; the outcome metrics are emitted either way. @default true
   */
  completionQueue: boolean;
  /**
   * `transcriptDelivery`: how the workflow learns that AssemblyAI has finished a job. `poll`: the
   * Wait/Check loop. `webhook`: AssemblyAI calls a Lambda Function URL (cdk/constructs/webhook-receiver.ts)
   * that answers Submit's task token; the poll loop remains the fallback when no webhook comes in
   * time. Every step gets it as `TRANSCRIPT_DELIVERY`. @default 'poll'
   */
  transcriptDelivery: TranscriptDelivery;
  /**
   * `webhookReservedConcurrency`: concurrent executions reserved for the webhook receiver, which
   * are also its ceiling, so a flood at its public URL is throttled instead of taking the account's
   * Lambda concurrency. Lambda keeps 100 of the account's quota unreserved: a value N deploys only
   * where the quota is at least 100 + N, which new accounts' default is not. @default 0 (none)
   */
  webhookReservedConcurrency: number;
  /** `presignedUrlTtlSeconds`: the longest lifetime of the audio URL handed to AssemblyAI, ≤ 3600. @default 3600 */
  presignedUrlTtlSeconds: number;
  /** `maxAudioBytes`: larger uploads are refused before they cost a provider call. @default 1073741824 (1 GiB) */
  maxAudioBytes: number;
  /** `maxAudioSeconds`: longer audio is refused. @default 36000 (10 h, AssemblyAI's limit) */
  maxAudioSeconds: number;
  /** `minAudioSeconds`: shorter audio is refused. @default 0.3 */
  minAudioSeconds: number;
  /** `pollDeadlineBaseSeconds`: poll allowance for queueing, whatever the length. @default 900 */
  pollDeadlineBaseSeconds: number;
  /** `pollDeadlinePerAudioSecond`: extra poll allowance per second of audio. @default 0.5 */
  pollDeadlinePerAudioSecond: number;
  /** `pollMaxWaitSeconds`: the longest single wait between two status checks. @default 3600 */
  pollMaxWaitSeconds: number;
  /**
   * `checkHoldSeconds`: how long one "Check transcript status" may poll AssemblyAI every second
   * inside its Lambda while the job is within its published turnaround (0: never). At most 30:
   * Check's Lambda timeout is 50 s. @default 15
   */
  checkHoldSeconds: number;
  /**
   * The state machine's execution timeout: the poll deadline of the longest accepted audio,
   * `LAST_WAIT_MARGIN_SECONDS`, and the worst retry budget of the states that can still run after the deadline,
   * read from the definition (`retryBudgetAfterDeadlineSeconds`). Derived, not a context key: the
   * loop's own deadline must always fire first, so a timed-out execution means a bug.
   */
  executionTimeoutSeconds: number;
}

/** Reads context values; the CLI passes strings, `cdk.json` may hold typed values. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

class ContextReader {
  constructor(private readonly source: ContextSource) {}

  raw(key: string): unknown {
    const value = this.source.tryGetContext(key);
    return typeof value === 'string' ? value.trim() : value;
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new Error(`Context "${key}" must be a string`);
    return value;
  }

  number(key: string, fallback: number, check: (n: number) => boolean, rule: string): number {
    const value = this.raw(key);
    if (value === undefined || value === null || value === '') return fallback;
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isFinite(n) || !check(n))
      throw new Error(`Context "${key}" must be ${rule} (got ${String(value)})`);
    return n;
  }

  positive(key: string, fallback: number): number {
    return this.number(key, fallback, (n) => n > 0, 'a positive number');
  }

  days(key: string, fallback: number): number {
    return this.number(key, fallback, (n) => Number.isInteger(n) && n >= 1, 'a whole number of days ≥ 1');
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key);
    if (value === undefined || value === null || value === '') return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new Error(`Context "${key}" must be true or false (got ${String(value)})`);
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const value = this.string(key) ?? fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw new Error(`Context "${key}" must be one of ${allowed.join(', ')} (got ${value})`);
    }
    return value as T;
  }

  /** A comma-separated list (a JSON array in `cdk.json` works too); empty or absent gives the fallback. */
  list(key: string, fallback: readonly string[]): string[] {
    const value = this.raw(key);
    if (value === undefined || value === null || value === '') return [...fallback];
    const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
    if (!items?.every((item) => typeof item === 'string')) {
      throw new Error(`Context "${key}" must be a comma-separated list (got ${String(value)})`);
    }
    return items.map((item) => item.trim()).filter(Boolean);
  }

  prefix(key: string, fallback: string): string {
    const value = this.string(key) ?? fallback;
    if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(value) || value.includes('..')) {
      throw new Error(`Context "${key}" must be a relative key prefix ending in "/" (got ${value})`);
    }
    return value;
  }
}

export function loadDeploymentConfig(
  source: ContextSource,
  options: { stackRegion?: string } = {},
): DeploymentConfig {
  const context = new ContextReader(source);
  const environment = context.string('environment') ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(environment)) {
    throw new Error(`Context "environment" must be lowercase letters, digits and "-" (got ${environment})`);
  }
  const production = environment === 'prod';

  const bucketName = context.string('bucketName') ?? namePrefix(environment);
  const existingBucketName = context.string('existingBucketName');
  for (const [key, name] of [
    ['bucketName', bucketName],
    ['existingBucketName', existingBucketName],
  ] as const) {
    if (name !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw new Error(`Context "${key}" is not a valid S3 bucket name (got ${name})`);
    }
  }

  const kms = context.boolean('kms', false);
  const existingKmsKeyArn = context.string('existingKmsKeyArn');
  if (
    existingKmsKeyArn !== undefined &&
    !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(existingKmsKeyArn)
  ) {
    throw new Error(`Context "existingKmsKeyArn" must be a KMS key ARN (got ${existingKmsKeyArn})`);
  }
  if (existingKmsKeyArn !== undefined && !kms) {
    throw new Error('Context "existingKmsKeyArn" needs "kms=true"');
  }
  if (existingBucketName !== undefined && kms && existingKmsKeyArn === undefined) {
    throw new Error(
      'With "existingBucketName" and "kms=true", set "existingKmsKeyArn" to the key that encrypts that bucket',
    );
  }

  const alarmEmail = context.string('alarmEmail');
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw new Error(`Context "alarmEmail" is not an e-mail address (got ${alarmEmail})`);
  }

  const redactPiiPolicies = context.list('redactPiiPolicies', DEFAULT_PII_POLICIES);
  const unknownPolicies = redactPiiPolicies.filter((policy) => !isPiiPolicy(policy));
  if (unknownPolicies.length > 0) {
    throw new Error(
      `Context "redactPiiPolicies": not AssemblyAI PII policies: ${unknownPolicies.join(', ')}`,
    );
  }
  const speechModels = context.list('speechModels', DEFAULT_SPEECH_MODELS);
  const modelsProblem = speechModelsProblem(speechModels);
  if (modelsProblem) throw new Error(`Context "speechModels": ${modelsProblem}`);
  const expectedLanguages = context.list('expectedLanguages', DEFAULT_EXPECTED_LANGUAGES);
  if (!(expectedLanguages.join() === 'all' || expectedLanguages.every(isLanguageCode))) {
    throw new Error(
      `Context "expectedLanguages" must be "all" or AssemblyAI language codes, e.g. "ru,en" (got ${expectedLanguages.join(',')})`,
    );
  }
  const fallbackLanguage = context.string('fallbackLanguage') ?? DEFAULT_FALLBACK_LANGUAGE;
  if (fallbackLanguage !== 'auto' && !isLanguageCode(fallbackLanguage)) {
    throw new Error(
      `Context "fallbackLanguage" must be "auto" or an AssemblyAI language code (got ${fallbackLanguage})`,
    );
  }

  const redactPii = context.boolean('redactPii', false);
  const redactionProblem =
    redactPii && piiRedactionProblem(undefined, { expectedLanguages, fallbackLanguage });
  if (redactionProblem) {
    throw new Error(
      `Context "redactPii=true" with "expectedLanguages"/"fallbackLanguage": ${redactionProblem}`,
    );
  }

  const maxAudioSeconds = context.positive('maxAudioSeconds', 36_000);
  const minAudioSeconds = context.positive('minAudioSeconds', 0.3);
  if (minAudioSeconds >= maxAudioSeconds) {
    throw new Error('Context "minAudioSeconds" must be below "maxAudioSeconds"');
  }
  const pollDeadlineBaseSeconds = context.positive('pollDeadlineBaseSeconds', 900);
  const pollDeadlinePerAudioSecond = context.positive('pollDeadlinePerAudioSecond', 0.5);
  const pollMaxWaitSeconds = context.positive('pollMaxWaitSeconds', 3600);
  const checkHoldSeconds = context.number(
    'checkHoldSeconds',
    15,
    (n) => n >= 0 && n <= MAX_CHECK_HOLD_SECONDS,
    `seconds from 0 to ${MAX_CHECK_HOLD_SECONDS} (Check's Lambda timeout is 50 s)`,
  );

  const inputPrefix = context.prefix('inputPrefix', DEFAULT_INPUT_PREFIX);
  const resultsPrefix = context.prefix('resultsPrefix', DEFAULT_RESULTS_PREFIX);
  const workPrefix = context.prefix('workPrefix', 'work/');
  const prefixes = [inputPrefix, resultsPrefix, workPrefix];
  for (const a of prefixes) {
    for (const b of prefixes) {
      if (a !== b && b.startsWith(a)) throw new Error(`Key prefixes must not nest ("${b}" is under "${a}")`);
    }
  }
  if (new Set(prefixes).size !== prefixes.length) throw new Error('Key prefixes must differ');

  return {
    environment,
    production,
    bucketName,
    existingBucketName,
    secretName: context.string('secretName') ?? `wisevoice/transcription/${environment}/assemblyai-api-key`,
    existingSecretName: context.string('existingSecretName'),
    kms,
    existingKmsKeyArn,
    accessLogs: context.boolean('accessLogs', production),
    alarmEmail,
    audioRetentionDays: context.days('audioRetentionDays', 7),
    resultRetentionDays: context.days('resultRetentionDays', 30),
    workRetentionDays: context.days('workRetentionDays', 1),
    accessLogRetentionDays: context.days('accessLogRetentionDays', 90),
    logRetentionDays: context.number(
      'logRetentionDays',
      30,
      (n) => LOG_RETENTION_DAYS.includes(n),
      `one of ${LOG_RETENTION_DAYS.join(', ')}`,
    ),
    logLevel: context.oneOf('logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const, 'INFO'),
    inputPrefix,
    resultsPrefix,
    workPrefix,
    // With `regions`, each stack's default follows its AWS region (EU data stays in the EU);
    // without, it stays `us`, so an existing deployment's endpoint never changes under it.
    assemblyaiRegion: context.oneOf(
      'assemblyaiRegion',
      ['us', 'eu'] as const,
      options.stackRegion?.startsWith('eu-') ? 'eu' : 'us',
    ),
    speechModels: speechModels.join(','),
    expectedLanguages: expectedLanguages.join(','),
    fallbackLanguage,
    languageConfidenceThreshold: context.number(
      'languageConfidenceThreshold',
      0,
      (n) => n >= 0 && n <= 1,
      'a number from 0 to 1',
    ),
    assemblyaiTimeoutMs: context.positive('assemblyaiTimeoutMs', 10_000),
    deleteTranscriptAfterPersist: context.boolean('deleteTranscriptAfterPersist', true),
    redactPii,
    redactPiiPolicies: redactPiiPolicies.join(','),
    completionQueue: context.boolean('completionQueue', true),
    transcriptDelivery: context.oneOf('transcriptDelivery', TRANSCRIPT_DELIVERIES, 'poll'),
    webhookReservedConcurrency: context.number(
      'webhookReservedConcurrency',
      0,
      (n) => Number.isInteger(n) && n >= 0 && n <= 1000,
      'a whole number from 0 (none) to 1000',
    ),
    presignedUrlTtlSeconds: context.number(
      'presignedUrlTtlSeconds',
      3600,
      // Signed with a session of the signer role, which role chaining caps at one hour.
      (n) => Number.isInteger(n) && n >= 60 && n <= 3600,
      'whole seconds between 60 and 3600 (the longest session of the audio URL signer role)',
    ),
    maxAudioBytes: context.positive('maxAudioBytes', 1024 ** 3),
    maxAudioSeconds,
    minAudioSeconds,
    pollDeadlineBaseSeconds,
    pollDeadlinePerAudioSecond,
    pollMaxWaitSeconds,
    checkHoldSeconds,
    executionTimeoutSeconds: Math.ceil(
      pollDeadlineBaseSeconds +
        pollDeadlinePerAudioSecond * maxAudioSeconds +
        LAST_WAIT_MARGIN_SECONDS +
        retryBudgetAfterDeadlineSeconds(readDefinitionFile()),
    ),
  };
}

/**
 * The transcript sweeper's settings (`cdk/constructs/transcript-sweeper.ts`), read from the same
 * context. Kept beside `DeploymentConfig` rather than in it: they are one feature's knobs, and the
 * bound is derived from the deployment's execution timeout.
 */
export interface TranscriptSweepConfig {
  /**
   * `transcriptSweeper`: run the scheduled sweeper of leftover AssemblyAI jobs.
   * @default `deleteTranscriptAfterPersist` (a deployment that keeps its transcripts at AssemblyAI keeps them from the sweeper too)
   */
  enabled: boolean;
  /** `transcriptSweepIntervalMinutes`: minutes between two runs, 10–360. @default 60 */
  intervalMinutes: number;
  /**
   * `transcriptSweepMinAgeSeconds`: only jobs created longer ago than this are swept. Must be at
   * least `executionTimeoutSeconds`: a job an execution may still use is never swept.
   * @default `executionTimeoutSeconds` + `SWEEP_MARGIN_SECONDS`, rounded up to whole minutes (about 8 h with the defaults)
   */
  minAgeSeconds: number;
}

/**
 * Added to the execution timeout for the default bound: clock skew between AWS and AssemblyAI, and
 * the finalizer, which still deletes a timed-out execution's job right after the execution ends.
 */
export const SWEEP_MARGIN_SECONDS = 15 * 60;

/** AssemblyAI lists the last 90 days; the bound plus the sweeper's lookback must stay inside them. */
const SWEEP_MAX_MIN_AGE_SECONDS = 80 * 24 * 3600;

export function loadTranscriptSweepConfig(
  source: ContextSource,
  config: Pick<DeploymentConfig, 'deleteTranscriptAfterPersist' | 'executionTimeoutSeconds'>,
): TranscriptSweepConfig {
  const context = new ContextReader(source);
  const derived = Math.ceil((config.executionTimeoutSeconds + SWEEP_MARGIN_SECONDS) / 60) * 60;
  const minAgeSeconds = context.number(
    'transcriptSweepMinAgeSeconds',
    derived,
    (n) => Number.isInteger(n) && n >= config.executionTimeoutSeconds && n <= SWEEP_MAX_MIN_AGE_SECONDS,
    `whole seconds from the execution timeout (${config.executionTimeoutSeconds}) to ${SWEEP_MAX_MIN_AGE_SECONDS}, so no job an execution may still use is swept`,
  );
  return {
    enabled: context.boolean('transcriptSweeper', config.deleteTranscriptAfterPersist),
    intervalMinutes: context.number(
      'transcriptSweepIntervalMinutes',
      60,
      (n) => Number.isInteger(n) && n >= 10 && n <= 360,
      'whole minutes from 10 to 360',
    ),
    minAgeSeconds,
  };
}

/**
 * The intake queue's settings (`cdk/constructs/intake-queue.ts`), read from the same context and
 * kept beside `DeploymentConfig` like the sweeper's: one optional feature's knobs.
 */
export interface IntakeQueueConfig {
  /**
   * `intakeQueue`: an encrypted SQS queue (with a dead letter queue and alarms) on which the bot
   * may send the execution input instead of calling StartExecution; the start-execution Lambda
   * starts each under its deterministic name. @default false
   */
  enabled: boolean;
  /**
   * `intakeMaxConcurrency`: the event source mapping's maximum concurrency (2–1000, the range SQS
   * allows). The consumer starts one message at a time, so this is also the number of
   * StartExecution calls in flight: the start rate is about this many divided by one call's
   * latency, and a burst above it waits in the queue. @default 2
   */
  maxConcurrency: number;
}

export function loadIntakeQueueConfig(source: ContextSource): IntakeQueueConfig {
  const context = new ContextReader(source);
  return {
    enabled: context.boolean('intakeQueue', false),
    maxConcurrency: context.number(
      'intakeMaxConcurrency',
      2,
      (n) => Number.isInteger(n) && n >= 2 && n <= 1000,
      'a whole number from 2 to 1000 (the range of an SQS event source mapping)',
    ),
  };
}

/**
 * The REST API's settings (`cdk/constructs/rest-api.ts`), read from the same context and kept
 * beside `DeploymentConfig` like the intake queue's: one optional feature's knobs.
 */
export interface RestApiConfig {
  /**
   * `restApi`: an API Gateway REST API with IAM (SigV4) authorization, `POST /transcriptions`
   * (StartExecution under the deterministic name) and `GET /transcriptions/{user_id}/{file_id}`
   * (the result object). @default false
   */
  enabled: boolean;
  /**
   * `restApiRateLimit`: the stage's steady request rate per second, for every method (1–10000).
   * Below Step Functions' StartExecution refill rate (150/s in most regions) so a burst of starts is
   * throttled at the API with a 429 the bot can retry, not inside the integration. @default 50
   */
  rateLimit: number;
  /** `restApiBurstLimit`: the stage's burst (token bucket size), 1–5000. @default 100 */
  burstLimit: number;
}

export function loadRestApiConfig(source: ContextSource): RestApiConfig {
  const context = new ContextReader(source);
  return {
    enabled: context.boolean('restApi', false),
    rateLimit: context.number(
      'restApiRateLimit',
      50,
      (n) => n >= 1 && n <= 10_000,
      'a number of requests per second from 1 to 10000 (API Gateway account default)',
    ),
    burstLimit: context.number(
      'restApiBurstLimit',
      100,
      (n) => Number.isInteger(n) && n >= 1 && n <= 5000,
      'a whole number from 1 to 5000 (API Gateway account default)',
    ),
  };
}

/**
 * Several regions (`cdk/transcription-app.ts`), read from the same context and kept beside
 * `DeploymentConfig` like the intake queue's: one optional feature's knobs.
 */
export interface RegionsConfig {
  /**
   * `regions`: AWS regions, comma-separated (e.g. `eu-central-1,us-east-1`), one stack each
   * (`wisevoice-transcription-{environment}-{region}`, its bucket suffixed with the region), each
   * with `assemblyaiRegion` defaulting to `eu` in `eu-*` regions and `us` elsewhere. Nothing is
   * replicated between them. @default [] (one stack in the CLI's region, today's names)
   */
  regions: string[];
}

export function loadRegionsConfig(source: ContextSource): RegionsConfig {
  const key = 'regions';
  const context = new ContextReader(source);
  const regions = context.list(key, []);
  const seen = new Set<string>();
  for (const region of regions) {
    if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) {
      throw new Error(`Context "${key}": "${region}" is not an AWS region name like eu-central-1`);
    }
    if (seen.has(region)) throw new Error(`Context "${key}": "${region}" is given twice`);
    seen.add(region);
  }
  if (regions.length > 1) {
    // One bucket, key or secret ARN lives in one region: several stacks cannot all use it.
    for (const single of ['existingBucketName', 'existingKmsKeyArn', 'vpcId'] as const) {
      if (context.string(single) !== undefined) {
        throw new Error(
          `Context "${single}" names a resource in one region and cannot be used with several "${key}"`,
        );
      }
    }
    if (context.string('existingSecretName')?.startsWith('arn:')) {
      throw new Error(
        `Context "existingSecretName" is an ARN of one region; with several "${key}" give the secret's name (created in each region)`,
      );
    }
  }
  return { regions };
}

/**
 * The steps that may get provisioned concurrency: those whose cold start sits on the user's path,
 * between the bot's upload and its result (Validate and Submit before the job reaches AssemblyAI,
 * Check when it sees the job done, Format and Persist before the result exists). Record Failure is
 * left out: it runs only after a failure, rarely, so environments kept warm for it around the clock
 * would be paid for almost all the time to save ~0.1 s on an answer that is already a failure.
 */
export const PROVISIONED_CONCURRENCY_STEPS = [
  'validate-audio',
  'submit-transcription',
  'check-transcript',
  'format-segments',
  'persist-result',
] as const satisfies readonly StepName[];

export type ProvisionedConcurrencyStep = (typeof PROVISIONED_CONCURRENCY_STEPS)[number];

/** The most provisioned environments one step's version may ask for here. */
export const MAX_PROVISIONED_CONCURRENCY = 100;

/**
 * Provisioned concurrency (`cdk/constructs/transcription-steps.ts`), read from the same context and
 * kept beside `DeploymentConfig` like the intake queue's: one optional feature's knobs.
 */
export interface ProvisionedConcurrencyConfig {
  /**
   * `provisionedConcurrency`: `step:N,…` (e.g. `validate-audio:2,submit-transcription:1`), N from 1
   * to 100, on the published version the state machine's definition invokes, so those N execution
   * environments are initialized before a request arrives. Steps of `PROVISIONED_CONCURRENCY_STEPS`
   * only. @default {} (none)
   */
  byStep: Partial<Record<ProvisionedConcurrencyStep, number>>;
}

export function loadProvisionedConcurrencyConfig(source: ContextSource): ProvisionedConcurrencyConfig {
  const key = 'provisionedConcurrency';
  const context = new ContextReader(source);
  const byStep: Partial<Record<ProvisionedConcurrencyStep, number>> = {};
  for (const item of context.list(key, [])) {
    const match = /^([a-z-]+)\s*:\s*(\S+)$/.exec(item);
    if (!match) throw new Error(`Context "${key}" must be "step:N,…" (got ${item})`);
    const [, step, count] = match as unknown as [string, string, string];
    if (!(PROVISIONED_CONCURRENCY_STEPS as readonly string[]).includes(step)) {
      throw new Error(
        `Context "${key}": "${step}" is not one of ${PROVISIONED_CONCURRENCY_STEPS.join(', ')} (the steps whose cold start the user waits for)`,
      );
    }
    if (step in byStep) throw new Error(`Context "${key}": "${step}" is given twice`);
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PROVISIONED_CONCURRENCY) {
      throw new Error(
        `Context "${key}": "${step}" must get a whole number from 1 to ${MAX_PROVISIONED_CONCURRENCY} (got ${count})`,
      );
    }
    byStep[step as ProvisionedConcurrencyStep] = n;
  }
  return { byStep };
}

/**
 * The VPC the Lambdas run in (`cdk/constructs/transcription-network.ts`), read from the same context
 * and kept beside `DeploymentConfig` like the intake queue's: one optional feature's knobs. Off by
 * default: the Lambdas then run in Lambda's own network, as before.
 */
export interface VpcConfig {
  /**
   * `vpc=create`: a VPC of the stack's own (2 AZs, public subnets for the NAT gateways only, private
   * subnets with egress for the Lambdas, flow logs, a DNS firewall). `vpcId=vpc-…`: the private
   * subnets of an existing VPC, looked up in the stack's account and region (one region only).
   * @default 'none'
   */
  mode: 'none' | 'create' | 'existing';
  /** `vpcId`: the existing VPC (mode `existing` only). */
  vpcId?: string;
  /** `vpcNatGateways`: NAT gateways of the created VPC, 1 or 2 (one per AZ, for prod). @default 1 */
  natGateways: number;
  /**
   * `vpcEndpoints`: the S3 gateway endpoint and an interface endpoint per AWS API the Lambdas call.
   * Off, that traffic leaves through the NAT gateway. @default true
   */
  endpoints: boolean;
  /**
   * `vpcDnsFirewall`: a Route 53 Resolver DNS Firewall rule group on the VPC that answers only the
   * AssemblyAI host and AWS service names. @default true with `vpc=create`, false with `vpcId`
   * (it would filter the VPC owner's other workloads too)
   */
  dnsFirewall: boolean;
}

/** NAT gateways a created VPC may have: one, or one in each of its two AZs. */
export const MAX_VPC_NAT_GATEWAYS = 2;

export function loadVpcConfig(source: ContextSource): VpcConfig {
  const context = new ContextReader(source);
  const create = context.string('vpc');
  if (create !== undefined && create !== 'create') {
    throw new Error(
      `Context "vpc" must be "create" (for an existing VPC give "vpcId=vpc-…" instead) (got ${create})`,
    );
  }
  const vpcId = context.string('vpcId');
  if (vpcId !== undefined && !/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/.test(vpcId)) {
    throw new Error(`Context "vpcId" must be a VPC id like vpc-0123456789abcdef0 (got ${vpcId})`);
  }
  if (create && vpcId) throw new Error('Context "vpc=create" and "vpcId" exclude each other: give one');
  const mode = create ? 'create' : vpcId ? 'existing' : 'none';
  const given = (key: string) => !['', undefined, null].includes(context.raw(key) as string);
  for (const key of ['vpcNatGateways', 'vpcEndpoints', 'vpcDnsFirewall']) {
    if (mode === 'none' && given(key)) throw new Error(`Context "${key}" needs "vpc=create" or "vpcId"`);
  }
  if (mode === 'existing' && given('vpcNatGateways')) {
    throw new Error(
      'Context "vpcNatGateways" applies to "vpc=create" only (an existing VPC keeps its own NAT)',
    );
  }
  return {
    mode,
    vpcId,
    natGateways: context.number(
      'vpcNatGateways',
      1,
      (n) => Number.isInteger(n) && n >= 1 && n <= MAX_VPC_NAT_GATEWAYS,
      `1 or ${MAX_VPC_NAT_GATEWAYS} (the Lambdas reach AssemblyAI through it; one per AZ at most)`,
    ),
    endpoints: context.boolean('vpcEndpoints', true),
    dnsFirewall: context.boolean('vpcDnsFirewall', mode === 'create'),
  };
}

/** The shortest and longest canary intervals: more often only costs; rarer, and two of them exceed a day. */
export const CANARY_INTERVAL_BOUNDS = { minSeconds: 5 * 60, maxSeconds: 12 * 3600 };

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };

/**
 * The interval in seconds of an EventBridge `rate(…)` expression, as EventBridge reads it (a value
 * of 1 takes the singular unit, any other value the plural). A `cron(…)` is refused: the canary's
 * alarm needs one period per run.
 */
export function canaryIntervalSeconds(expression: string): number {
  const match = RATE.exec(expression);
  const value = Number(match?.[1]);
  const unit = match?.[2] ?? '';
  if (!match || !Number.isSafeInteger(value) || value < 1 || (value === 1) !== !unit.endsWith('s')) {
    throw new Error(
      `Context "canary" must be an EventBridge rate expression such as "rate(15 minutes)" or "rate(1 hour)" (got ${expression})`,
    );
  }
  const seconds = value * (UNIT_SECONDS[unit.replace(/s$/, '')] ?? Number.NaN);
  const { minSeconds, maxSeconds } = CANARY_INTERVAL_BOUNDS;
  if (!(seconds >= minSeconds && seconds <= maxSeconds)) {
    throw new Error(
      `Context "canary" must run between every 5 minutes and every 12 hours (got ${expression})`,
    );
  }
  return seconds;
}

/**
 * The live canary (`canary=rate(15 minutes)`, cdk/constructs/live-canary.ts): the bundled sample
 * through the deployed workflow on that schedule, against the real AssemblyAI. Off by default: each
 * run is a real (if 5-second) transcription.
 */
export type CanaryConfig =
  | { enabled: false }
  | {
      enabled: true;
      /** The EventBridge schedule expression, as given. */
      schedule: string;
      intervalSeconds: number;
    };

export function loadCanaryConfig(source: ContextSource): CanaryConfig {
  const schedule = new ContextReader(source).string('canary');
  if (schedule === undefined) return { enabled: false };
  return { enabled: true, schedule, intervalSeconds: canaryIntervalSeconds(schedule) };
}
