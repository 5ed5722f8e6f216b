/**
 * Deployment settings, read from the environment once per cold start. A bad value fails the
 * cold start loudly (ConfigurationError) instead of failing every transcription later.
 * The CDK stack sets these variables; `local/run.ts` sets them for the local run.
 */
import {
  DEFAULT_EXPECTED_LANGUAGES,
  DEFAULT_FALLBACK_LANGUAGE,
  DEFAULT_PII_POLICIES,
  DEFAULT_SPEECH_MODELS,
  isLanguageCode,
  isPiiPolicy,
  type PiiPolicy,
  piiRedactionProblem,
  speechModelsProblem,
} from './assemblyai-catalog.js';
import { DEFAULT_INPUT_PREFIX, DEFAULT_RESULTS_PREFIX, type TranscriptionRequest } from './contracts.js';
import { ConfigurationError } from './errors.js';

export interface WorkflowConfig {
  /** TRANSCRIPTION_BUCKET: the one bucket audio is read from and results are written to. */
  bucket: string;
  /** INPUT_PREFIX (default `transcription/`): audio must live under it. */
  inputPrefix: string;
  /**
   * INPUT_PER_USER (default true): the audio must be under `{INPUT_PREFIX}{user_id}/`, so one
   * user's request cannot transcribe another user's upload into its own results.
   */
  inputPerUser: boolean;
  /** RESULTS_PREFIX (default `results/`): results are written only under it. */
  resultsPrefix: string;
  /** WORK_PREFIX (default `work/`): intermediate objects (raw transcript, segments) per execution. */
  workPrefix: string;
  /** MAX_AUDIO_BYTES (default 1 GiB; AssemblyAI accepts up to 5 GB by URL). */
  maxAudioBytes: number;
  /** MAX_AUDIO_SECONDS (default 36000 = 10 h, AssemblyAI's limit). */
  maxAudioSeconds: number;
  /** MIN_AUDIO_SECONDS (default 0.3): shorter audio is refused before it costs a provider call. */
  minAudioSeconds: number;
  assemblyai: {
    /** ASSEMBLYAI_BASE_URL (default the US endpoint; `https://api.eu.assemblyai.com` for the EU). */
    baseUrl: string;
    /**
     * ASSEMBLYAI_SPEECH_MODELS (default `universal-3-5-pro,universal-2`, from the catalog): tried
     * in order. A deprecated or unknown name fails the cold start: AssemblyAI would refuse every job.
     */
    speechModels: string[];
    /**
     * Used when the input has no `language_code`. AssemblyAI's detection needs ~15 s of speech to be
     * reliable and most voice messages are shorter, so detection is limited to the languages this
     * deployment expects, with a fallback for anything else.
     */
    languageDetection: {
      /** ASSEMBLYAI_EXPECTED_LANGUAGES (default `ru,en`): published codes, or `all`. */
      expectedLanguages: string[];
      /** ASSEMBLYAI_FALLBACK_LANGUAGE (default `ru`): a published code, or `auto` (the most likely expected one). */
      fallbackLanguage: string;
      /**
       * ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD (default 0 = off): AssemblyAI fails the job when the
       * detected language's confidence is below it. Off by default: with expected languages and a
       * fallback a short message still gets a transcript, which a chat bot prefers to an error.
       */
      confidenceThreshold: number;
    };
    /**
     * The deployment's PII redaction, used when a request does not say: REDACT_PII (default false)
     * and REDACT_PII_POLICIES (default `DEFAULT_PII_POLICIES` of the catalog), AssemblyAI's names.
     */
    redaction: { enabled: boolean; policies: PiiPolicy[] };
    /** ASSEMBLYAI_TIMEOUT_MS (default 10000): per HTTP request; the SDK itself has none. */
    timeoutMs: number;
    /**
     * ASSEMBLYAI_SUBMIT_SETTLE_MS (default 15000): after the client timeout, how long an earlier
     * submit may still be turning into a job; a retry waits this out before it looks the job up.
     */
    submitSettleMs: number;
    /** DELETE_TRANSCRIPT_AFTER_PERSIST (default true): the bucket keeps the only copy. */
    deleteAfterPersist: boolean;
  };
  /**
   * TRANSCRIPT_DELIVERY (default `poll`): how the workflow learns that AssemblyAI has finished.
   * `poll`: the Wait/Check loop. `webhook`: Submit waits for AssemblyAI's webhook (a task token,
   * see receive-webhook), and falls back to the loop when it does not come in time.
   */
  delivery: TranscriptDelivery;
  /**
   * PRESIGNED_URL_TTL_SECONDS (default 3600): the cap on the presigned URL's lifetime, which is
   * otherwise the time until the poll deadline (see presignedUrlLifetime in Submit).
   */
  presignedUrlTtlSeconds: number;
  poll: {
    /** POLL_DEADLINE_BASE_SECONDS (default 900): allowance for queueing, whatever the length. */
    deadlineBaseSeconds: number;
    /** POLL_DEADLINE_PER_AUDIO_SECOND (default 0.5): extra allowance per second of audio. */
    deadlinePerAudioSecond: number;
    /**
     * POLL_MAX_WAIT_SECONDS (default 3600): the longest single Wait between two status checks. The
     * waits grow with the time spent (see the wait policy); a cap under about an hour makes a slow
     * ten-hour job cost more loops than the 13 that 40 transitions allow.
     */
    maxWaitSeconds: number;
    /**
     * ASSEMBLYAI_CHECK_HOLD_SECONDS (default 15, at most 30; 0 = never hold): how long one check may
     * keep polling AssemblyAI every second inside the Lambda while the job is within its published
     * turnaround window. Bounded by Check's 50 s timeout (see HOLD_RESERVE_MS in Check).
     */
    holdSeconds: number;
  };
}

type Env = Record<string, string | undefined>;

export const TRANSCRIPT_DELIVERIES = ['poll', 'webhook'] as const;
export type TranscriptDelivery = (typeof TRANSCRIPT_DELIVERIES)[number];

function delivery(env: Env): TranscriptDelivery {
  const value = env.TRANSCRIPT_DELIVERY?.trim() || 'poll';
  if (!(TRANSCRIPT_DELIVERIES as readonly string[]).includes(value)) {
    throw new ConfigurationError(`TRANSCRIPT_DELIVERY must be one of ${TRANSCRIPT_DELIVERIES.join(', ')}`);
  }
  return value as TranscriptDelivery;
}

/** The longest in-Lambda hold: Check's Lambda timeout (50 s) less the time it keeps in reserve. */
export const MAX_CHECK_HOLD_SECONDS = 30;

/** A variable that must be set and not blank (ConfigurationError otherwise), read once at cold start. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`${name} must be set`);
  return value;
}

function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(`${name} must be a positive number`);
  return value;
}

function secondsUpTo(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max)
    throw new ConfigurationError(`${name} must be a number of seconds from 0 to ${max}`);
  return value;
}

function fraction(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new ConfigurationError(`${name} must be a number from 0 to 1`);
  return value;
}

/** A comma-separated list; unset or empty gives the fallback. */
function list(env: Env, name: string, fallback: readonly string[]): string[] {
  const items = (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length > 0 ? items : [...fallback];
}

function piiPolicies(names: string[]): PiiPolicy[] {
  const unknown = names.filter((name) => !isPiiPolicy(name));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `REDACT_PII_POLICIES holds names AssemblyAI does not know: ${unknown.join(', ')}`,
    );
  }
  return names as PiiPolicy[];
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigurationError(`${name} must be true or false`);
}

function prefix(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim() || fallback;
  if (!value.endsWith('/') || value.startsWith('/') || value.includes('..')) {
    throw new ConfigurationError(`${name} must be a relative prefix ending in "/"`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): WorkflowConfig {
  const baseUrl = (env.ASSEMBLYAI_BASE_URL?.trim() || 'https://api.assemblyai.com').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl))
    throw new ConfigurationError('ASSEMBLYAI_BASE_URL must be an http(s) URL');
  const speechModels = list(env, 'ASSEMBLYAI_SPEECH_MODELS', DEFAULT_SPEECH_MODELS);
  const modelsProblem = speechModelsProblem(speechModels);
  if (modelsProblem) throw new ConfigurationError(`ASSEMBLYAI_SPEECH_MODELS: ${modelsProblem}`);
  const expectedLanguages = list(env, 'ASSEMBLYAI_EXPECTED_LANGUAGES', DEFAULT_EXPECTED_LANGUAGES);
  if (!(expectedLanguages.join() === 'all' || expectedLanguages.every(isLanguageCode))) {
    throw new ConfigurationError(
      'ASSEMBLYAI_EXPECTED_LANGUAGES must be "all" or AssemblyAI language codes (e.g. "ru,en")',
    );
  }
  const fallbackLanguage = env.ASSEMBLYAI_FALLBACK_LANGUAGE?.trim() || DEFAULT_FALLBACK_LANGUAGE;
  if (fallbackLanguage !== 'auto' && !isLanguageCode(fallbackLanguage)) {
    throw new ConfigurationError(
      'ASSEMBLYAI_FALLBACK_LANGUAGE must be "auto" or an AssemblyAI language code',
    );
  }
  const confidenceThreshold = fraction(env, 'ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD', 0);
  const redaction = {
    enabled: boolean(env, 'REDACT_PII', false),
    policies: piiPolicies(list(env, 'REDACT_PII_POLICIES', DEFAULT_PII_POLICIES)),
  };
  // Redaction on by default must hold for a request that names no language, or every such
  // request would be refused.
  const redactionProblem =
    redaction.enabled && piiRedactionProblem(undefined, { expectedLanguages, fallbackLanguage });
  if (redactionProblem) {
    throw new ConfigurationError(
      `REDACT_PII=true with ASSEMBLYAI_EXPECTED_LANGUAGES/ASSEMBLYAI_FALLBACK_LANGUAGE: ${redactionProblem}`,
    );
  }
  return {
    bucket: requiredEnv(env, 'TRANSCRIPTION_BUCKET'),
    inputPrefix: prefix(env, 'INPUT_PREFIX', DEFAULT_INPUT_PREFIX),
    inputPerUser: boolean(env, 'INPUT_PER_USER', true),
    resultsPrefix: prefix(env, 'RESULTS_PREFIX', DEFAULT_RESULTS_PREFIX),
    workPrefix: prefix(env, 'WORK_PREFIX', 'work/'),
    maxAudioBytes: positiveNumber(env, 'MAX_AUDIO_BYTES', 1024 ** 3),
    maxAudioSeconds: positiveNumber(env, 'MAX_AUDIO_SECONDS', 36_000),
    minAudioSeconds: positiveNumber(env, 'MIN_AUDIO_SECONDS', 0.3),
    assemblyai: {
      baseUrl,
      speechModels,
      languageDetection: { expectedLanguages, fallbackLanguage, confidenceThreshold },
      timeoutMs: positiveNumber(env, 'ASSEMBLYAI_TIMEOUT_MS', 10_000),
      submitSettleMs: positiveNumber(env, 'ASSEMBLYAI_SUBMIT_SETTLE_MS', 15_000),
      deleteAfterPersist: boolean(env, 'DELETE_TRANSCRIPT_AFTER_PERSIST', true),
      redaction,
    },
    delivery: delivery(env),
    presignedUrlTtlSeconds: positiveNumber(env, 'PRESIGNED_URL_TTL_SECONDS', 3600),
    poll: {
      deadlineBaseSeconds: positiveNumber(env, 'POLL_DEADLINE_BASE_SECONDS', 900),
      deadlinePerAudioSecond: positiveNumber(env, 'POLL_DEADLINE_PER_AUDIO_SECOND', 0.5),
      maxWaitSeconds: positiveNumber(env, 'POLL_MAX_WAIT_SECONDS', 3600),
      holdSeconds: secondsUpTo(env, 'ASSEMBLYAI_CHECK_HOLD_SECONDS', 15, MAX_CHECK_HOLD_SECONDS),
    },
  };
}

/** The request's redaction, else the deployment's: the policies to redact, or undefined for none. */
export function redactionOf(
  request: Pick<TranscriptionRequest, 'redact_pii' | 'redact_pii_policies'>,
  config: WorkflowConfig,
): { policies: string[] } | undefined {
  const enabled =
    request.redact_pii ?? (request.redact_pii_policies !== undefined || config.assemblyai.redaction.enabled);
  if (!enabled) return undefined;
  return { policies: request.redact_pii_policies ?? [...config.assemblyai.redaction.policies] };
}
