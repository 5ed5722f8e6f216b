/**
 * The live canary's marks (issue 11 part 7), shared by the Lambda that starts a canary run, the
 * finalizer and the local endpoint that keep its endings off the bot's completion queue, and the
 * CDK construct. No SDK imports.
 *
 * A canary execution is a bot request in every way the workflow sees (the same input contract,
 * the same steps, the real AssemblyAI), made by a user no bot has: Telegram user ids fit in 52
 * bits, and this one is 2^53 − 1, the largest `user_id` the contract accepts. Its execution name
 * starts with `canary-`, which no name the client's `executionName` makes does (they start with
 * the user id's digits). Only both together mark a canary, so a bot's own request is never taken
 * for one.
 */
import { userInputPrefix } from './contracts.js';

export const CANARY_USER_ID = Number.MAX_SAFE_INTEGER;
export const CANARY_EXECUTION_PREFIX = 'canary-';

/** Per canary ending: 1 when it completed with a result, 0 for any other ending. */
export const CANARY_COMPLETED_METRIC = 'CanaryCompleted';

/**
 * `20261202T150000Z` from the scheduled event's time: a redelivered event names the same run, so
 * it starts no second execution.
 */
export function canaryRunId(time: Date): string {
  if (Number.isNaN(time.getTime())) throw new RangeError('canaryRunId: invalid time');
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** The execution name, file id and audio key of the run scheduled at `time`. */
export function canaryRun(time: Date, inputPrefix: string) {
  const runId = canaryRunId(time);
  return {
    executionName: `${CANARY_EXECUTION_PREFIX}${runId}`,
    fileId: `${CANARY_EXECUTION_PREFIX}${runId}`,
    s3Key: `${userInputPrefix(inputPrefix, CANARY_USER_ID)}${CANARY_EXECUTION_PREFIX}${runId}.ogg`,
  };
}

/** True for the canary's executions: its name prefix and its user, both. */
export function isCanaryExecution(
  name: string | null | undefined,
  userId: number | null | undefined,
): boolean {
  return typeof name === 'string' && name.startsWith(CANARY_EXECUTION_PREFIX) && userId === CANARY_USER_ID;
}
