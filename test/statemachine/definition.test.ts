/**
 * Static checks of statemachine/transcription.asl.json: valid ASL (asl-validator, as AWS would
 * see it after CDK's substitutions), and the reliability rules every state must follow. These
 * check properties, not the literal definition, so an edit that keeps the rules keeps them green.
 */
import { createRequire } from 'node:module';
import { ERROR_TYPES, INTERNAL_ERRORS } from '../../lambdas/shared/errors.js';
import { readDefinition, substituteArns } from '../../local/workflow.js';

const require = createRequire(import.meta.url);
const validator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
  BackoffRate?: number;
}
interface State {
  Type: string;
  Next?: string;
  Default?: string;
  SecondsPath?: string;
  Seconds?: number;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; Payload?: unknown };
  Retry?: Retrier[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  Choices?: { Next: string }[];
}

const definition = readDefinition() as unknown as { StartAt: string; States: Record<string, State> };
const states = Object.entries(definition.States);
const tasks = states.filter(([, s]) => s.Type === 'Task');

describe('statemachine/transcription.asl.json', () => {
  it('is valid Amazon States Language once the function ARNs are substituted', () => {
    const result = validator(substituteArns(readDefinition()));
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('has the five steps, the poll loop and the failure path, in order', () => {
    expect(definition.StartAt).toBe('Validate audio');
    expect(definition.States['Validate audio']?.Next).toBe('Already transcribed?');
    expect(definition.States['Already transcribed?']?.Choices?.map((c) => c.Next)).toEqual([
      'Transcribed',
      'Submit and wait for webhook',
    ]);
    expect(definition.States['Already transcribed?']?.Default).toBe('Submit to AssemblyAI');
    expect(definition.States['Submit to AssemblyAI']?.Next).toBe('Wait for transcript');
    expect(definition.States['Wait for transcript']?.Next).toBe('Check transcript status');
    expect(definition.States['Check transcript status']?.Next).toBe('Transcript ready?');
    expect(definition.States['Transcript ready?']?.Default).toBe('Wait for transcript');
    expect(definition.States['Transcript ready?']?.Choices?.map((c) => c.Next)).toEqual([
      'Transcribed',
      'Format segments',
      'AssemblyAI reported an error',
    ]);
    expect(definition.States['Format segments']?.Next).toBe('Persist result');
    expect(definition.States['Submit and wait for webhook']?.Next).toBe('Transcript ready?');
    expect(definition.States['Validation failed']?.Next).toBe('Record failure');
    expect(definition.States['Record failure']?.Next).toBe('Transcription failed');
    expect(definition.States['Transcription failed']?.Type).toBe('Fail');
  });

  it.each(tasks)('"%s" has a timeout and catches everything into "Record failure"', (name, state) => {
    if (state.TimeoutSecondsPath === undefined) expect(state.TimeoutSeconds).toBeGreaterThan(0);
    else expect(state.TimeoutSecondsPath).toBe('$.webhook.timeout_seconds');
    const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
    const recorder = { 'Record failure': 'Transcription failed', 'Validate audio': 'Validation failed' }[
      name
    ];
    expect(catchAll?.Next).toBe(recorder ?? 'Record failure');
    // Validate's Catch keeps the default ($): the raw input may not be an object. aws-local-stepfunctions
    // 3 adds a key "$" for an explicit "ResultPath": "$" in a Catch instead of replacing the input.
    if (name === 'Validate audio') expect(catchAll && 'ResultPath' in catchAll).toBe(false);
    else expect(catchAll?.ResultPath).toBeDefined();
  });

  it.each(tasks)('"%s" retries Lambda service errors with bounded, jittered backoff', (_name, state) => {
    const lambda = state.Retry?.find((r) => r.ErrorEquals.includes('Lambda.ServiceException'));
    expect(lambda?.ErrorEquals).toEqual(expect.arrayContaining(['Lambda.Unknown', 'Sandbox.Timedout']));
    for (const retrier of state.Retry ?? []) {
      expect(retrier.JitterStrategy).toBe('FULL');
      expect(retrier.MaxDelaySeconds).toBeGreaterThan(0);
      expect(retrier.MaxAttempts).toBeGreaterThan(0);
      expect(retrier.MaxAttempts).toBeLessThanOrEqual(8);
      expect(retrier.BackoffRate).toBeGreaterThanOrEqual(1);
    }
  });

  it.each(tasks)('"%s" gives Lambda throttling its own, longer retrier', (_name, state) => {
    const throttling = (state.Retry ?? []).filter((r) =>
      r.ErrorEquals.includes('Lambda.TooManyRequestsException'),
    );
    // A throttle is the account's concurrency running out, not a fault: it lasts longer than a
    // Lambda hiccup and must not use up (or be cut short by) the service-error attempts.
    expect(throttling).toHaveLength(1);
    expect(throttling[0]?.ErrorEquals).toEqual(['Lambda.TooManyRequestsException']);
    expect(throttling[0]?.MaxAttempts).toBeGreaterThanOrEqual(8);
    expect(throttling[0]?.MaxDelaySeconds).toBeGreaterThanOrEqual(60);
  });

  it.each(['Submit to AssemblyAI', 'Check transcript status'])(
    '"%s" retries transient provider errors only',
    (name) => {
      const retried = (definition.States[name]?.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried).toEqual(expect.arrayContaining(['ProviderRateLimited', 'ProviderUnavailable']));
      expect(retried).not.toContain('ProviderRejected');
      expect(retried).not.toContain('States.ALL');
    },
  );

  it('waits for the webhook no longer than Validate says, then falls back to the poll loop', () => {
    const state = definition.States['Submit and wait for webhook'];
    expect(state?.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(state?.Parameters?.FunctionName).toBe(['${', 'SubmitTranscriptionFunctionArn}'].join(''));
    expect(state?.Parameters?.Payload).toEqual({ 'state.$': '$', 'task_token.$': '$$.Task.Token' });
    const timeout = state?.Catch?.find((c) => c.ErrorEquals.includes('States.Timeout'));
    expect(timeout?.Next).toBe('Submit to AssemblyAI');
    expect(state?.Catch?.[0]).toBe(timeout);
    // Its own timeout is the fallback, not a Lambda failure to retry (which would wait again).
    expect((state?.Retry ?? []).flatMap((r) => r.ErrorEquals)).not.toContain('States.Timeout');
  });

  it('routes only on error names the Lambdas actually throw', () => {
    const names = states.flatMap(([, s]) =>
      [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals),
    );
    const ours = names.filter((n) => !/^(States|Lambda|Sandbox|Runtime)\./.test(n));
    expect(ours.length).toBeGreaterThan(0);
    for (const name of ours) expect([...ERROR_TYPES, ...Object.keys(INTERNAL_ERRORS)]).toContain(name);
  });

  it('waits for a duration the poll step computes, never a fixed or unbounded one', () => {
    const waits = states.filter(([, s]) => s.Type === 'Wait');
    expect(waits).toHaveLength(1);
    expect(waits[0]?.[1].SecondsPath).toBe('$.transcript.wait_seconds');
  });

  it('has no state that cannot be reached', () => {
    const reachable = new Set<string>([definition.StartAt]);
    for (const [, s] of states) {
      for (const next of [
        s.Next,
        s.Default,
        ...(s.Choices ?? []).map((c) => c.Next),
        ...(s.Catch ?? []).map((c) => c.Next),
      ]) {
        if (next) reachable.add(next);
      }
    }
    expect([...reachable].sort()).toEqual(Object.keys(definition.States).sort());
  });
});
