/**
 * Execution names, ARNs and the rule that ties a result object to the execution it answers.
 * The result key holds the latest result of a file, whichever execution wrote it: a result of an
 * earlier run is not this run's result, and a run that reused another one's result is answered by
 * that one's.
 */
import { type TranscriptionResult, tellsEndOf } from '../lambdas/shared/contracts.js';

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

export const ENDED_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** `…:stateMachine:sm` + `123-abc` → `…:execution:sm:123-abc`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') {
    throw new RangeError(`Not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], name].join(':');
}

export function isExecutionArn(value: string): boolean {
  return /^arn:[^:]+:states:[^:]*:[^:]*:execution:[^:]+:[^:]+$/.test(value);
}

/** The last part of an execution ARN. */
export function executionNameOfArn(executionArn: string): string {
  return executionArn.split(':').at(-1) ?? executionArn;
}

/** The console page of an execution (its graph, events and error). */
export function consoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

interface ReusedResult {
  existing_result?: { execution_arn?: unknown };
  transcript?: { existing_result?: { execution_arn?: unknown } };
}

/**
 * The execution whose completed result a succeeded run returned instead of its own: "Already
 * transcribed?" puts it at `existing_result`, a run that followed another execution's job at
 * `transcript.existing_result` (see lambdas/shared/workflow-state.ts). Undefined: its own.
 */
export function reusedResultOwner(output: string | undefined): string | undefined {
  if (!output) return undefined;
  let state: ReusedResult;
  try {
    state = JSON.parse(output) as ReusedResult;
  } catch {
    return undefined;
  }
  const owner = state?.existing_result?.execution_arn ?? state?.transcript?.existing_result?.execution_arn;
  return typeof owner === 'string' && owner !== '' ? owner : undefined;
}

export interface ExecutionFacts {
  executionArn: string;
  status: string;
  /** DescribeExecution's output (succeeded executions only). */
  output?: string;
}

/**
 * Whether `result` is the answer to this execution. A succeeded run is answered by a completed
 * result of its own, or of the execution it reused; any other run by its own result (written
 * before the run ends) or by the failure a follower shared with it (`tellsEndOf`). Anything else
 * at the key is stale: an earlier run's, or a later one's.
 */
export function resultAnswers(result: TranscriptionResult | undefined, execution: ExecutionFacts): boolean {
  if (!result?.metadata || typeof result.metadata.execution_arn !== 'string') return false;
  if (execution.status === 'SUCCEEDED') {
    const owner = reusedResultOwner(execution.output) ?? execution.executionArn;
    return result.status === 'completed' && result.metadata.execution_arn === owner;
  }
  return tellsEndOf(result, execution.executionArn);
}
