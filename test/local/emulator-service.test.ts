/**
 * The emulator behaves like AssemblyAI where the workflow's tests depend on it: jobs exist once the
 * POST arrives, deletion, the list endpoint, speech-model routing, language detection, request
 * validation — and the fault kinds issue 8 needs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyJobError } from '../../lambdas/shared/assemblyai.js';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import { HUGE_ERROR_BYTES, parseFaultSpec } from '../../local/assemblyai-emulator/faults.js';
import { PLACEHOLDER_TEXT, type TranscriptContent } from '../../local/assemblyai-emulator/transcripts.js';
import { audioDigest, heardContent } from '../support/heard.js';
import { compileSpec, readFixture } from './assemblyai-spec.js';
import { caught, EmulatorUnderTest, ROOT, SPEECH_MODELS, sleep, startAudioHost } from './emulator-support.js';

type Body = Record<string, unknown>;

const harness = new EmulatorUnderTest();
let audio: Awaited<ReturnType<typeof startAudioHost>>;

const json = async (response: Response | Promise<Response>) => (await (await response).json()) as Body;
const submit = (body: Body) =>
  harness.request('POST', '/v2/transcript', { speech_models: SPEECH_MODELS, ...body });
const submitted = async (body: Body) => {
  const response = await submit(body);
  expect(response.status).toBe(200);
  return json(response);
};
const list = (query = '') => json(harness.request('GET', `/v2/transcript${query}`));
const ids = (page: Body) => (page.transcripts as { id: string }[]).map((t) => t.id);

beforeAll(async () => {
  audio = await startAudioHost();
});

beforeEach(async () => {
  await harness.start();
});

afterEach(async () => {
  await harness.close();
});

afterAll(async () => {
  await audio.close();
});

describe('AssemblyAI emulator, like the service', () => {
  describe('a job exists once the POST has arrived', () => {
    it('slow: the job is created and listed although the client gave up before the answer', async () => {
      harness.emulator.injectFault({ kind: 'slow', delayMs: 400, on: 'submit', times: 1 });

      const patient = await caught(submit({ audio_url: audio.url('hello.ogg') }).then((r) => r.json()));
      // and one the client aborts, as a Lambda that times out would
      harness.emulator.injectFault({ kind: 'slow', delayMs: 400, on: 'submit', times: 1 });
      const aborted = await caught(
        harness.request(
          'POST',
          '/v2/transcript',
          { audio_url: audio.url('hello.mp3'), speech_models: SPEECH_MODELS },
          {
            signal: AbortSignal.timeout(50),
          },
        ),
      );
      await sleep(450);
      const page = await list();

      expect(patient).toBeUndefined();
      expect(aborted?.name).toBe('TimeoutError');
      expect(harness.emulator.stats().transcripts).toHaveLength(2);
      expect((page.transcripts as { audio_url: string }[]).map((t) => t.audio_url)).toEqual([
        audio.url('hello.mp3'),
        audio.url('hello.ogg'),
      ]);
    });

    it('lose-response and slow both create the job; drop-connection and server-error do not', async () => {
      const outcomes = [];
      for (const fault of [
        { kind: 'lose-response' },
        { kind: 'slow', delayMs: 10 },
        { kind: 'drop-connection' },
        { kind: 'server-error' },
      ] as const) {
        harness.emulator.injectFault({ ...fault, on: 'submit', times: 1 });
        const before = harness.emulator.stats().transcripts.length;
        await caught(submit({ audio_url: audio.url('hello.ogg') }));
        outcomes.push([fault.kind, harness.emulator.stats().transcripts.length - before]);
      }

      expect(outcomes).toEqual([
        ['lose-response', 1],
        ['slow', 1],
        ['drop-connection', 0],
        ['server-error', 0],
      ]);
    });
  });

  describe('DELETE', () => {
    it("leaves AssemblyAI's deleted form, field for field as the recorded one, for GET and list", async () => {
      const recorded = readFixture('deleted.go-sdk-testdata.json');
      const job = await submitted({
        audio_url: audio.url('sample.ogg'),
        webhook_url: 'https://example.com/hook',
      });
      const done = await harness.finished(String(job.id));

      const deleted = await json(harness.request('DELETE', `/v2/transcript/${job.id}`));
      const later = await json(harness.request('GET', `/v2/transcript/${job.id}`));
      const [item] = (await list()).transcripts as Body[];

      const expected = { ...recorded, id: job.id, audio_duration: done.audio_duration };
      expect(Object.fromEntries(Object.keys(recorded).map((k) => [k, deleted[k]]))).toEqual(expected);
      expect(later).toEqual(deleted);
      expect(item).toMatchObject({ id: job.id, status: 'completed', audio_url: 'http://deleted_by_user' });
      expect(JSON.stringify(deleted)).not.toContain(audio.url('sample.ogg'));
      expect(harness.emulator.stats()).toMatchObject({ deletes: 1, deletesSucceeded: 1 });
    });

    it('keeps the error of a deleted failed job (undocumented: the emulator assumes the worst for privacy)', async () => {
      const job = await submitted({ audio_url: `${audio.url('missing.ogg')}?X-Amz-Signature=abc` });
      await harness.finished(String(job.id));

      const deleted = await json(harness.request('DELETE', `/v2/transcript/${job.id}`));

      expect(deleted).toMatchObject({
        status: 'error',
        audio_url: 'http://deleted_by_user',
        text: 'Deleted by user.',
      });
      expect(deleted.error).toMatch(/^Download error, unable to download .*X-Amz-Signature=abc/);
    });

    it('refuse-delete-while-processing: 400 for a queued job, a finished one is deleted', async () => {
      harness.emulator.injectFault({ kind: 'refuse-delete-while-processing', times: 1 });
      const finished = await submitted({ audio_url: audio.url('hello.ogg') });
      await harness.finished(String(finished.id));
      const queued = await submitted({ audio_url: audio.url('hello.ogg') });

      const deletedFinished = await harness.request('DELETE', `/v2/transcript/${finished.id}`);
      const refused = await harness.request('DELETE', `/v2/transcript/${queued.id}`);
      const sdkError = await caught(harness.sdk().transcripts.delete(String(queued.id)));

      expect(deletedFinished.status).toBe(200);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({
        error:
          'Transcript is still being processed and cannot be deleted. Wait until its status is completed or error, then delete it.',
      });
      expect(sdkError).toBeUndefined(); // times: 1 — the next delete goes through
      expect(harness.emulator.stats()).toMatchObject({
        deletes: 3,
        deletesSucceeded: 2,
        faults: { 'refuse-delete-while-processing': 1 },
      });
    });
  });

  describe('GET /v2/transcript (list)', () => {
    async function threeJobs() {
      const created = [];
      for (const name of ['hello.ogg', 'missing.ogg', 'hello.mp3']) {
        created.push(String((await submitted({ audio_url: audio.url(name) })).id));
        await sleep(3);
      }
      return created as [string, string, string];
    }

    it('pages newest first through prev_url (older) and next_url (newer), as the recordings link them', async () => {
      const [oldest, middle, newest] = await threeJobs();

      const first = await list('?limit=2');
      const details = first.page_details as Body;
      const older = await json(
        fetch(String(details.prev_url), { headers: { Authorization: harness.emulator.apiKey } }),
      );
      const newer = await json(
        fetch(String((older.page_details as Body).next_url), {
          headers: { Authorization: harness.emulator.apiKey },
        }),
      );

      expect(ids(first)).toEqual([newest, middle]);
      expect(details).toEqual({
        limit: 2,
        result_count: 2,
        current_url: `${harness.emulator.url}/v2/transcript?limit=2`,
        prev_url: `${harness.emulator.url}/v2/transcript?limit=2&before_id=${middle}`,
        next_url: `${harness.emulator.url}/v2/transcript?limit=2&after_id=${newest}`,
      });
      expect(ids(older)).toEqual([oldest]);
      expect(ids(newer)).toEqual([newest, middle]);
      expect(ids(await list(`?after_id=${oldest}&before_id=${newest}`))).toEqual([middle]);
    });

    it('filters by status and created_on, and refuses bad limits and id order with 400', async () => {
      const [oldest, middle, newest] = await threeJobs();
      for (const id of [oldest, middle, newest]) await harness.finished(id);
      const today = new Date().toISOString().slice(0, 10);

      const errors = await list('?status=error');
      const completed = await list('?status=completed');
      const createdToday = await list(`?created_on=${today}`);
      const createdLongAgo = await list('?created_on=2001-01-01');
      const refusals = await Promise.all(
        ['?limit=0', '?limit=201', '?status=done', `?after_id=${newest}&before_id=${oldest}`].map((q) =>
          harness.request('GET', `/v2/transcript${q}`),
        ),
      );

      expect(ids(errors)).toEqual([middle]);
      expect((errors.transcripts as Body[])[0]?.error).toMatch(/^Download error/);
      expect(ids(completed)).toEqual([newest, oldest]);
      expect(ids(createdToday)).toHaveLength(3);
      expect(ids(createdLongAgo)).toEqual([]);
      expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400]);
      expect(await refusals[3]?.json()).toEqual({
        error: "'after_id' must be a newer transcript than 'before_id'",
      });
    });

    it('gives stable created/completed times: completed is when the job completed, not now', async () => {
      const { id } = await submitted({ audio_url: audio.url('hello.ogg') });
      await harness.finished(String(id));

      const [first] = (await list()).transcripts as Body[];
      await sleep(120);
      const [again] = (await list()).transcripts as Body[];

      expect(again).toEqual(first);
      expect(first?.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
      const created = Date.parse(`${String(first?.created)}Z`);
      const completedAt = Date.parse(`${String(first?.completed)}Z`);
      expect(completedAt - created).toBeGreaterThanOrEqual(50);
      expect(completedAt).toBeLessThan(Date.now() - 100);
    });
  });

  describe('speech models', () => {
    it("accepts the workflow's default models and routes by language", async () => {
      const english = await harness.transcribe(audio.url('hello.ogg'), { language_code: 'en_us' });
      const russian = await harness.transcribe(audio.url('sample.ogg'), { language_code: 'ru' });

      expect(english.speech_models).toEqual([...DEFAULT_SPEECH_MODELS]);
      expect([english.speech_model_used, russian.speech_model_used]).toEqual([
        'universal-3-5-pro',
        'universal-2',
      ]);
    });

    it('refuses the deprecated universal-3-pro with the exact AssemblyAI text', async () => {
      const response = await submit({
        audio_url: audio.url('hello.ogg'),
        speech_models: ['universal-3-pro', 'universal-2'],
      });

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error:
          'The "universal-3-pro" speech model(s) have been deprecated. Use speech_models: ["universal-3-5-pro", "universal-2"] instead.',
      });
      expect(harness.emulator.stats().transcripts).toEqual([]);
    });

    it('refuses unknown model names, and a language none of the listed models covers', async () => {
      const unknown = await submit({ audio_url: audio.url('hello.ogg'), speech_models: ['universal-9'] });
      const uncovered = await submit({
        audio_url: audio.url('sample.ogg'),
        speech_models: ['universal-3-5-pro'],
        language_code: 'ru',
      });

      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as Body).error).toMatch(/^Unknown speech model\(s\) "universal-9"/);
      expect(uncovered.status).toBe(400);
      expect(await uncovered.json()).toEqual({
        error:
          'The requested speech_models (universal-3-5-pro) do not support language_code "ru". Models that do: universal-2.',
      });
    });
  });

  describe('language', () => {
    const detect = (name: string, options?: Body, extra: Body = {}) =>
      harness.transcribe(audio.url(name), {
        language_detection: true,
        ...(options && { language_detection_options: options }),
        ...extra,
      });

    it('refuses a language_code AssemblyAI does not publish, with its text', async () => {
      const response = await submit({ audio_url: audio.url('hello.ogg'), language_code: 'Russian' });

      expect(response.status).toBe(400);
      expect(((await response.json()) as Body).error).toMatch(
        /^language_code must be one of en, en_au, en_uk, .*, yo\.$/,
      );
    });

    it('detects short audio unreliably: the Russian sample comes back Ukrainian and unsure without expected languages', async () => {
      const bare = await detect('sample.ogg');
      const constrained = await detect('sample.ogg', {
        expected_languages: ['ru', 'en'],
        fallback_language: 'ru',
      });

      expect([bare.language_code, bare.language_confidence]).toEqual(['uk', 0.46]);
      expect([constrained.language_code, constrained.language_confidence]).toEqual(['ru', 0.41]);
      expect(constrained.speech_model_used).toBe('universal-2');
    });

    it('uses the fallback language when none of the expected languages is heard', async () => {
      const withFallback = await detect('sample.ogg', {
        expected_languages: ['en', 'de'],
        fallback_language: 'ru',
      });
      const withAuto = await detect('sample.ogg', {
        expected_languages: ['en', 'de'],
        fallback_language: 'auto',
      });

      expect(withFallback.language_code).toBe('ru');
      expect(withAuto.language_code).toBe('en');
      expect(withAuto.language_confidence).toBeLessThan(0.1);
    });

    it('detects audio of 15 s or more reliably, in the language the emulator is told it is', async () => {
      const english = await detect('silence-20s.wav');
      await harness.start({ spokenLanguage: 'de' });
      const german = await detect('silence-20s.wav');

      expect([english.language_code, english.language_confidence]).toEqual(['en', 0.97]);
      expect([german.language_code, german.language_confidence, german.audio_duration]).toEqual([
        'de',
        0.97,
        20,
      ]);
    });

    it('ends the job with status error when detection is less sure than language_confidence_threshold', async () => {
      const failed = await detect(
        'sample.ogg',
        { expected_languages: ['ru', 'en'], fallback_language: 'ru' },
        { language_confidence_threshold: 0.5 },
      );

      expect(failed.status).toBe('error');
      expect(failed.error).toBe(
        "detected language 'ru', confidence 0.4100, is below the requested confidence threshold value of '0.5'",
      );
      expect(classifyJobError(failed.error).message).toMatch(
        /could not be recognised with enough confidence/,
      );
    });

    it('reports language and model only once known: absent/null while queued, set when completed', async () => {
      const detecting = await submitted({ audio_url: audio.url('sample.ogg'), language_detection: true });
      const given = await submitted({ audio_url: audio.url('sample.ogg'), language_code: 'ru' });
      const detected = await harness.finished(String(detecting.id));
      const known = await harness.finished(String(given.id));

      expect(detecting).not.toHaveProperty('language_code');
      expect(detecting).not.toHaveProperty('speech_model_used');
      expect(detecting.language_confidence).toBeNull();
      expect(given).toMatchObject({ language_code: 'ru', language_confidence: null });
      expect(given).not.toHaveProperty('speech_model_used');
      expect(detected).toMatchObject({
        language_code: 'uk',
        language_confidence: 0.46,
        speech_model_used: 'universal-2',
      });
      expect(known).toMatchObject({
        language_code: 'ru',
        language_confidence: null,
        speech_model_used: 'universal-2',
      });
    });
  });

  it('transcribes audio of unknown duration instead of refusing it', async () => {
    await harness.start({
      inspectAudio: async () => ({ ok: true, durationSeconds: null, sha256: 'stream-without-duration' }),
    });

    const transcript = await harness.transcribe(audio.url('hello.webm'));

    expect(transcript.status).toBe('completed');
    expect(transcript.text).toBe(PLACEHOLDER_TEXT);
    expect(transcript.audio_duration).toEqual(expect.any(Number));
  });

  describe('request options a finished job honours', () => {
    const HELLO = readFileSync(join(ROOT, 'test/fixtures/audio/hello.ogg'));
    const knowHello = (content: TranscriptContent) =>
      harness.emulator.addKnownTranscript(audioDigest(HELLO), content);

    it('keyterms: the boosted spelling where the model boosts the language, nothing where it does not', async () => {
      knowHello(heardContent(['deploy', 'wise', 'voice', 'with', 'kubernetis'], 'en'));
      const english = await submitted({
        audio_url: audio.url('hello.ogg'),
        language_code: 'en',
        keyterms_prompt: ['Kubernetes'],
      });
      // Russian runs on Universal-2, which boosts English only: AssemblyAI takes the terms and ignores them.
      const russian = await submitted({
        audio_url: audio.url('hello.ogg'),
        language_code: 'ru',
        keyterms_prompt: ['Kubernetes'],
      });

      expect(await harness.finished(String(english.id))).toMatchObject({
        status: 'completed',
        speech_model_used: 'universal-3-5-pro',
        text: 'deploy wise voice with Kubernetes',
      });
      expect(await harness.finished(String(russian.id))).toMatchObject({
        status: 'completed',
        speech_model_used: 'universal-2',
        text: 'deploy wise voice with kubernetis',
      });
    });

    it('PII redaction: a job error in a language AssemblyAI does not redact, given or detected', async () => {
      knowHello(heardContent(['สวัสดี', 'Anna'], 'th'));
      const given = await submitted({
        audio_url: audio.url('hello.ogg'),
        language_code: 'th',
        redact_pii: true,
        redact_pii_policies: ['person_name'],
      });
      const detected = await submitted({
        audio_url: audio.url('hello.ogg'),
        language_detection: true,
        language_detection_options: { expected_languages: ['th', 'ru'] },
        redact_pii: true,
        redact_pii_policies: ['person_name'],
      });
      const russian = await submitted({
        audio_url: audio.url('hello.ogg'),
        language_code: 'ru',
        redact_pii: true,
        redact_pii_policies: ['person_name'],
        redact_pii_sub: 'entity_name',
      });

      expect(await harness.finished(String(given.id))).toMatchObject({
        status: 'error',
        error: "PII redaction is not supported for language_code 'th'.",
        text: null,
      });
      expect(await harness.finished(String(detected.id))).toMatchObject({
        status: 'error',
        language_code: 'th',
      });
      expect(await harness.finished(String(russian.id))).toMatchObject({
        status: 'completed',
        text: 'สวัสดี [PERSON_NAME]',
      });
    });
  });

  describe('submit validation', () => {
    const MODELS = ['universal-3-5-pro', 'universal-2'];
    it.each([
      [{ format_text: 'yes' }, 'format_text must be a Boolean'],
      [{ speakers_expected: 0 }, 'speakers_expected must be a positive Integer'],
      [{ language_confidence_threshold: '0.5' }, 'language_confidence_threshold must be a Number'],
      [{ language_confidence_threshold: 1.5 }, 'language_confidence_threshold must be between 0 and 1'],
      [{ webhook_url: 42 }, 'webhook_url must be a String'],
      [{ language_detection_options: ['ru'] }, 'language_detection_options must be an Object'],
      [{ language_detection_options: { expected_languages: 'ru' } }, 'expected_languages must be a List'],
      [{ speech_models: 'universal-2' }, 'speech_models must be a non-empty list of supported model names'],
      [
        { speech_models: MODELS, speaker_options: { min_speakers: 2 } },
        'speaker_options.min_speakers is not a valid option',
      ],
      [
        { speech_models: MODELS, speaker_options: { min_speakers_expected: 3, max_speakers_expected: 2 } },
        'max_speakers_expected must be greater than or equal to min_speakers_expected',
      ],
      [
        { speech_models: MODELS, speaker_options: { max_speakers_expected: 0 } },
        'speaker_options.max_speakers_expected must be a positive Integer',
      ],
      [
        { speech_models: MODELS, keyterms_prompt: ['ok', ''] },
        'keyterms_prompt must be a List of non-empty Strings',
      ],
      [
        { speech_models: MODELS, redact_pii: true, redact_pii_policies: ['person_name', 'social_credit'] },
        expect.stringMatching(/^redact_pii_policies must be a List of account_number, /),
      ],
      [
        { speech_models: MODELS, redact_pii: true, redact_pii_sub: 'mask' },
        'redact_pii_sub must be one of entity_name, hash',
      ],
      [
        { speech_models: ['universal-2'], keyterms_prompt: Array.from({ length: 201 }, (_, i) => `t${i}`) },
        'keyterms_prompt must contain no more than 200 WORDS',
      ],
    ])('refuses %j with 400 "%s"', async (fields, message) => {
      const response = await submit({ audio_url: audio.url('hello.ogg'), ...fields });

      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: message });
    });

    it('accepts fields the spec does not define and records their names', async () => {
      const response = await submit({
        audio_url: audio.url('hello.ogg'),
        speaker_label: true,
        colour: 'blue',
      });

      expect(response.status).toBe(200);
      expect(harness.emulator.stats().unknownSubmitFields).toEqual(['speaker_label', 'colour']);
    });
  });
});

describe('fault kinds for broken answers (issue 8)', () => {
  const spec = compileSpec();

  it.each([
    ['empty-object', 'application/json', {}],
    ['json-string', 'application/json', 'completed'],
    ['no-status', 'application/json', expect.not.objectContaining({ status: expect.anything() })],
    ['unknown-status', 'application/json', expect.objectContaining({ status: 'transcribing' })],
  ] as const)(
    'malformed-answer:%s answers 200 with a body that is not a usable transcript',
    async (variant, type, body) => {
      const { id } = await submitted({ audio_url: audio.url('hello.ogg') });
      harness.emulator.injectFault(parseFaultSpec(`malformed-answer:${variant}`));

      const response = await harness.request('GET', `/v2/transcript/${id}`);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      const answer: unknown = await response.json();
      expect(answer).toEqual(body);
      expect(spec.validate('Transcript', answer)).not.toEqual([]);
    },
  );

  it('malformed-answer:html answers 200 with an HTML page, and a submit still creates its job', async () => {
    harness.emulator.injectFault({ kind: 'malformed-answer', variant: 'html', on: 'submit', times: 1 });

    const response = await submit({ audio_url: audio.url('hello.ogg') });
    const sdkError = await caught(
      harness.sdk().transcripts.get(harness.emulator.stats().transcripts[0]?.id ?? ''),
    );

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toMatch(/^<!DOCTYPE html>/);
    expect(harness.emulator.stats().transcripts).toHaveLength(1);
    expect(sdkError).toBeUndefined();
  });

  it('huge-error (job) ends the job with status error and a 300 KB error text', async () => {
    harness.emulator.injectFault(parseFaultSpec('huge-error'));

    const transcript = await harness.transcribe(audio.url('hello.ogg'));

    expect(transcript.status).toBe('error');
    expect(transcript.error).toHaveLength(HUGE_ERROR_BYTES);
    expect(transcript.error).toMatch(/^Server error, developers have been alerted\./);
  });

  it('huge-error:http answers HTTP 500 with a body over 300 KB, and creates no job', async () => {
    harness.emulator.injectFault(parseFaultSpec('huge-error:http'));

    const response = await submit({ audio_url: audio.url('hello.ogg') });
    const body = await response.text();

    expect(response.status).toBe(500);
    expect(body.length).toBeGreaterThan(HUGE_ERROR_BYTES);
    expect((JSON.parse(body) as Body).error).toMatch(/^Internal Server Error/);
    expect(harness.emulator.stats()).toMatchObject({ transcripts: [], faults: { 'huge-error': 1 } });
  });

  it.each([
    ['null-fields', { speaker: 1, text: null, start: null }],
    ['missing-end', { speaker: 'A', text: 'Hello', start: 0 }],
    ['negative-times', { start: -500, end: -1200 }],
  ] as const)(
    'malformed-transcript:%s completes with words and utterances that break the contract',
    async (variant, broken) => {
      harness.emulator.injectFault(parseFaultSpec(`malformed-transcript:${variant}`));

      const transcript = (await harness.transcribe(audio.url('sample.ogg'))) as unknown as Body;

      expect(transcript.status).toBe('completed');
      expect((transcript.words as Body[])[0]).toMatchObject(broken);
      expect((transcript.utterances as Body[])[0]).toMatchObject(broken);
      if (variant === 'missing-end') expect((transcript.words as Body[])[0]).not.toHaveProperty('end');
      if (variant !== 'negative-times') expect(spec.validate('Transcript', transcript)).not.toEqual([]);
    },
  );

  it('parses the new kinds from the CLI form and refuses unknown variants', () => {
    expect(parseFaultSpec('malformed-answer:html')).toEqual({ kind: 'malformed-answer', variant: 'html' });
    expect(parseFaultSpec('huge-error:http')).toEqual({ kind: 'huge-error', variant: 'http' });
    expect(parseFaultSpec('huge-error:job')).toEqual({ kind: 'huge-error', variant: 'job' });
    expect(parseFaultSpec('malformed-transcript:negative-times')).toEqual({
      kind: 'malformed-transcript',
      variant: 'negative-times',
    });
    expect(parseFaultSpec('refuse-delete-while-processing')).toEqual({
      kind: 'refuse-delete-while-processing',
    });
    expect(() => parseFaultSpec('malformed-answer:xml')).toThrow(RangeError);
    expect(() => parseFaultSpec('huge-error:tiny')).toThrow(RangeError);
  });
});
