/**
 * "Validate audio" against an embedded S3 holding the real audio fixtures (test/fixtures/audio):
 * the format is judged from the bytes, and only the header is read.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { inspectAudio, validateAudio } from '../../lambdas/validate-audio/validate-audio.js';
import {
  AUDIO_DIR,
  newExecution,
  rejectionOf,
  startTestS3,
  TEST_BUCKET,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const run = promisify(execFile);

/** ffmpeg run in the audio fixtures folder, so inputs can be named by file name. */
const ffmpeg = (args: string[]) => run('ffmpeg', ['-v', 'error', '-y', ...args], { cwd: AUDIO_DIR });

async function probeSeconds(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    path,
  ]);
  return Number(stdout.trim());
}

interface S3Traffic {
  commands: string[];
  ranges: (string | undefined)[];
  bytes: number;
}

let s3: TestS3;
let traffic: S3Traffic;
let scratch: string;
const config = testConfig();

const keyOf = (file: string) => `transcription/123/${file}`;

async function upload(file: string, dir = AUDIO_DIR): Promise<string> {
  const key = keyOf(file);
  await s3.put(key, await readFile(join(dir, file)));
  return key;
}

beforeAll(async () => {
  s3 = await startTestS3();
  scratch = await mkdtemp(join(tmpdir(), 'validate-audio-'));
  s3.client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Range?: string };
      traffic.commands.push(context.commandName ?? '?');
      if (context.commandName === 'GetObjectCommand') traffic.ranges.push(input.Range);
      const result = await next(args);
      const output = result.output as { ContentLength?: number };
      if (context.commandName === 'GetObjectCommand') traffic.bytes += output.ContentLength ?? 0;
      return result;
    },
    { step: 'initialize', name: 'countTraffic' },
  );
});

beforeEach(() => {
  traffic = { commands: [], ranges: [], bytes: 0 };
});

afterAll(async () => {
  await s3.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('inspectAudio', () => {
  it.each([
    ['hello.ogg', 'Ogg', 'Opus', 1.435],
    ['hello.mp3', 'MPEG', 'MPEG 2 Layer 3', 1.512],
    ['hello.m4a', 'M4A/isom/iso2', 'MPEG-4/AAC', 1.429],
    ['hello.wav', 'WAVE', 'PCM', 1.428],
    ['hello.webm', 'EBML/webm', 'OPUS', 1.436],
    ['hello.flac', 'FLAC', 'FLAC', 1.428],
  ])('accepts %s as %s/%s with a duration close to the real one', async (file, container, codec, seconds) => {
    // Arrange: `seconds` is what ffprobe reports for the file
    const key = await upload(file);
    const { size } = await stat(join(AUDIO_DIR, file));

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(audio.container).toBe(container);
    expect(audio.codec).toBe(codec);
    expect(audio.duration_seconds).not.toBeNull();
    expect(Math.abs((audio.duration_seconds ?? 0) - seconds)).toBeLessThan(0.1);
    expect(audio.size_bytes).toBe(size);
  });

  it('judges the format from the bytes: OGG/Opus named .mp3 is accepted as Ogg', async () => {
    // Arrange
    const key = await upload('hello-ogg-named.mp3');

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(audio.container).toBe('Ogg');
    expect(audio.codec).toBe('Opus');
  });

  it('refuses an empty object as AudioEmpty', async () => {
    // Arrange
    const key = await upload('empty.mp3');

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioEmpty');
  });

  it('refuses a missing object as AudioNotFound', async () => {
    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, keyOf('no-such-file.ogg')));

    // Assert
    expect(error.name).toBe('AudioNotFound');
  });

  it.each([
    'not-audio.txt.mp3',
    'page.html.ogg',
    'doc.pdf.mp3',
    'image.png.mp3',
    'archive.zip.ogg',
    'random.mp3',
    'one-byte.ogg',
  ])('refuses %s as UnsupportedAudioFormat whatever its extension', async (file) => {
    // Arrange
    const key = await upload(file);

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('UnsupportedAudioFormat');
    expect(error.message).toMatch(/not audio in a supported format/);
  });

  it('refuses 0.1 s of speech (tiny.ogg) as AudioTooShort', async () => {
    // Arrange
    const key = await upload('tiny.ogg');

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioTooShort');
    // 0.1 s of speech plus the Opus encoder's pre-skip (6.5 ms), counted from the last page's granule.
    expect(error.message).toMatch(/ 0\.1\d s long/);
  });

  it('refuses an OGG whose audio pages are cut off (truncated.ogg) without reporting a negative length', async () => {
    // Arrange: the first 40 % of hello.ogg; ffprobe finds no audio packet in it
    const key = await upload('truncated.ogg');

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(['AudioEmpty', 'UnsupportedAudioFormat']).toContain(error.name);
    expect(error.message).not.toMatch(/-\d/);
  });

  it('refuses an object over MAX_AUDIO_BYTES as AudioTooLarge without reading it', async () => {
    // Arrange
    const key = await upload('hello.wav');
    const small = testConfig({ MAX_AUDIO_BYTES: '10000' });
    traffic = { commands: [], ranges: [], bytes: 0 };

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, small, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioTooLarge');
    expect(traffic.commands).toEqual(['HeadObjectCommand']);
  });

  it('refuses audio longer than MAX_AUDIO_SECONDS as AudioTooLong', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    const short = testConfig({ MAX_AUDIO_SECONDS: '1' });

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, short, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioTooLong');
  });

  it('reads a voice message with a few ranged GETs', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    traffic = { commands: [], ranges: [], bytes: 0 };

    // Act
    await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(traffic.ranges.length).toBeGreaterThan(0);
    expect(traffic.ranges.length).toBeLessThanOrEqual(8);
    expect(traffic.ranges.every((range) => range?.startsWith('bytes='))).toBe(true);
  });

  it.each([
    ['OGG/Opus', 'long.ogg', ['-stream_loop', '239', '-i', 'hello.ogg', '-c', 'copy']],
    ['MP3', 'long.mp3', ['-stream_loop', '199', '-i', 'hello.mp3', '-c', 'copy']],
  ])('reads only the header of a ~1 MB %s file, not the whole file', async (_format, file, ffmpegArgs) => {
    // Arrange: real audio repeated to several minutes
    await ffmpeg([...ffmpegArgs, join(scratch, file)]);
    const { size } = await stat(join(scratch, file));
    const key = await upload(file, scratch);
    traffic = { commands: [], ranges: [], bytes: 0 };

    // Act
    await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(size).toBeGreaterThan(900_000);
    expect(traffic.ranges.length).toBeLessThanOrEqual(30);
    expect(traffic.ranges.every((range) => range?.startsWith('bytes='))).toBe(true);
    expect(traffic.bytes).toBeLessThan(size / 10);
  });

  it.each([
    ['OGG/Opus (a Telegram voice message)', 'voice.ogg', ['-c:a', 'libopus', '-b:a', '24k']],
    ['OGG/Vorbis', 'vorbis.ogg', ['-c:a', 'libvorbis']],
    ['WEBM/Opus', 'voice.webm', ['-c:a', 'libopus']],
    ['M4A/AAC', 'voice.m4a', ['-c:a', 'aac']],
    ['MP3', 'voice.mp3', ['-c:a', 'libmp3lame', '-b:a', '32k']],
    ['FLAC', 'voice.flac', ['-c:a', 'flac']],
  ])('learns the duration of 30 s of %s within 2 %%', async (_format, file, codecArgs) => {
    // Arrange: hello.wav repeated 21 times; ffprobe is the reference
    const path = join(scratch, file);
    await ffmpeg(['-stream_loop', '20', '-i', 'hello.wav', '-ar', '16000', '-ac', '1', ...codecArgs, path]);
    const real = await probeSeconds(path);
    const key = await upload(file, scratch);

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(real).toBeGreaterThan(29);
    expect(audio.duration_seconds).not.toBeNull();
    expect(Math.abs((audio.duration_seconds ?? 0) - real) / real).toBeLessThan(0.02);
  });
});

describe('validateAudio', () => {
  it('returns the execution, the normalized request and what the bytes say', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    const execution = newExecution();
    const input = {
      s3_key: key,
      user_id: '123',
      file_id: 'abc-123',
      bucket: TEST_BUCKET,
      language_code: 'ru',
    };

    // Act
    const state = await validateAudio({ input, execution }, { s3: s3.client, config });

    // Assert
    expect(state).toEqual({
      execution,
      request: { ...input, user_id: 123 },
      audio: expect.objectContaining({ container: 'Ogg', codec: 'Opus', size_bytes: 4315 }),
    });
  });

  it('ends early with the existing result when this file was already transcribed', async () => {
    // Arrange: the audio itself is gone; only the completed result is left
    const execution = newExecution();
    const earlier = 'arn:aws:states:us-east-1:123456789012:execution:Transcription:earlier';
    await s3.put(
      'results/9/done-before.json',
      JSON.stringify({ status: 'completed', metadata: { execution_arn: earlier } }),
    );
    const input = { s3_key: keyOf('gone.ogg'), user_id: 9, file_id: 'done-before', bucket: TEST_BUCKET };

    // Act
    const state = await validateAudio({ input, execution }, { s3: s3.client, config });

    // Assert
    expect(state).toEqual({
      execution,
      request: input,
      existing_result: { key: 'results/9/done-before.json', execution_arn: earlier },
    });
    expect(state).not.toHaveProperty('audio');
  });

  it('transcribes again when the earlier result is a failure', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    await s3.put('results/9/failed-before.json', JSON.stringify({ status: 'failed', metadata: {} }));
    const input = { s3_key: key, user_id: 9, file_id: 'failed-before', bucket: TEST_BUCKET };

    // Act
    const state = await validateAudio({ input, execution: newExecution() }, { s3: s3.client, config });

    // Assert
    expect(state).toHaveProperty('audio.container', 'Ogg');
    expect(state).not.toHaveProperty('existing_result');
  });

  it('transcribes again despite a completed result when the input says force: true', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    await s3.put(
      'results/9/forced.json',
      JSON.stringify({ status: 'completed', metadata: { execution_arn: 'x' } }),
    );
    const input = { s3_key: key, user_id: 9, file_id: 'forced', bucket: TEST_BUCKET, force: true };

    // Act
    const state = await validateAudio({ input, execution: newExecution() }, { s3: s3.client, config });

    // Assert
    expect(state).toHaveProperty('audio.container', 'Ogg');
    expect(state).not.toHaveProperty('existing_result');
  });

  it('refuses invalid input before touching storage', async () => {
    // Arrange
    const input = { s3_key: '../etc/passwd', user_id: 123, file_id: 'abc-123', bucket: TEST_BUCKET };

    // Act
    const error = await rejectionOf(
      validateAudio({ input, execution: newExecution() }, { s3: s3.client, config }),
    );

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(traffic.commands).toEqual([]);
  });
});

describe('inspectAudio when S3 itself fails', () => {
  const failing = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const s3Mock = mockClient(failing);

  beforeEach(() => {
    s3Mock.reset();
  });

  afterAll(() => {
    s3Mock.restore();
  });

  it('reports throttling (SlowDown) as the retryable StorageUnavailable', async () => {
    // Arrange
    s3Mock
      .on(HeadObjectCommand)
      .rejects(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }));

    // Act
    const error = await rejectionOf(inspectAudio(failing, config, TEST_BUCKET, keyOf('hello.ogg')));

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    expect(error.retryable).toBe(true);
  });

  it('reports a 503 as StorageUnavailable without naming the object', async () => {
    // Arrange
    s3Mock.on(HeadObjectCommand).rejects(
      Object.assign(new Error('Service Unavailable'), {
        name: 'ServiceUnavailable',
        $metadata: { httpStatusCode: 503 },
      }),
    );

    // Act
    const error = await rejectionOf(inspectAudio(failing, config, TEST_BUCKET, keyOf('hello.ogg')));

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    expect(error.message).not.toContain('hello.ogg');
  });

  it('lets AccessDenied through unchanged: retrying would not help', async () => {
    // Arrange
    s3Mock.on(HeadObjectCommand).rejects(
      Object.assign(new Error('Access Denied'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    // Act
    const error = await rejectionOf(inspectAudio(failing, config, TEST_BUCKET, keyOf('hello.ogg')));

    // Assert
    expect(error.name).toBe('AccessDenied');
  });
});
