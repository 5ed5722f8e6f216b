/**
 * Runs `statemachine/transcription.asl.json` — the deployed definition, unchanged — in-process
 * with aws-local-stepfunctions, each Task backed by the real Lambda handler (Powertools wiring
 * included). Used by `npm start`, the state-machine tests and the load test.
 *
 * What the service does and the library does not, the runner adds: StartExecution's and every
 * state's 256 KB limit (`States.DataLimitExceeded`, which no Catch handles), an execution timeout
 * and abort, and — as the EventBridge rule does when deployed — the finalize-execution Lambda
 * after every execution that failed, timed out or was aborted, with the same event.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import {
  type ExecutionStatusChangeEvent,
  executionStatusChangeEvent,
  type FinalizedStatus,
} from '../lambdas/finalize-execution/execution-events.js';
import type { TaskTokens } from './task-tokens.js';

export const DEFINITION_PATH = new URL('../statemachine/transcription.asl.json', import.meta.url);

// aws-local-stepfunctions 3 needs Promise.withResolvers (Node >= 22); without it every Task fails
// and the Catch sends every run down the failure path (NOTES.md). Node 20 lacks it.
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

type Json = unknown;
/** aws-local-stepfunctions does not export its event type. */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
export type TaskHandler = (input: Json) => Promise<Json>;
/** Keyed by Lambda name (`validate-audio`, …), the folder under `lambdas/`. */
export type LambdaHandlers = Record<string, TaskHandler>;

/** The Lambda the deployed EventBridge rule invokes when an execution ends without succeeding. */
export const FINALIZE_LAMBDA = 'finalize-execution';

/** Webhook mode's receiver behind a Function URL (local/webhook-receiver.ts serves it locally). */
export const WEBHOOK_LAMBDA = 'receive-webhook';

/**
 * Step Functions' limit on an execution's input and on every state's input and output, in bytes
 * of UTF-8 JSON. Over it, StartExecution refuses the input; a state fails the execution with
 * `States.DataLimitExceeded`, which no Catch handles.
 */
export const MAX_STATE_BYTES = 262_144;

export function jsonBytes(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/** What StartExecution answers to an input over the limit: no execution starts. */
export class StartExecutionRefused extends Error {
  override readonly name = 'ValidationException';
}

interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: unknown };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Seconds?: number;
  SecondsPath?: string;
  Timestamp?: string;
  TimestampPath?: string;
}
interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

export function readDefinition(): AslDefinition {
  return JSON.parse(readFileSync(DEFINITION_PATH, 'utf-8')) as AslDefinition;
}

/** `${ValidateAudioFunctionArn}` → `validate-audio`: the ASL placeholders name the Lambda folders. */
export function lambdaNameOf(resource: string): string {
  const match = /^\$\{([A-Za-z]+)FunctionArn\}$/.exec(resource);
  if (!match?.[1]) throw new Error(`Unexpected Task resource ${resource}`);
  return match[1].replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * The definition with every `${…FunctionArn}` replaced by a Lambda ARN, as CDK's
 * definitionSubstitutions do at deploy time (the validator rejects unsubstituted placeholders).
 */
export function substituteArns(definition: AslDefinition): AslDefinition {
  const text = JSON.stringify(definition).replace(
    /\$\{([A-Za-z]+FunctionArn)\}/g,
    (placeholder) =>
      `arn:aws:lambda:us-east-1:000000000000:function:transcription-local-${lambdaNameOf(placeholder)}`,
  );
  return JSON.parse(text) as AslDefinition;
}

/** The callback pattern's Lambda integration: the task waits for SendTaskSuccess/Failure. */
export const WAIT_FOR_TASK_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

const isCallbackTask = (state: AslState) => state.Resource === WAIT_FOR_TASK_TOKEN;

/** Task state name → Lambda name, read from the definition (`Resource`, or the callback task's `FunctionName`). */
export function taskLambdas(definition: AslDefinition = readDefinition()): Record<string, string> {
  return Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, state]) => state.Type === 'Task' && state.Resource)
      .map(([name, state]) => [
        name,
        lambdaNameOf(
          isCallbackTask(state) ? String(state.Parameters?.FunctionName) : (state.Resource as string),
        ),
      ]),
  );
}

/** Longer than any callback wait, and within Node's timer limit (2^31 ms), which the library's timer uses. */
const LIBRARY_CALLBACK_TIMEOUT_SECONDS = 2_000_000;

/**
 * The definition as aws-local-stepfunctions gets it: the runner itself times out callback tasks
 * (the library reads `TimeoutSecondsPath` from the effective input, after `Parameters`, and would
 * otherwise apply its default 60 s), so there they carry no timeout of their own.
 */
function forLibrary(definition: AslDefinition): AslDefinition {
  const states = Object.fromEntries(
    Object.entries(definition.States).map(([name, state]) => {
      if (!isCallbackTask(state)) return [name, state];
      const { TimeoutSecondsPath: _path, TimeoutSeconds: _seconds, ...rest } = state;
      return [name, { ...rest, TimeoutSeconds: LIBRARY_CALLBACK_TIMEOUT_SECONDS }];
    }),
  );
  return { ...definition, States: states };
}

/** The Lambda context a local invocation gets: names as deployed locally, and a real deadline. */
export function lambdaContext(lambdaName: string, timeoutSeconds: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const functionName = `transcription-local-${lambdaName}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Imports every Lambda's real `handler`. Call it after the environment is set: the handlers read
 * their configuration at import time, as on a cold start.
 */
export async function loadLambdaHandlers(
  definition: AslDefinition = readDefinition(),
): Promise<LambdaHandlers> {
  const handlers: LambdaHandlers = {};
  const lambdas: [string, number][] = [
    ...Object.entries(taskLambdas(definition)).map(
      ([stateName, lambdaName]) =>
        [lambdaName, definition.States[stateName]?.TimeoutSeconds ?? 60] as [string, number],
    ),
    [FINALIZE_LAMBDA, 60],
    // Only in webhook mode: it needs the webhook secret at cold start, as deployed.
    ...(process.env.TRANSCRIPT_DELIVERY === 'webhook' ? [[WEBHOOK_LAMBDA, 30] as [string, number]] : []),
  ];
  for (const [lambdaName, timeout] of lambdas) {
    const module = (await import(`../lambdas/${lambdaName}/handler.js`)) as {
      handler: (event: Json, context: Context) => Promise<Json>;
    };
    // A JSON round trip, as between Step Functions and Lambda: nothing but JSON crosses a state.
    handlers[lambdaName] = async (input) =>
      JSON.parse(
        JSON.stringify(
          (await module.handler(JSON.parse(JSON.stringify(input)), lambdaContext(lambdaName, timeout))) ??
            null,
        ),
      );
  }
  return handlers;
}

/** What the context's `Task.Token` holds for the library; never reaches a handler. */
const CONTEXT_TOKEN_PLACEHOLDER = 'local-task-token-placeholder';

/** The shortest interval a fast run gives the SubmissionPending retrier (see retryIntervals). */
export const SUBMISSION_PENDING_RETRY_MS = 500;

export interface RunOptions {
  executionName?: string;
  /** Replace the real Wait state durations (ms); tests use 0. */
  waitMs?: number;
  /** Replace the Retry intervals (ms); tests use 0. */
  retryIntervalMs?: number;
  /**
   * Virtual time, for benchmarks: every Wait state ends at once and, before the next Task runs,
   * this is called with the seconds the Wait would have lasted on AWS, so a caller that controls
   * the clock the handlers (and emulators) see can move it on by that much. Overrides `waitMs`.
   */
  advanceClock?: (seconds: number) => void;
  /**
   * Cap how long a callback task waits for its token (ms), for fast runs: a lost webhook then
   * falls back to polling in seconds. @default the state's own timeout, in real (or virtual, see advanceClock) time
   */
  callbackTimeoutMs?: number;
  /** Called when a callback task starts waiting for its token (the bench moves its clock on). */
  onCallbackWait?: (wait: { state: string; timeoutSeconds: number }) => void;
  /** Called for every state event, e.g. to print progress. */
  onEvent?: (event: EventLog) => void;
  /** Ends the execution as TIMED_OUT after this long, like the deployed `TimeoutSeconds`. @default - none */
  executionTimeoutMs?: number;
  /** The state machine's ARN; the execution ARN is derived from it. @default `arn:aws:states:local:000000000000:stateMachine:transcription` */
  stateMachineArn?: string;
  /** Redrive: start at this state with this input instead of StartAt (the execution input stays `input`). */
  startAt?: { state: string; input: Json };
  /** `$$.Execution.StartTime`; a redrive keeps the first start. @default now */
  startTime?: Date;
  /** Called with a Task's Lambda result (before its ResultPath merge), e.g. for history events. */
  onTaskResult?: (state: string, output: Json) => void;
  /** Called when the status is known, before finalize-execution runs (as the service's status changes first). */
  onEnded?: (ending: ExecutionEnded) => void;
}

/** The execution's terminal status as DescribeExecution shows it. */
export interface ExecutionEnded {
  status: ExecutionStatus;
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  stopDate: Date;
}

export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:transcription';

/** `arn:…:stateMachine:{name}` → `arn:…:execution:{name}:{executionName}`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export type ExecutionStatus = 'SUCCEEDED' | FinalizedStatus;

export interface ExecutionOutcome {
  executionArn: string;
  status: ExecutionStatus;
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  /** What finalize-execution returned, when the execution did not succeed (absent without the handler). */
  finalized?: Json;
  /** States entered, in order (a state entered twice appears twice). */
  statesEntered: string[];
  /** Retries per state. */
  retries: Record<string, number>;
  durationMs: number;
}

/** An execution in progress: `abort()` stops it as StopExecution would (status ABORTED). */
export interface RunningExecution {
  executionArn: string;
  name: string;
  abort(): void;
  outcome: Promise<ExecutionOutcome>;
}

/** `$.a.b` (the only path form the definition's SecondsPath/TimestampPath use) read from `data`. */
function readPath(data: Json, path: string): unknown {
  if (!path.startsWith('$')) throw new Error(`Unsupported path ${path}`);
  return path
    .slice(1)
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], data);
}

/** How long a Wait state entered with `input` lasts on AWS, in seconds. */
function waitSecondsOf(state: AslState, input: Json): number {
  if (state.Seconds !== undefined) return state.Seconds;
  if (state.SecondsPath !== undefined) return Number(readPath(input, state.SecondsPath));
  const timestamp = state.Timestamp ?? String(readPath(input, state.TimestampPath ?? '$'));
  return Math.max(0, (new Date(timestamp).getTime() - Date.now()) / 1000);
}

/** The state machine, validated once (asl-validator runs in the constructor) and run many times. */
export class LocalWorkflow {
  readonly definition: AslDefinition;
  private readonly machine: StateMachine;
  /** Machines that start at another state, for redrives; built (and validated) once per state. */
  private readonly machinesFrom = new Map<string, StateMachine>();
  private readonly lambdasByState: Record<string, string>;

  /** Issues and answers the callback tasks' tokens; absent, a callback task fails the run. */
  readonly taskTokens?: TaskTokens;

  constructor(
    private readonly handlers: LambdaHandlers,
    options: { taskTokens?: TaskTokens } = {},
  ) {
    this.taskTokens = options.taskTokens;
    this.definition = readDefinition();
    this.machine = new StateMachine(forLibrary(substituteArns(this.definition)) as never);
    this.lambdasByState = taskLambdas(this.definition);
  }

  /**
   * The Retry intervals of a state, shortened to `ms` for fast runs — except the retrier of
   * SubmissionPending, whose whole point is that time passes (an earlier request may still be
   * creating its job): it keeps at least SUBMISSION_PENDING_RETRY_MS, so fast runs still wait out
   * the (shortened) settle window instead of exhausting the retries in a moment.
   */
  private retryIntervals(state: string, ms: number): number[] {
    const retriers = (this.definition.States[state] as { Retry?: { ErrorEquals: string[] }[] }).Retry ?? [];
    return retriers.map((r) =>
      r.ErrorEquals.includes('SubmissionPending') ? Math.max(ms, SUBMISSION_PENDING_RETRY_MS) : ms,
    );
  }

  /** The Lambda name (`validate-audio`, …) a Task state invokes; undefined for other states. */
  lambdaOf(state: string): string | undefined {
    return this.lambdasByState[state];
  }

  private machineFrom(state: string | undefined): StateMachine {
    if (state === undefined || state === this.definition.StartAt) return this.machine;
    if (!this.definition.States[state]) throw new Error(`No state ${state}`);
    let machine = this.machinesFrom.get(state);
    if (!machine) {
      // The definition was validated whole; started elsewhere, the states before it are unreachable.
      machine = new StateMachine(
        { ...forLibrary(substituteArns(this.definition)), StartAt: state } as never,
        {
          validationOptions: { noValidate: true },
        },
      );
      this.machinesFrom.set(state, machine);
    }
    return machine;
  }

  async run(input: Json, options: RunOptions = {}): Promise<ExecutionOutcome> {
    return this.start(input, options).outcome;
  }

  /** Starts an execution; throws StartExecutionRefused, as StartExecution would, for an input over 256 KB. */
  start(input: Json, options: RunOptions = {}): RunningExecution {
    const inputBytes = jsonBytes(input);
    if (inputBytes > MAX_STATE_BYTES) {
      throw new StartExecutionRefused(
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to ${MAX_STATE_BYTES} (got ${inputBytes} bytes)`,
      );
    }
    const name = options.executionName ?? randomUUID();
    const stateMachineArn = options.stateMachineArn ?? LOCAL_STATE_MACHINE_ARN;
    const executionArn = executionArnOf(stateMachineArn, name);
    const stateMachineName = stateMachineArn.slice(stateMachineArn.lastIndexOf(':') + 1);
    const started = options.startTime ?? new Date();

    // How the execution ended, when not by its own last state.
    let ending:
      | { status: 'ABORTED' | 'TIMED_OUT' }
      | { status: 'FAILED'; error: string; cause: string }
      | undefined;
    let abortLibrary: () => void = () => undefined;
    const stop = (reason: NonNullable<typeof ending>) => {
      ending ??= reason;
      abortLibrary();
    };
    const dataLimitExceeded = (state: string, what: string, bytes: number) =>
      stop({
        status: 'FAILED',
        error: 'States.DataLimitExceeded',
        cause: `The state/task '${state}' ${what} with a size exceeding the maximum number of bytes service limit (${bytes} > ${MAX_STATE_BYTES}).`,
      });

    // Waits entered and not yet passed on to advanceClock. The event log trails the states by a
    // tick, so a Task first lets it catch up (setImmediate) and then moves the clock on.
    const pendingWaits: number[] = [];
    const passWaitsOn = async () => {
      if (!options.advanceClock) return;
      await new Promise((resolve) => setImmediate(resolve));
      for (const seconds of pendingWaits.splice(0)) options.advanceClock(seconds);
    };

    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(this.lambdasByState).map(([state, lambda]) => {
        const handler = this.handlers[lambda];
        if (!handler) throw new Error(`No handler for ${lambda}`);
        const definitionState = this.definition.States[state] as AslState;
        const limited: TaskHandler = async (taskInput) => {
          await passWaitsOn();
          if (isCallbackTask(definitionState))
            return this.callbackTask(state, definitionState, taskInput, handler, options);
          const inBytes = jsonBytes(taskInput);
          if (inBytes > MAX_STATE_BYTES) {
            // The state that produced it (a Pass, a ResultPath merge) is named by the event log,
            // which trails by a tick: let it report first, as the service fails that state.
            await new Promise((resolve) => setImmediate(resolve));
            dataLimitExceeded(state, 'received an input', inBytes);
            throw Object.assign(new Error('input over the limit'), { name: 'States.DataLimitExceeded' });
          }
          const output = await handler(taskInput);
          const outBytes = jsonBytes(output);
          if (outBytes > MAX_STATE_BYTES) {
            dataLimitExceeded(state, 'returned a result', outBytes);
            throw Object.assign(new Error('result over the limit'), { name: 'States.DataLimitExceeded' });
          }
          options.onTaskResult?.(state, output);
          return output;
        };
        return [state, limited];
      }),
    );
    const states = Object.keys(this.definition.States);
    const machine = this.machineFrom(options.startAt?.state);
    const execution = machine.run((options.startAt ? options.startAt.input : input) as never, {
      overrides: {
        taskResourceLocalHandlers: taskResourceLocalHandlers as never,
        ...((options.waitMs !== undefined || options.advanceClock) && {
          waitTimeOverrides: Object.fromEntries(
            states
              .filter((s) => this.definition.States[s]?.Type === 'Wait')
              .map((s) => [s, options.advanceClock ? 0 : (options.waitMs as number)]),
          ),
        }),
        ...(options.retryIntervalMs !== undefined && {
          retryIntervalOverrides: Object.fromEntries(
            states.map((s) => [s, this.retryIntervals(s, options.retryIntervalMs as number)]),
          ),
        }),
      },
      context: {
        // `$$.Task.Token` must resolve for the library; callbackTask replaces it by a real token.
        Task: { Token: CONTEXT_TOKEN_PLACEHOLDER },
        Execution: { Id: executionArn, Name: name, StartTime: started.toISOString(), Input: input },
        StateMachine: { Id: stateMachineArn, Name: stateMachineName },
      } as never,
    });
    abortLibrary = execution.abort;
    const timer =
      options.executionTimeoutMs === undefined
        ? undefined
        : setTimeout(() => stop({ status: 'TIMED_OUT' }), options.executionTimeoutMs);

    const statesEntered: string[] = [];
    const retries: Record<string, number> = {};
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') statesEntered.push(event.state.name);
        const entered = event.type === 'StateEntered' ? this.definition.States[event.state.name] : undefined;
        if (options.advanceClock && entered?.Type === 'Wait' && event.type === 'StateEntered') {
          pendingWaits.push(waitSecondsOf(entered, event.state.input));
        }
        if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
        // Pass, Choice and the ResultPath merges of Tasks: every state's input and output counts.
        if (event.type === 'StateEntered' || event.type === 'StateExited') {
          const data = event.type === 'StateEntered' ? event.state.input : event.state.output;
          const bytes = data === undefined ? 0 : jsonBytes(data);
          if (bytes > MAX_STATE_BYTES) {
            dataLimitExceeded(
              event.state.name,
              event.type === 'StateEntered' ? 'received an input' : 'produced an output',
              bytes,
            );
          }
        }
        options.onEvent?.(event);
      }
    })();

    const outcome = (async (): Promise<ExecutionOutcome> => {
      let result: Omit<ExecutionOutcome, 'statesEntered' | 'retries' | 'durationMs' | 'executionArn'>;
      try {
        result = { status: 'SUCCEEDED', output: (await execution.result) as Record<string, unknown> };
      } catch (error) {
        if (!(error instanceof ExecutionError) && !(error instanceof ExecutionAbortedError)) throw error;
        const failure = (error as unknown as { cause?: { name?: string; message?: string } }).cause;
        result = {
          status: 'FAILED',
          error: failure?.name ?? error.name,
          cause: failure?.message ?? error.message,
        };
      } finally {
        clearTimeout(timer);
      }
      await collecting;
      await passWaitsOn();
      // A limit found in the event log after the last state still fails the execution, as on AWS.
      if (ending?.status === 'FAILED')
        result = { status: 'FAILED', error: ending.error, cause: ending.cause };
      else if (ending) result = { status: ending.status };
      const stopped = new Date();
      options.onEnded?.({ ...result, stopDate: stopped });
      const finalized =
        result.status === 'SUCCEEDED'
          ? undefined
          : await this.finalize({
              executionArn,
              stateMachineArn,
              name,
              status: result.status,
              startDate: started.getTime(),
              stopDate: stopped.getTime(),
              input: JSON.stringify(input),
              inputDetails: { included: true },
              output: null,
              error: result.error ?? null,
              cause: result.cause ?? null,
            });
      return {
        ...result,
        ...(finalized !== undefined && { finalized }),
        executionArn,
        statesEntered,
        retries,
        durationMs: stopped.getTime() - started.getTime(),
      };
    })();

    return { executionArn, name, abort: () => stop({ status: 'ABORTED' }), outcome };
  }

  /**
   * A `.waitForTaskToken` task, as the service runs it: a fresh token per attempt replaces the
   * context's, the Lambda is invoked with the payload (its error fails the attempt, for Retry and
   * Catch), and the task then waits for SendTaskSuccess/Failure on the token — or fails with
   * States.Timeout once the state's `TimeoutSecondsPath` (read from the state input, which the
   * definition passes as `Payload.state`) or `TimeoutSeconds` has passed since the task started.
   */
  private async callbackTask(
    state: string,
    definitionState: AslState,
    taskInput: Json,
    handler: TaskHandler,
    options: RunOptions,
  ): Promise<Json> {
    const tokens = this.taskTokens;
    if (!tokens) throw new Error(`"${state}" waits for a task token: give LocalWorkflow taskTokens`);
    const startedAt = Date.now();
    const payload = (taskInput as { Payload?: Record<string, unknown> }).Payload ?? {};
    const timeoutSeconds =
      definitionState.TimeoutSecondsPath !== undefined
        ? Number(readPath(payload.state, definitionState.TimeoutSecondsPath))
        : (definitionState.TimeoutSeconds ?? LIBRARY_CALLBACK_TIMEOUT_SECONDS);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
      throw Object.assign(new Error(`Invalid timeout at ${definitionState.TimeoutSecondsPath}`), {
        name: 'States.Runtime',
      });
    }
    const token = tokens.issue();
    const withToken = JSON.parse(
      JSON.stringify(payload).replaceAll(JSON.stringify(CONTEXT_TOKEN_PLACEHOLDER), JSON.stringify(token)),
    );
    try {
      await handler(withToken);
    } catch (error) {
      tokens.cancel(token);
      throw error;
    }
    const timeoutMs = Math.min(options.callbackTimeoutMs ?? Number.POSITIVE_INFINITY, timeoutSeconds * 1000);
    options.onCallbackWait?.({ state, timeoutSeconds });
    return tokens.wait(token, startedAt + timeoutMs);
  }

  /** Invokes finalize-execution as the deployed EventBridge rule would; absent handler: skipped. */
  private async finalize(detail: ExecutionStatusChangeEvent['detail']): Promise<Json> {
    const handler = this.handlers[FINALIZE_LAMBDA];
    if (!handler) return undefined;
    try {
      return await handler(executionStatusChangeEvent(detail));
    } catch (error) {
      // Deployed, a failed finalize is retried by Lambda and then dead-lettered; it never changes
      // the execution's outcome. Reported here for the tests.
      return { errorType: (error as Error).name, errorMessage: (error as Error).message };
    }
  }
}
