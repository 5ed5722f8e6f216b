/** "Check transcript status": one status read per loop, with the embedded S3 and a scripted provider. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkTranscript, HOLD_RESERVE_MS } from '../../lambdas/check-transcript/check-transcript.js';
import {
  type ProviderJob,
  type ProviderTranscript,
  providerJobOf,
  type TranscriptionProvider,
} from '../../lambdas/shared/assemblyai.js';
import { submitTranscription } from '../../lambdas/submit-transcription/submit-transcription.js';
import type { AssemblyAIEmulator } from '../../local/assemblyai-emulator/emulator.js';
import {
  AUDIO_DIR,
  assemblyaiFixture,
  byteLength,
  newExecution,
  REQUEST,
  rejectionOf,
  startEmulatedProvider,
  startTestS3,
  submittedState,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const queued = assemblyaiFixture<ProviderTranscript>('queued.go-sdk-testdata.json');
const completed = assemblyaiFixture<ProviderTranscript>('completed-diarized.openapi-Transcript-example.json');
const downloadError = assemblyaiFixture<Partial<ProviderTranscript>>(
  'error-download.docs-common-errors.json',
);
const tooShort = assemblyaiFixture<Partial<ProviderTranscript>>('error-too-short.docs-common-errors.json');

/** What the provider's `get` makes of AssemblyAI answering 200 with this JSON (a completed one keeps its bytes). */
const answered = (answer: unknown): ProviderJob => providerJobOf(Buffer.from(JSON.stringify(answer)));

/** A provider that answers every status read with `transcript` and remembers the ids asked for. */
function scriptedProvider(transcript: Partial<ProviderTranscript>) {
  const asked: string[] = [];
  const provider: TranscriptionProvider = {
    submit: async () => {
      throw new Error('not expected in this step');
    },
    findSubmitted: async () => {
      throw new Error('not expected in this step');
    },
    get: async (id) => {
      asked.push(id);
      return answered({ ...queued, ...transcript, id });
    },
    delete: async () => {
      throw new Error('not expected in this step');
    },
  };
  return { provider, asked };
}

let s3: TestS3;
const config = testConfig();
const state = submittedState();
const beforeDeadline = () => new Date(new Date(state.transcript.submitted_at).getTime() + 10_000);

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3.stop();
});

describe('checkTranscript', () => {
  it.each(['queued', 'processing'] as const)(
    'reports a %s job with its status, one more check and a wait of at least 1 s',
    async (status) => {
      // Arrange
      const { provider, asked } = scriptedProvider({ status });

      // Act
      const job = await checkTranscript(state, { s3: s3.client, provider, config, now: beforeDeadline });

      // Assert
      expect(asked).toEqual([state.transcript.id]);
      expect(job.status).toBe(status);
      expect(job.checks).toBe(state.transcript.checks + 1);
      expect(job.wait_seconds).toBeGreaterThanOrEqual(1);
      expect(job.wait_seconds).toBeLessThanOrEqual(config.poll.maxWaitSeconds);
      expect(job.id).toBe(state.transcript.id);
      expect(job.deadline_at).toBe(state.transcript.deadline_at);
    },
  );

  it('stores a completed transcript under work/{execution name}/transcript.json and returns only its key', async () => {
    // Arrange
    const execution = newExecution();
    const current = submittedState({ status: 'processing', checks: 3 }, execution);
    const { provider } = scriptedProvider(completed);

    // Act
    const job = await checkTranscript(current, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    const key = `work/${execution.name}/transcript.json`;
    expect(job).toEqual({
      ...current.transcript,
      status: 'completed',
      checks: 4,
      wait_seconds: 0,
      transcript_key: key,
    });
    expect(JSON.stringify(job)).not.toContain('Smoke');
    expect(byteLength(job)).toBeLessThan(1024);
    const object = await s3.get(key);
    const stored = JSON.parse(object?.body ?? 'null');
    // AssemblyAI's whole answer, as it came, but for the presigned URL of our own audio
    const { audio_url: _presigned, ...sent } = { ...queued, ...completed, id: current.transcript.id };
    expect(stored).toEqual(sent);
    expect(stored).toMatchObject({
      id: current.transcript.id,
      language_code: completed.language_code,
      audio_duration: completed.audio_duration,
      text: completed.text,
      words: completed.words,
      utterances: completed.utterances,
    });
    expect(stored).not.toHaveProperty('audio_url');
    expect(object?.contentType).toMatch(/^application\/json/);
  });

  it('refuses a completed answer that comes without its transcript bytes, storing nothing', async () => {
    // Arrange: a provider that parsed the answer instead of keeping it
    const execution = newExecution();
    const provider = {
      ...scriptedProvider({}).provider,
      get: async (id: string) => ({ ...completed, id }) as ProviderJob,
    };

    // Act
    const error = await rejectionOf(
      checkTranscript(submittedState({}, execution), {
        s3: s3.client,
        provider,
        config,
        now: beforeDeadline,
      }),
    );

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(await s3.keys(`work/${execution.name}/`)).toEqual([]);
  });

  it.each([
    ['an empty object', {}],
    ['a JSON string', 'Service temporarily unavailable'],
    ['null', null],
    ['an array', [{ status: 'completed' }]],
    ['a transcript without status', { ...completed, status: undefined }],
    ['a transcript with an unknown status', { ...completed, status: 'done' }],
    ['another transcript', { ...completed, id: 'someone-else' }],
  ])(
    'turns %s answered with 200 into ProviderUnavailable, never a state without a status',
    async (_label, answer) => {
      // Arrange
      const provider = {
        ...scriptedProvider({}).provider,
        get: async () => answered(answer),
      };

      // Act
      const error = await rejectionOf(
        checkTranscript(state, { s3: s3.client, provider, config, now: beforeDeadline }),
      );

      // Assert
      expect(error.name).toBe('ProviderUnavailable');
    },
  );

  it('never takes a deleted transcript for a completed one', async () => {
    // Arrange: AssemblyAI's deleted form (see deleted.go-sdk-testdata.json)
    const { provider } = scriptedProvider({
      ...completed,
      audio_url: 'http://deleted_by_user',
      text: 'Deleted by user.',
      words: null,
      utterances: null,
    });

    // Act
    const error = await rejectionOf(
      checkTranscript(state, { s3: s3.client, provider, config, now: beforeDeadline }),
    );

    // Assert
    expect(error.name).toBe('TranscriptionFailed');
    expect(await s3.keys(`work/${state.execution.name}/transcript.json`)).toEqual([]);
  });

  it.each([
    ['a download error', 'AudioDownloadFailed', downloadError],
    ['a too-short error', 'AudioTooShort', tooShort],
    [
      'a server error',
      'TranscriptionFailed',
      { status: 'error', error: 'Server error, developers have been alerted.' },
    ],
  ] as const)('classifies %s as error.type %s and stops waiting', async (_label, type, body) => {
    // Arrange
    const { provider } = scriptedProvider(body as Partial<ProviderTranscript>);

    // Act
    const job = await checkTranscript(state, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    expect(job.status).toBe('error');
    expect(job.error?.type).toBe(type);
    expect(job.error?.message).not.toContain('http');
    expect(job.wait_seconds).toBe(0);
  });

  it('throws TranscriptionTimedOut once the deadline has passed and the job is still running', async () => {
    // Arrange
    const { provider } = scriptedProvider({ status: 'processing' });
    const afterDeadline = () => new Date(new Date(state.transcript.deadline_at).getTime() + 1);

    // Act
    const error = await rejectionOf(
      checkTranscript(state, { s3: s3.client, provider, config, now: afterDeadline }),
    );

    // Assert
    expect(error.name).toBe('TranscriptionTimedOut');
    expect(error.message).toContain('processing');
  });

  it('still takes a transcript that completed just after the deadline', async () => {
    // Arrange
    const { provider } = scriptedProvider(completed);
    const afterDeadline = () => new Date(new Date(state.transcript.deadline_at).getTime() + 60_000);

    // Act
    const job = await checkTranscript(state, { s3: s3.client, provider, config, now: afterDeadline });

    // Assert
    expect(job.status).toBe('completed');
  });

  it('never schedules the next check far past the deadline', async () => {
    // Arrange
    const { provider } = scriptedProvider({ status: 'queued' });
    const deadline = new Date(state.transcript.deadline_at).getTime();
    const nearDeadline = () => new Date(deadline - 3_000);

    // Act
    const job = await checkTranscript(state, { s3: s3.client, provider, config, now: nearDeadline });

    // Assert
    expect(job.wait_seconds).toBeGreaterThanOrEqual(3);
    expect(job.wait_seconds).toBeLessThanOrEqual(4);
  });
});

/** A provider whose answers follow `statuses` in turn (the last one repeats). */
function sequencedProvider(statuses: Partial<ProviderTranscript>[]) {
  let reads = 0;
  const provider = {
    ...scriptedProvider({}).provider,
    get: async (id: string) => {
      const answer = statuses[Math.min(reads, statuses.length - 1)];
      reads += 1;
      return answered({ ...queued, ...answer, id });
    },
  };
  return { provider, reads: () => reads };
}

/** A clock that only the injected sleep advances, so the hold is tested without sleeping. */
function fakeClock(startMs: number) {
  let nowMs = startMs;
  const sleeps: number[] = [];
  return {
    now: () => new Date(nowMs),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    sleeps,
    elapsedMs: () => nowMs - startMs,
  };
}

describe('checkTranscript holding inside the Lambda', () => {
  const submittedMs = new Date(state.transcript.submitted_at).getTime();
  const firstCheckMs = submittedMs + 3_000;
  const lambdaTime = () => 49_000;

  it('reads again every second and stores the transcript once it completes', async () => {
    // Arrange
    const execution = newExecution();
    const current = submittedState({ status: 'queued' }, execution);
    const { provider, reads } = sequencedProvider([
      { status: 'queued' },
      { status: 'processing' },
      completed,
    ]);
    const clock = fakeClock(firstCheckMs);

    // Act
    const job = await checkTranscript(current, {
      s3: s3.client,
      provider,
      config,
      now: clock.now,
      sleep: clock.sleep,
      remainingMs: lambdaTime,
    });

    // Assert
    expect(job.status).toBe('completed');
    expect(job.checks).toBe(1);
    expect(job.transcript_key).toBe(`work/${execution.name}/transcript.json`);
    expect(reads()).toBe(3);
    expect(clock.sleeps).toEqual([1_000, 1_000]);
  });

  it('stops holding at once on an error answer', async () => {
    // Arrange
    const { provider, reads } = sequencedProvider([{ status: 'processing' }, downloadError]);
    const clock = fakeClock(firstCheckMs);

    // Act
    const job = await checkTranscript(state, {
      s3: s3.client,
      provider,
      config,
      now: clock.now,
      sleep: clock.sleep,
      remainingMs: lambdaTime,
    });

    // Assert
    expect(job.status).toBe('error');
    expect(job.wait_seconds).toBe(0);
    expect(reads()).toBe(2);
  });

  it('hands back to the Wait state after at most ASSEMBLYAI_CHECK_HOLD_SECONDS', async () => {
    // Arrange
    const { provider, reads } = sequencedProvider([{ status: 'processing' }]);
    const clock = fakeClock(firstCheckMs);
    const held = testConfig({ ASSEMBLYAI_CHECK_HOLD_SECONDS: '4' });

    // Act
    const job = await checkTranscript(state, {
      s3: s3.client,
      provider,
      config: held,
      now: clock.now,
      sleep: clock.sleep,
      remainingMs: lambdaTime,
    });

    // Assert
    expect(job.status).toBe('processing');
    expect(clock.elapsedMs()).toBeLessThanOrEqual(4_000);
    expect(reads()).toBe(5);
    expect(job.wait_seconds).toBeGreaterThanOrEqual(1);
  });

  it('never holds into the time the Lambda needs to store a transcript', async () => {
    // Arrange: 33 s left, of which 20 s + the 10 s client timeout are kept in reserve
    const { provider } = sequencedProvider([{ status: 'processing' }]);
    const clock = fakeClock(firstCheckMs);
    const lambdaEndsMs = firstCheckMs + 33_000;

    // Act
    await checkTranscript(state, {
      s3: s3.client,
      provider,
      config,
      now: clock.now,
      sleep: clock.sleep,
      remainingMs: () => lambdaEndsMs - clock.now().getTime(),
    });

    // Assert
    expect(clock.elapsedMs()).toBeLessThanOrEqual(33_000 - HOLD_RESERVE_MS - config.assemblyai.timeoutMs);
  });

  it('does not hold without the Lambda remaining time, nor after the published window', async () => {
    // Arrange
    const first = sequencedProvider([{ status: 'processing' }]);
    const late = sequencedProvider([{ status: 'processing' }]);
    const clock = fakeClock(submittedMs + 120_000);

    // Act
    await checkTranscript(state, {
      s3: s3.client,
      provider: first.provider,
      config,
      now: () => new Date(firstCheckMs),
    });
    await checkTranscript(state, {
      s3: s3.client,
      provider: late.provider,
      config,
      now: clock.now,
      sleep: clock.sleep,
      remainingMs: lambdaTime,
    });

    // Assert
    expect(first.reads()).toBe(1);
    expect(late.reads()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('stops holding before the deadline, so the last check (TranscriptionTimedOut) follows a Wait', async () => {
    // Arrange: submitted 5 s before its deadline, checked 4 s before it
    const { provider } = sequencedProvider([{ status: 'processing' }]);
    const deadlineMs = new Date(state.transcript.deadline_at).getTime();
    const clock = fakeClock(deadlineMs - 4_000);
    const current = submittedState({
      submitted_at: new Date(deadlineMs - 5_000).toISOString(),
      deadline_at: state.transcript.deadline_at,
    });
    const deps = { s3: s3.client, provider, config, sleep: clock.sleep, remainingMs: lambdaTime };

    // Act
    const job = await checkTranscript(current, { ...deps, now: clock.now });
    const last = await rejectionOf(
      checkTranscript(current, {
        ...deps,
        now: () => new Date(clock.now().getTime() + job.wait_seconds * 1000),
      }),
    );

    // Assert
    expect(clock.elapsedMs()).toBeLessThanOrEqual(2_000);
    expect(job.status).toBe('processing');
    expect(last.name).toBe('TranscriptionTimedOut');
  });
});

describe('checkTranscript against the emulator', () => {
  let emulator: AssemblyAIEmulator;
  let provider: TranscriptionProvider;

  beforeEach(async () => {
    ({ emulator, provider } = await startEmulatedProvider(config));
  });

  afterEach(async () => {
    await emulator.close();
  });

  it('propagates a provider outage (ProviderUnavailable) for the state machine to retry', async () => {
    // Arrange
    emulator.injectFault({ kind: 'server-error', status: 503, on: 'get' });

    // Act
    const error = await rejectionOf(
      checkTranscript(state, { s3: s3.client, provider, config, now: beforeDeadline }),
    );

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
  });

  it('follows a real job from queued to a stored transcript', async () => {
    // Arrange
    await s3.put(REQUEST.s3_key, await readFile(join(AUDIO_DIR, 'hello.ogg')));
    const execution = newExecution();
    const validated = { execution, request: REQUEST, audio: state.audio };
    const first = await submitTranscription(validated, { s3: s3.client, provider, config });

    // Act
    const statuses: string[] = [];
    let job = first;
    while (job.status !== 'completed' && job.status !== 'error' && job.checks < 100) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      job = await checkTranscript({ ...validated, transcript: job }, { s3: s3.client, provider, config });
      statuses.push(job.status);
    }

    // Assert
    expect(statuses.at(-1)).toBe('completed');
    expect(job.checks).toBe(statuses.length);
    expect(job.transcript_key).toBe(`work/${execution.name}/transcript.json`);
    expect(await s3.exists(job.transcript_key ?? '')).toBe(true);
  });
});

describe('checkTranscript for an execution following another one of the same audio', () => {
  const ETAG = '"0123456789abcdef0123456789abcdef"';
  const leader = newExecution();
  let fileCounter = 0;

  /** A follower's state for a fresh file id, and where that file's result lives. */
  function follower() {
    fileCounter += 1;
    const base = submittedState({
      id: '',
      follows: { execution_arn: leader.arn, execution_name: leader.name },
    });
    const request = { ...base.request, file_id: `followed-${fileCounter}` };
    const following: typeof base = { ...base, request, audio: { ...base.audio, etag: ETAG } };
    return { following, resultKey: `results/${request.user_id}/${request.file_id}.json` };
  }

  const completedResult = (
    overrides: { execution_arn?: string; audio_etag?: string; s3_key?: string } = {},
  ) => ({
    status: 'completed',
    file_id: 'x',
    user_id: REQUEST.user_id,
    segments: [],
    metadata: {
      total_segments: 0,
      processing_time: 1,
      audio_duration: 1,
      language_code: 'en',
      language_confidence: null,
      speech_model_used: null,
      transcript_id: 'b3a4c2e1-0000-4000-8000-00000000000f',
      execution_arn: overrides.execution_arn ?? leader.arn,
      s3_key: overrides.s3_key ?? REQUEST.s3_key,
      audio_etag: overrides.audio_etag ?? ETAG,
    },
  });

  it('ends with the result the followed execution wrote, asking AssemblyAI nothing', async () => {
    // Arrange
    const { following, resultKey } = follower();
    await s3.put(resultKey, JSON.stringify(completedResult()));
    const { provider, asked } = scriptedProvider(completed);

    // Act
    const job = await checkTranscript(following, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    expect(job).toMatchObject({
      status: 'completed',
      existing_result: { key: resultKey, execution_arn: leader.arn },
    });
    expect(job.transcript_key).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it('keeps waiting while the result there is of other audio (an earlier upload under the file id)', async () => {
    // Arrange
    const { following, resultKey } = follower();
    await s3.put(resultKey, JSON.stringify(completedResult({ audio_etag: '"an-earlier-upload"' })));
    const { provider } = scriptedProvider(completed);

    // Act
    const job = await checkTranscript(following, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    expect(job.status).toBe('queued');
    expect(job.existing_result).toBeUndefined();
    expect(job.checks).toBe(1);
    expect(job.wait_seconds).toBeGreaterThanOrEqual(1);
  });

  it("fails with the followed execution's error when it ended failed", async () => {
    // Arrange
    const { following, resultKey } = follower();
    const failure = { type: 'AudioDownloadFailed', message: 'AssemblyAI could not download the audio file' };
    await s3.put(
      resultKey,
      JSON.stringify({
        status: 'failed',
        file_id: following.request.file_id,
        user_id: REQUEST.user_id,
        error: failure,
        metadata: { processing_time: 2, execution_arn: leader.arn, failed_state: 'Check transcript status' },
      }),
    );
    const { provider } = scriptedProvider(completed);

    // Act
    const job = await checkTranscript(following, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    expect(job).toMatchObject({ status: 'error', error: failure });
  });

  it('ignores a failed result of an older execution and keeps waiting for the followed one', async () => {
    // Arrange
    const { following, resultKey } = follower();
    await s3.put(
      resultKey,
      JSON.stringify({
        status: 'failed',
        file_id: following.request.file_id,
        user_id: REQUEST.user_id,
        error: { type: 'ProviderUnavailable', message: 'AssemblyAI is unavailable' },
        metadata: {
          processing_time: 2,
          execution_arn: newExecution().arn,
          failed_state: 'Submit to AssemblyAI',
        },
      }),
    );
    const { provider } = scriptedProvider(completed);

    // Act
    const job = await checkTranscript(following, { s3: s3.client, provider, config, now: beforeDeadline });

    // Assert
    expect(job.status).toBe('queued');
  });

  it('gives up with TranscriptionTimedOut at its deadline, like any other loop', async () => {
    // Arrange
    const { following } = follower();
    const { provider } = scriptedProvider(completed);
    const pastDeadline = () => new Date(Date.parse(following.transcript.deadline_at) + 1000);

    // Act
    const error = await rejectionOf(
      checkTranscript(following, { s3: s3.client, provider, config, now: pastDeadline }),
    );

    // Assert
    expect(error.name).toBe('TranscriptionTimedOut');
  });
});
