/**
 * The request options (issue 12) through the real definition, the real handlers, the embedded S3
 * and the emulator: what reaches AssemblyAI, what the result says, and the caption and text files
 * beside it, read back with SRT and WebVTT parsers. Refusals end in a failed result before any job.
 */
import { readFile } from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parseSync } from 'subtitle';
import { WebVTTParser } from 'webvtt-parser';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';
import { audioDigest, heardContent } from '../support/heard.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);
const HELLO_OGG = new URL('../fixtures/audio/hello.ogg', import.meta.url);
const HELLO_M4A = new URL('../fixtures/audio/hello.m4a', import.meta.url);

/** What the emulator "hears" in hello.ogg for the redaction test: a name, a phone number, an e-mail. */
const PERSONAL = ['Привет,', 'это', 'Анна,', 'мой', 'номер', '+79161234567,', 'почта', 'anna@example.com.'];
/** What it hears in hello.m4a for the keyterms test: two product names, misheard. */
const PRODUCTS = ['We', 'deploy', 'with', 'kubernetis', 'and', 'step', 'function.'];

let harness: Harness;
let sample: Buffer;
let counter = 0;

async function upload() {
  counter += 1;
  const fileId = `options-${counter}`;
  const s3_key = `transcription/42/${fileId}.ogg`;
  await harness.upload(s3_key, sample);
  return { s3_key, user_id: 42, file_id: fileId, bucket: TEST_BUCKET };
}

/** Uploads committed audio the emulator will hear as `tokens`, and the input for it. */
async function uploadHeard(file: URL, tokens: string[], languageCode: string) {
  const audio = await readFile(file);
  harness.emulator.addKnownTranscript(audioDigest(audio), heardContent(tokens, languageCode));
  counter += 1;
  const fileId = `heard-${counter}`;
  const s3_key = `transcription/42/${fileId}${file.pathname.slice(file.pathname.lastIndexOf('.'))}`;
  await harness.upload(s3_key, audio);
  return { s3_key, user_id: 42, file_id: fileId, bucket: TEST_BUCKET };
}

async function object(key: string): Promise<{ body: string; contentType?: string }> {
  const answer = await harness.s3.client.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
  return { body: (await answer.Body?.transformToString('utf-8')) ?? '', contentType: answer.ContentType };
}

beforeAll(async () => {
  harness = await startHarness();
  sample = await readFile(SAMPLE);
});

afterAll(async () => {
  await harness.close();
});

describe('the request options through the state machine', () => {
  it('writes the captions and text beside the result, with the speakers’ names, and lists them', async () => {
    const input = {
      ...(await upload()),
      speaker_names: { A: 'Анна', B: 'Борис' },
      outputs: ['srt', 'vtt', 'txt'],
    };

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    const result = await harness.readResult(42, input.file_id);
    if (result?.status !== 'completed') throw new Error('no completed result');
    expect(result.segments.map((s) => s.speaker)).toEqual(['Анна', 'Борис', 'Анна']);
    expect(result.metadata.speaker_names).toEqual({ A: 'Анна', B: 'Борис' });
    const base = `results/42/${input.file_id}`;
    expect(result.metadata.outputs).toEqual({ srt: `${base}.srt`, vtt: `${base}.vtt`, txt: `${base}.txt` });

    const srt = await object(`${base}.srt`);
    const cues = parseSync(srt.body).filter((node) => node.type === 'cue');
    expect(cues.length).toBeGreaterThanOrEqual(result.segments.length);
    expect(srt.contentType).toBe('application/x-subrip; charset=utf-8');
    const vtt = await object(`${base}.vtt`);
    const parsed = new WebVTTParser().parse(vtt.body, 'metadata');
    expect(parsed.errors).toEqual([]);
    expect(parsed.cues.length).toBe(cues.length);
    expect(parsed.cues[0]?.text).toContain('<v Анна>');
    const spokenInCaptions = parsed.cues.map((c) => c.text.replace(/<[^>]+>/g, '')).join(' ');
    expect(spokenInCaptions).toBe(result.segments.map((s) => s.text).join(' '));
    const txt = await object(`${base}.txt`);
    expect(txt.body.trimEnd().split('\n\n')).toEqual(result.segments.map((s) => `${s.speaker}: ${s.text}`));
  });

  it('sends a speaker range and keyterms to AssemblyAI, which diarizes into the range', async () => {
    const input = {
      ...(await upload()),
      language_code: 'en',
      speakers_min: 3,
      speakers_max: 4,
      keyterms: ['WiseVoice'],
    };

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(harness.emulator.stats().transcripts.at(-1)?.options).toEqual({
      speaker_options: { min_speakers_expected: 3, max_speakers_expected: 4 },
      keyterms_prompt: ['WiseVoice'],
    });
    const result = await harness.readResult(42, input.file_id);
    if (result?.status !== 'completed') throw new Error('no completed result');
    expect(new Set(result.segments.map((s) => s.speaker)).size).toBe(3);
  });

  it('boosts the keyterms: the result spells them as given where AssemblyAI heard them nearly', async () => {
    const input = {
      ...(await uploadHeard(HELLO_M4A, PRODUCTS, 'en')),
      language_code: 'en',
      keyterms: ['Kubernetes', 'Step Functions'],
    };

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    const result = await harness.readResult(42, input.file_id);
    if (result?.status !== 'completed') throw new Error('no completed result');
    expect(result.segments.map((s) => s.text).join(' ')).toBe(
      'We deploy with Kubernetes and Step Functions.',
    );
  });

  it('redacts the policies asked for at AssemblyAI and counts them in the result, never keeping the values', async () => {
    const input = {
      ...(await uploadHeard(HELLO_OGG, PERSONAL, 'ru')),
      redact_pii: true,
      redact_pii_policies: ['person_name', 'phone_number'],
      outputs: ['txt'],
    };

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    const result = await harness.readResult(42, input.file_id);
    if (result?.status !== 'completed') throw new Error('no completed result');
    expect(result.metadata.redaction).toEqual({
      policies: ['person_name', 'phone_number'],
      counts: { person_name: 1, phone_number: 1 },
    });
    const written = JSON.stringify(result) + (await object(`results/42/${input.file_id}.txt`)).body;
    expect(written).toContain('[PERSON_NAME],');
    expect(written).not.toContain('Анна');
    expect(written).not.toContain('79161234567');
    // Not asked for: the e-mail address stays.
    expect(written).toContain('anna@example.com');
  });

  it.each([
    [
      'keyterms for Russian',
      { language_code: 'ru', keyterms: ['Сбербанк'] },
      'keyterms are not available for language_code "ru"',
    ],
    [
      'PII redaction in Thai',
      { language_code: 'th', redact_pii: true },
      'redact_pii is not available for language_code "th"',
    ],
  ])(
    'refuses %s before any job exists, with InvalidInput and a failed result',
    async (_what, options, message) => {
      const jobs = harness.emulator.stats().transcripts.length;
      const input = { ...(await upload()), ...options };

      const outcome = await harness.workflow().run(input, harness.runOptions());

      expect(outcome.status).toBe('FAILED');
      expect(outcome.error).toBe('InvalidInput');
      expect(harness.emulator.stats().transcripts.length).toBe(jobs);
      expect(await harness.readResult(42, input.file_id)).toMatchObject({
        status: 'failed',
        error: { type: 'InvalidInput', message: expect.stringContaining(message) },
      });
    },
  );
});
