/**
 * What the operator commands read from Step Functions beyond the client's API: execution lists over
 * a time window, the end of an execution's history (its error and the state it failed in), and the
 * latest attempt of a file.
 */

import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import {
  type ExecutionListItem,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { TranscriptionClient } from '../client/transcription-client.js';

/** The state the workflow's Fail state is named, as in statemachine/transcription.asl.json. */
export const FAIL_STATE = 'Transcription failed';

/** Executions started at or after `since`, newest first, at most `limit` of them. */
export async function listExecutions(
  sfn: SFNClient,
  stateMachineArn: string,
  options: { since: Date; limit: number; status?: ExecutionStatus },
): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        statusFilter: options.status,
        maxResults: Math.min(1000, options.limit),
        nextToken,
      }),
    );
    for (const execution of page.executions ?? []) {
      // Newest first: the first one older than the window ends the listing.
      if ((execution.startDate?.getTime() ?? 0) < options.since.getTime()) return found;
      found.push(execution);
      if (found.length >= options.limit) return found;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

export interface ExecutionEnd {
  error?: string;
  cause?: string;
  /** The state that failed (Record failure's `failed_state`), or the last one entered. */
  failedState?: string;
  /** Whether Record failure wrote a failure result before the Fail state. */
  recorded: boolean;
}

function parse(json: string | undefined): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(json ?? '');
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Error, cause and failed state from the last events of an execution's history. */
export function executionEnd(events: HistoryEvent[]): ExecutionEnd {
  const end: ExecutionEnd = { recorded: false };
  for (const event of events) {
    const details =
      event.executionFailedEventDetails ??
      event.executionTimedOutEventDetails ??
      event.executionAbortedEventDetails;
    if (details && end.error === undefined) {
      end.error = details.error;
      end.cause = details.cause;
    }
    const entered = event.stateEnteredEventDetails;
    if (!entered?.name) continue;
    if (entered.name === FAIL_STATE) {
      const failure = parse(entered.input)?.failure as
        | { failed_state?: unknown; result_key?: unknown }
        | undefined;
      if (typeof failure?.failed_state === 'string') end.failedState = failure.failed_state;
      end.recorded = typeof failure?.result_key === 'string';
      if (end.failedState) return end;
    } else if (entered.name !== 'Record failure' && end.failedState === undefined) {
      end.failedState = entered.name;
      return end;
    }
  }
  return end;
}

/** The last events of an execution, newest first. */
export async function lastEvents(sfn: SFNClient, executionArn: string, count = 12): Promise<HistoryEvent[]> {
  const page = await sfn.send(
    new GetExecutionHistoryCommand({
      executionArn,
      reverseOrder: true,
      maxResults: count,
      includeExecutionData: true,
    }),
  );
  return page.events ?? [];
}

/** Every event of an execution, oldest first. */
export async function allEvents(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        maxResults: 1000,
        nextToken,
        includeExecutionData: true,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** The highest attempt of a file that has an execution (attempts are tried 1, 2, … until one is free). */
export async function latestAttempt(
  client: TranscriptionClient,
  userId: number,
  fileId: string,
): Promise<{ attempt: number; execution: DescribeExecutionCommandOutput } | undefined> {
  let latest: { attempt: number; execution: DescribeExecutionCommandOutput } | undefined;
  for (let attempt = 1; attempt < 1000; attempt += 1) {
    const execution = await client.describe(client.executionArnFor(userId, fileId, attempt));
    if (!execution) return latest;
    latest = { attempt, execution };
  }
  return latest;
}
