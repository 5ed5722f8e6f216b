/**
 * Bad input, through the real state machine: a table of broken execution inputs and broken audio
 * objects, each run through `statemachine/transcription.asl.json` with the real handlers, the
 * embedded S3 and the AssemblyAI emulator. Every case must fail in "Validate audio" with its typed
 * error, leave exactly one failure result (or, when the input names no usable user_id/file_id,
 * nothing at all) and never reach AssemblyAI. A second, smaller table holds the odd-looking inputs
 * the contract accepts, which must complete. Last, what running that many validations on one set
 * of handlers showed: "Validate audio" must not hold on to S3 connections between invocations.
 */
import { readFile } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../lambdas/shared/config.js';
import { resultKey } from '../../lambdas/shared/contracts.js';
import type { ErrorType } from '../../lambdas/shared/errors.js';
import { inspectAudio } from '../../lambdas/validate-audio/validate-audio.js';
import { seededRandom } from '../../local/assemblyai-emulator/faults.js';
import { EMBEDDED_S3_CREDENTIALS } from '../../local/embedded-s3.js';
import type { ExecutionOutcome, LocalWorkflow } from '../../local/workflow.js';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

/** Small limits, reachable with the few-KB fixtures. */
const MAX_AUDIO_BYTES = 64 * 1024;
// Not 1 s: the accepted cases need real audio (the fixtures' ~1.4 s phrase) to pass the duration
// check, so the limit sits between that phrase and the 5.3 s bundled sample.
const MAX_AUDIO_SECONDS = 2;
const USER_ID = 42;
const FAILURE_STATES = ['Record failure', 'Transcription failed'];

const AUDIO = new URL('../fixtures/audio/', import.meta.url);
const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);
const fixture = (name: string) => readFile(new URL(name, AUDIO));

/** Deterministic pseudo-random bytes. */
function noise(length: number, seed = 7): Buffer {
  const random = seededRandom(seed);
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

/** A valid 8-bit mono PCM WAV of `seconds` of silence (`0` gives a header with no samples). */
function wav(seconds: number, sampleRate = 8000): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const bytes = Buffer.alloc(44 + samples, 0x80);
  bytes.write('RIFF', 0, 'ascii');
  bytes.writeUInt32LE(36 + samples, 4);
  bytes.write('WAVEfmt ', 8, 'ascii');
  bytes.writeUInt32LE(16, 16);
  bytes.writeUInt16LE(1, 20);
  bytes.writeUInt16LE(1, 22);
  bytes.writeUInt32LE(sampleRate, 24);
  bytes.writeUInt32LE(sampleRate, 28);
  bytes.writeUInt16LE(1, 32);
  bytes.writeUInt16LE(8, 34);
  bytes.write('data', 36, 'ascii');
  bytes.writeUInt32LE(samples, 40);
  return bytes;
}

let harness: Harness;
/** One workflow for the file: building one validates the definition, which takes a while. */
let workflow: LocalWorkflow;
let hello: Buffer;
let fileCounter = 0;

const nextFileId = () => {
  fileCounter += 1;
  return `bad-input-${fileCounter}`;
};

type Input = Record<string, unknown>;

/** Uploads `body` under the input prefix and returns a contract-valid input pointing at it. */
async function uploaded(fileId: string, body: Buffer | string, name = `${fileId}.ogg`): Promise<Input> {
  const s3_key = `transcription/${USER_ID}/${name}`;
  await harness.upload(s3_key, body);
  return { s3_key, user_id: USER_ID, file_id: fileId, bucket: TEST_BUCKET };
}

/** A valid input (real audio uploaded) changed by `patch`; an `undefined` value removes the field. */
async function validWith(fileId: string, patch: Input): Promise<Input> {
  const input = { ...(await uploaded(fileId, hello)), ...patch };
  return JSON.parse(JSON.stringify(input)) as Input;
}

/** Real audio stored at `key` (which the input then names), to show the refusal is about the key. */
async function audioAt(fileId: string, key: string): Promise<Input> {
  await harness.upload(key, hello);
  return { s3_key: key, user_id: USER_ID, file_id: fileId, bucket: TEST_BUCKET };
}

/** Runs one execution and returns its outcome with the keys it created anywhere in the bucket. */
async function runWatchingBucket(input: unknown): Promise<{ outcome: ExecutionOutcome; created: string[] }> {
  const before = new Set(await harness.listKeys(''));
  const outcome = await workflow.run(input, harness.runOptions());
  const created = (await harness.listKeys('')).filter((key) => !before.has(key));
  return { outcome, created };
}

interface BadCase {
  what: string;
  /** The error type; a list when more than one type describes the input honestly. */
  error: ErrorType | readonly ErrorType[];
  makeInput: (fileId: string) => Promise<unknown>;
}

/** A matcher for the expected error type(s). */
const errorTypeMatching = (error: BadCase['error']) =>
  typeof error === 'string' ? error : expect.stringMatching(new RegExp(`^(${error.join('|')})$`));

/** Inputs with a usable user_id and file_id: a failure result must be written for them. */
const RECORDED: BadCase[] = [
  // Fields missing, extra or of the wrong type.
  { what: 'no s3_key', error: 'InvalidInput', makeInput: (id) => validWith(id, { s3_key: undefined }) },
  { what: 'no bucket', error: 'InvalidInput', makeInput: (id) => validWith(id, { bucket: undefined }) },
  {
    what: 'an s3_key that is a number',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: 7 }),
  },
  {
    what: 'an s3_key that is an array',
    error: 'InvalidInput',
    makeInput: async (id) => {
      const input = await validWith(id, {});
      return { ...input, s3_key: [input.s3_key] };
    },
  },
  { what: 'an empty s3_key', error: 'InvalidInput', makeInput: (id) => validWith(id, { s3_key: '' }) },
  {
    what: 'an unknown extra field',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { priority: 'high' }),
  },
  {
    what: 'a misspelt optional field (languge_code)',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { languge_code: 'ru' }),
  },
  {
    // The unknown field's name is echoed in the message: a URL there must not reach the user.
    what: 'an extra field whose name is a URL',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { 'https://example.com/callback': true }),
  },
  {
    // Just under StartExecution's 256 KB: the workflow refuses it and does not echo it into the
    // result (over 256 KB the runner refuses to start, as StartExecution does; tested below).
    what: 'a 200 KB input JSON (an extra field of 200 KB of text)',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { note: 'lorem ipsum '.repeat(17_000) }),
  },
  {
    what: 'a language_code that is not a code',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { language_code: 'Russian' }),
  },
  {
    what: 'a language_code that is a number',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { language_code: 7 }),
  },
  {
    what: 'speakers_expected 0',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { speakers_expected: 0 }),
  },
  {
    what: 'speakers_expected 11',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { speakers_expected: 11 }),
  },
  {
    what: 'speakers_expected "2"',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { speakers_expected: '2' }),
  },
  { what: 'force "yes"', error: 'InvalidInput', makeInput: (id) => validWith(id, { force: 'yes' }) },
  {
    what: 'a user_id given as a string of digits, with a bucket that is not ours',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: '123', bucket: 'someone-elses-bucket' }),
  },

  // s3_key outside what this workflow may read.
  {
    what: "an s3_key under another user's folder (real audio there)",
    error: 'InvalidInput',
    makeInput: (id) => audioAt(id, `transcription/9${USER_ID}/${id}.ogg`),
  },
  {
    what: 'an s3_key with a lone surrogate (the S3 SDK cannot encode it)',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${id}\ud800.ogg` }),
  },
  {
    what: 'an s3_key with a right-to-left override',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${id}\u202egpm.ogg` }),
  },
  {
    what: 'an s3_key with a C1 control character',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${id}\u0085.ogg` }),
  },
  {
    what: 'an s3_key with a line separator',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${id}\u2028.ogg` }),
  },
  {
    what: 'an absolute s3_key',
    error: 'InvalidInput',
    makeInput: (id) =>
      audioAt(id, `transcription/${USER_ID}/${id}.ogg`).then((i) => ({ ...i, s3_key: `/${i.s3_key}` })),
  },
  {
    what: 'an s3_key with ".." that stays under the prefix',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/../${USER_ID}/${id}.ogg` }),
  },
  {
    what: 'an s3_key climbing out of the prefix with ".."',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/../results/${USER_ID}/${id}.json` }),
  },
  {
    what: 'an s3_key with a "." segment',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/./${USER_ID}/${id}.ogg` }),
  },
  {
    what: 'an s3_key outside the input prefix (real audio there)',
    error: 'InvalidInput',
    makeInput: (id) => audioAt(id, `uploads/${USER_ID}/${id}.ogg`),
  },
  {
    what: 'an s3_key under the results prefix',
    error: 'InvalidInput',
    makeInput: (id) => audioAt(id, `results/${USER_ID}/${id}-other.json`),
  },
  {
    what: 'an s3_key under a look-alike prefix ("transcriptions/")',
    error: 'InvalidInput',
    makeInput: (id) => audioAt(id, `transcriptions/${USER_ID}/${id}.ogg`),
  },
  {
    what: 'the input prefix itself as s3_key',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: 'transcription/' }),
  },
  {
    what: 'an s3_key with "%2e%2e" segments',
    error: 'InvalidInput',
    makeInput: (id) =>
      validWith(id, { s3_key: `transcription/${USER_ID}/%2e%2e/%2e%2e/results/${USER_ID}/${id}.json` }),
  },
  {
    what: 'an s3_key with "..%2F" (encoded slash after a dot-dot)',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/..%2F..%2Fwork%2F${id}.json` }),
  },
  {
    what: 'an s3_key that decodes to an absolute path ("%2F")',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `%2Ftranscription/${USER_ID}/${id}.ogg` }),
  },
  {
    what: 'an s3_key whose slashes are all encoded ("transcription%2F…")',
    error: 'InvalidInput',
    makeInput: (id) => audioAt(id, `transcription%2F${USER_ID}%2F${id}.ogg`),
  },
  {
    what: 'an s3_key with a backslash',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/..\\${id}.ogg` }),
  },
  {
    what: 'an s3_key with a control character',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${id}\u0000.ogg` }),
  },
  {
    what: 'an s3_key 2 KB long',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { s3_key: `transcription/${USER_ID}/${'a'.repeat(2048)}.ogg` }),
  },
  {
    what: 'a bucket that is not ours',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { bucket: 'someone-elses-bucket' }),
  },
  {
    what: "our bucket's ARN instead of its name",
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { bucket: `arn:aws:s3:::${TEST_BUCKET}` }),
  },

  // The object: missing, empty, too large, not audio, broken, too short, too long.
  {
    what: 'a missing object',
    error: 'AudioNotFound',
    makeInput: async (id) => ({
      s3_key: `transcription/${USER_ID}/${id}.ogg`,
      user_id: USER_ID,
      file_id: id,
      bucket: TEST_BUCKET,
    }),
  },
  {
    what: 'a key naming a "folder"',
    error: 'AudioNotFound',
    makeInput: async (id) => ({
      s3_key: `transcription/${USER_ID}/${id}/`,
      user_id: USER_ID,
      file_id: id,
      bucket: TEST_BUCKET,
    }),
  },
  {
    what: '0 bytes',
    error: 'AudioEmpty',
    makeInput: async (id) => uploaded(id, await fixture('empty.mp3'), `${id}.mp3`),
  },
  {
    what: 'one byte',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('one-byte.ogg')),
  },
  {
    what: 'real audio padded one byte over the size limit',
    error: 'AudioTooLarge',
    makeInput: (id) => uploaded(id, Buffer.concat([hello, Buffer.alloc(MAX_AUDIO_BYTES + 1 - hello.length)])),
  },
  {
    what: 'random bytes exactly at the size limit',
    error: 'UnsupportedAudioFormat',
    makeInput: (id) => uploaded(id, noise(MAX_AUDIO_BYTES), `${id}.mp3`),
  },
  {
    what: 'text named .mp3',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('not-audio.txt.mp3'), `${id}.mp3`),
  },
  {
    what: 'HTML named .ogg',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('page.html.ogg')),
  },
  {
    what: 'a PDF named .mp3',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('doc.pdf.mp3'), `${id}.mp3`),
  },
  {
    what: 'a PNG named .mp3',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('image.png.mp3'), `${id}.mp3`),
  },
  {
    what: 'a ZIP named .ogg',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('archive.zip.ogg')),
  },
  {
    what: '2 KB of random bytes named .mp3',
    error: 'UnsupportedAudioFormat',
    makeInput: async (id) => uploaded(id, await fixture('random.mp3'), `${id}.mp3`),
  },
  {
    // The first 40 % of hello.ogg: headers, and no complete audio page.
    what: 'a truncated OGG',
    error: ['UnsupportedAudioFormat', 'AudioEmpty'],
    makeInput: async (id) => uploaded(id, await fixture('truncated.ogg')),
  },
  {
    // What a recording stopped at once gives: a WAV header and no samples.
    what: 'a WAV with no samples',
    error: 'AudioEmpty',
    makeInput: (id) => uploaded(id, wav(0), `${id}.wav`),
  },
  {
    what: '0.1 s of speech (tiny.ogg)',
    error: 'AudioTooShort',
    makeInput: async (id) => uploaded(id, await fixture('tiny.ogg')),
  },
  {
    what: 'audio longer than MAX_AUDIO_SECONDS (the 5.3 s sample)',
    error: 'AudioTooLong',
    makeInput: async (id) => uploaded(id, await readFile(SAMPLE)),
  },
  {
    what: 'a 3 s WAV, longer than MAX_AUDIO_SECONDS',
    error: 'AudioTooLong',
    makeInput: (id) => uploaded(id, wav(3), `${id}.wav`),
  },
];

/** Inputs with no usable user_id or file_id: nowhere to write, so nothing may be written. */
const UNRECORDED: BadCase[] = [
  { what: 'an empty object', error: 'InvalidInput', makeInput: async () => ({}) },
  { what: 'no user_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { user_id: undefined }) },
  { what: 'no file_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { file_id: undefined }) },
  { what: 'user_id 0', error: 'InvalidInput', makeInput: (id) => validWith(id, { user_id: 0 }) },
  { what: 'a negative user_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { user_id: -42 }) },
  { what: 'a float user_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { user_id: 42.5 }) },
  {
    what: 'a user_id of 2^53',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: 2 ** 53 }),
  },
  { what: 'a user_id of 1e21', error: 'InvalidInput', makeInput: (id) => validWith(id, { user_id: 1e21 }) },
  {
    what: 'a user_id string of 17 digits',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: '12345678901234567' }),
  },
  {
    what: 'a user_id string that is not digits',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: '42abc' }),
  },
  {
    what: 'a user_id string "-42"',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: '-42' }),
  },
  {
    what: 'a user_id string with a leading zero',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: '042' }),
  },
  {
    what: 'a user_id that is a boolean',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: true }),
  },
  {
    what: 'a user_id that is null',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { user_id: null }),
  },
  {
    what: 'a file_id with "/"',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: `${id}/x` }),
  },
  { what: 'a file_id ".."', error: 'InvalidInput', makeInput: (id) => validWith(id, { file_id: '..' }) },
  {
    what: 'a file_id climbing out with "../"',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: `../../work/${id}` }),
  },
  {
    what: 'a file_id with spaces',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: `${id} copy` }),
  },
  {
    what: 'a file_id of 200 characters',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: 'f'.repeat(200) }),
  },
  {
    what: 'a file_id of 129 characters',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: 'f'.repeat(129) }),
  },
  {
    what: 'a Cyrillic file_id',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: 'голосовое-1' }),
  },
  { what: 'an emoji file_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { file_id: '🎙️' }) },
  { what: 'an empty file_id', error: 'InvalidInput', makeInput: (id) => validWith(id, { file_id: '' }) },
  {
    what: 'a file_id with a dot',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: `${id}.json` }),
  },
  {
    what: 'a file_id that is a number',
    error: 'InvalidInput',
    makeInput: (id) => validWith(id, { file_id: 123 }),
  },
  // Not an object at all. The Catch's ResultPath ("$.failure") cannot be applied to a non-object
  // state, so these are where the "always InvalidInput" promise is most exposed.
  { what: 'an array', error: 'InvalidInput', makeInput: async (id) => [await validWith(id, {})] },
  { what: 'a JSON string', error: 'InvalidInput', makeInput: async () => `transcription/${USER_ID}/x.ogg` },
  { what: 'a JSON number', error: 'InvalidInput', makeInput: async () => 42 },
];

/** Odd-looking but within the contract: these must be transcribed. */
const ACCEPTED: {
  what: string;
  userId: number;
  makeInput: (fileId: string) => Promise<Input>;
}[] = [
  {
    what: 'a user_id given as a string of digits (normalized to a number)',
    userId: 123,
    makeInput: async (id) => {
      await harness.upload(`transcription/123/${id}.ogg`, hello);
      return { s3_key: `transcription/123/${id}.ogg`, user_id: '123', file_id: id, bucket: TEST_BUCKET };
    },
  },
  {
    what: 'the largest safe integer as user_id',
    userId: Number.MAX_SAFE_INTEGER,
    makeInput: async (id) => {
      const key = `transcription/${Number.MAX_SAFE_INTEGER}/${id}.ogg`;
      await harness.upload(key, hello);
      return { s3_key: key, user_id: Number.MAX_SAFE_INTEGER, file_id: id, bucket: TEST_BUCKET };
    },
  },
  {
    what: 'a file_id of 128 characters',
    userId: USER_ID,
    makeInput: async (id) => validWith(id, { file_id: `${id}-`.padEnd(128, 'x') }),
  },
  {
    what: 'OGG/Opus named .mp3 (hello-ogg-named.mp3)',
    userId: USER_ID,
    makeInput: async (id) => uploaded(id, await fixture('hello-ogg-named.mp3'), `${id}.mp3`),
  },
  {
    what: 'WAV named .ogg',
    userId: USER_ID,
    makeInput: async (id) => uploaded(id, await fixture('hello.wav')),
  },
  {
    what: 'M4A named .txt',
    userId: USER_ID,
    makeInput: async (id) => uploaded(id, await fixture('hello.m4a'), `${id}.txt`),
  },
  { what: 'a key with no extension', userId: USER_ID, makeInput: (id) => uploaded(id, hello, id) },
  {
    what: 'a key with spaces and Cyrillic letters',
    userId: USER_ID,
    makeInput: (id) => uploaded(id, hello, `${id} голосовое сообщение.ogg`),
  },
  {
    what: 'every optional field set',
    userId: USER_ID,
    makeInput: (id) => validWith(id, { language_code: 'en_us', speakers_expected: 2, force: false }),
  },
];

beforeAll(async () => {
  harness = await startHarness({
    MAX_AUDIO_BYTES: String(MAX_AUDIO_BYTES),
    MAX_AUDIO_SECONDS: String(MAX_AUDIO_SECONDS),
  });
  workflow = harness.workflow();
  hello = await fixture('hello.ogg');
});

afterAll(async () => {
  await harness?.close();
});

describe('the transcription workflow given bad input', () => {
  it('has a corpus of at least 35 refused inputs', () => {
    expect(RECORDED.length + UNRECORDED.length).toBeGreaterThanOrEqual(35);
  });

  it('is refused before any state runs when the input is over 256 KB, as StartExecution refuses it', async () => {
    // Arrange
    const input = await validWith(nextFileId(), { note: 'lorem ipsum '.repeat(90_000) });
    const before = await harness.listKeys('');
    const submissions = harness.emulator.stats().submissions;

    // Act
    const attempt = () => workflow.run(input, harness.runOptions());

    // Assert
    await expect(attempt()).rejects.toMatchObject({ name: 'ValidationException' });
    expect(await harness.listKeys('')).toEqual(before);
    expect(harness.emulator.stats().submissions).toBe(submissions);
  });

  it.each(RECORDED)(
    'refuses $what in "Validate audio" with $error, records the failure and never calls AssemblyAI',
    async ({ makeInput, error }) => {
      // Arrange
      const input = (await makeInput(nextFileId())) as Input;
      const owner = { user_id: Number(input.user_id), file_id: String(input.file_id) };
      const submissions = harness.emulator.stats().submissions;

      // Act
      const { outcome, created } = await runWatchingBucket(input);

      // Assert
      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toEqual(errorTypeMatching(error));
      expect(outcome.statesEntered).not.toContain('Submit to AssemblyAI');
      expect(outcome.statesEntered.slice(-2)).toEqual(FAILURE_STATES);
      expect(harness.emulator.stats().submissions).toBe(submissions);
      expect(created).toEqual([resultKey('results/', owner.user_id, owner.file_id)]);
      const result = await harness.readResult(owner.user_id, owner.file_id);
      expect(result).toMatchObject({
        status: 'failed',
        ...owner,
        error: { type: outcome.error },
        metadata: { failed_state: 'Validate audio', execution_arn: outcome.executionArn },
      });
      const message = result?.status === 'failed' ? result.error.message : '';
      expect(message.trim()).not.toBe('');
      expect(message.length).toBeLessThan(500);
      expect(message).not.toMatch(/http/i);
      expect(message).not.toMatch(/\s-\d/);
      expect(outcome.cause).toBe(message);
    },
  );

  it.each(UNRECORDED)(
    'refuses $what with InvalidInput, says no result was written and writes nothing',
    async ({ makeInput, error }) => {
      // Arrange
      const input = await makeInput(nextFileId());
      const submissions = harness.emulator.stats().submissions;

      // Act
      const { outcome, created } = await runWatchingBucket(input);

      // Assert
      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toEqual(errorTypeMatching(error));
      expect(outcome.cause).toMatch(/no result was written/);
      expect(outcome.cause).not.toMatch(/http/i);
      expect(outcome.statesEntered).not.toContain('Submit to AssemblyAI');
      expect(created).toEqual([]);
      expect(harness.emulator.stats().submissions).toBe(submissions);
    },
  );
});

describe('the transcription workflow given odd but valid input', () => {
  it.each(ACCEPTED)('transcribes $what', async ({ makeInput, userId }) => {
    // Arrange
    const input = await makeInput(nextFileId());
    const fileId = String(input.file_id);
    const before = harness.emulator.stats().transcripts.length;

    // Act
    const outcome = await workflow.run(input, harness.runOptions());

    // Assert
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    const result = await harness.readResult(userId, fileId);
    expect(result).toMatchObject({ status: 'completed', user_id: userId, file_id: fileId });
    expect(typeof result?.user_id).toBe('number');
    const transcripts = harness.emulator.stats().transcripts.slice(before);
    expect(transcripts).toHaveLength(1);
  });
});

describe('Validate audio on a warm Lambda', () => {
  it('reads one header after another without running out of S3 connections', async () => {
    // Arrange: a client with 3 sockets; the handler's module-level client has 50, shared by every
    // invocation of a warm Lambda (and by all executions in the local runner)
    const input = await uploaded(nextFileId(), hello);
    const s3 = new S3Client({
      endpoint: harness.s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: EMBEDDED_S3_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: { maxSockets: 3 } },
    });
    const durations: number[] = [];

    // Act
    try {
      for (let call = 0; call < 4; call += 1) {
        const started = performance.now();
        await inspectAudio(s3, loadConfig(), TEST_BUCKET, String(input.s3_key));
        durations.push(Math.round(performance.now() - started));
      }
    } finally {
      s3.destroy();
    }

    // Assert: a response body left unread keeps its socket; once all are taken, the next call
    // waits seconds, until the server closes an idle connection
    expect(durations.filter((ms) => ms > 1500)).toEqual([]);
  });
});
