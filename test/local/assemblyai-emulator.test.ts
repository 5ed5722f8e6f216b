/** The AssemblyAI emulator, driven through the real `assemblyai` SDK and raw fetch, as the workflow would. */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssemblyAI, type TranscriptParams } from 'assemblyai';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import {
  type AssemblyAIEmulator,
  type EmulatorOptions,
  startEmulator,
} from '../../local/assemblyai-emulator/emulator.js';
import { parseFaultSpec } from '../../local/assemblyai-emulator/faults.js';
import { boosted, PLACEHOLDER_TEXT, redacted } from '../../local/assemblyai-emulator/transcripts.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AUDIO_FILES: Record<string, string> = {
  '/sample.ogg': join(ROOT, 'local/sample/sample.ogg'),
};
const SPEECH_MODELS = [...DEFAULT_SPEECH_MODELS];
const DELAY_MS = 50;
/** Field names of AssemblyAI's real queued answer (assemblyai-go-sdk testdata/transcript/queued.json). */
const REAL_QUEUED_FIELDS = [
  'id',
  'language_model',
  'acoustic_model',
  'language_code',
  'status',
  'audio_url',
  'text',
  'words',
  'utterances',
  'confidence',
  'audio_duration',
  'punctuate',
  'format_text',
  'webhook_url',
  'webhook_auth',
  'speaker_labels',
  'language_detection',
  'speakers_expected',
  'auto_highlights_result',
  'content_safety_labels',
  'iab_categories_result',
];

let audioServer: Server;
let audioBase: string;
let refusedBase: string;
let emulator: AssemblyAIEmulator;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function useEmulator(options: EmulatorOptions = {}): Promise<AssemblyAIEmulator> {
  await emulator?.close();
  emulator = await startEmulator({ processingDelayMs: DELAY_MS, ...options });
  return emulator;
}

const sdk = (apiKey = emulator.apiKey) => new AssemblyAI({ apiKey, baseUrl: emulator.url });
const audioUrl = (name: string) => `${audioBase}/${name}`;
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function transcribe(name: string, params: Partial<TranscriptParams> = {}) {
  return sdk().transcripts.transcribe(
    { audio: audioUrl(name), speech_models: SPEECH_MODELS, speaker_labels: true, ...params },
    { pollingInterval: 10, pollingTimeout: 5000 },
  );
}

function rawRequest(method: string, path: string, body?: unknown, apiKey = emulator.apiKey) {
  return fetch(`${emulator.url}${path}`, {
    method,
    headers: { Authorization: apiKey, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const rawSubmit = (body: unknown = { audio_url: audioUrl('hello.ogg'), speech_models: SPEECH_MODELS }) =>
  rawRequest('POST', '/v2/transcript', body);

beforeAll(async () => {
  audioServer = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const file = AUDIO_FILES[path] ?? join(ROOT, 'test/fixtures/audio', path.slice(1));
    readFile(file).then(
      (bytes) => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(bytes),
      () => res.writeHead(404).end('Not Found'),
    );
  });
  audioBase = await listen(audioServer);
  const refused = createServer();
  refusedBase = await listen(refused);
  await new Promise((resolve) => refused.close(resolve));
});

beforeEach(async () => {
  await useEmulator();
});

afterEach(async () => {
  await emulator.close();
});

afterAll(async () => {
  await new Promise((resolve) => audioServer.close(resolve));
});

describe('AssemblyAI emulator', () => {
  describe('submitting and polling', () => {
    it('answers a submit with a queued transcript shaped like the real API', async () => {
      const queued = await sdk().transcripts.submit({
        audio_url: audioUrl('hello.ogg'),
        speech_models: SPEECH_MODELS,
        speaker_labels: true,
        speakers_expected: 2,
      });

      expect(queued.status).toBe('queued');
      expect(queued.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(Object.keys(queued)).toEqual(expect.arrayContaining(REAL_QUEUED_FIELDS));
      expect(queued).toMatchObject({
        audio_url: audioUrl('hello.ogg'),
        speech_models: SPEECH_MODELS,
        speaker_labels: true,
        speakers_expected: 2,
        text: null,
        words: null,
        utterances: null,
      });
    });

    it('moves queued → processing → completed over processingDelayMs', async () => {
      await useEmulator({ processingDelayMs: 900 });
      const client = sdk();
      const { id } = await client.transcripts.submit({
        audio_url: audioUrl('hello.ogg'),
        speech_models: SPEECH_MODELS,
      });

      const first = await client.transcripts.get(id);
      await sleep(450);
      const middle = await client.transcripts.get(id);
      await sleep(600);
      const last = await client.transcripts.get(id);

      expect([first.status, middle.status, last.status]).toEqual(['queued', 'processing', 'completed']);
    });

    it('returns the known Russian two-speaker transcript for the bundled sample', async () => {
      const known = JSON.parse(await readFile(join(ROOT, 'local/sample/sample.transcript.json'), 'utf8'));

      const transcript = await transcribe('sample.ogg', {
        language_detection: true,
        language_detection_options: { expected_languages: ['ru', 'en'], fallback_language: 'ru' },
      });

      expect(transcript.status).toBe('completed');
      expect(transcript.text).toBe('Привет, как дела? Хорошо, спасибо. А у тебя? Тоже хорошо.');
      expect(transcript.language_code).toBe('ru');
      expect(transcript.speech_model_used).toBe('universal-2');
      expect(transcript.audio_duration).toBe(Math.round(known.audio_duration));
      expect(transcript.utterances?.map((u) => [u.speaker, u.text])).toEqual([
        ['A', 'Привет, как дела?'],
        ['B', 'Хорошо, спасибо. А у тебя?'],
        ['A', 'Тоже хорошо.'],
      ]);
      expect(transcript.utterances).toEqual(known.utterances);
      expect(transcript.words).toEqual(known.words);
    });

    it('recognises the sample by its bytes, whatever the URL and query string', async () => {
      const transcript = await transcribe('sample.ogg?X-Amz-Signature=abc&X-Amz-Expires=900');

      expect(transcript.utterances).toHaveLength(3);
    });

    it('returns a marked placeholder spanning the real duration for other audio', async () => {
      const transcript = await transcribe('hello.ogg', { language_code: 'en' });

      expect(transcript.status).toBe('completed');
      expect(transcript.text).toBe(PLACEHOLDER_TEXT);
      expect(transcript.language_code).toBe('en');
      expect(transcript.speech_model_used).toBe('universal-3-5-pro');
      expect(transcript.audio_duration).toBe(1);
      expect(transcript.utterances).toEqual([
        expect.objectContaining({ speaker: 'A', text: PLACEHOLDER_TEXT, start: 0, end: 1428 }),
      ]);
      expect(transcript.words?.map((w) => w.text).join(' ')).toBe(PLACEHOLDER_TEXT);
      expect(transcript.words?.every((w) => w.speaker === 'A')).toBe(true);
      expect(transcript.words?.at(-1)?.end).toBe(1428);
    });

    it('without speaker labels returns utterances null and words without a speaker', async () => {
      const transcript = await transcribe('sample.ogg', { speaker_labels: false, language_code: 'ru' });

      expect(transcript.status).toBe('completed');
      expect(transcript.utterances).toBeNull();
      expect(transcript.words?.length).toBeGreaterThan(0);
      expect(transcript.words?.every((w) => w.speaker === null)).toBe(true);
    });

    it.each([
      'hello.ogg',
      'hello.mp3',
      'hello.m4a',
      'hello.wav',
      'hello.webm',
      'hello.flac',
      'hello-ogg-named.mp3',
    ])('transcribes %s (format judged from the bytes)', async (name) => {
      const transcript = await transcribe(name);

      expect(transcript.status).toBe('completed');
      expect(transcript.text).toBe(PLACEHOLDER_TEXT);
    });
  });

  describe('rejected requests', () => {
    it('rejects a wrong API key with 401 and the real message, which the SDK throws', async () => {
      const sdkError = await caught(
        sdk('wrong-key').transcripts.submit({
          audio_url: audioUrl('hello.ogg'),
          speech_models: SPEECH_MODELS,
        }),
      );
      const raw = await rawRequest('GET', '/v2/transcript/any', undefined, 'wrong-key');

      expect(sdkError?.message).toBe('Authentication error, API token missing/invalid');
      expect(raw.status).toBe(401);
      expect(await raw.json()).toEqual({ error: 'Authentication error, API token missing/invalid' });
    });

    it('rejects a submit without speech_models with 400', async () => {
      const sdkError = await caught(
        sdk().transcripts.submit({ audio_url: audioUrl('hello.ogg') } as TranscriptParams),
      );
      const raw = await rawSubmit({ audio_url: audioUrl('hello.ogg'), speech_models: [] });

      expect(sdkError?.message).toBe('speech_models must be a non-empty list of supported model names');
      expect(raw.status).toBe(400);
      expect(await raw.json()).toEqual({ error: expect.stringContaining('speech_models') });
    });

    it.each([
      ['missing', { speech_models: SPEECH_MODELS }],
      ['not http(s)', { audio_url: 'file:///etc/passwd', speech_models: SPEECH_MODELS }],
      ['a local path', { audio_url: './hello.ogg', speech_models: SPEECH_MODELS }],
    ])('rejects an audio_url that is %s with 400', async (_, body) => {
      const raw = await rawSubmit(body);

      expect(raw.status).toBe(400);
      expect(await raw.json()).toEqual({ error: expect.stringContaining('audio_url') });
    });

    it('rejects a non-boolean speaker_labels with 400', async () => {
      const raw = await rawSubmit({
        audio_url: audioUrl('hello.ogg'),
        speech_models: SPEECH_MODELS,
        speaker_labels: 'yes',
      });

      expect(raw.status).toBe(400);
      expect(await raw.json()).toEqual({ error: 'speaker_labels must be a Boolean' });
    });

    it('answers an unknown transcript id with 400 and the lookup error', async () => {
      const sdkError = await caught(sdk().transcripts.get('00000000-0000-0000-0000-000000000000'));
      const raw = await rawRequest('GET', '/v2/transcript/nope');

      expect(sdkError?.message).toBe('Transcript lookup error, transcript id not found');
      expect(raw.status).toBe(400);
    });
  });

  describe('failed jobs', () => {
    it('ends with the real download error when audio_url answers 404', async () => {
      const url = audioUrl('missing.ogg');

      const transcript = await transcribe('missing.ogg');

      expect(transcript.status).toBe('error');
      expect(transcript.error).toBe(
        `Download error, unable to download ${url}. Please make sure the file exists and is accessible from the internet.`,
      );
    });

    it('ends with the download error when audio_url refuses the connection', async () => {
      const transcript = await sdk().transcripts.transcribe(
        { audio: `${refusedBase}/voice.ogg`, speech_models: SPEECH_MODELS },
        { pollingInterval: 10 },
      );

      expect(transcript.status).toBe('error');
      expect(transcript.error).toMatch(/^Download error, unable to download /);
    });

    it.each([
      ['not-audio.txt.mp3', 'text/plain'],
      ['page.html.ogg', 'text/html'],
      ['doc.pdf.mp3', 'application/pdf'],
      ['image.png.mp3', 'image/png'],
      ['archive.zip.ogg', 'application/zip'],
      ['random.mp3', 'application/octet-stream'],
      ['one-byte.ogg', 'application/octet-stream'],
      ['empty.mp3', 'application/x-empty'],
    ])('ends %s with "does not appear to contain audio" (%s)', async (name, mimeType) => {
      const transcript = await transcribe(name);

      expect(transcript.status).toBe('error');
      expect(transcript.error).toBe(
        `Transcoding failed. File does not appear to contain audio. File type is ${mimeType}.`,
      );
    });

    it.each(['tiny.ogg', 'truncated.ogg'])('ends %s with "Audio duration is too short."', async (name) => {
      const transcript = await transcribe(name);

      expect(transcript.status).toBe('error');
      expect(transcript.error).toBe('Audio duration is too short.');
    });
  });

  describe('fault modes', () => {
    it('rate-limit answers 429 with Retry-After and the real body', async () => {
      emulator.injectFault({ kind: 'rate-limit', retryAfterSeconds: 7 });

      const raw = await rawSubmit();
      const sdkError = await caught(
        sdk().transcripts.submit({ audio_url: audioUrl('hello.ogg'), speech_models: SPEECH_MODELS }),
      );

      expect(raw.status).toBe(429);
      expect(raw.headers.get('retry-after')).toBe('7');
      expect(await raw.json()).toEqual({ error: 'Too Many Requests' });
      expect(sdkError?.message).toBe('Too Many Requests');
    });

    it.each([500, 502, 503] as const)('server-error answers %i with the real body', async (status) => {
      emulator.injectFault({ kind: 'server-error', status });

      const raw = await rawSubmit();

      expect(raw.status).toBe(status);
      expect(await raw.json()).toEqual({ error: 'Internal Server Error' });
    });

    it('drop-connection makes the SDK fail with TypeError: fetch failed', async () => {
      emulator.injectFault({ kind: 'drop-connection' });

      const sdkError = await caught(
        sdk().transcripts.submit({ audio_url: audioUrl('hello.ogg'), speech_models: SPEECH_MODELS }),
      );

      expect(sdkError?.name).toBe('TypeError');
      expect(sdkError?.message).toBe('fetch failed');
      expect((sdkError?.cause as { code?: string } | undefined)?.code).toBe('UND_ERR_SOCKET');
      expect(emulator.stats().transcripts).toHaveLength(0);
    });

    it('slow creates the job at once and answers normally after the delay', async () => {
      emulator.injectFault({ kind: 'slow', delayMs: 300 });
      const started = Date.now();

      const answer = rawSubmit();
      await sleep(100);
      const createdBeforeTheAnswer = emulator.stats().transcripts.length;
      const raw = await answer;

      expect(createdBeforeTheAnswer).toBe(1);
      expect(raw.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('transcript-error ends the next job with status error and the given message', async () => {
      emulator.injectFault({
        kind: 'transcript-error',
        message: 'Server error, developers have been alerted.',
        times: 1,
      });

      const failed = await transcribe('hello.ogg');
      const next = await transcribe('hello.ogg');

      expect(failed.status).toBe('error');
      expect(failed.error).toBe('Server error, developers have been alerted.');
      expect(next.status).toBe('completed');
    });

    it('never-complete keeps the job processing past the delay', async () => {
      emulator.injectFault({ kind: 'never-complete', times: 1 });

      const wait = sdk().transcripts.transcribe(
        { audio: audioUrl('sample.ogg'), speech_models: SPEECH_MODELS },
        { pollingInterval: 20, pollingTimeout: 10 * DELAY_MS },
      );

      await expect(wait).rejects.toThrow('Polling timeout');
      const [job] = emulator.stats().transcripts;
      expect((await sdk().transcripts.get(job?.id ?? '')).status).toBe('processing');
    });

    it('applies a fault to the next `times` matching requests, then answers normally', async () => {
      emulator.injectFault({ kind: 'rate-limit', on: 'submit', times: 2 });

      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await rawSubmit()).status);

      expect(statuses).toEqual([429, 429, 200]);
      expect(emulator.stats().faults).toEqual({ 'rate-limit': 2 });
    });

    it('applies a fault only to the route named in `on`', async () => {
      emulator.injectFault({ kind: 'server-error', status: 503, on: 'get' });

      const submitted = await rawSubmit();
      const { id } = (await submitted.json()) as { id: string };
      const got = await rawRequest('GET', `/v2/transcript/${id}`);

      expect(submitted.status).toBe(200);
      expect(got.status).toBe(503);
    });

    it('fires probabilistic faults reproducibly for the same seed', async () => {
      const run = async () => {
        await useEmulator({ seed: 42, faults: [{ kind: 'server-error', probability: 0.5 }] });
        const statuses = [];
        for (let i = 0; i < 20; i += 1) statuses.push((await rawRequest('GET', '/v2/transcript/x')).status);
        return statuses;
      };

      const first = await run();
      const second = await run();

      expect(second).toEqual(first);
      expect(first).toContain(500);
      expect(first).toContain(400);
    });

    it('takes faults at start and clears them at run time', async () => {
      await useEmulator({ faults: [{ kind: 'server-error', status: 502 }] });

      const before = await rawSubmit();
      emulator.clearFaults();
      const after = await rawSubmit();

      expect([before.status, after.status]).toEqual([502, 200]);
    });

    it('refuses an invalid fault', () => {
      expect(() => emulator.injectFault({ kind: 'rate-limit', probability: 2 })).toThrow(RangeError);
    });

    it('parses the CLI fault form <kind>[:param]', () => {
      expect(parseFaultSpec('rate-limit:30')).toEqual({ kind: 'rate-limit', retryAfterSeconds: 30 });
      expect(parseFaultSpec('server-error:503')).toEqual({ kind: 'server-error', status: 503 });
      expect(parseFaultSpec('transcript-error:Boom: it broke')).toEqual({
        kind: 'transcript-error',
        message: 'Boom: it broke',
      });
      expect(() => parseFaultSpec('server-error:418')).toThrow(RangeError);
      expect(() => parseFaultSpec('meteor')).toThrow(RangeError);
    });
  });

  describe('deleting', () => {
    it('removes the text, words and utterances, and later GETs show it deleted', async () => {
      const client = sdk();
      const completed = await transcribe('sample.ogg');

      const deleted = await client.transcripts.delete(completed.id);
      const later = await client.transcripts.get(completed.id);

      expect(deleted).toMatchObject({
        id: completed.id,
        audio_url: 'http://deleted_by_user',
        text: 'Deleted by user.',
        words: null,
        utterances: null,
        audio_duration: completed.audio_duration,
      });
      expect(later).toEqual(deleted);
    });
  });

  describe('observability', () => {
    it('counts requests and records audio paths without the presigned query', async () => {
      const client = sdk();
      const transcript = await transcribe('sample.ogg?X-Amz-Signature=topsecret');
      await client.transcripts.delete(transcript.id);

      const stats = emulator.stats();

      expect(stats.submissions).toBe(1);
      expect(stats.gets).toBeGreaterThanOrEqual(1);
      expect(stats.deletes).toBe(1);
      expect(stats.transcripts).toEqual([{ id: transcript.id, audioPath: '/sample.ogg', options: {} }]);
      expect(JSON.stringify(stats)).not.toContain('topsecret');
    });

    it('logs method, path and status when verbose, never the query string or the API key', async () => {
      const lines: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) =>
        lines.push(String(chunk)) > 0) as typeof process.stderr.write;
      try {
        await useEmulator({ verbose: true, apiKey: 'super-secret-key' });
        await transcribe('sample.ogg?X-Amz-Signature=topsecret');
      } finally {
        process.stderr.write = write;
      }

      const log = lines.join('');
      expect(log).toContain('POST /v2/transcript 200');
      expect(log).toContain('download /sample.ogg audio');
      expect(log).not.toContain('topsecret');
      expect(log).not.toContain('super-secret-key');
    });
  });

  describe('lost answers and the transcript list', () => {
    it('creates the job on lose-response but drops the connection before answering', async () => {
      emulator.injectFault({ kind: 'lose-response', on: 'submit', times: 1 });

      const lost = await caught(rawSubmit());
      const answered = await rawSubmit();

      expect(String(lost)).toMatch(/fetch failed|terminated|socket/i);
      expect(answered.status).toBe(200);
      expect(emulator.stats().transcripts).toHaveLength(2);
      expect(emulator.stats().faults['lose-response']).toBe(1);
    });

    it('lists transcripts newest first with their audio_url, as GET /v2/transcript does', async () => {
      const first = (await (await rawSubmit()).json()) as { id: string };
      await sleep(5);
      const second = (await (
        await rawSubmit({ audio_url: audioUrl('hello.mp3'), speech_models: SPEECH_MODELS })
      ).json()) as {
        id: string;
      };

      const page = await sdk().transcripts.list({ limit: 10 });

      expect(page.transcripts.map((t) => t.id)).toEqual([second.id, first.id]);
      expect(page.transcripts[0]?.audio_url).toBe(audioUrl('hello.mp3'));
      expect(page.transcripts[0]?.created).toBeInstanceOf(Date);
    });
  });
});

describe('redacted (the emulator’s PII redaction)', () => {
  const words = ['Звоните', 'Ивану:', '+7(916)1234567.'].map((text, i) => ({
    text,
    start: i * 500,
    end: i * 500 + 400,
    confidence: 0.9,
    speaker: 'A',
  }));
  const content = {
    language_code: 'ru',
    audio_duration: 1.5,
    text: words.map((w) => w.text).join(' '),
    confidence: 0.9,
    words,
    utterances: [{ speaker: 'A', text: '', start: 0, end: 1400, confidence: 0.9, words }],
  };

  it('hashes by default, one # per character, and keeps the punctuation', () => {
    expect(redacted(content, ['phone_number']).text).toBe('Звоните Ивану: ##############.');
  });

  it('names the entity with entity_name, only for the policies asked for, in words and utterances alike', () => {
    const out = redacted(content, ['phone_number'], 'entity_name');

    expect(out.words.map((w) => w.text)).toEqual(['Звоните', 'Ивану:', '[PHONE_NUMBER].']);
    expect(out.utterances[0]?.text).toBe(out.text);
  });
});

describe('boosted (the emulator’s keyterms prompting)', () => {
  const heard = (tokens: string[]) => {
    const words = tokens.map((text, i) => ({
      text,
      start: i * 500,
      end: i * 500 + 400,
      confidence: 0.9,
      speaker: i < 3 ? 'A' : 'B',
    }));
    return {
      language_code: 'en',
      audio_duration: tokens.length / 2,
      text: tokens.join(' '),
      confidence: 0.9,
      words,
      utterances: [
        { speaker: 'A', text: '', start: 0, end: 1400, confidence: 0.9, words: words.slice(0, 3) },
        { speaker: 'B', text: '', start: 1500, end: 2900, confidence: 0.9, words: words.slice(3) },
      ],
    };
  };

  it('gives a near miss the term’s spelling, keeping its punctuation, in words, utterances and text', () => {
    const out = boosted(heard(['We', 'run', 'kubernetis.', 'Ask', 'wisevoice', 'now']), [
      'Kubernetes',
      'WiseVoice',
    ]);

    expect(out.words.map((w) => w.text)).toEqual(['We', 'run', 'Kubernetes.', 'Ask', 'WiseVoice', 'now']);
    expect(out.utterances.map((u) => u.text)).toEqual(['We run Kubernetes.', 'Ask WiseVoice now']);
    expect(out.text).toBe('We run Kubernetes. Ask WiseVoice now');
  });

  it('boosts a phrase only where all its words are heard in a row', () => {
    const out = boosted(heard(['step', 'function,', 'then', 'step', 'back', 'Functions']), [
      'Step Functions',
    ]);

    expect(out.text).toBe('Step Functions, then step back Functions');
  });

  it('leaves words that are not close: short ones must match, long ones may be two letters off', () => {
    expect(boosted(heard(['the', 'cat', 'sat', 'on', 'a', 'mat']), ['bat', 'Mats']).text).toBe(
      'the cat sat on a Mats',
    );
    expect(boosted(heard(['transkripshun', 'is', 'hard', 'x', 'y', 'z']), ['transcription']).text).toBe(
      'transkripshun is hard x y z',
    );
    expect(boosted(heard(['transcripshon', 'is', 'hard', 'x', 'y', 'z']), ['transcription']).text).toBe(
      'transcription is hard x y z',
    );
  });
});
