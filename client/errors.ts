/**
 * What the client itself can fail with, beyond the workflow's own error types (those arrive in a
 * failed result as `error.type`, see lambdas/shared/errors.ts). Each class sets `name`, so a caller
 * can switch on it across module copies as the state machine does.
 */
import type { PendingResult } from './transcription-client.js';

/** Another input already runs, or ran, under this execution name: start the next attempt (or pass `force`). */
export class ExecutionNameTaken extends Error {
  override readonly name = 'ExecutionNameTaken';
  constructor(
    readonly executionName: string,
    readonly executionArn: string,
    /** The attempt number to pass next time. */
    readonly nextAttempt: number,
  ) {
    super(
      `Execution ${executionName} already exists with a different input; start attempt ${nextAttempt} instead (attempt: ${nextAttempt}), with force: true to transcribe audio that already has a completed result`,
    );
  }
}

/** No execution with this ARN (or name) exists on the state machine. */
export class ExecutionNotFound extends Error {
  override readonly name = 'ExecutionNotFound';
  constructor(readonly executionArn: string) {
    super(`No execution ${executionArn}`);
  }
}

/** waitForResult ran out of time; the last answer is kept for the caller's message. */
export class ResultWaitTimedOut extends Error {
  override readonly name = 'ResultWaitTimedOut';
  constructor(
    readonly timeoutMs: number,
    readonly last: PendingResult | undefined,
  ) {
    super(
      `No result after ${Math.round(timeoutMs / 1000)} s (execution ${last?.executionStatus ?? 'unknown'})`,
    );
  }
}

/**
 * The execution ended, but no result of it appeared at the result key within the grace period:
 * its finalizer failed (see the FinalizeDeadLetters alarm), or a later execution of the same file
 * has written over it.
 */
export class ResultMissing extends Error {
  override readonly name = 'ResultMissing';
  constructor(
    readonly pending: PendingResult,
    readonly executionError?: string,
    readonly executionCause?: string,
  ) {
    super(
      `Execution ${pending.executionArn} ended ${pending.executionStatus} but ${
        pending.reason === 'result-of-another-execution'
          ? 'the result key holds another execution’s result'
          : 'wrote no result'
      }${executionError ? ` (${executionError})` : ''}`,
    );
  }
}

/** An SQS message that is not a CompletionMessage (lambdas/shared/completion-message.ts). */
export class MalformedCompletionMessage extends Error {
  override readonly name = 'MalformedCompletionMessage';
  constructor(
    readonly reason: string,
    readonly messageId?: string,
  ) {
    super(`Not a completion message${messageId ? ` (${messageId})` : ''}: ${reason}`);
  }
}

/** The client was built without something a call needs (a state machine ARN, a bucket, a queue URL). */
export class ClientConfigurationError extends Error {
  override readonly name = 'ClientConfigurationError';
}
