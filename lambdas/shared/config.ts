/**
 * Deployment settings, read from the environment once per cold start. A bad value fails the
 * cold start loudly (ConfigurationError) instead of failing every transcription later.
 * The CDK stack sets these variables; `local/run.ts` sets them for the local run.
 */
import { DEFAULT_INPUT_PREFIX, DEFAULT_RESULTS_PREFIX } from './contracts.js';
import { ConfigurationError } from './errors.js';

export interface WorkflowConfig {
  /** TRANSCRIPTION_BUCKET: the one bucket audio is read from and results are written to. */
  bucket: string;
  /** INPUT_PREFIX (default `transcription/`): audio must live under it. */
  inputPrefix: string;
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
    /** ASSEMBLYAI_SPEECH_MODELS (default `universal-3-pro,universal-2`): tried in order. */
    speechModels: string[];
    /** ASSEMBLYAI_TIMEOUT_MS (default 10000): per HTTP request; the SDK itself has none. */
    timeoutMs: number;
    /** DELETE_TRANSCRIPT_AFTER_PERSIST (default true): the bucket keeps the only copy. */
    deleteAfterPersist: boolean;
  };
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
    /** POLL_MAX_WAIT_SECONDS (default 120): the longest single Wait between two status checks. */
    maxWaitSeconds: number;
  };
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
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
  const speechModels = (env.ASSEMBLYAI_SPEECH_MODELS ?? 'universal-3-pro,universal-2')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (speechModels.length === 0) throw new ConfigurationError('ASSEMBLYAI_SPEECH_MODELS must name a model');
  return {
    bucket: required(env, 'TRANSCRIPTION_BUCKET'),
    inputPrefix: prefix(env, 'INPUT_PREFIX', DEFAULT_INPUT_PREFIX),
    resultsPrefix: prefix(env, 'RESULTS_PREFIX', DEFAULT_RESULTS_PREFIX),
    workPrefix: prefix(env, 'WORK_PREFIX', 'work/'),
    maxAudioBytes: positiveNumber(env, 'MAX_AUDIO_BYTES', 1024 ** 3),
    maxAudioSeconds: positiveNumber(env, 'MAX_AUDIO_SECONDS', 36_000),
    minAudioSeconds: positiveNumber(env, 'MIN_AUDIO_SECONDS', 0.3),
    assemblyai: {
      baseUrl,
      speechModels,
      timeoutMs: positiveNumber(env, 'ASSEMBLYAI_TIMEOUT_MS', 10_000),
      deleteAfterPersist: boolean(env, 'DELETE_TRANSCRIPT_AFTER_PERSIST', true),
    },
    presignedUrlTtlSeconds: positiveNumber(env, 'PRESIGNED_URL_TTL_SECONDS', 3600),
    poll: {
      deadlineBaseSeconds: positiveNumber(env, 'POLL_DEADLINE_BASE_SECONDS', 900),
      deadlinePerAudioSecond: positiveNumber(env, 'POLL_DEADLINE_PER_AUDIO_SECOND', 0.5),
      maxWaitSeconds: positiveNumber(env, 'POLL_MAX_WAIT_SECONDS', 120),
    },
  };
}
