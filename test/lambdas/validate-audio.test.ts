/**
 * "Validate audio" against an embedded S3 holding the real audio fixtures (test/fixtures/audio):
 * the format is judged from the bytes, and only the header is read.
 */

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { headObject } from '../../lambdas/shared/storage.js';
import { durationPair, sizePair } from '../../lambdas/validate-audio/messages.js';
import { DEFAULT_CAPS } from '../../lambdas/validate-audio/object-window.js';
import { oggCrc } from '../../lambdas/validate-audio/ogg.js';
import { inspectAudio, parseRequest, validateAudio } from '../../lambdas/validate-audio/validate-audio.js';
import {
  AUDIO_DIR,
  newExecution,
  rejectionOf,
  startTestS3,
  TEST_BUCKET,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const CORPUS = join(AUDIO_DIR, 'corpus');

/** One file of test/fixtures/audio/corpus/manifest.json (written by scripts/make-audio-fixtures.sh). */
interface CorpusEntry {
  format: string;
  expected: 'accept' | 'refuse';
  error?: string;
  message_contains?: string;
  ffprobe_duration: number | null;
  ffprobe_audio_duration: number | null;
  expected_duration?: number;
}

const manifest = JSON.parse(await readFile(join(CORPUS, 'manifest.json'), 'utf8')) as Record<
  string,
  CorpusEntry
>;
const corpus = Object.entries(manifest);

/** Formats whose length is not learned cheaply: accepted with duration null (see the README). */
const UNKNOWN_DURATION = new Set(['streamed.webm', 'video-streamed.webm', 'video.mov', 'video.mxf']);

interface S3Traffic {
  commands: string[];
  ranges: (string | undefined)[];
  bytes: number;
}

let s3: TestS3;
let traffic: S3Traffic;
const config = testConfig();

const keyOf = (file: string, user = 123) => `transcription/${user}/${file}`;

async function upload(file: string, dir = AUDIO_DIR, user = 123): Promise<string> {
  const key = keyOf(file, user);
  await s3.put(key, await readFile(join(dir, file)));
  return key;
}

async function uploadBytes(name: string, bytes: Uint8Array): Promise<string> {
  const key = keyOf(name);
  await s3.put(key, bytes);
  return key;
}

const resetTraffic = () => {
  traffic = { commands: [], ranges: [], bytes: 0 };
};

beforeAll(async () => {
  s3 = await startTestS3();
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
    ['not-audio.txt.mp3', /is text, not audio or video/],
    ['page.html.ogg', /is a web page, not audio or video/],
    ['doc.pdf.mp3', /is a PDF document, not audio or video/],
    ['image.png.mp3', /is an image \(PNG\), not audio or video/],
    ['archive.zip.ogg', /is an archive \(ZIP\), not audio or video/],
    ['random.mp3', /not a recognizable audio or video format/],
    ['one-byte.ogg', /not audio or video|not a recognizable/],
  ])('refuses %s as UnsupportedAudioFormat, saying what it is', async (file, message) => {
    // Arrange
    const key = await upload(file);

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('UnsupportedAudioFormat');
    expect(error.message).toMatch(message);
  });

  it('refuses 0.1 s of speech (tiny.ogg) as AudioTooShort', async () => {
    // Arrange
    const key = await upload('tiny.ogg');

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioTooShort');
    expect(error.message).toBe('The audio is 0.1 s long; the minimum is 0.3 s');
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
    resetTraffic();

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, small, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('AudioTooLarge');
    expect(error.message).toBe('The file is 22.9 KB; the limit is 10.0 KB');
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

  it('reads a voice message with one HEAD and one ranged GET', async () => {
    // Arrange
    const key = await upload('hello.ogg');
    resetTraffic();

    // Act
    await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(traffic.commands).toEqual(['HeadObjectCommand', 'GetObjectCommand']);
    expect(traffic.ranges.every((range) => range?.startsWith('bytes='))).toBe(true);
  });
});

describe('inspectAudio on the corpus of real files (test/fixtures/audio/corpus)', () => {
  it.each(corpus.filter(([, entry]) => entry.expected === 'accept'))(
    "accepts %s (%s) with ffprobe's duration and at most 4 S3 requests",
    async (file, entry) => {
      // Arrange: the reference is ffprobe's audio-stream duration (or the sum of a chain's links)
      const key = await upload(file, CORPUS);
      const reference = entry.expected_duration ?? entry.ffprobe_audio_duration ?? entry.ffprobe_duration;
      resetTraffic();

      // Act
      const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

      // Assert
      expect(traffic.commands.length).toBeLessThanOrEqual(DEFAULT_CAPS.requests);
      expect(audio.size_bytes).toBe((await stat(join(CORPUS, file))).size);
      if (UNKNOWN_DURATION.has(file)) {
        expect(audio.duration_seconds).toBeNull();
      } else {
        // Within 3 %: encoder priming (AAC), ffprobe's own bitrate estimates (AMR, ADTS) and
        // presentation-time rounding (MPEG-TS) differ from the exact sample count by up to 2.6 %.
        expect(reference).not.toBeNull();
        expect(Math.abs((audio.duration_seconds ?? 0) - (reference ?? 0)) / (reference ?? 1)).toBeLessThan(
          0.03,
        );
      }
    },
  );

  it.each(corpus.filter(([, entry]) => entry.expected === 'refuse'))(
    'refuses %s (%s) with a message saying what is wrong',
    async (file, entry) => {
      // Arrange
      const key = await upload(file, CORPUS);
      resetTraffic();

      // Act
      const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

      // Assert
      expect(error.name).toBe(entry.error);
      expect(error.message).toContain(entry.message_contains);
      expect(error.message).not.toMatch(/https?:|OGG\/Opus|supported format/i);
      expect(traffic.commands.length).toBeLessThanOrEqual(DEFAULT_CAPS.requests);
    },
  );

  it("takes a Theora + Vorbis file's length from its audio stream, not from the video's last page", async () => {
    // Arrange: the video runs 8.75 s, the audio 5.65 s
    const key = await upload('theora-vorbis.ogv', CORPUS);

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(manifest['theora-vorbis.ogv']?.ffprobe_duration).toBeGreaterThan(8.5);
    expect(audio.duration_seconds).toBeCloseTo(5.654, 2);
  });

  it.each([
    ['chained-long-short.ogg', 'AudioTooLong'],
    ['chained-short-long.ogg', 'AudioTooLong'],
  ])(
    'adds up the links of a chained Ogg (%s): neither order slips past MAX_AUDIO_SECONDS',
    async (file, name) => {
      // Arrange: 5.65 s + 0.1 s in either order, against a 5.7 s limit
      const key = await upload(file, CORPUS);

      // Act
      const error = await rejectionOf(
        inspectAudio(s3.client, testConfig({ MAX_AUDIO_SECONDS: '5.7' }), TEST_BUCKET, key),
      );

      // Assert
      expect(error.name).toBe(name);
      expect(error.message).toBe('The audio is 5.8 s long; the limit is 5.7 s');
    },
  );
});

/** Ogg pages of `source` after its two header pages, repeated `times` with granules, sequence and CRC rewritten. */
function longOgg(source: Buffer, times: number): Buffer {
  const pages: Buffer[] = [];
  for (let at = 0; at < source.length; ) {
    const segments = source[at + 26] as number;
    let length = 27 + segments;
    for (let i = 0; i < segments; i += 1) length += source[at + 27 + i] as number;
    pages.push(Buffer.from(source.subarray(at, at + length)));
    at += length;
  }
  const [first, tags, ...audio] = pages as [Buffer, Buffer, ...Buffer[]];
  const span = audio[audio.length - 1]?.readBigInt64LE(6) ?? 0n;
  const out = [first, tags];
  let sequence = 2;
  for (let round = 0; round < times; round += 1) {
    for (const page of audio) {
      const copy = Buffer.from(page);
      copy[5] = round === times - 1 && page === audio[audio.length - 1] ? 0x04 : 0;
      copy.writeBigInt64LE(page.readBigInt64LE(6) + span * BigInt(round), 6);
      copy.writeUInt32LE(sequence, 18);
      sequence += 1;
      copy.writeUInt32LE(0, 22);
      copy.writeUInt32LE(oggCrc(copy), 22);
      out.push(copy);
    }
  }
  return Buffer.concat(out);
}

describe('inspectAudio on large and hostile files: what a header read may cost', () => {
  it('reads a 1.5 MB Ogg/Opus with at most 4 requests and learns its length from the tail', async () => {
    // Arrange: telegram-voice.ogg's audio pages 120 times over (11.3 min)
    const bytes = longOgg(await readFile(join(CORPUS, 'telegram-voice.ogg')), 120);
    const key = await uploadBytes('long.ogg', bytes);
    resetTraffic();

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(bytes.length).toBeGreaterThan(1_400_000);
    expect(traffic.commands.length).toBeLessThanOrEqual(4);
    expect(traffic.bytes).toBeLessThan(bytes.length / 3);
    expect(audio.duration_seconds).toBeCloseTo(120 * 5.66, -1);
  });

  it('estimates a 0.8 MB VBR MP3 without a Xing header from the frames read, with 2 requests', async () => {
    // Arrange: vbr-no-xing.mp3's frames 60 times over (5.8 min)
    const frames = await readFile(join(CORPUS, 'vbr-no-xing.mp3'));
    const bytes = Buffer.concat(Array.from({ length: 60 }, () => frames));
    const key = await uploadBytes('long.mp3', bytes);
    resetTraffic();

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(traffic.commands.length).toBeLessThanOrEqual(2);
    expect(Math.abs((audio.duration_seconds ?? 0) - 60 * 5.831) / (60 * 5.831)).toBeLessThan(0.02);
  });

  it('skips a 3 MB ID3 tag (cover art) without reading it: one extra GET, then the MP3 frames', async () => {
    // Arrange: a real ID3v2.3 header declaring 3 MB, zero padding, then real MP3 frames
    const tagSize = 3 * 1024 * 1024;
    const header = Buffer.from([
      0x49,
      0x44,
      0x33,
      3,
      0,
      0,
      ...[21, 14, 7, 0].map((shift) => (tagSize >> shift) & 0x7f),
    ]);
    const bytes = Buffer.concat([header, Buffer.alloc(tagSize), await readFile(join(CORPUS, 'cbr.mp3'))]);
    const key = await uploadBytes('cover-art.mp3', bytes);
    resetTraffic();

    // Act
    const audio = await inspectAudio(s3.client, config, TEST_BUCKET, key);

    // Assert
    expect(traffic.commands.length).toBeLessThanOrEqual(3);
    expect(traffic.bytes).toBeLessThan(DEFAULT_CAPS.bytes);
    expect(audio.container).toBe('MPEG');
    expect(audio.duration_seconds).toBeCloseTo(5.832, 1);
  });

  it('refuses a file whose ID3 tag claims 100 MB (more than the file) without holding it in memory', async () => {
    // Arrange: an ID3 header declaring ~100 MB, followed by 2 MB of zeros
    const tagSize = 100 * 1024 * 1024;
    const header = Buffer.from([
      0x49,
      0x44,
      0x33,
      3,
      0,
      0,
      ...[21, 14, 7, 0].map((shift) => (tagSize >> shift) & 0x7f),
    ]);
    const key = await uploadBytes('huge-id3.mp3', Buffer.concat([header, Buffer.alloc(2 * 1024 * 1024)]));
    resetTraffic();

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, key));

    // Assert
    expect(error.name).toBe('UnsupportedAudioFormat');
    expect(traffic.commands.length).toBeLessThanOrEqual(DEFAULT_CAPS.requests);
    expect(traffic.bytes).toBeLessThanOrEqual(DEFAULT_CAPS.bytes);
  });

  it('stops at the caps on a WEBM whose Tags element claims 19 MB', async () => {
    // Arrange: opus.webm's EBML header, a Segment of unknown size, Tags declaring 19 MB, 3 MB of zeros
    const webm = await readFile(join(CORPUS, 'opus.webm'));
    const segment = webm.indexOf(Buffer.from([0x18, 0x53, 0x80, 0x67]));
    const claim = 19 * 1024 * 1024;
    const tags = Buffer.from([
      0x12,
      0x54,
      0xc3,
      0x67,
      0x08,
      0,
      0,
      0,
      0,
      (claim >> 16) & 0xff,
      (claim >> 8) & 0xff,
      claim & 0xff,
    ]);
    const bytes = Buffer.concat([
      webm.subarray(0, segment),
      Buffer.from([0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      tags,
      Buffer.alloc(3 * 1024 * 1024),
    ]);
    const key = await uploadBytes('giant-tags.webm', bytes);
    resetTraffic();
    const started = Date.now();

    // Act
    const outcome = await inspectAudio(s3.client, config, TEST_BUCKET, key).catch((error: Error) => error);

    // Assert: refused (nothing but tags) or accepted with an unknown length, never a crawl
    if (outcome instanceof Error) expect(outcome.name).toBe('UnsupportedAudioFormat');
    else expect(outcome.duration_seconds).toBeNull();
    expect(traffic.commands.length).toBeLessThanOrEqual(DEFAULT_CAPS.requests);
    expect(traffic.bytes).toBeLessThanOrEqual(DEFAULT_CAPS.bytes);
    expect(Date.now() - started).toBeLessThan(DEFAULT_CAPS.milliseconds);
  });

  it('answers UnsupportedAudioFormat when the request cap is hit before the format is known', async () => {
    // Arrange: a cap of 1 request leaves no GET after the HEAD
    const key = await upload('hello.ogg');
    resetTraffic();

    // Act
    const error = await rejectionOf(
      inspectAudio(s3.client, config, TEST_BUCKET, key, { ...DEFAULT_CAPS, requests: 1 }),
    );

    // Assert
    expect(error.name).toBe('UnsupportedAudioFormat');
    expect(traffic.commands).toEqual(['HeadObjectCommand']);
  });
});

/** A valid 8-bit mono PCM WAV of `samples` samples of silence at 8 kHz. */
function wav(samples: number): Buffer {
  const bytes = Buffer.alloc(44 + samples, 0x80);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + samples, 4);
  bytes.write('WAVEfmt ', 8, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(8000, 24);
  bytes.writeUInt32LE(8000, 28);
  bytes.writeUInt16LE(1, 32);
  bytes.writeUInt16LE(8, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(samples, 40);
  return bytes;
}

describe('messages at the limits', () => {
  it.each([
    [36_001, 36_000, ['10.0003 h', '10.0000 h']],
    [36_000.5, 36_000, ['10.0001 h', '10.0000 h']],
    [0.299, 0.3, ['0.299 s', '0.300 s']],
    [0.1, 0.3, ['0.1 s', '0.3 s']],
    [5.754, 5.7, ['5.8 s', '5.7 s']],
    [90, 60, ['1.5 min', '1.0 min']],
  ])('shows %s s against a limit of %s s as %j', (value, limit, expected) => {
    expect(durationPair(value, limit)).toEqual(expected);
  });

  it.each([
    [1_900_000, 2_000_000, ['1.9 MB', '2.0 MB']],
    [2_000_001, 2_000_000, ['2.000001 MB', '2.000000 MB']],
    [1_073_741_825, 1_073_741_824, ['1.073741825 GB', '1.073741824 GB']],
  ])('shows %s bytes against a limit of %s bytes as %j', (value, limit, expected) => {
    expect(sizePair(value, limit)).toEqual(expected);
  });

  it('refuses a WAV one sample shorter than MIN_AUDIO_SECONDS, and accepts one exactly at it', async () => {
    // Arrange: 0.3 s at 8 kHz is 2,400 samples
    const shortKey = await uploadBytes('short.wav', wav(2399));
    const exactKey = await uploadBytes('exact.wav', wav(2400));

    // Act
    const error = await rejectionOf(inspectAudio(s3.client, config, TEST_BUCKET, shortKey));
    const exact = await inspectAudio(s3.client, config, TEST_BUCKET, exactKey);

    // Assert
    expect(error.name).toBe('AudioTooShort');
    expect(error.message).toBe('The audio is 0.2999 s long; the minimum is 0.3000 s');
    expect(exact.duration_seconds).toBe(0.3);
  });

  it('refuses a WAV one sample over MAX_AUDIO_SECONDS with a value and limit that differ', async () => {
    // Arrange: a 2 s limit; 2 s + 1 sample
    const key = await uploadBytes('long.wav', wav(16_001));

    // Act
    const error = await rejectionOf(
      inspectAudio(s3.client, testConfig({ MAX_AUDIO_SECONDS: '2' }), TEST_BUCKET, key),
    );

    // Assert
    expect(error.name).toBe('AudioTooLong');
    expect(error.message).toBe('The audio is 2.0001 s long; the limit is 2.0000 s');
  });

  it('refuses an object one byte over MAX_AUDIO_BYTES with a size and limit that differ', async () => {
    // Arrange
    const key = await uploadBytes('one-over.wav', wav(2_000_001 - 44));

    // Act
    const error = await rejectionOf(
      inspectAudio(s3.client, testConfig({ MAX_AUDIO_BYTES: '2000000' }), TEST_BUCKET, key),
    );

    // Assert
    expect(error.name).toBe('AudioTooLarge');
    expect(error.message).toBe('The file is 2.000001 MB; the limit is 2.000000 MB');
  });

  it.each([
    [{ file_id: 5 }, 'file_id must be a string'],
    [{ speakers_expected: 2.5 }, 'speakers_expected must be an integer from 1 to 10'],
    [{ force: 'yes' }, 'force must be true or false'],
  ])('names types readably in input errors (%j)', (patch, message) => {
    // Arrange
    const input = {
      s3_key: 'transcription/1/a.ogg',
      user_id: 1,
      file_id: 'a',
      bucket: TEST_BUCKET,
      ...patch,
    };

    // Act
    const error = (() => {
      try {
        parseRequest(input, config);
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('expected InvalidInput');
    })();

    // Assert
    expect(error.message).toContain(message);
    expect(error.message).not.toMatch(/ a int\b| a boolean\b/);
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

  it('ends early with the existing result when this very audio was already transcribed', async () => {
    // Arrange: a completed result naming this key and this object's ETag
    const execution = newExecution();
    const earlier = 'arn:aws:states:us-east-1:123456789012:execution:Transcription:earlier';
    const key = await upload('hello.ogg', AUDIO_DIR, 9);
    const { etag } = (await headObject(s3.client, TEST_BUCKET, key)) ?? { etag: '' };
    await s3.put(
      'results/9/done-before.json',
      JSON.stringify({
        status: 'completed',
        metadata: { execution_arn: earlier, s3_key: key, audio_etag: etag },
      }),
    );
    const input = { s3_key: key, user_id: 9, file_id: 'done-before', bucket: TEST_BUCKET };

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

  it.each([
    [
      'another key',
      (key: string, etag: string) => ({ s3_key: key.replace('hello', 'other'), audio_etag: etag }),
    ],
    ['another object at the same key', (key: string) => ({ s3_key: key, audio_etag: '"0123"' })],
    ['no record of its audio (written before results named it)', () => ({})],
  ])('transcribes again when the completed result is of %s', async (_label, audioOf) => {
    // Arrange
    const key = await upload('hello.ogg', AUDIO_DIR, 9);
    const { etag } = (await headObject(s3.client, TEST_BUCKET, key)) ?? { etag: '' };
    await s3.put(
      'results/9/stale.json',
      JSON.stringify({ status: 'completed', metadata: { execution_arn: 'earlier', ...audioOf(key, etag) } }),
    );
    const input = { s3_key: key, user_id: 9, file_id: 'stale', bucket: TEST_BUCKET };

    // Act
    const state = await validateAudio({ input, execution: newExecution() }, { s3: s3.client, config });

    // Assert
    expect(state).not.toHaveProperty('existing_result');
    expect(state).toHaveProperty('audio.etag', etag);
  });

  it('refuses with AudioChanged when the object is replaced between the HEAD and the header reads', async () => {
    // Arrange: the HEAD saw an older object (its ETag); the reads are pinned to it with If-Match
    const key = await upload('hello.ogg', AUDIO_DIR, 9);
    const head = (await headObject(s3.client, TEST_BUCKET, key)) ?? { size: 0, etag: '' };

    // Act
    const error = await rejectionOf(
      inspectAudio(s3.client, config, TEST_BUCKET, key, undefined, { size: head.size, etag: '"replaced"' }),
    );

    // Assert
    expect(error.name).toBe('AudioChanged');
  });

  it('refuses a key naming no object even when a completed result of it exists', async () => {
    // Arrange
    const key = keyOf('gone.ogg', 9);
    await s3.put(
      'results/9/gone.json',
      JSON.stringify({
        status: 'completed',
        metadata: { execution_arn: 'earlier', s3_key: key, audio_etag: '"1"' },
      }),
    );
    const input = { s3_key: key, user_id: 9, file_id: 'gone', bucket: TEST_BUCKET };

    // Act
    const error = await rejectionOf(
      validateAudio({ input, execution: newExecution() }, { s3: s3.client, config }),
    );

    // Assert
    expect(error.name).toBe('AudioNotFound');
  });

  it('transcribes again when the earlier result is a failure', async () => {
    // Arrange
    const key = await upload('hello.ogg', AUDIO_DIR, 9);
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
    const key = await upload('hello.ogg', AUDIO_DIR, 9);
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
