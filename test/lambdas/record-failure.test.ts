/** "Record failure": any failure becomes a typed, user-safe failure result at the result key. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  describeFailure,
  discardProviderCopy,
  discardWorkObjects,
  failedStateOf,
  jobOfExecution,
  recordFailure,
  resultOwner,
  STATE_NAMES,
} from '../../lambdas/record-failure/record-failure.js';
import { audioUrlDigest, type TranscriptionProvider } from '../../lambdas/shared/assemblyai.js';
import type { FailedResult } from '../../lambdas/shared/contracts.js';
import type { AssemblyAIEmulator } from '../../local/assemblyai-emulator/emulator.js';
import {
  HELLO_OGG_AUDIO,
  newExecution,
  REQUEST,
  ROOT,
  rejectionOf,
  startEmulatedProvider,
  startTestS3,
  submittedState,
  TEST_BUCKET,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const STARTED = new Date('2026-03-01T10:00:00.000Z');
const now = () => new Date(STARTED.getTime() + 12_300);
const config = testConfig();
const SECRET_DETAIL = 'connect ECONNREFUSED 10.0.0.12:443 at /var/task/index.js:42 key=sk_live_123';

const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({
    errorType,
    errorMessage,
    trace: [`${errorType}: ${errorMessage}`, '    at run (/var/task/index.js:1:1)'],
  });

describe('describeFailure', () => {
  it('keeps the type and plain-text message of our own errors (local runs)', () => {
    // Act
    const described = describeFailure({ Error: 'AudioTooLong', Cause: 'The audio is 700.0 minutes long' });

    // Assert
    expect(described).toEqual({ type: 'AudioTooLong', message: 'The audio is 700.0 minutes long' });
  });

  it('takes the message out of a Lambda-style JSON Cause, without the trace', () => {
    // Act
    const described = describeFailure({
      Error: 'UnsupportedAudioFormat',
      Cause: lambdaCause('UnsupportedAudioFormat', 'The file is not audio'),
    });

    // Assert
    expect(described).toEqual({ type: 'UnsupportedAudioFormat', message: 'The file is not audio' });
  });

  it('falls back to the type as message when the Cause is missing', () => {
    // Act
    const described = describeFailure({ Error: 'TranscriptionTimedOut' });

    // Assert
    expect(described).toEqual({ type: 'TranscriptionTimedOut', message: 'TranscriptionTimedOut' });
  });

  it('caps a long message at 1000 characters', () => {
    // Act
    const described = describeFailure({ Error: 'TranscriptionFailed', Cause: 'x'.repeat(5000) });

    // Assert
    expect(described.message).toHaveLength(1000);
  });

  it.each(['States.Timeout', 'Sandbox.Timedout'])(
    'reports %s as InternalError saying a step took too long',
    (error) => {
      // Act
      const described = describeFailure({ Error: error, Cause: SECRET_DETAIL });

      // Assert
      expect(described.type).toBe('InternalError');
      expect(described.message).toMatch(/took too long/);
      expect(described.message).not.toContain('ECONNREFUSED');
    },
  );

  it.each([
    ['an unknown error name', { Error: 'TypeError', Cause: lambdaCause('TypeError', SECRET_DETAIL) }],
    ['a Lambda service error', { Error: 'Lambda.ServiceException', Cause: SECRET_DETAIL }],
    ['States.Runtime', { Error: 'States.Runtime', Cause: SECRET_DETAIL }],
    ['a missing failure', undefined],
  ])('reports %s as InternalError with a generic message that leaks nothing', (_label, failure) => {
    // Act
    const described = describeFailure(failure);

    // Assert
    expect(described.type).toBe('InternalError');
    expect(described.message).toBe('An internal error stopped the transcription; please try again later');
  });
});

describe('failedStateOf', () => {
  const validated = { execution: newExecution(), request: REQUEST, audio: HELLO_OGG_AUDIO };

  it.each([
    ['the raw input', { s3_key: REQUEST.s3_key, user_id: 123 }, STATE_NAMES.validate],
    ['a validated state without a job', validated, STATE_NAMES.submit],
    ['a queued job', { ...validated, transcript: { status: 'queued' } }, STATE_NAMES.check],
    [
      'a webhook-mode state without a job',
      { ...validated, webhook: { timeout_seconds: 120 } },
      STATE_NAMES.submitWebhook,
    ],
    [
      'a job error the webhook reported',
      { ...validated, webhook: { timeout_seconds: 120 }, transcript: { status: 'error' } },
      STATE_NAMES.submitWebhook,
    ],
    [
      'a job error found by polling after the webhook wait timed out',
      {
        ...validated,
        webhook: { timeout_seconds: 120, wait: { Error: 'States.Timeout' } },
        transcript: { status: 'error' },
      },
      STATE_NAMES.check,
    ],
    [
      'a job AssemblyAI reported as failed',
      { ...validated, transcript: { status: 'error' } },
      STATE_NAMES.check,
    ],
    [
      'a completed job without segments',
      { ...validated, transcript: { status: 'completed' } },
      STATE_NAMES.format,
    ],
    [
      'formatted segments',
      { ...validated, transcript: { status: 'completed' }, segments: { key: 'k', total_segments: 1 } },
      STATE_NAMES.persist,
    ],
  ])('names the state that failed from %s', (_label, state, expected) => {
    // Act
    const name = failedStateOf(state as Record<string, unknown>);

    // Assert
    expect(name).toBe(expected);
  });

  it('uses only state names that exist in statemachine/transcription.asl.json', () => {
    // Arrange
    const definition = JSON.parse(
      readFileSync(join(ROOT, 'statemachine/transcription.asl.json'), 'utf8'),
    ) as {
      States: Record<string, { Type: string }>;
    };

    // Act
    const missing = Object.values(STATE_NAMES).filter((name) => definition.States[name]?.Type !== 'Task');

    // Assert
    expect(Object.values(STATE_NAMES)).toHaveLength(6);
    expect(missing).toEqual([]);
  });
});

describe('resultOwner', () => {
  it.each([
    ['a validated request', { request: REQUEST }, { user_id: 123, file_id: 'abc-123' }],
    [
      'raw input with a digit-string user_id',
      { input: { user_id: '42', file_id: 'f1' } },
      { user_id: 42, file_id: 'f1' },
    ],
  ])('takes the owner from %s', (_label, state, expected) => {
    // Act
    const owner = resultOwner(state as Record<string, unknown>);

    // Assert
    expect(owner).toEqual(expected);
  });

  it.each([
    ['a file_id with a path', { input: { user_id: 42, file_id: '../../etc' } }],
    ['a user_id of 0', { input: { user_id: 0, file_id: 'f1' } }],
    ['a fractional user_id', { input: { user_id: 1.5, file_id: 'f1' } }],
    ['a user_id beyond the safe range', { input: { user_id: 2 ** 60, file_id: 'f1' } }],
    ['a user_id string with a letter', { input: { user_id: '12a', file_id: 'f1' } }],
    ['no ids at all', { input: { s3_key: 'transcription/x.ogg' } }],
    ['an input that is not an object', { input: ['transcription/x.ogg', 42, 'f1'] }],
  ])('finds no owner in input with %s', (_label, state) => {
    // Act
    const owner = resultOwner(state as Record<string, unknown>);

    // Assert
    expect(owner).toBeUndefined();
  });
});

describe('recordFailure', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('writes a failure result at the result key and hands the type to the Fail state', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const state = {
      ...submittedState({ status: 'processing' }, execution),
      failure: {
        Error: 'TranscriptionTimedOut',
        Cause: lambdaCause('TranscriptionTimedOut', 'Did not finish in time'),
      },
    };

    // Act
    const recorded = await recordFailure({ state, execution }, { s3: s3.client, config, now });

    // Assert
    expect(recorded).toEqual({
      Error: 'TranscriptionTimedOut',
      Cause: 'Did not finish in time',
      failed_state: 'Check transcript status',
      result_key: 'results/123/abc-123.json',
    });
    const object = await s3.get('results/123/abc-123.json');
    expect(object?.contentType).toBe('application/json; charset=utf-8');
    const result = JSON.parse(object?.body ?? 'null') as FailedResult;
    expect(result).toEqual({
      status: 'failed',
      file_id: 'abc-123',
      user_id: 123,
      error: { type: 'TranscriptionTimedOut', message: 'Did not finish in time' },
      metadata: {
        processing_time: 12.3,
        execution_arn: execution.arn,
        failed_state: 'Check transcript status',
        s3_key: REQUEST.s3_key,
      },
    });
  });

  it('records a validation failure from the raw input when its ids are usable', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const state = {
      input: { s3_key: 'transcription/55/x.txt', user_id: '55', file_id: 'raw-input', bucket: TEST_BUCKET },
      failure: { Error: 'UnsupportedAudioFormat', Cause: 'The file is not audio' },
    };

    // Act
    const recorded = await recordFailure({ state, execution }, { s3: s3.client, config, now });

    // Assert
    expect(recorded.failed_state).toBe('Validate audio');
    const result = JSON.parse((await s3.get('results/55/raw-input.json'))?.body ?? 'null') as FailedResult;
    expect(result).toMatchObject({
      status: 'failed',
      user_id: 55,
      error: { type: 'UnsupportedAudioFormat' },
      metadata: { failed_state: 'Validate audio' },
    });
  });

  it('writes nothing and returns result_key null when the input has no usable user_id and file_id', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const state = {
      user_id: -1,
      file_id: '../../escape',
      failure: { Error: 'InvalidInput', Cause: 'Invalid input' },
    };
    const before = await s3.keys();

    // Act
    const recorded = await recordFailure({ state, execution }, { s3: s3.client, config, now });

    // Assert
    expect(recorded.result_key).toBeNull();
    expect(recorded.Error).toBe('InvalidInput');
    expect(recorded.Cause).toMatch(/no result was written/);
    expect(await s3.keys()).toEqual(before);
  });

  it('writes under RESULTS_PREFIX in the configured bucket even when the input points elsewhere', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const custom = testConfig({ RESULTS_PREFIX: 'bot/results/' });
    const state = {
      input: {
        s3_key: 'results/999/hijack.json',
        bucket: 'someone-elses-bucket',
        user_id: 321,
        file_id: 'elsewhere',
      },
      failure: {
        Error: 'InvalidInput',
        Cause: 'Invalid input: bucket is not the bucket this workflow serves',
      },
    };
    const before = await s3.keys();

    // Act
    const recorded = await recordFailure({ state, execution }, { s3: s3.client, config: custom, now });

    // Assert
    expect(recorded.result_key).toBe('bot/results/321/elsewhere.json');
    expect(await s3.keys()).toEqual([...before, 'bot/results/321/elsewhere.json'].sort());
  });

  it('does not leak an unexpected error message into the result', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const state = {
      ...submittedState({ status: 'completed' }, execution),
      request: { ...REQUEST, file_id: 'crashed' },
      failure: { Error: 'TypeError', Cause: lambdaCause('TypeError', SECRET_DETAIL) },
    };

    // Act
    await recordFailure({ state, execution }, { s3: s3.client, config, now });

    // Assert
    const body = (await s3.get('results/123/crashed.json'))?.body ?? '';
    expect(JSON.parse(body)).toMatchObject({
      error: { type: 'InternalError' },
      metadata: { failed_state: 'Format segments' },
    });
    expect(body).not.toMatch(/ECONNREFUSED|sk_live|var\/task/);
  });

  it('reports S3 throttling while writing the failure result as StorageUnavailable', async () => {
    // Arrange
    const failing = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const s3Mock = mockClient(failing);
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('No such key'), { name: 'NoSuchKey' }));
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('Slow down'), { name: 'SlowDown' }));
    const execution = newExecution(STARTED);

    // Act
    const error = await rejectionOf(
      recordFailure(
        { state: { request: REQUEST, failure: { Error: 'AudioEmpty' } }, execution },
        { s3: failing, config, now },
      ),
    );

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    s3Mock.restore();
  });

  it('never replaces a completed result with a failure', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const key = `results/${REQUEST.user_id}/${REQUEST.file_id}.json`;
    const completed = {
      status: 'completed',
      file_id: REQUEST.file_id,
      user_id: REQUEST.user_id,
      segments: [],
    };
    await s3.put(key, JSON.stringify(completed));

    // Act
    const recorded = await recordFailure(
      { state: { input: REQUEST, failure: { Error: 'AudioNotFound', Cause: 'gone' } }, execution },
      { s3: s3.client, config, now },
    );

    // Assert
    expect(recorded.Error).toBe('AudioNotFound');
    expect(recorded.Cause).toMatch(/completed result already at this key was kept/);
    expect(JSON.parse((await s3.get(key))?.body ?? 'null')).toEqual(completed);
  });
});

describe('jobOfExecution and discardProviderCopy', () => {
  let s3: TestS3;
  let emulator: AssemblyAIEmulator;
  let provider: TranscriptionProvider;

  beforeAll(async () => {
    s3 = await startTestS3();
  });

  beforeEach(async () => {
    ({ emulator, provider } = await startEmulatedProvider(config));
  });

  afterEach(async () => {
    await emulator.close();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('finds and deletes the job of a lost submit answer from the marker alone, not another run of the file', async () => {
    // Arrange: the state never heard of the job; only Submit's marker (with the URL digest) exists
    const execution = newExecution(STARTED);
    const audioUrl = 'http://127.0.0.1:9/transcription/123/abc-123.ogg?X-Amz-Signature=one';
    const other = await provider.submit({ audioUrl: audioUrl.replace('one', 'two') });
    const lost = await provider.submit({ audioUrl });
    await s3.put(
      `work/${execution.name}/submission.json`,
      JSON.stringify({
        submitting_since: new Date(Date.now() - 2_000).toISOString(),
        audio_url_sha256: audioUrlDigest(audioUrl),
      }),
    );
    const event = {
      state: { input: REQUEST, request: REQUEST, failure: { Error: 'ProviderUnavailable' } },
      execution,
    };

    // Act
    const found = await jobOfExecution(event.state, execution, { s3: s3.client, config, provider });
    const outcome = await discardProviderCopy(event, { s3: s3.client, config, provider });

    // Assert
    expect(found).toBe(lost.id);
    expect(outcome).toBe('deleted');
    expect((await provider.get(lost.id)).text).toBe('Deleted by user.');
    expect((await provider.get(other.id)).text).not.toBe('Deleted by user.');
  });

  it('takes the job id from the submission record when the state lost it', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    const job = await provider.submit({ audioUrl: 'http://127.0.0.1:9/x.ogg' });
    await s3.put(`work/${execution.name}/submission.json`, JSON.stringify({ transcript_id: job.id }));

    // Act
    const found = await jobOfExecution({ input: REQUEST }, execution, { s3: s3.client, config, provider });

    // Assert
    expect(found).toBe(job.id);
  });

  it('removes every work object of the execution', async () => {
    // Arrange
    const execution = newExecution(STARTED);
    for (const name of ['submission.json', 'transcript.json', 'segments.json']) {
      await s3.put(`work/${execution.name}/${name}`, '{}');
    }

    // Act
    await discardWorkObjects(s3.client, config, execution);

    // Assert
    expect(await s3.keys(`work/${execution.name}/`)).toEqual([]);
  });
});
