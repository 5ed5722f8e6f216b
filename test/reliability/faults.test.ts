/**
 * Faults injected into AssemblyAI (the emulator's fault modes) and S3 (a fault proxy in front of
 * the embedded S3) while the real definition runs: a transient fault must be survived, a lasting
 * one must end with the right error type, and whatever happens the audio is submitted to
 * AssemblyAI exactly once per execution.
 */
import { readFile } from 'node:fs/promises';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);
const TINY = new URL('../fixtures/audio/tiny.ogg', import.meta.url);

let harness: Harness;
let sample: Buffer;
let counter = 0;

async function upload(body: Buffer) {
  counter += 1;
  const input = {
    s3_key: `transcription/77/fault-${counter}.ogg`,
    user_id: 77,
    file_id: `fault-${counter}`,
    bucket: TEST_BUCKET,
  };
  await harness.upload(input.s3_key, body);
  return input;
}

/** Transcripts AssemblyAI created for this input's audio. */
const submissionsFor = (input: { s3_key: string }) =>
  harness.emulator.stats().transcripts.filter((t) => t.audioPath.endsWith(`/${input.s3_key}`)).length;

beforeAll(async () => {
  // The emulator fails audio under 0.2 s; the workflow's own floor is lowered to let it reach the provider.
  harness = await startHarness({ MIN_AUDIO_SECONDS: '0.05', ASSEMBLYAI_TIMEOUT_MS: '300' });
  sample = await readFile(SAMPLE);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(() => {
  harness.emulator.clearFaults();
  harness.s3Faults.clear();
});

describe('faults at AssemblyAI', () => {
  it('survives a 429 storm with Retry-After on every endpoint, submitting once', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'rate-limit', retryAfterSeconds: 2, times: 4 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(Object.values(outcome.retries).reduce((a, b) => a + b, 0)).toBe(4);
    expect(submissionsFor(input)).toBe(1);
  });

  it.each([500, 502, 503] as const)('survives a burst of %i answers', async (status) => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'server-error', status, times: 3 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(harness.emulator.stats().faults['server-error']).toBeGreaterThanOrEqual(3);
    expect(submissionsFor(input)).toBe(1);
  });

  it('survives connections dropped mid-response while checking status', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'drop-connection', on: 'get', times: 2 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retries['Check transcript status']).toBe(2);
    expect(submissionsFor(input)).toBe(1);
  });

  it('survives a submission answered after the client timeout, without a second job', async () => {
    const input = await upload(sample);
    // The emulator creates the job, then answers after 600 ms; the client gives up at 300 ms.
    harness.emulator.injectFault({ kind: 'slow', delayMs: 600, on: 'submit', times: 1 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retries['Submit to AssemblyAI']).toBeGreaterThanOrEqual(1);
    expect(submissionsFor(input)).toBe(1);
  });

  it('fails with ProviderUnavailable, not forever, when AssemblyAI stays down', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'server-error', status: 503, on: 'get' });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ProviderUnavailable');
    expect(outcome.retries['Check transcript status']).toBe(5);
    expect(await harness.readResult(77, input.file_id)).toMatchObject({
      error: { type: 'ProviderUnavailable' },
    });
    expect(submissionsFor(input)).toBe(1);
  });

  it('tells a provider-side "Server error" (TranscriptionFailed) from an audio error (AudioTooShort)', async () => {
    const serverError = await upload(sample);
    const tooShort = await upload(await readFile(TINY));
    harness.emulator.injectFault({
      kind: 'transcript-error',
      message: 'Server error, developers have been alerted.',
      times: 1,
    });

    const first = await harness.workflow().run(serverError, harness.runOptions());
    const second = await harness.workflow().run(tooShort, harness.runOptions());

    expect([first.error, second.error]).toEqual(['TranscriptionFailed', 'AudioTooShort']);
    expect(first.statesEntered).toContain('AssemblyAI reported an error');
    expect(second.statesEntered).toContain('AssemblyAI reported an error');
    expect(await harness.readResult(77, tooShort.file_id)).toMatchObject({
      error: { type: 'AudioTooShort' },
    });
  });
});

describe('faults at S3', () => {
  it('survives a SlowDown storm on the result write (SDK retries, then the state machine retries)', async () => {
    const input = await upload(sample);
    harness.s3Faults.inject({ method: 'PUT', path: /\/results\//, status: 503, code: 'SlowDown', times: 5 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(harness.s3Faults.faulted().SlowDown).toBe(5);
    expect(outcome.retries['Persist result']).toBeGreaterThanOrEqual(1);
    expect((await harness.readResult(77, input.file_id))?.status).toBe('completed');
    expect(submissionsFor(input)).toBe(1);
  });

  it('does not submit twice when recording the job id fails after AssemblyAI accepted it', async () => {
    const input = await upload(sample);
    // The marker write before the call passes; the record write after it fails through the SDK's retries.
    harness.s3Faults.inject({
      method: 'PUT',
      path: /submission\.json$/,
      after: 1,
      status: 500,
      code: 'InternalError',
      times: 3,
    });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    // The failed record write, then SubmissionPending until the lookup may trust the list
    expect(outcome.retries['Submit to AssemblyAI']).toBeGreaterThanOrEqual(2);
    expect(submissionsFor(input)).toBe(1);
  });

  it('fails with StorageUnavailable when S3 refuses every result write, leaving no result object', async () => {
    const input = await upload(sample);
    harness.s3Faults.inject({ method: 'PUT', path: /\/results\//, status: 500, code: 'InternalError' });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('StorageUnavailable');
    expect(outcome.statesEntered.slice(-2)).toEqual(['Record failure', 'Transcription failed']);
    expect(await harness.readResult(77, input.file_id)).toBeUndefined();
  });
});

/** Faults timed as AWS and AssemblyAI really behave (issue: one result, one billed job, nothing overwritten). */
describe('the promise under real timing', () => {
  it('creates one job when AssemblyAI answers a submit only after the client timeout', async () => {
    // Arrange: the job exists as soon as the POST arrives; the answer comes after the 300 ms timeout
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'slow', delayMs: 1_000, on: 'submit', times: 1 });

    // Act
    const outcome = await harness.workflow().run(input, harness.runOptions());

    // Assert
    expect(outcome.status).toBe('SUCCEEDED');
    expect(submissionsFor(input)).toBe(1);
    expect((await harness.readResult(77, input.file_id))?.status).toBe('completed');
  });

  it.each(['empty-object', 'json-string', 'html', 'no-status', 'unknown-status'] as const)(
    'ends with a typed failure result and no orphaned job when a status check answers 200 with %s',
    async (variant) => {
      // Arrange
      const input = await upload(sample);
      const deletes = harness.emulator.stats().deletesSucceeded;
      harness.emulator.injectFault({ kind: 'malformed-answer', variant, on: 'get' });

      // Act
      const outcome = await harness.workflow().run(input, harness.runOptions());

      // Assert: never States.Runtime at "Transcript ready?"
      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toBe('ProviderUnavailable');
      expect(outcome.statesEntered.slice(-2)).toEqual(['Record failure', 'Transcription failed']);
      expect((await harness.readResult(77, input.file_id))?.status).toBe('failed');
      expect(harness.emulator.stats().deletesSucceeded).toBe(deletes + 1);
      expect(submissionsFor(input)).toBe(1);
    },
  );

  it('keeps a 300 KB provider error far below the 256 KB state limit', async () => {
    // Arrange
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'huge-error', variant: 'job', times: 1 });

    // Act
    const outcome = await harness.workflow().run(input, harness.runOptions());

    // Assert: the runner fails any state over 256 KB with States.DataLimitExceeded, as AWS does
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('TranscriptionFailed');
    const result = await harness.readResult(77, input.file_id);
    expect(JSON.stringify(result).length).toBeLessThan(2_000);
  });

  it.each(['null-fields', 'missing-end', 'negative-times'] as const)(
    'refuses a completed transcript with %s instead of writing a result that breaks the contract',
    async (variant) => {
      // Arrange
      const input = await upload(sample);
      harness.emulator.injectFault({ kind: 'malformed-transcript', variant, times: 1 });

      // Act
      const outcome = await harness.workflow().run(input, harness.runOptions());

      // Assert
      expect(outcome.error).toBe('TranscriptionFailed');
      const result = await harness.readResult(77, input.file_id);
      expect(result?.status).toBe('failed');
      expect(result?.metadata).toMatchObject({ failed_state: 'Format segments' });
    },
  );

  it('creates one job when three executions under different names start for one file at once', async () => {
    // Arrange: a bot that did not reuse the execution name
    const input = await upload(sample);
    const names = ['first', 'second', 'third'].map((n) => `${input.file_id}-${n}`);

    // Act
    const outcomes = await Promise.all(
      names.map((executionName) => harness.workflow().run(input, harness.runOptions({ executionName }))),
    );

    // Assert: one job; every execution succeeded; one formatted and persisted, the others reused it
    expect(submissionsFor(input)).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const persisted = outcomes.filter((o) => o.statesEntered.includes('Persist result'));
    expect(persisted).toHaveLength(1);
    const result = await harness.readResult(77, input.file_id);
    expect(result?.status).toBe('completed');
    expect(result?.metadata.execution_arn).toBe(persisted[0]?.executionArn);
    for (const follower of outcomes.filter((o) => o !== persisted[0])) {
      expect(follower.statesEntered).not.toContain('Format segments');
      expect(follower.output).toMatchObject({
        transcript: { existing_result: { execution_arn: result?.metadata.execution_arn } },
      });
    }
  });

  it('lets a new request transcribe afresh after the execution it followed failed', async () => {
    // Arrange: the first execution's job fails at AssemblyAI; a second one starts while it runs
    const input = await upload(sample);
    harness.emulator.injectFault({
      kind: 'transcript-error',
      message: 'Server error, developers have been alerted',
      times: 1,
    });
    // The first one's status checks are held back until the second one has submitted (or followed)
    let secondSubmitted!: () => void;
    const submitted = new Promise<void>((resolve) => {
      secondSubmitted = resolve;
    });
    const check = harness.handlers['check-transcript'] as (event: unknown) => Promise<unknown>;
    const submit = harness.handlers['submit-transcription'] as (event: unknown) => Promise<unknown>;
    const firstRun = harness
      .workflow({ 'check-transcript': async (event) => submitted.then(() => check(event)) })
      .run(input, harness.runOptions({ executionName: `${input.file_id}-a` }));
    const secondRun = harness
      .workflow({ 'submit-transcription': (event) => submit(event).finally(secondSubmitted) })
      .run(input, harness.runOptions({ executionName: `${input.file_id}-b` }));
    const [first, second] = await Promise.all([firstRun, secondRun]);

    // Act: the bot asks again under a third name
    const third = await harness
      .workflow()
      .run(input, harness.runOptions({ executionName: `${input.file_id}-c` }));

    // Assert: the follower shared the failure, the new request made the second and last job
    expect([first.status, second.status]).toEqual(['FAILED', 'FAILED']);
    expect([first.error, second.error]).toEqual(['TranscriptionFailed', 'TranscriptionFailed']);
    expect(third.status).toBe('SUCCEEDED');
    expect(submissionsFor(input)).toBe(2);
    expect((await harness.readResult(77, input.file_id))?.status).toBe('completed');
  });

  it('never adopts the job of another execution of the same file whose answer was lost', async () => {
    // Arrange: two forced executions of one file; the second loses its submit answer
    const input = await upload(sample);
    const first = harness.workflow().run({ ...input, force: true }, harness.runOptions());
    harness.emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });
    const second = harness.workflow().run({ ...input, force: true }, harness.runOptions());

    // Act
    const outcomes = await Promise.all([first, second]);

    // Assert: two jobs, each execution its own; the file ends with one completed result
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(submissionsFor(input)).toBe(2);
    const result = await harness.readResult(77, input.file_id);
    expect(result?.status).toBe('completed');
    expect(outcomes.map((o) => o.executionArn)).toContain(result?.metadata.execution_arn);
  });
});
