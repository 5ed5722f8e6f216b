/**
 * The completion message: one per finished execution, built from the event and the result object
 * in the (embedded) S3, sent to SQS only once that object exists, and counted in the outcome
 * metrics with the dimensions the alarms name.
 */

import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type CompletionSender,
  completeExecution,
  completionMessageOf,
  completionQueueUrlOf,
  isCanaryEnding,
  outcomeOf,
  recordCanaryMetric,
  recordCompletionMetrics,
  sqsCompletionSender,
} from '../../lambdas/finalize-execution/completion.js';
import {
  type ExecutionStatusChangeDetail,
  executionStatusChangeEvent,
} from '../../lambdas/finalize-execution/finalize-execution.js';
import { CANARY_USER_ID, canaryRun } from '../../lambdas/shared/canary.js';
import type { CompletionMessage } from '../../lambdas/shared/completion-message.js';
import type { CompletedResult, FailedResult, TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { audioLengthBucket } from '../../lambdas/shared/telemetry-names.js';
import { startTestS3, TEST_BUCKET, type TestS3, testConfig } from './step-fixtures.js';

const config = testConfig();
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/wisevoice-transcription-test-completions';
const STARTED = Date.parse('2026-03-01T10:00:00.000Z');
const STOPPED = STARTED + 47_250;
const INPUT = { s3_key: 'transcription/7/voice-1.ogg', user_id: 7, file_id: 'voice-1', bucket: TEST_BUCKET };
const RESULT_KEY = 'results/7/voice-1.json';

const sqs = mockClient(SQSClient);
let s3: TestS3;
let counter = 0;

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3.stop();
});

beforeEach(async () => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  await s3.client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: RESULT_KEY }));
});

function detail(overrides: Partial<ExecutionStatusChangeDetail> = {}): ExecutionStatusChangeDetail {
  counter += 1;
  const name = `7-voice-1-run${counter}`;
  return {
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:wisevoice-transcription-test:${name}`,
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:wisevoice-transcription-test',
    name,
    status: 'SUCCEEDED',
    startDate: STARTED,
    stopDate: STOPPED,
    input: JSON.stringify(INPUT),
    inputDetails: { included: true },
    output: null,
    error: null,
    cause: null,
    ...overrides,
  };
}

function completedResult(executionArn: string, audioDuration: number | null = 3.8): CompletedResult {
  return {
    status: 'completed',
    file_id: 'voice-1',
    user_id: 7,
    segments: [{ speaker: 'A', text: 'Привет', start: 0.25, end: 1.9 }],
    metadata: {
      total_segments: 1,
      processing_time: 45.2,
      audio_duration: audioDuration,
      language_code: 'ru',
      language_confidence: 0.93,
      speech_model_used: 'universal-2',
      transcript_id: 'job-1',
      execution_arn: executionArn,
      s3_key: INPUT.s3_key,
      audio_etag: '"abc"',
    },
  };
}

function deps(sendCompletion?: CompletionSender) {
  const described: string[] = [];
  return {
    described,
    deps: {
      s3: s3.client,
      config,
      describeInput: async (arn: string) => {
        described.push(arn);
        return JSON.stringify(INPUT);
      },
      sendCompletion,
    },
  };
}

/** The messages handed to SQS, parsed from the requests the real sender built. */
function sentMessages(): { body: CompletionMessage; input: SendMessageCommand['input'] }[] {
  return sqs.commandCalls(SendMessageCommand).map((call) => ({
    body: JSON.parse(call.args[0].input.MessageBody ?? 'null') as CompletionMessage,
    input: call.args[0].input,
  }));
}

async function storedResult(): Promise<TranscriptionResult | undefined> {
  const stored = await s3.get(RESULT_KEY);
  return stored ? (JSON.parse(stored.body) as TranscriptionResult) : undefined;
}

describe('completeExecution', () => {
  it('tells a succeeded execution from its stored result, with Validate’s audio duration, to SQS', async () => {
    const d = detail({ output: JSON.stringify({ audio: { duration_seconds: 3.75 } }) });
    await s3.put(RESULT_KEY, JSON.stringify(completedResult(d.executionArn)));

    const done = await completeExecution(
      executionStatusChangeEvent(d),
      deps(sqsCompletionSender(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL)).deps,
    );

    expect(done).toMatchObject({ sent: true, finalized: { result: 'ignored' } });
    const [sent, ...more] = sentMessages();
    expect(more).toEqual([]);
    expect(sent?.body).toEqual({
      version: 1,
      execution_arn: d.executionArn,
      execution_name: d.name,
      status: 'SUCCEEDED',
      outcome: 'completed',
      user_id: 7,
      file_id: 'voice-1',
      result_key: RESULT_KEY,
      error_type: null,
      error_category: null,
      started_at: '2026-03-01T10:00:00.000Z',
      stopped_at: '2026-03-01T10:00:47.250Z',
      duration_seconds: 47.25,
      audio_duration_seconds: 3.75,
    });
    expect(sent?.input).toMatchObject({
      QueueUrl: QUEUE_URL,
      MessageAttributes: {
        execution_arn: { DataType: 'String', StringValue: d.executionArn },
        status: { DataType: 'String', StringValue: 'SUCCEEDED' },
        outcome: { DataType: 'String', StringValue: 'completed' },
        version: { DataType: 'Number', StringValue: '1' },
      },
    });
    expect(JSON.stringify(sent?.input)).not.toContain('Привет');
  });

  it('takes the audio duration from the completed result when the output does not carry it', async () => {
    const d = detail({ output: null, outputDetails: { included: false } });
    await s3.put(RESULT_KEY, JSON.stringify(completedResult(d.executionArn, 612.5)));
    const sent: CompletionMessage[] = [];

    await completeExecution(executionStatusChangeEvent(d), deps(async (m) => void sent.push(m)).deps);

    expect(sent.map((m) => m.audio_duration_seconds)).toEqual([612.5]);
  });

  it('writes the timed-out execution’s failure result first, then sends a message that names it', async () => {
    const d = detail({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const seenAtSend: (TranscriptionResult | undefined)[] = [];
    const sender: CompletionSender = async () => {
      seenAtSend.push(await storedResult());
    };

    const done = await completeExecution(executionStatusChangeEvent(d), deps(sender).deps);

    expect(done.finalized.result).toBe('written');
    expect(seenAtSend).toHaveLength(1);
    expect(seenAtSend[0]).toMatchObject({ status: 'failed', metadata: { execution_arn: d.executionArn } });
    expect(done.message).toMatchObject({
      status: 'TIMED_OUT',
      outcome: 'failed',
      result_key: RESULT_KEY,
      error_type: 'TranscriptionTimedOut',
      error_category: 'system',
      audio_duration_seconds: null,
    });
  });

  it('reports the user error Record failure stored for this execution', async () => {
    const d = detail({ status: 'FAILED', error: 'AudioTooShort', cause: 'The audio is 0.1 s long' });
    const own: FailedResult = {
      status: 'failed',
      file_id: 'voice-1',
      user_id: 7,
      error: { type: 'AudioTooShort', message: 'The audio is 0.1 s long; the minimum is 0.3 s' },
      metadata: { processing_time: 0.4, execution_arn: d.executionArn, failed_state: 'Validate audio' },
    };
    await s3.put(RESULT_KEY, JSON.stringify(own));

    const done = await completeExecution(
      executionStatusChangeEvent(d),
      deps(sqsCompletionSender(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL)).deps,
    );

    expect(done.finalized.result).toBe('kept');
    expect(sentMessages().map((m) => m.body)).toEqual([
      expect.objectContaining({
        status: 'FAILED',
        outcome: 'failed',
        error_type: 'AudioTooShort',
        error_category: 'user',
      }),
    ]);
    expect(await storedResult()).toEqual(own);
  });

  it('says what the result object says when an aborted re-run leaves an earlier transcript in place', async () => {
    await s3.put(RESULT_KEY, JSON.stringify(completedResult('arn:earlier-execution')));
    const d = detail({ status: 'ABORTED' });

    const done = await completeExecution(executionStatusChangeEvent(d), deps(async () => {}).deps);

    expect(done.message).toMatchObject({
      status: 'ABORTED',
      outcome: 'completed',
      result_key: RESULT_KEY,
      error_type: 'InternalError',
      error_category: 'system',
      // The earlier run's transcript may be of other audio: its duration is not this run's.
      audio_duration_seconds: null,
    });
  });

  it('still tells an execution whose input names no user and file, with no result key', async () => {
    const d = detail({ status: 'FAILED', input: '{"user_id":"x"}', error: 'InvalidInput', cause: 'bad' });
    const sent: CompletionMessage[] = [];

    await completeExecution(executionStatusChangeEvent(d), deps(async (m) => void sent.push(m)).deps);

    expect(sent).toEqual([
      expect.objectContaining({
        outcome: null,
        user_id: null,
        file_id: null,
        result_key: null,
        error_type: 'InvalidInput',
        error_category: 'user',
      }),
    ]);
  });

  it('throws when SQS refuses, leaving the result in place, and a retry sends the same message', async () => {
    const d = detail({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const event = executionStatusChangeEvent(d);
    const client = new SQSClient({ region: 'eu-west-1' });
    sqs.on(SendMessageCommand).rejectsOnce(new Error('KMS.DisabledException')).resolves({ MessageId: 'm-2' });
    const { deps: injected } = deps(sqsCompletionSender(client, QUEUE_URL));

    await expect(completeExecution(event, injected)).rejects.toThrow('KMS.DisabledException');
    const afterFailure = await storedResult();
    const retried = await completeExecution(event, injected);

    expect(afterFailure).toMatchObject({ status: 'failed', metadata: { execution_arn: d.executionArn } });
    expect(retried.finalized.result).toBe('kept');
    const bodies = sentMessages().map((m) => m.input.MessageBody);
    expect(bodies).toHaveLength(2);
    expect(bodies[1]).toBe(bodies[0]);
  });

  it('sends nothing without a queue, and nothing for a status that is not an ending', async () => {
    await s3.put(RESULT_KEY, JSON.stringify(completedResult('arn:x')));

    const noQueue = await completeExecution(executionStatusChangeEvent(detail()), deps().deps);
    const running = await completeExecution(
      executionStatusChangeEvent(detail({ status: 'RUNNING', stopDate: null })),
      deps(sqsCompletionSender(new SQSClient({ region: 'eu-west-1' }), QUEUE_URL)).deps,
    );

    expect(noQueue).toMatchObject({ sent: false, message: { status: 'SUCCEEDED' } });
    expect(running.sent).toBe(false);
    expect(running.message).toBeUndefined();
    expect(sentMessages()).toEqual([]);
  });

  it('reads an input the event could not carry with one DescribeExecution, for finalizing and the message', async () => {
    const d = detail({ status: 'ABORTED', input: null, inputDetails: { included: false } });
    const sent: CompletionMessage[] = [];
    const { deps: injected, described } = deps(async (m) => void sent.push(m));

    const done = await completeExecution(executionStatusChangeEvent(d), injected);

    expect(described).toEqual([d.executionArn]);
    expect(done.finalized.result).toBe('written');
    expect(sent).toEqual([expect.objectContaining({ user_id: 7, file_id: 'voice-1', outcome: 'failed' })]);
  });
});

describe('completionMessageOf', () => {
  it('refuses a status that is not an ending', () => {
    expect(() => completionMessageOf(detail({ status: 'RUNNING' }), undefined, config)).toThrow(
      /not an ending/,
    );
  });
});

describe('outcome metrics', () => {
  it.each([
    [{ status: 'SUCCEEDED', error_category: null }, 'completed'],
    [{ status: 'FAILED', error_category: 'user' }, 'user_error'],
    [{ status: 'FAILED', error_category: 'system' }, 'system_error'],
    [{ status: 'TIMED_OUT', error_category: 'system' }, 'system_error'],
  ] as const)('counts %j as %s', (message, outcome) => {
    expect(outcomeOf(message)).toBe(outcome);
  });

  it.each([
    [null, 'unknown'],
    [0.4, 'under-30s'],
    [29.99, 'under-30s'],
    [30, '30s-5m'],
    [299, '30s-5m'],
    [300, '5m-30m'],
    [1800, 'over-30m'],
    [36_000, 'over-30m'],
    [Number.NaN, 'unknown'],
  ])('puts %p s of audio in the %s bucket', (seconds, bucket) => {
    expect(audioLengthBucket(seconds)).toBe(bucket);
  });

  it('emits TranscriptionOutcome and TimeToResult with the step’s dimensions plus exactly one of their own', () => {
    const saved = { ...process.env };
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      const metrics = new Metrics({
        namespace: 'Transcription',
        serviceName: 'transcription-test',
        defaultDimensions: { step: 'finalize-execution' },
      });
      const message = completionMessageOf(
        detail({ output: JSON.stringify({ audio: { duration_seconds: 95 } }) }),
        completedResult('arn:x'),
        config,
      );

      recordCompletionMetrics(metrics, message);
    } finally {
      write.mockRestore();
      process.env = saved;
    }

    const emitted = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(
      emitted.map((e) => {
        const [directive] = (
          e._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
        ).CloudWatchMetrics;
        return { metric: directive?.Metrics[0]?.Name, dimensions: directive?.Dimensions[0]?.slice().sort() };
      }),
    ).toEqual([
      { metric: 'TranscriptionOutcome', dimensions: ['outcome', 'service', 'step'] },
      { metric: 'TimeToResult', dimensions: ['audio_length', 'service', 'step'] },
    ]);
    expect(emitted[0]).toMatchObject({
      outcome: 'completed',
      service: 'transcription-test',
      step: 'finalize-execution',
    });
    expect(emitted[1]).toMatchObject({ audio_length: '30s-5m', TimeToResult: 47.25 });
  });
});

describe('completionQueueUrlOf', () => {
  it('reads the queue URL, treats unset as no queue, and refuses anything else', () => {
    expect(completionQueueUrlOf({ COMPLETION_QUEUE_URL: QUEUE_URL })).toBe(QUEUE_URL);
    expect(completionQueueUrlOf({})).toBeUndefined();
    expect(completionQueueUrlOf({ COMPLETION_QUEUE_URL: ' ' })).toBeUndefined();
    expect(() => completionQueueUrlOf({ COMPLETION_QUEUE_URL: 'arn:aws:sqs:eu-west-1:1:q' })).toThrow(
      /COMPLETION_QUEUE_URL/,
    );
  });
});

describe('the live canary’s endings', () => {
  const run = canaryRun(new Date('2026-03-01T10:00:00Z'), 'transcription/');
  const canaryInput = {
    s3_key: run.s3Key,
    user_id: CANARY_USER_ID,
    file_id: run.fileId,
    bucket: TEST_BUCKET,
  };
  const canaryResultKey = `results/${CANARY_USER_ID}/${run.fileId}.json`;
  const canaryDetail = (overrides: Partial<ExecutionStatusChangeDetail> = {}) =>
    detail({
      name: run.executionName,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:wisevoice-transcription-test:${run.executionName}`,
      input: JSON.stringify(canaryInput),
      ...overrides,
    });

  beforeEach(async () => {
    await s3.client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: canaryResultKey }));
  });

  it('finalizes a failed canary run like any other (its failure result is written) but sends nothing', async () => {
    const sent: CompletionMessage[] = [];

    const done = await completeExecution(
      executionStatusChangeEvent(canaryDetail({ status: 'TIMED_OUT', error: 'States.Timeout' })),
      deps(async (m) => void sent.push(m)).deps,
    );

    expect(done).toMatchObject({ canary: true, sent: false, finalized: { result: 'written' } });
    expect(done.message).toMatchObject({ status: 'TIMED_OUT', outcome: 'failed', user_id: CANARY_USER_ID });
    expect(sent).toEqual([]);
    expect(JSON.parse((await s3.get(canaryResultKey))?.body ?? 'null')).toMatchObject({ status: 'failed' });
  });

  it('takes neither the canary’s name without its user nor its user without its name for a canary', async () => {
    const sent: CompletionMessage[] = [];
    const send = async (m: CompletionMessage) => void sent.push(m);

    // A bot's execution that happens to be named canary-…, and one of the canary's user under a bot's name.
    const named = await completeExecution(
      executionStatusChangeEvent(detail({ name: run.executionName })),
      deps(send).deps,
    );
    const owned = await completeExecution(
      executionStatusChangeEvent(canaryDetail({ name: `${CANARY_USER_ID}-${run.fileId}` })),
      deps(send).deps,
    );

    expect([named.canary, owned.canary]).toEqual([false, false]);
    expect(sent.map((m) => m.execution_name)).toEqual([run.executionName, `${CANARY_USER_ID}-${run.fileId}`]);
    expect(isCanaryEnding({ execution_name: run.executionName, user_id: CANARY_USER_ID })).toBe(true);
  });

  it.each([
    ['SUCCEEDED', 'completed', 1],
    ['SUCCEEDED', 'failed', 0],
    ['FAILED', 'failed', 0],
    ['TIMED_OUT', null, 0],
  ] as const)('counts a %s ending with a %p result as CanaryCompleted %i', (status, outcome, expected) => {
    const added: [string, string, number][] = [];
    const message = { ...completionMessageOf(canaryDetail({ status }), undefined, config), outcome };

    recordCanaryMetric({ addMetric: (name, unit, value) => void added.push([name, unit, value]) }, message);

    expect(added).toEqual([['CanaryCompleted', 'Count', expected]]);
  });
});
