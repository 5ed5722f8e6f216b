/**
 * How long an execution can still run once the poll deadline has passed, read from the Retry
 * blocks of `statemachine/transcription.asl.json`, so the execution timeout grows with every
 * retrier added there instead of trusting a fixed margin. The execution timeout must stay above
 * deadline + this budget: a timed-out execution runs no Catch, so the loop's own deadline
 * (`TranscriptionTimedOut`, with a result for the bot) and the steps after it must always end first.
 */
import { readFileSync } from 'node:fs';
import { STATE_MACHINE_DEFINITION } from './paths.js';

export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

export interface AslTaskState {
  Type: string;
  TimeoutSeconds?: number;
  Retry?: AslRetrier[];
}

export interface AslStates {
  States: Record<string, AslTaskState>;
}

/**
 * The states that can run after the poll deadline: the last status check (which fails with
 * TranscriptionTimedOut, or finds the transcript just in time), then Format and Persist, and
 * Record failure after any of them. A path runs each at most once, so their budgets add up.
 */
export const STATES_AFTER_DEADLINE = [
  'Check transcript status',
  'Format segments',
  'Persist result',
  'Record failure',
] as const;

/** The ASL defaults (States Language spec): a Task times out after 60 s, a retrier makes 3 attempts. */
const DEFAULT_TASK_TIMEOUT_SECONDS = 60;
const DEFAULT_MAX_ATTEMPTS = 3;
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_BACKOFF_RATE = 2;

/** The longest single wait of a retrier: MaxDelaySeconds, or the last backoff step without one. */
export function longestRetryDelaySeconds(retrier: AslRetrier): number {
  if (retrier.MaxDelaySeconds !== undefined) return retrier.MaxDelaySeconds;
  const attempts = retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const interval = retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  return interval * (retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE) ** Math.max(0, attempts - 1);
}

/**
 * The worst time one state can take: the first attempt, then every retry each retrier allows
 * (retriers count their attempts separately), each after that retrier's longest wait and running
 * up to the state's TimeoutSeconds.
 */
export function worstCaseStateSeconds(state: AslTaskState): number {
  const timeout = state.TimeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS;
  return (state.Retry ?? []).reduce(
    (total, retrier) =>
      total + (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS) * (timeout + longestRetryDelaySeconds(retrier)),
    timeout,
  );
}

/** The sum of `worstCaseStateSeconds` over `STATES_AFTER_DEADLINE`; throws when one is missing. */
export function retryBudgetAfterDeadlineSeconds(definition: AslStates): number {
  return STATES_AFTER_DEADLINE.reduce((total, name) => {
    const state = definition.States[name];
    if (state?.Type !== 'Task') throw new Error(`The definition has no Task state "${name}"`);
    return total + worstCaseStateSeconds(state);
  }, 0);
}

export function readDefinitionFile(path: string = STATE_MACHINE_DEFINITION): AslStates {
  return JSON.parse(readFileSync(path, 'utf8')) as AslStates;
}
