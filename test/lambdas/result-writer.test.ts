/**
 * The result writer: who may replace which result, decided on what was read and enforced with S3
 * conditional requests (the embedded S3 enforces them as S3 does, see local/s3-conditional-proxy.ts).
 */
import { describe, expect, it } from '@jest/globals';
import type { CompletedResult, FailedResult, TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { keepReason, writeResult } from '../../lambdas/shared/result-writer.js';
import { startTestS3, TEST_BUCKET, type TestS3 } from './step-fixtures.js';

const KEY = 'results/123/abc-123.json';
const AUDIO = { s3_key: 'transcription/123/abc-123.ogg', audio_etag: '"e1"' };

const completed = (arn: string, audio = AUDIO): CompletedResult => ({
  status: 'completed',
  file_id: 'abc-123',
  user_id: 123,
  segments: [{ speaker: 'A', text: 'Привет', start: 0, end: 1 }],
  metadata: {
    total_segments: 1,
    processing_time: 3,
    audio_duration: 1,
    language_code: 'ru',
    language_confidence: 0.9,
    speech_model_used: 'universal-2',
    transcript_id: 't',
    execution_arn: arn,
    ...audio,
  },
});

const failed = (arn: string): FailedResult => ({
  status: 'failed',
  file_id: 'abc-123',
  user_id: 123,
  error: { type: 'ProviderUnavailable', message: 'down' },
  metadata: {
    processing_time: 1,
    execution_arn: arn,
    failed_state: 'Submit to AssemblyAI',
    s3_key: AUDIO.s3_key,
  },
});

describe('keepReason', () => {
  it.each<
    [string, TranscriptionResult, TranscriptionResult, Parameters<typeof keepReason>[2], string | undefined]
  >([
    [
      'a failure of another run is replaced',
      failed('A'),
      completed('B'),
      { execution_arn: 'B', ...AUDIO },
      undefined,
    ],
    [
      'a completed result of this run stands against its own failure',
      completed('B'),
      failed('B'),
      { execution_arn: 'B' },
      'completed-of-this-execution',
    ],
    [
      'a retry may rewrite its own completed result',
      completed('B'),
      completed('B'),
      { execution_arn: 'B', ...AUDIO },
      undefined,
    ],
    [
      'another run of the same audio keeps the transcript',
      completed('A'),
      failed('B'),
      { execution_arn: 'B', ...AUDIO },
      'completed-of-this-audio',
    ],
    [
      'a run that never saw the object (same key) keeps it',
      completed('A'),
      failed('B'),
      { execution_arn: 'B', s3_key: AUDIO.s3_key },
      'completed-of-this-audio',
    ],
    [
      'a forced run replaces it, even with a failure',
      completed('A'),
      failed('B'),
      { execution_arn: 'B', ...AUDIO, force: true },
      undefined,
    ],
    [
      'a run for another key replaces it',
      completed('A'),
      failed('B'),
      { execution_arn: 'B', s3_key: 'transcription/123/new.ogg' },
      undefined,
    ],
    [
      'a run for a new object at the same key replaces it',
      completed('A'),
      completed('B'),
      { execution_arn: 'B', s3_key: AUDIO.s3_key, audio_etag: '"e2"' },
      undefined,
    ],
  ])('%s', (_label, existing, result, writer, expected) => {
    expect(keepReason(existing, result, writer)).toBe(expected);
  });
});

describe('writeResult', () => {
  let s3: TestS3;

  beforeAll(async () => {
    s3 = await startTestS3();
  });

  beforeEach(async () => {
    await s3.clear('results/');
  });

  afterAll(async () => {
    await s3.stop();
  });

  const stored = async () => JSON.parse((await s3.get(KEY))?.body ?? 'null') as TranscriptionResult;

  it('never lets a racing failure replace the completed result of the same audio', async () => {
    // Arrange: execution A completes while duplicate execution B fails, 20 times over
    for (let round = 0; round < 20; round += 1) {
      await s3.clear('results/');

      // Act
      await Promise.all([
        writeResult(s3.client, TEST_BUCKET, KEY, failed('B'), { execution_arn: 'B', ...AUDIO }),
        writeResult(s3.client, TEST_BUCKET, KEY, completed('A'), { execution_arn: 'A', ...AUDIO }),
      ]);

      // Assert
      expect((await stored()).status).toBe('completed');
    }
  });

  it('replaces a failure with a completed result and reports a kept result as not written', async () => {
    // Arrange
    await writeResult(s3.client, TEST_BUCKET, KEY, failed('A'), { execution_arn: 'A', ...AUDIO });

    // Act
    const done = await writeResult(s3.client, TEST_BUCKET, KEY, completed('B'), {
      execution_arn: 'B',
      ...AUDIO,
    });
    const late = await writeResult(s3.client, TEST_BUCKET, KEY, failed('C'), {
      execution_arn: 'C',
      ...AUDIO,
    });

    // Assert
    expect(done).toEqual({ written: true });
    expect(late).toEqual({ written: false, kept: 'completed-of-this-audio' });
    expect((await stored()).metadata.execution_arn).toBe('B');
  });
});
