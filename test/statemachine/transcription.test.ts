/**
 * Runs statemachine/transcription.asl.json locally with the real handlers, the embedded S3 and
 * the AssemblyAI emulator, and checks which states ran on each path, what was retried, and that
 * every path leaves exactly one result object.
 */
import { readFile } from 'node:fs/promises';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ProviderRejected } from '../../lambdas/shared/errors.js';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);
const HELLO_OGG = new URL('../fixtures/audio/hello.ogg', import.meta.url);

const FINISH = ['Format segments', 'Persist result'];
const FAILURE = ['Record failure', 'Transcription failed'];

let harness: Harness;
let sample: Buffer;
let counter = 0;

/** A fresh file per test so results never collide. */
async function upload(body: Buffer | string, extension = 'ogg') {
  counter += 1;
  const fileId = `file-${counter}`;
  const s3_key = `transcription/42/${fileId}.${extension}`;
  await harness.upload(s3_key, body);
  return { s3_key, user_id: 42, file_id: fileId, bucket: TEST_BUCKET };
}

beforeAll(async () => {
  // Small limits so the size and deadline paths can be reached with small files and short runs.
  harness = await startHarness({
    MAX_AUDIO_BYTES: String(200 * 1024),
    POLL_DEADLINE_BASE_SECONDS: '1',
    POLL_DEADLINE_PER_AUDIO_SECOND: '0.01',
  });
  sample = await readFile(SAMPLE);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(() => {
  harness.emulator.clearFaults();
});

describe('the transcription state machine', () => {
  it('transcribes the sample through every step and writes the completed result', async () => {
    const input = await upload(sample);

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    const { happyPath } = harness.states;
    expect(outcome.statesEntered.slice(0, happyPath.length)).toEqual(happyPath);
    expect(outcome.statesEntered.slice(-FINISH.length)).toEqual(FINISH);
    expect(outcome.statesEntered).not.toContain('Record failure');
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status).toBe('completed');
    if (result?.status !== 'completed') return;
    expect(result.segments.map((s) => s.speaker)).toEqual(['A', 'B', 'A']);
    expect(result.segments[0]?.text).toBe('Привет, как дела?');
    expect(result.metadata.total_segments).toBe(3);
    expect(result.metadata.language_code).toBe('ru');
    expect(result.metadata.execution_arn).toBe(outcome.executionArn);
    expect(await harness.resultContentType(42, input.file_id)).toBe('application/json; charset=utf-8');
  });

  it('keeps every state output far below the 256 KB limit', async () => {
    const input = await upload(sample);
    let largest = 0;

    await harness.workflow().run(input, {
      ...harness.runOptions(),
      onEvent: (event) => {
        if (event.type === 'StateExited')
          largest = Math.max(largest, JSON.stringify(event.state.output).length);
      },
    });

    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(4 * 1024);
  });

  it('leaves no intermediate objects behind after a completed run, the submission record included', async () => {
    const input = await upload(sample);

    const outcome = await harness
      .workflow()
      .run(input, { ...harness.runOptions(), executionName: 'cleanup-check' });

    expect(outcome.status).toBe('SUCCEEDED');
    expect(await harness.listKeys('work/cleanup-check/')).toEqual([]);
  });

  it('returns an existing completed result without calling AssemblyAI again, unless forced', async () => {
    const input = await upload(sample);
    const first = await harness.workflow().run(input, harness.runOptions());
    const submissions = harness.emulator.stats().submissions;

    const repeated = await harness.workflow().run(input, harness.runOptions());
    const afterRepeat = harness.emulator.stats().submissions;
    const forced = await harness.workflow().run({ ...input, force: true }, harness.runOptions());

    expect(first.status).toBe('SUCCEEDED');
    expect(repeated.status).toBe('SUCCEEDED');
    expect(repeated.statesEntered).toEqual(['Validate audio', 'Already transcribed?', 'Transcribed']);
    expect(afterRepeat).toBe(submissions);
    const result = await harness.readResult(42, input.file_id);
    expect(forced.status).toBe('SUCCEEDED');
    expect(harness.emulator.stats().submissions).toBe(submissions + 1);
    expect(result?.status === 'completed' && result.metadata.execution_arn).toBe(forced.executionArn);
  });

  it('records the failure of a forced re-run over the earlier transcript, so the result matches the latest execution', async () => {
    const input = await upload(sample);
    const first = await harness.workflow().run(input, harness.runOptions());
    await harness.s3.client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: input.s3_key }));

    const forced = await harness.workflow().run({ ...input, force: true }, harness.runOptions());

    expect(first.status).toBe('SUCCEEDED');
    expect(forced.error).toBe('AudioNotFound');
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status).toBe('failed');
    expect(result?.metadata.execution_arn).toBe(forced.executionArn);
  });

  it('keeps the completed result when a duplicate execution of the same audio fails', async () => {
    const input = await upload(sample);
    const first = await harness.workflow().run(input, harness.runOptions());
    await harness.s3.client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: input.s3_key }));

    const duplicate = await harness.workflow().run(input, harness.runOptions());

    expect(duplicate.error).toBe('AudioNotFound');
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status === 'completed' && result.metadata.execution_arn).toBe(first.executionArn);
  });

  it('transcribes a new upload for the same file id instead of answering with the old transcript', async () => {
    const input = await upload(sample);
    const first = await harness.workflow().run(input, harness.runOptions());
    const submissions = harness.emulator.stats().submissions;
    await harness.upload(input.s3_key, await readFile(HELLO_OGG));

    const again = await harness.workflow().run(input, harness.runOptions());

    expect(first.status).toBe('SUCCEEDED');
    expect(again.statesEntered).toContain(harness.states.submit);
    expect(harness.emulator.stats().submissions).toBe(submissions + 1);
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status === 'completed' && result.metadata.execution_arn).toBe(again.executionArn);
  });

  it('transcribes again when the earlier result is a failure', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({
      kind: 'transcript-error',
      message: 'Server error, developers have been alerted.',
      times: 1,
    });
    const failed = await harness.workflow().run(input, harness.runOptions());

    const retried = await harness.workflow().run(input, harness.runOptions());

    expect(failed.status).toBe('FAILED');
    expect(retried.status).toBe('SUCCEEDED');
    expect((await harness.readResult(42, input.file_id))?.status).toBe('completed');
  });

  it('retries a rate-limited submission and still submits exactly once', async () => {
    const input = await upload(sample);
    const before = harness.emulator.stats().transcripts.length;
    harness.emulator.injectFault({ kind: 'rate-limit', retryAfterSeconds: 1, on: 'submit', times: 2 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retries[harness.states.submit]).toBe(2);
    expect(harness.emulator.stats().transcripts.length - before).toBe(1);
  });

  it('does not submit twice when the answer to a submission is lost after the job was created', async () => {
    const input = await upload(sample);
    const before = harness.emulator.stats().transcripts.length;
    harness.emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    // The dropped answer, then SubmissionPending until the earlier request cannot be creating a job
    expect(outcome.retries[harness.states.submit]).toBeGreaterThanOrEqual(2);
    expect(harness.emulator.stats().faults['lose-response']).toBe(1);
    expect(harness.emulator.stats().transcripts.length - before).toBe(1);
  });

  it('retries status checks through a burst of 503s', async () => {
    const input = await upload(sample);
    const served = harness.emulator.stats().faults['server-error'] ?? 0;
    harness.emulator.injectFault({ kind: 'server-error', status: 503, on: 'get', times: 2 });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    if (harness.delivery === 'poll') {
      expect(outcome.retries['Check transcript status']).toBe(2);
    } else {
      // The receiver's GET fails twice: it answers 503 and AssemblyAI delivers again. Only this
      // job's deliveries count, and there may be one more 503 before them: a delivery that
      // arrives before the execution has recorded its task token is also answered 503.
      expect((harness.emulator.stats().faults['server-error'] ?? 0) - served).toBe(2);
      const result = await harness.readResult(42, input.file_id);
      const id = result?.status === 'completed' ? result.metadata.transcript_id : undefined;
      const answers = harness.emulator
        .webhookDeliveries()
        .filter((delivery) => delivery.transcript_id === id)
        .map((delivery) => delivery.http_status);
      expect(answers.at(-1)).toBe(200);
      expect(answers.slice(0, -1).every((status) => status === 503)).toBe(true);
      expect(answers.length).toBeGreaterThanOrEqual(3);
      expect(outcome.statesEntered).not.toContain('Check transcript status');
    }
  });

  it('gives up on a provider that stays unavailable, with ProviderUnavailable and a failure result', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'server-error', status: 500, on: 'submit' });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ProviderUnavailable');
    expect(outcome.retries[harness.states.submit]).toBe(5);
    expect(outcome.statesEntered.slice(-2)).toEqual(FAILURE);
    const result = await harness.readResult(42, input.file_id);
    expect(result).toMatchObject({ status: 'failed', error: { type: 'ProviderUnavailable' } });
    expect(result?.status === 'failed' && result.metadata.failed_state).toBe(harness.states.submit);
  });

  it('does not retry a rejected request (ProviderRejected)', async () => {
    const input = await upload(sample);
    let calls = 0;
    const rejecting = async () => {
      calls += 1;
      throw new ProviderRejected('AssemblyAI rejected the request (HTTP 401): Authentication error');
    };

    const outcome = await harness
      .workflow({ 'submit-transcription': rejecting })
      .run(input, harness.runOptions());

    expect(outcome.error).toBe('ProviderRejected');
    expect(calls).toBe(1);
    expect(outcome.retries[harness.states.submit]).toBeUndefined();
    expect(await harness.readResult(42, input.file_id)).toMatchObject({
      status: 'failed',
      error: { type: 'ProviderRejected' },
    });
  });

  it('routes a job that ends with status error through "AssemblyAI reported an error"', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({
      kind: 'transcript-error',
      message: 'Server error, developers have been alerted.',
      times: 1,
    });

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('TranscriptionFailed');
    expect(outcome.statesEntered.slice(-3)).toEqual(['AssemblyAI reported an error', ...FAILURE]);
    const result = await harness.readResult(42, input.file_id);
    expect(result).toMatchObject({ status: 'failed', error: { type: 'TranscriptionFailed' } });
    expect(result?.status === 'failed' && result.metadata.failed_state).toBe(harness.states.status);
  });

  it('deletes the transcript at AssemblyAI after a failure past Submit, and calls nothing before one', async () => {
    const failedJob = await upload(sample);
    const notAudio = await upload('not audio at all');
    harness.emulator.injectFault({
      kind: 'transcript-error',
      message: 'Server error, developers have been alerted.',
      times: 1,
    });
    const before = harness.emulator.stats().deletes;

    await harness.workflow().run(failedJob, harness.runOptions());
    const afterJob = harness.emulator.stats().deletes;
    await harness.workflow().run(notAudio, harness.runOptions());

    expect(afterJob - before).toBe(1);
    expect(harness.emulator.stats().deletes).toBe(afterJob);
  });

  it('ends a transcript stuck in processing with TranscriptionTimedOut at the deadline', async () => {
    const input = await upload(sample);
    harness.emulator.injectFault({ kind: 'never-complete', times: 1 });

    const outcome = await harness.workflow().run(input, harness.runOptions({ waitMs: 100 }));

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('TranscriptionTimedOut');
    const checks = outcome.statesEntered.filter((s) => s === 'Check transcript status').length;
    // Webhook mode waits 3/4 of the allowance for a webhook that never comes, then polls what is left.
    expect(checks).toBeGreaterThanOrEqual(harness.delivery === 'poll' ? 2 : 1);
    expect(checks).toBeLessThan(40);
    expect(await harness.readResult(42, input.file_id)).toMatchObject({
      status: 'failed',
      error: { type: 'TranscriptionTimedOut' },
    });
  });

  it.each([
    {
      what: 'a missing object',
      errorType: 'AudioNotFound',
      makeInput: async () => ({
        s3_key: 'transcription/42/missing.ogg',
        user_id: 42,
        file_id: 'missing',
        bucket: TEST_BUCKET,
      }),
    },
    { what: 'an empty object', errorType: 'AudioEmpty', makeInput: () => upload(Buffer.alloc(0)) },
    {
      what: 'a text file named .ogg',
      errorType: 'UnsupportedAudioFormat',
      makeInput: () => upload('not audio at all'),
    },
    {
      what: 'an object over the size limit',
      errorType: 'AudioTooLarge',
      makeInput: () => upload(Buffer.alloc(300 * 1024, 1), 'mp3'),
    },
    {
      what: 'a bucket that is not ours',
      errorType: 'InvalidInput',
      makeInput: async () => ({ ...(await upload(sample)), bucket: 'someone-elses-bucket' }),
    },
  ])(
    'fails $what in "Validate audio" with $errorType, writes the failure result and never calls AssemblyAI',
    async ({ makeInput, errorType }) => {
      const input = await makeInput();
      const submissions = harness.emulator.stats().submissions;

      const outcome = await harness.workflow().run(input, harness.runOptions());

      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toBe(errorType);
      expect(outcome.statesEntered).toEqual(['Validate audio', 'Validation failed', ...FAILURE]);
      const result = await harness.readResult(42, input.file_id);
      expect(result).toMatchObject({
        status: 'failed',
        file_id: input.file_id,
        user_id: 42,
        error: { type: errorType },
      });
      expect(result?.status === 'failed' && result.metadata.failed_state).toBe('Validate audio');
      expect(harness.emulator.stats().submissions).toBe(submissions);
    },
  );

  it('fails input with no usable user_id or file_id with InvalidInput and writes nothing', async () => {
    const before = await harness.listKeys('results/');

    const outcome = await harness
      .workflow()
      .run({ s3_key: 'transcription/x.ogg', file_id: '../../etc' }, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('InvalidInput');
    expect(outcome.cause).toMatch(/no result was written/);
    expect(await harness.listKeys('results/')).toEqual(before);
  });

  it("transcribes audio other than the sample (the emulator's placeholder) as one segment of speaker A", async () => {
    const input = await upload(await readFile(HELLO_OGG));

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status === 'completed' && result.segments.map((s) => s.speaker)).toEqual(['A']);
  });

  it('waits out Lambda throttling longer than a Lambda fault (its own retrier)', async () => {
    const input = await upload(sample);
    let throttles = 0;
    const throttledFiveTimes = async (event: unknown) => {
      if (throttles < 5) {
        throttles += 1;
        // What Step Functions reports when the account's Lambda concurrency is exhausted.
        throw Object.assign(new Error('Rate Exceeded.'), { name: 'Lambda.TooManyRequestsException' });
      }
      return harness.handlers['persist-result']?.(event);
    };

    const outcome = await harness
      .workflow({ 'persist-result': throttledFiveTimes })
      .run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retries['Persist result']).toBe(5);
    expect((await harness.readResult(42, input.file_id))?.status).toBe('completed');
  });

  it('retries a Lambda that crashed once and completes', async () => {
    const input = await upload(sample);
    let crashes = 0;
    const crashOnce = async (event: unknown) => {
      if (crashes === 0) {
        crashes += 1;
        // What Step Functions reports when a Node process exits mid-invocation.
        throw Object.assign(new Error('RequestId: … Error: Runtime exited with error: exit status 1'), {
          name: 'Runtime.ExitError',
        });
      }
      return harness.handlers['format-segments']?.(event);
    };

    const outcome = await harness.workflow({ 'format-segments': crashOnce }).run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.retries['Format segments']).toBe(1);
  });
});
