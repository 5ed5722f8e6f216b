/**
 * Runs `statemachine/transcription.asl.json` — the deployed definition, unchanged — in-process
 * with aws-local-stepfunctions, each Task backed by the real Lambda handler (Powertools wiring
 * included). Used by `npm start`, the state-machine tests and the load test.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';

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

interface AslState {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
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

/** Task state name → Lambda name, read from the definition. */
export function taskLambdas(definition: AslDefinition = readDefinition()): Record<string, string> {
  return Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, state]) => state.Type === 'Task' && state.Resource)
      .map(([name, state]) => [name, lambdaNameOf(state.Resource as string)]),
  );
}

function lambdaContext(lambdaName: string, timeoutSeconds: number): Context {
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
  for (const [stateName, lambdaName] of Object.entries(taskLambdas(definition))) {
    const module = (await import(`../lambdas/${lambdaName}/handler.js`)) as {
      handler: (event: Json, context: Context) => Promise<Json>;
    };
    const timeout = definition.States[stateName]?.TimeoutSeconds ?? 60;
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

export interface RunOptions {
  executionName?: string;
  /** Replace the real Wait state durations (ms); tests use 0. */
  waitMs?: number;
  /** Replace the Retry intervals (ms); tests use 0. */
  retryIntervalMs?: number;
  /** Called for every state event, e.g. to print progress. */
  onEvent?: (event: EventLog) => void;
}

export interface ExecutionOutcome {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED';
  output?: Record<string, unknown>;
  error?: string;
  cause?: string;
  /** States entered, in order (a state entered twice appears twice). */
  statesEntered: string[];
  /** Retries per state. */
  retries: Record<string, number>;
  durationMs: number;
}

/** The state machine, validated once (asl-validator runs in the constructor) and run many times. */
export class LocalWorkflow {
  readonly definition: AslDefinition;
  private readonly machine: StateMachine;
  private readonly lambdasByState: Record<string, string>;

  constructor(private readonly handlers: LambdaHandlers) {
    this.definition = readDefinition();
    this.machine = new StateMachine(substituteArns(this.definition) as never);
    this.lambdasByState = taskLambdas(this.definition);
  }

  async run(input: Json, options: RunOptions = {}): Promise<ExecutionOutcome> {
    const name = options.executionName ?? randomUUID();
    const executionArn = `arn:aws:states:local:000000000000:execution:transcription:${name}`;
    const started = new Date();
    const taskResourceLocalHandlers = Object.fromEntries(
      Object.entries(this.lambdasByState).map(([state, lambda]) => {
        const handler = this.handlers[lambda];
        if (!handler) throw new Error(`No handler for ${lambda}`);
        return [state, handler];
      }),
    );
    const states = Object.keys(this.definition.States);
    const execution = this.machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: taskResourceLocalHandlers as never,
        ...(options.waitMs !== undefined && {
          waitTimeOverrides: Object.fromEntries(
            states
              .filter((s) => this.definition.States[s]?.Type === 'Wait')
              .map((s) => [s, options.waitMs as number]),
          ),
        }),
        ...(options.retryIntervalMs !== undefined && {
          retryIntervalOverrides: Object.fromEntries(
            states.map((s) => [s, options.retryIntervalMs as number]),
          ),
        }),
      },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: started.toISOString(), Input: input },
        StateMachine: {
          Id: 'arn:aws:states:local:000000000000:stateMachine:transcription',
          Name: 'transcription',
        },
      } as never,
    });

    const statesEntered: string[] = [];
    const retries: Record<string, number> = {};
    const collecting = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type === 'StateEntered') statesEntered.push(event.state.name);
        if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
        options.onEvent?.(event);
      }
    })();

    let outcome: Omit<ExecutionOutcome, 'statesEntered' | 'retries' | 'durationMs' | 'executionArn'>;
    try {
      outcome = { status: 'SUCCEEDED', output: (await execution.result) as Record<string, unknown> };
    } catch (error) {
      if (!(error instanceof ExecutionError)) throw error;
      const failure = (error as unknown as { cause?: { name?: string; message?: string } }).cause;
      outcome = {
        status: 'FAILED',
        error: failure?.name ?? error.name,
        cause: failure?.message ?? error.message,
      };
    }
    await collecting;
    return { ...outcome, executionArn, statesEntered, retries, durationMs: Date.now() - started.getTime() };
  }
}
