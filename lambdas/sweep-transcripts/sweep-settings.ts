/**
 * The sweeper's settings: the environment variables the CDK construct sets and the Lambda reads at
 * cold start, with their defaults. Plain values, no SDK, so the CDK app imports them too.
 */
import { ConfigurationError } from '../shared/errors.js';

export const SWEEP_ENV = {
  minAgeSeconds: 'SWEEP_MIN_AGE_SECONDS',
  lookbackSeconds: 'SWEEP_LOOKBACK_SECONDS',
  pageSize: 'SWEEP_PAGE_SIZE',
  maxPages: 'SWEEP_MAX_PAGES',
  maxDeletes: 'SWEEP_MAX_DELETES',
  timeBudgetSeconds: 'SWEEP_TIME_BUDGET_SECONDS',
} as const;

export const SWEEP_DEFAULTS = {
  /**
   * How far past the bound a run still looks. The list is newest first and keeps deleted jobs for
   * 90 days, so without a horizon every run would read them all; with one, a leftover job is
   * looked at by every run during this window (72 hourly runs), then left alone.
   */
  lookbackSeconds: 3 * 24 * 3600,
  /** AssemblyAI's largest page. */
  pageSize: 200,
  /** 10,000 listed transcripts per run: the ~8 h bound plus the lookback of a busy account. */
  maxPages: 50,
  /** Deletes per run, so a backlog (a first run, an outage) is worked off over a few runs without eating into the 20,000 requests per 5 minutes the account shares with the workflow. */
  maxDeletes: 500,
  /** Of the Lambda's 5 minutes; the rest is for the cold start and flushing logs and metrics. */
  timeBudgetSeconds: 270,
} as const;

export interface SweepSettings {
  /** SWEEP_MIN_AGE_SECONDS (required): a job younger than this is never swept. The stack derives it from the execution timeout. */
  minAgeMs: number;
  /** SWEEP_LOOKBACK_SECONDS: jobs older than the bound by more than this end the run's paging. */
  lookbackMs: number;
  /** SWEEP_PAGE_SIZE: transcripts per list page (1–200). */
  pageSize: number;
  /** SWEEP_MAX_PAGES: list pages read per run. */
  maxPages: number;
  /** SWEEP_MAX_DELETES: deletes attempted per run. */
  maxDeletes: number;
  /** SWEEP_TIME_BUDGET_SECONDS: the run starts no request that could end after this. */
  timeBudgetMs: number;
}

type Env = Record<string, string | undefined>;

function wholeNumber(env: Env, name: string, fallback: number | undefined, max = Number.MAX_SAFE_INTEGER) {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new ConfigurationError(`${name} must be set`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigurationError(`${name} must be a whole number from 1 to ${max}`);
  }
  return value;
}

export function loadSweepSettings(env: Env = process.env): SweepSettings {
  return {
    minAgeMs: wholeNumber(env, SWEEP_ENV.minAgeSeconds, undefined) * 1000,
    lookbackMs: wholeNumber(env, SWEEP_ENV.lookbackSeconds, SWEEP_DEFAULTS.lookbackSeconds) * 1000,
    pageSize: wholeNumber(env, SWEEP_ENV.pageSize, SWEEP_DEFAULTS.pageSize, 200),
    maxPages: wholeNumber(env, SWEEP_ENV.maxPages, SWEEP_DEFAULTS.maxPages),
    maxDeletes: wholeNumber(env, SWEEP_ENV.maxDeletes, SWEEP_DEFAULTS.maxDeletes),
    timeBudgetMs: wholeNumber(env, SWEEP_ENV.timeBudgetSeconds, SWEEP_DEFAULTS.timeBudgetSeconds) * 1000,
  };
}
