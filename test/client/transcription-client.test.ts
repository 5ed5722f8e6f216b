/** The typed client against mocked Step Functions, S3 and SQS, with a clock whose pauses pass at once. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type Clock,
  ExecutionNameTaken,
  ExecutionNotFound,
  InvalidInput,
  ResultMissing,
  ResultWaitTimedOut,
  TranscriptionClient,
} from '../../client/index.js';
import type { CompletedResult, FailedResult } from '../../lambdas/shared/contracts.js';

const STATE_MACHINE_ARN =
  'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-test';
const BUCKET = 'wisevoice-transcription-test';
const arnOf = (name: string) =>
  `arn:aws:states:eu-central-1:123456789012:execution:wisevoice-transcription-test:${name}`;

function mocks() {
  const sfn = new SFNClient({ region: 'eu-central-1' });
  const s3 = new S3Client({ region: 'eu-central-1' });
  const sqs = new SQSClient({ region: 'eu-central-1' });
  return { sfn, s3, sqs, sfnMock: mockClient(sfn), s3Mock: mockClient(s3), sqsMock: mockClient(sqs) };
}

const notFound = () => new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
const alreadyExists = () =>
  new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
const noSuchKey = () => new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} });

/** A GetObject answer holding `value` as JSON. */
function jsonBody(value: unknown) {
  return { Body: { transformToString: async () => JSON.stringify(value) } } as never;
}

function serveResult(s3Mock: ReturnType<typeof mockClient>, key: string, value: unknown): void {
  s3Mock.on(GetObjectCommand, { Bucket: BUCKET, Key: key }).resolves(jsonBody(value));
}

function completed(executionArn: string, overrides: Partial<CompletedResult> = {}): CompletedResult {
  return {
    status: 'completed',
    file_id: 'abc-123',
    user_id: 123,
    segments: [
      { speaker: 'A', text: 'Привет, как дела?', start: 0.25, end: 1.9 },
      { speaker: 'B', text: 'Хорошо, спасибо.', start: 61.92, end: 63.5 },
    ],
    metadata: {
      total_segments: 2,
      processing_time: 4.2,
      audio_duration: 64,
      language_code: 'ru',
      language_confidence: 0.93,
      speech_model_used: 'universal-2',
      transcript_id: 't-1',
      execution_arn: executionArn,
      s3_key: 'transcription/123/abc-123.ogg',
      audio_etag: '"e"',
    },
    ...overrides,
  };
}

function failed(executionArn: string, extra: Partial<FailedResult['metadata']> = {}): FailedResult {
  return {
    status: 'failed',
    file_id: 'abc-123',
    user_id: 123,
    error: { type: 'AudioTooShort', message: 'The audio is 0.1 s long; the minimum is 0.3 s' },
    metadata: {
      processing_time: 0.4,
      execution_arn: executionArn,
      failed_state: 'Validate audio',
      s3_key: 'transcription/123/abc-123.ogg',
      ...extra,
    },
  };
}

const INPUT = {
  s3_key: 'transcription/123/abc-123.ogg',
  user_id: 123,
  file_id: 'abc-123',
  bucket: BUCKET,
};

/** A clock whose sleeps pass at once, recording how long each would have been. */
function fakeClock(start = 1_000_000): Clock & { sleeps: number[]; time: () => number } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    time: () => now,
    now: () => now,
    async sleep(ms: number, signal?: AbortSignal) {
      signal?.throwIfAborted();
      sleeps.push(ms);
      now += ms;
    },
  };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'transcription-client-'));
}

const RESULT_KEY = 'results/123/abc-123.json';

function setup(extra: { completionQueueUrl?: string } = {}) {
  const m = mocks();
  const clock = fakeClock();
  const client = new TranscriptionClient({
    stateMachineArn: STATE_MACHINE_ARN,
    bucket: BUCKET,
    clients: { sfn: m.sfn, s3: m.s3, sqs: m.sqs },
    clock,
    ...extra,
  });
  m.s3Mock.on(GetObjectCommand).rejects(noSuchKey());
  return { ...m, clock, client };
}

function running(name: string, input: object = INPUT): DescribeExecutionCommandOutput {
  return {
    $metadata: {},
    executionArn: arnOf(name),
    stateMachineArn: STATE_MACHINE_ARN,
    status: 'RUNNING',
    input: JSON.stringify(input),
    startDate: new Date('2026-12-01T10:00:00Z'),
  };
}

describe('TranscriptionClient.startTranscription', () => {
  it('starts under the deterministic name with the input normalized as the workflow does', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123-abc-123'), startDate: new Date() });

    const started = await client.startTranscription({
      userId: '123' as unknown as number,
      fileId: 'abc-123',
      s3Key: 'transcription/123/abc-123.ogg',
      languageCode: 'ru',
    });

    const call = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(call?.name).toBe('123-abc-123');
    expect(JSON.parse(call?.input ?? '')).toEqual({ ...INPUT, language_code: 'ru' });
    expect(started).toMatchObject({
      executionName: '123-abc-123',
      resultKey: RESULT_KEY,
      alreadyStarted: false,
      uploaded: false,
    });
  });

  it('names a later attempt after its number', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123_2-abc-123') });

    await client.startTranscription({ userId: 123, fileId: 'abc-123', s3Key: INPUT.s3_key, attempt: 2 });

    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe('123_2-abc-123');
  });

  it.each([
    [{ languageCode: 'en_gb' }, 'language_code is not a language code AssemblyAI publishes'],
    [{ s3Key: 'transcription/456/abc-123.ogg' }, 'must be an object under "transcription/123/"'],
    [{ speakersExpected: 11 }, 'speakers_expected must be an integer from 1 to 10'],
    [{ bucket: 'someone-elses-bucket' }, 'bucket is not the bucket this workflow serves'],
  ])('refuses %j locally with the workflow’s own message, starting nothing', async (change, message) => {
    const { client, sfnMock } = setup();

    const attempt = client.startTranscription({
      userId: 123,
      fileId: 'abc-123',
      s3Key: INPUT.s3_key,
      ...change,
    });

    await expect(attempt).rejects.toThrow(InvalidInput);
    await expect(attempt).rejects.toThrow(message);
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('uploads a local file under the user’s folder, keeping its extension, before starting', async () => {
    const { client, sfnMock, s3Mock } = setup();
    const path = join(tempDir(), 'Voice.OGG');
    writeFileSync(path, 'OggS bytes');
    sfnMock.on(DescribeExecutionCommand).rejects(notFound());
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123-abc-123') });

    const started = await client.startTranscription({ userId: 123, fileId: 'abc-123', audio: { path } });

    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Key).toBe('transcription/123/abc-123.ogg');
    expect(Buffer.from(put?.Body as Uint8Array).toString()).toBe('OggS bytes');
    expect(started).toMatchObject({ uploaded: true, s3Key: 'transcription/123/abc-123.ogg' });
  });

  it('does not upload again under an execution already running with this input', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves(running('123-abc-123'));

    const started = await client.startTranscription({
      userId: 123,
      fileId: 'abc-123',
      s3Key: INPUT.s3_key,
      audio: new Uint8Array([1, 2, 3]),
    });

    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
    expect(started).toMatchObject({ alreadyStarted: true, executionArn: arnOf('123-abc-123') });
  });

  it('treats ExecutionAlreadyExists for the same input (an ended run) as started', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    // The same input with its keys in another order is the same input.
    const { bucket, file_id, s3_key, user_id } = INPUT;
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123-abc-123', { bucket, file_id, user_id, s3_key }), status: 'SUCCEEDED' });

    const started = await client.startTranscription({ userId: 123, fileId: 'abc-123', s3Key: INPUT.s3_key });

    expect(started.alreadyStarted).toBe(true);
    expect(started.startDate).toEqual(new Date('2026-12-01T10:00:00Z'));
  });

  it('refuses a name taken by another input, pointing to the next attempt', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock.on(DescribeExecutionCommand).resolves(running('123-abc-123', { ...INPUT, language_code: 'en' }));

    const error = await client
      .startTranscription({ userId: 123, fileId: 'abc-123', s3Key: INPUT.s3_key })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ExecutionNameTaken);
    expect((error as ExecutionNameTaken).nextAttempt).toBe(2);
  });
});

describe('TranscriptionClient.getResult', () => {
  const ARN = arnOf('123_2-abc-123');
  const EARLIER = arnOf('123-abc-123');

  it('is pending while the execution runs, even with an earlier run’s result at the key', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves(running('123_2-abc-123'));
    serveResult(s3Mock, RESULT_KEY, failed(EARLIER));

    const lookup = await client.getResult(ARN);

    expect(lookup).toMatchObject({ status: 'pending', reason: 'running', executionStatus: 'RUNNING' });
  });

  it('returns the run’s own result, found by user and file id', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock.on(DescribeExecutionCommand, { executionArn: ARN }).resolves({
      ...running('123_2-abc-123'),
      status: 'SUCCEEDED',
      output: '{}',
    });
    serveResult(s3Mock, RESULT_KEY, completed(ARN));

    const lookup = await client.getResult({ userId: 123, fileId: 'abc-123', attempt: 2 });

    expect(lookup.status).toBe('completed');
  });

  it('refuses a stale result of an earlier run once the execution ended', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123_2-abc-123'), status: 'SUCCEEDED', output: '{}' });
    serveResult(s3Mock, RESULT_KEY, completed(EARLIER));

    const lookup = await client.getResult(ARN);

    expect(lookup).toMatchObject({ status: 'pending', reason: 'result-of-another-execution' });
  });

  it.each([
    ['Already transcribed?', { existing_result: { key: RESULT_KEY, execution_arn: EARLIER } }],
    [
      'a followed execution',
      { transcript: { existing_result: { key: RESULT_KEY, execution_arn: EARLIER } } },
    ],
  ])('accepts the earlier completed result a run ending at %s reused', async (_case, output) => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123_2-abc-123'), status: 'SUCCEEDED', output: JSON.stringify(output) });
    serveResult(s3Mock, RESULT_KEY, completed(EARLIER));

    const lookup = await client.getResult(ARN);

    expect(lookup.status).toBe('completed');
  });

  it('does not take a failed result as a succeeded run’s answer, even from the execution it reused', async () => {
    const { client, sfnMock, s3Mock } = setup();
    const output = { existing_result: { key: RESULT_KEY, execution_arn: EARLIER } };
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123_2-abc-123'), status: 'SUCCEEDED', output: JSON.stringify(output) });
    serveResult(s3Mock, RESULT_KEY, failed(EARLIER));

    expect((await client.getResult(ARN)).status).toBe('pending');
  });

  it('returns the failure a follower wrote for a failed execution it followed', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves({ ...running('123-abc-123'), status: 'FAILED' });
    serveResult(s3Mock, RESULT_KEY, failed(arnOf('other'), { followed_execution_arn: EARLIER }));

    const lookup = await client.getResult(EARLIER);

    expect(lookup).toMatchObject({ status: 'failed', error: { type: 'AudioTooShort' } });
  });

  it('is pending with result-not-written for an ended execution without a result yet', async () => {
    const { client, sfnMock } = setup();
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123-abc-123'), status: 'TIMED_OUT', error: 'States.Timeout' });

    const lookup = await client.getResult(EARLIER);

    expect(lookup).toMatchObject({
      status: 'pending',
      reason: 'result-not-written',
      executionError: 'States.Timeout',
    });
  });

  it('ignores an object at the key that is not a result', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ ...running('123-abc-123'), status: 'SUCCEEDED', output: '{}' });
    s3Mock.on(GetObjectCommand).resolves(jsonBody({ status: 'completed' }));

    expect((await client.getResult(EARLIER)).status).toBe('pending');
  });

  it('throws ExecutionNotFound for an unknown execution', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(DescribeExecutionCommand).rejects(notFound());

    await expect(client.getResult(EARLIER)).rejects.toThrow(ExecutionNotFound);
  });
});

describe('TranscriptionClient.waitForResult', () => {
  const ARN = arnOf('123-abc-123');

  it('checks with growing pauses until the result is there, reporting progress', async () => {
    const { client, sfnMock, s3Mock } = setup();
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce(running('123-abc-123'))
      .resolvesOnce(running('123-abc-123'))
      .resolvesOnce(running('123-abc-123'))
      .resolves({ ...running('123-abc-123'), status: 'SUCCEEDED', output: '{}' });
    serveResult(s3Mock, RESULT_KEY, completed(ARN));
    s3Mock
      .on(GetObjectCommand)
      .rejectsOnce(noSuchKey())
      .rejectsOnce(noSuchKey())
      .rejectsOnce(noSuchKey())
      .resolves(jsonBody(completed(ARN)));
    const progress: number[] = [];

    const result = await client.waitForResult(ARN, {
      initialDelayMs: 1000,
      backoffFactor: 2,
      maxDelayMs: 3000,
      onProgress: (p) => progress.push(p.checks),
    });

    expect(result.status).toBe('completed');
    expect(setupSleeps(client)).toEqual([1000, 2000, 3000]);
    expect(progress).toEqual([1, 2, 3]);
  });

  it('gives up at the timeout, with the last pause cut to fit it', async () => {
    const { client, sfnMock, clock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves(running('123-abc-123'));
    const start = clock.now();

    const error = await client
      .waitForResult(ARN, { timeoutMs: 10_000, initialDelayMs: 4000, backoffFactor: 1 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResultWaitTimedOut);
    expect((error as ResultWaitTimedOut).last?.executionStatus).toBe('RUNNING');
    expect(clock.sleeps).toEqual([4000, 4000, 2000]);
    expect(clock.now() - start).toBe(10_000);
  });

  it('stops when the signal aborts, with its reason', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves(running('123-abc-123'));
    const controller = new AbortController();
    const reason = new Error('user went away');
    let checks = 0;

    const wait = client.waitForResult(ARN, {
      signal: controller.signal,
      onProgress: () => {
        checks += 1;
        if (checks === 2) controller.abort(reason);
      },
    });

    await expect(wait).rejects.toBe(reason);
    expect(sfnMock.commandCalls(DescribeExecutionCommand)).toHaveLength(2);
  });

  it('reports ResultMissing when an ended execution’s result does not appear within the grace', async () => {
    const { client, sfnMock } = setup();
    sfnMock.on(DescribeExecutionCommand).resolves({
      ...running('123-abc-123'),
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'An error occurred while executing the state',
    });

    const error = await client
      .waitForResult(ARN, { resultGraceMs: 5000, initialDelayMs: 2000, backoffFactor: 1 })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResultMissing);
    expect((error as ResultMissing).executionError).toBe('States.Runtime');
  });

  it('wakes on the completion queue message of its execution instead of sleeping out the pause', async () => {
    const { client, sfnMock, s3Mock, sqsMock, clock } = setup({ completionQueueUrl: 'https://sqs/queue' });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce(running('123-abc-123'))
      .resolves({ ...running('123-abc-123'), status: 'SUCCEEDED', output: '{}' });
    s3Mock
      .on(GetObjectCommand)
      .rejectsOnce(noSuchKey())
      .resolves(jsonBody(completed(ARN)));
    sqsMock.on(ReceiveMessageCommand).resolves({
      Messages: [{ MessageId: 'm1', Body: JSON.stringify(completionOf(ARN)) }],
    });

    const result = await client.waitForResult(ARN, { useCompletionQueue: true, initialDelayMs: 10_000 });

    expect(result.status).toBe('completed');
    expect(clock.sleeps).toEqual([]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      VisibilityTimeout: 0,
      WaitTimeSeconds: 10,
    });
  });
});

function setupSleeps(client: TranscriptionClient): number[] {
  return (client as unknown as { clock: { sleeps: number[] } }).clock.sleeps;
}

function completionOf(executionArn: string) {
  return {
    version: 1,
    execution_arn: executionArn,
    execution_name: executionArn.split(':').at(-1),
    status: 'SUCCEEDED',
    outcome: 'completed',
    user_id: 123,
    file_id: 'abc-123',
    result_key: RESULT_KEY,
    error_type: null,
    error_category: null,
    started_at: '2026-12-01T10:00:00.000Z',
    stopped_at: '2026-12-01T10:00:04.200Z',
    duration_seconds: 4.2,
    audio_duration_seconds: 64,
  };
}
