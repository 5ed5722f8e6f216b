/** "Submit to AssemblyAI" with the embedded S3 and the emulator: one paid job per execution. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import type { ProviderTranscript, TranscriptionProvider } from '../../lambdas/shared/assemblyai.js';
import { loadConfig } from '../../lambdas/shared/config.js';
import { headObject } from '../../lambdas/shared/storage.js';
import type { ValidatedState } from '../../lambdas/shared/workflow-state.js';
import {
  presignedUrlLifetime,
  submitTranscription,
} from '../../lambdas/submit-transcription/submit-transcription.js';
import type { AssemblyAIEmulator } from '../../local/assemblyai-emulator/emulator.js';
import {
  AUDIO_DIR,
  HELLO_OGG_AUDIO,
  newExecution,
  REQUEST,
  rejectionOf,
  startEmulatedProvider,
  startTestS3,
  TEST_BUCKET,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

let s3: TestS3;
let emulator: AssemblyAIEmulator;
let provider: TranscriptionProvider;
const config = testConfig();
const NOW = new Date('2026-03-01T10:00:05.000Z');
const now = () => NOW;
/** A retry late enough that the earlier request can no longer be creating a job (timeout + settle). */
const afterSettle = () =>
  new Date(NOW.getTime() + config.assemblyai.timeoutMs + config.assemblyai.submitSettleMs);

const validated = (overrides: Partial<ValidatedState> = {}): ValidatedState => ({
  execution: newExecution(),
  request: REQUEST,
  audio: HELLO_OGG_AUDIO,
  ...overrides,
});

/** The job's transcript once it has completed: AssemblyAI's whole answer, as `get` keeps it (bytes). */
async function completedTranscript(id: string): Promise<ProviderTranscript> {
  let job = await provider.get(id);
  for (let i = 0; i < 100 && job.status !== 'completed' && job.status !== 'error'; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    job = await provider.get(id);
  }
  expect(job.status).toBe('completed');
  return JSON.parse(Buffer.from(job.body ?? []).toString('utf8')) as ProviderTranscript;
}

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.put(REQUEST.s3_key, await readFile(join(AUDIO_DIR, 'hello.ogg')));
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

describe('submitTranscription', () => {
  it('creates the job, records it under the execution work prefix and returns a queued job', async () => {
    // Arrange
    const state = validated();

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    const record = JSON.parse((await s3.get(`work/${state.execution.name}/submission.json`))?.body ?? 'null');
    expect(record).toEqual({ transcript_id: job.id, submitted_at: NOW.toISOString() });
    expect(JSON.stringify(record)).not.toContain('X-Amz-Signature');
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
    expect(job).toMatchObject({ status: 'queued', submitted_at: NOW.toISOString(), checks: 0 });
    expect(job.wait_seconds).toBeGreaterThanOrEqual(1);
    expect(job.wait_seconds).toBeLessThanOrEqual(5);
  });

  it('sets a deadline from the audio duration and the poll policy', async () => {
    // Arrange
    const state = validated({ audio: { ...HELLO_OGG_AUDIO, duration_seconds: 3_600 } });

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(new Date(job.deadline_at).getTime() - NOW.getTime()).toBe((900 + 0.5 * 3_600) * 1000);
  });

  it('gives the provider a presigned URL of the audio object it can download', async () => {
    // Arrange
    const state = validated();

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(emulator.stats().transcripts[0]?.audioPath).toBe(`/${TEST_BUCKET}/${REQUEST.s3_key}`);
    const transcript = await completedTranscript(job.id);
    expect(transcript.status).toBe('completed');
    expect(transcript.audio_duration).toBe(1);
  });

  it('does not submit again when called twice for the same execution', async () => {
    // Arrange
    const state = validated();
    const later = () => new Date(NOW.getTime() + 30_000);

    // Act
    const first = await submitTranscription(state, { s3: s3.client, provider, config, now });
    const second = await submitTranscription(state, { s3: s3.client, provider, config, now: later });

    // Assert
    expect(emulator.stats().submissions).toBe(1);
    expect(second.id).toBe(first.id);
    expect(second.submitted_at).toBe(first.submitted_at);
    expect(second.deadline_at).toBe(first.deadline_at);
  });

  it('submits separately for two executions of the same file', async () => {
    // Act
    const a = await submitTranscription(validated(), { s3: s3.client, provider, config, now });
    const b = await submitTranscription(validated(), { s3: s3.client, provider, config, now });

    // Assert
    expect(emulator.stats().submissions).toBe(2);
    expect(a.id).not.toBe(b.id);
  });

  it('passes the language and expected speakers to the provider', async () => {
    // Arrange
    const state = validated({ request: { ...REQUEST, language_code: 'ru', speakers_expected: 3 } });

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    const seen = await completedTranscript(job.id);
    expect(seen).toMatchObject({ language_code: 'ru', language_detection: false, speakers_expected: 3 });
  });

  it('submits again on retry when the rate-limited attempt created no job', async () => {
    // Arrange
    const state = validated();
    emulator.injectFault({ kind: 'rate-limit', retryAfterSeconds: 3, on: 'submit', times: 1 });

    // Act
    const error = await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));
    const retried = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert: a 429 created no job, so the retry need not wait out the settle window
    expect(error.name).toBe('ProviderRateLimited');
    expect(emulator.stats().submissions).toBe(2);
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([retried.id]);
  });

  it('recovers the job of an attempt whose answer was lost instead of paying for a second one', async () => {
    // Arrange: the emulator creates the job, then drops the connection before answering
    const state = validated();
    emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });

    // Act
    const error = await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));
    const retried = await submitTranscription(state, { s3: s3.client, provider, config, now: afterSettle });

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(emulator.stats().submissions).toBe(1);
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([retried.id]);
  });

  it('neither looks up nor submits while the earlier request could still be creating the job', async () => {
    // Arrange: the answer is lost; the retry comes 2 s later (AWS's jittered retry is 0-2 s)
    const state = validated();
    emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });
    await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));
    const soon = () => new Date(NOW.getTime() + 2_000);
    const gets = emulator.stats().gets;

    // Act
    const early = await rejectionOf(
      submitTranscription(state, { s3: s3.client, provider, config, now: soon }),
    );
    const late = await submitTranscription(state, { s3: s3.client, provider, config, now: afterSettle });

    // Assert
    expect(early.name).toBe('SubmissionPending');
    expect(emulator.stats().gets).toBe(gets + 1);
    expect(emulator.stats().submissions).toBe(1);
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([late.id]);
  });

  it("never adopts another execution's job for the same file as its own lost one", async () => {
    // Arrange: execution A's job exists; execution B's answer is lost
    const a = await submitTranscription(validated(), { s3: s3.client, provider, config, now });
    const b = validated();
    emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });
    await rejectionOf(submitTranscription(b, { s3: s3.client, provider, config, now }));
    const lostB = emulator.stats().transcripts.at(-1)?.id;

    // Act
    const retried = await submitTranscription(b, { s3: s3.client, provider, config, now: afterSettle });

    // Assert
    expect(retried.id).not.toBe(a.id);
    expect(retried.id).toBe(lostB);
    expect(emulator.stats().transcripts).toHaveLength(2);
  });

  it('adopts the job it created when the job id could not be recorded, instead of paying again', async () => {
    // Arrange: S3 accepts the marker, then refuses the record of the job id
    const state = validated();
    const recordKey = `work/${state.execution.name}/submission.json`;
    let puts = 0;
    const flaky = {
      send: async (command: { constructor: { name: string }; input: { Key?: string } }) => {
        if (
          command.constructor.name === 'PutObjectCommand' &&
          command.input.Key === recordKey &&
          ++puts === 2
        ) {
          throw Object.assign(new Error('Slow down'), {
            name: 'SlowDown',
            $metadata: { httpStatusCode: 503 },
          });
        }
        return s3.client.send(command as never);
      },
      config: s3.client.config,
      middlewareStack: s3.client.middlewareStack,
    } as unknown as S3Client;

    // Act
    const error = await rejectionOf(submitTranscription(state, { s3: flaky, provider, config, now }));
    const retried = await submitTranscription(state, { s3: flaky, provider, config, now: afterSettle });

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([retried.id]);
  });

  it.each([
    ['another file of the same user', 'transcription/123/other.ogg'],
    ["another user's file whose key ends with this one", `transcription/9/${REQUEST.s3_key}`],
  ])('does not take a recent job for %s as its own lost job', async (_label, otherKey) => {
    // Arrange: a job for the other object exists; this execution's attempt failed before creating one
    await submitTranscription(validated({ request: { ...REQUEST, s3_key: otherKey, file_id: 'other' } }), {
      s3: s3.client,
      provider,
      config,
      now,
    });
    const state = validated();
    emulator.injectFault({ kind: 'server-error', status: 503, on: 'submit', times: 1 });
    await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));

    // Act
    const retried = await submitTranscription(state, { s3: s3.client, provider, config, now: afterSettle });

    // Assert
    expect(emulator.stats().submissions).toBe(3);
    expect(emulator.stats().transcripts.at(-1)).toEqual({
      id: retried.id,
      audioPath: `/${TEST_BUCKET}/${REQUEST.s3_key}`,
      options: {},
    });
  });

  it('refuses with AudioChanged, submitting nothing, when the audio was replaced after Validate saw it', async () => {
    // Arrange: Validate saw an object with another ETag than the one at the key now
    const state = validated({ audio: { ...HELLO_OGG_AUDIO, etag: '"validated-earlier"' } });

    // Act
    const error = await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));

    // Assert
    expect(error.name).toBe('AudioChanged');
    expect(emulator.stats().submissions).toBe(0);
  });

  it('submits when the audio is still the object Validate saw', async () => {
    // Arrange
    const head = await headObject(s3.client, TEST_BUCKET, REQUEST.s3_key);
    const state = validated({ audio: { ...HELLO_OGG_AUDIO, etag: head?.etag } });

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
  });

  it('reports S3 throttling while recording the attempt as StorageUnavailable, before calling the provider', async () => {
    // Arrange: reading the record finds nothing, writing it is throttled
    const failing = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const s3Mock = mockClient(failing);
    s3Mock.onAnyCommand().rejects(Object.assign(new Error('no such key'), { name: 'NoSuchKey' }));
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('Slow down'), { name: 'SlowDown' }));

    // Act
    const error = await rejectionOf(submitTranscription(validated(), { s3: failing, provider, config, now }));

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    expect(emulator.stats().submissions).toBe(0);
    s3Mock.restore();
  });
});

describe('presignedUrlLifetime', () => {
  const config = loadConfig({ TRANSCRIPTION_BUCKET: 'b' });
  const now = new Date('2026-03-01T10:00:00Z');
  const withDuration = (duration_seconds: number | null) =>
    ({ audio: { duration_seconds } }) as unknown as ValidatedState;

  it('lasts until the poll deadline for a short voice message (900 s + 0.5 s per audio second)', () => {
    expect(presignedUrlLifetime(withDuration(10), config, now)).toBe(905);
  });

  it('is capped by PRESIGNED_URL_TTL_SECONDS for long audio', () => {
    expect(presignedUrlLifetime(withDuration(36_000), config, now)).toBe(3600);
  });
});

describe('the file claim: one job per file whatever the execution names', () => {
  let fileCounter = 0;
  let etag: string | undefined;

  beforeAll(async () => {
    etag = (await headObject(s3.client, TEST_BUCKET, REQUEST.s3_key))?.etag;
  });

  /** A fresh file id per test, the same validated audio for every execution of it. */
  function executionsOfOneFile() {
    fileCounter += 1;
    const request = { ...REQUEST, file_id: `claimed-${fileCounter}` };
    return (overrides: Partial<ValidatedState['request']> = {}): ValidatedState =>
      validated({ request: { ...request, ...overrides }, audio: { ...HELLO_OGG_AUDIO, etag } });
  }

  const failedResultOf = (state: ValidatedState) => ({
    status: 'failed',
    file_id: state.request.file_id,
    user_id: state.request.user_id,
    error: { type: 'ProviderUnavailable', message: 'AssemblyAI is unavailable' },
    metadata: {
      processing_time: 3,
      execution_arn: state.execution.arn,
      failed_state: 'Submit to AssemblyAI',
    },
  });

  it('follows the execution already transcribing the same audio instead of submitting again', async () => {
    // Arrange
    const execution = executionsOfOneFile();
    const first = execution();
    const second = execution();
    const job = await submitTranscription(first, { s3: s3.client, provider, config, now });

    // Act
    const followed = await submitTranscription(second, { s3: s3.client, provider, config, now });

    // Assert
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
    expect(followed).toMatchObject({
      id: '',
      status: 'queued',
      follows: { execution_arn: first.execution.arn, execution_name: first.execution.name },
    });
    expect(await s3.exists(`work/${second.execution.name}/submission.json`)).toBe(false);
  });

  it('creates exactly one job when five executions of one file submit at the same moment', async () => {
    // Arrange
    const execution = executionsOfOneFile();
    const states = Array.from({ length: 5 }, () => execution());

    // Act
    const jobs = await Promise.all(
      states.map((state) => submitTranscription(state, { s3: s3.client, provider, config, now })),
    );

    // Assert
    expect(emulator.stats().submissions).toBe(1);
    const holderIndex = jobs.findIndex((j) => !j.follows);
    expect(jobs.filter((j) => j.follows)).toHaveLength(4);
    const holderArn = states[holderIndex]?.execution.arn;
    expect(new Set(jobs.filter((j) => j.follows).map((j) => j.follows?.execution_arn))).toEqual(
      new Set([holderArn]),
    );
  });

  it('submits its own job for another object at the same key (a new upload is other audio)', async () => {
    // Arrange: the holder validated an object with another ETag
    const execution = executionsOfOneFile();
    const holder = execution();
    await s3.put(
      `work/claims/${holder.request.user_id}/${holder.request.file_id}.json`,
      JSON.stringify({
        execution_arn: holder.execution.arn,
        execution_name: holder.execution.name,
        s3_key: holder.request.s3_key,
        audio_etag: '"an-earlier-upload"',
        claimed_at: NOW.toISOString(),
        live_until: new Date(NOW.getTime() + 3_600_000).toISOString(),
      }),
    );

    // Act
    const job = await submitTranscription(execution(), { s3: s3.client, provider, config, now });

    // Assert
    expect(job.follows).toBeUndefined();
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
  });

  it('submits when forced, even while another execution holds the file', async () => {
    // Arrange
    const execution = executionsOfOneFile();
    await submitTranscription(execution(), { s3: s3.client, provider, config, now });

    // Act
    const forced = await submitTranscription(execution({ force: true }), {
      s3: s3.client,
      provider,
      config,
      now,
    });

    // Assert
    expect(forced.follows).toBeUndefined();
    expect(emulator.stats().submissions).toBe(2);
  });

  it('takes the file over from a holder that ended failed, so a new request transcribes afresh', async () => {
    // Arrange
    const execution = executionsOfOneFile();
    const first = execution();
    await submitTranscription(first, { s3: s3.client, provider, config, now });
    const { user_id, file_id } = first.request;
    await s3.put(`results/${user_id}/${file_id}.json`, JSON.stringify(failedResultOf(first)));
    const second = execution();

    // Act
    const job = await submitTranscription(second, { s3: s3.client, provider, config, now });
    const third = await submitTranscription(execution(), { s3: s3.client, provider, config, now });

    // Assert: the second holds the claim now, so a third follows it
    expect(job.follows).toBeUndefined();
    expect(emulator.stats().submissions).toBe(2);
    expect(third.follows?.execution_arn).toBe(second.execution.arn);
  });

  it('takes the file over from a holder that stayed silent past its deadline and allowance', async () => {
    // Arrange: the holder wrote no result (even its finalizer failed)
    const execution = executionsOfOneFile();
    await submitTranscription(execution(), { s3: s3.client, provider, config, now });
    const claim = JSON.parse(
      (await s3.get(`work/claims/${REQUEST.user_id}/claimed-${fileCounter}.json`))?.body ?? '{}',
    );
    const afterLiveUntil = () => new Date(Date.parse(claim.live_until) + 1000);

    // Act
    const job = await submitTranscription(execution(), {
      s3: s3.client,
      provider,
      config,
      now: afterLiveUntil,
    });

    // Assert
    expect(job.follows).toBeUndefined();
    expect(emulator.stats().submissions).toBe(2);
  });

  it('keeps the claim across its own retries, so a retry never turns into a follower', async () => {
    // Arrange: the first attempt's submit is refused with a 503 after the claim was taken
    const execution = executionsOfOneFile();
    const state = execution();
    emulator.injectFault({ kind: 'server-error', status: 503, on: 'submit', times: 1 });
    await rejectionOf(submitTranscription(state, { s3: s3.client, provider, config, now }));

    // Act
    const job = await submitTranscription(state, { s3: s3.client, provider, config, now });

    // Assert
    expect(job.follows).toBeUndefined();
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
  });
});
