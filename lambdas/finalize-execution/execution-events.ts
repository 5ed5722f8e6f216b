/**
 * The Step Functions "Execution Status Change" event as EventBridge delivers it, and the endings
 * that are finalized. Plain types and constants, so the CDK app (the rule's pattern) and the local
 * runner (which builds the same events) import them without the Lambda's clients.
 */
import { randomUUID } from 'node:crypto';
import type { EventBridgeEvent } from 'aws-lambda';

export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';

/** The statuses the rule forwards: the endings that may have left no result. */
export const FINALIZED_STATUSES = ['TIMED_OUT', 'ABORTED', 'FAILED'] as const;
export type FinalizedStatus = (typeof FINALIZED_STATUSES)[number];

/**
 * The statuses the rule forwards: every ending. The finalized ones above may need a result
 * written; each of these, SUCCEEDED included, is told on the completion queue and counted in the
 * outcome metrics.
 */
export const ENDED_STATUSES = ['SUCCEEDED', ...FINALIZED_STATUSES] as const;
export type EndedStatus = (typeof ENDED_STATUSES)[number];

/** `detail` of a Step Functions "Execution Status Change" event (times in epoch milliseconds). */
export interface ExecutionStatusChangeDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  startDate: number;
  stopDate: number | null;
  /** The execution input as a JSON string; null when it did not fit the event (see inputDetails). */
  input: string | null;
  /** `included: false` when input and output together exceeded what an event may carry (248 KB). */
  inputDetails?: { included?: boolean } | null;
  /** The execution output as a JSON string (SUCCEEDED only); null when it did not fit (see outputDetails). */
  output?: string | null;
  outputDetails?: { included?: boolean } | null;
  error?: string | null;
  cause?: string | null;
}

export type ExecutionStatusChangeEvent = EventBridgeEvent<
  typeof EXECUTION_STATUS_CHANGE,
  ExecutionStatusChangeDetail
>;

export function isFinalizedStatus(status: string): status is FinalizedStatus {
  return (FINALIZED_STATUSES as readonly string[]).includes(status);
}

export function isEndedStatus(status: string): status is EndedStatus {
  return (ENDED_STATUSES as readonly string[]).includes(status);
}

/** The event EventBridge delivers for `detail`, as the local runner and the tests build it. */
export function executionStatusChangeEvent(
  detail: ExecutionStatusChangeDetail,
  where: { account?: string; region?: string } = {},
): ExecutionStatusChangeEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': EXECUTION_STATUS_CHANGE,
    source: 'aws.states',
    account: where.account ?? '000000000000',
    time: new Date(detail.stopDate ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: where.region ?? 'local',
    resources: [detail.executionArn],
    detail,
  };
}
