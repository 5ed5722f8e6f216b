/**
 * The emulator against AssemblyAI's published OpenAPI spec: every body it answers and every submit
 * body the workflow sends validates, and so do the recorded real responses (which proves the
 * validator set-up; where they disagree with the spec, the recordings win — see assemblyai-spec.ts).
 */
import { createAssemblyAIProvider, type LanguageDetectionPolicy } from '../../lambdas/shared/assemblyai.js';
import {
  DEFAULT_EXPECTED_LANGUAGES,
  DEFAULT_FALLBACK_LANGUAGE,
} from '../../lambdas/shared/assemblyai-catalog.js';
import {
  compileSpec,
  describeErrors,
  REAL_RESPONSE_CORRECTIONS,
  readFixture,
  requiredBySpec,
  type SchemaName,
} from './assemblyai-spec.js';
import { EmulatorUnderTest, SPEECH_MODELS, sleep, startAudioHost } from './emulator-support.js';

const validators = compileSpec();
const asPublished = compileSpec({ corrected: false });

const errorsOf = (name: SchemaName, value: unknown) => describeErrors(validators.validate(name, value));

/** The Go SDK's test data uses `TRANSCRIPT_ID` placeholders where the service sends UUIDs. */
function withUuids<T>(value: T): T {
  let n = 0;
  const ids = new Map<string, string>();
  const uuid = (placeholder: string) => {
    if (!ids.has(placeholder))
      ids.set(placeholder, `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
    return ids.get(placeholder) as string;
  };
  return JSON.parse(JSON.stringify(value).replace(/TRANSCRIPT_ID(_\d+)?/g, uuid)) as T;
}

const RECORDED_TRANSCRIPTS = [
  'completed-diarized.openapi-Transcript-example.json',
  'completed-universal2-no-diarization.cli-fixture.json',
  'queued.go-sdk-testdata.json',
  'deleted.go-sdk-testdata.json',
];

/** The docs show only some fields of a failed transcript: lay them over a recorded one. */
const DOCS_ERROR_EXCERPTS = [
  'error-download.docs-common-errors.json',
  'error-too-short.docs-common-errors.json',
];

describe('the spec validators, proven on recorded AssemblyAI responses', () => {
  it.each(RECORDED_TRANSCRIPTS)('accept the recorded transcript %s', (name) => {
    expect(errorsOf('Transcript', withUuids(readFixture(name)))).toEqual([]);
  });

  it.each(DOCS_ERROR_EXCERPTS)('accept the documented failed transcript %s', (name) => {
    const failed = { ...withUuids(readFixture('queued.go-sdk-testdata.json')), ...readFixture(name) };

    expect(errorsOf('Transcript', failed)).toEqual([]);
  });

  it('accept the recorded list page', () => {
    expect(errorsOf('TranscriptList', withUuids(readFixture('list.go-sdk-testdata.json')))).toEqual([]);
  });

  it('find the CLI list fixture differs from the wire format only in zone-suffixed times', () => {
    // AssemblyAI/cli re-renders the list (an array, times as Go's RFC 3339 with Z, error ""); the
    // wire format has no zone (spec pattern, Go SDK recording), which the emulator keeps.
    const items = readFixture<unknown[]>('list.cli-fixture.json');

    const errors = items.flatMap((item) => describeErrors(validators.validate('TranscriptListItem', item)));

    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors.map((e) => e.split(' ')[0]))).toEqual(new Set(['/created', '/completed']));
  });

  it('reject the recordings without the corrections, exactly where each correction says', () => {
    const recordings = [
      ...RECORDED_TRANSCRIPTS.map((name) => ['Transcript', withUuids(readFixture(name))] as const),
      ['TranscriptList', withUuids(readFixture('list.go-sdk-testdata.json'))] as const,
    ];
    const problems = new Set(
      recordings.flatMap(([schema, value]) =>
        asPublished.validate(schema, value).map((e) => {
          if (e.keyword === 'required') return `missing ${String(e.params.missingProperty)}`;
          if (e.keyword === 'additionalProperties') return `extra ${String(e.params.additionalProperty)}`;
          return `invalid ${e.instancePath.split('/').at(-1)}`;
        }),
      ),
    );

    const unneeded = REAL_RESPONSE_CORRECTIONS.filter(({ kind, property }) => {
      if (kind === 'not-required') return !problems.has(`missing ${property}`);
      if (kind === 'undocumented') return !problems.has(`extra ${property}`);
      return !problems.has(`invalid ${property}`);
    });
    expect(unneeded).toEqual([]);
  });

  it('reject what the service never sends: a number as text, a word without times, an unknown status', () => {
    const completed = withUuids(readFixture('completed-diarized.openapi-Transcript-example.json'));
    const [word] = completed.words as Record<string, unknown>[];

    expect(errorsOf('Transcript', { ...completed, text: 42 })).toContain('/text must be string,null');
    expect(
      errorsOf('Transcript', { ...completed, words: [{ ...word, start: null }] }).length,
    ).toBeGreaterThan(0);
    expect(errorsOf('Transcript', { ...completed, status: 'transcribing' }).length).toBeGreaterThan(0);
  });
});

describe('the emulator, validated against the spec', () => {
  const harness = new EmulatorUnderTest();
  let audio: Awaited<ReturnType<typeof startAudioHost>>;
  const seen: { label: string; schema: SchemaName; body: unknown }[] = [];

  /** Validates against the corrected spec and checks every property the spec requires is there. */
  function expectValid(schema: SchemaName, body: unknown) {
    expect(errorsOf(schema, body)).toEqual([]);
    const missing = requiredBySpec(schema).filter((p) => !(p in (body as Record<string, unknown>)));
    expect(missing).toEqual([]);
  }

  async function json(response: Response | Promise<Response>): Promise<Record<string, unknown>> {
    return (await (await response).json()) as Record<string, unknown>;
  }

  beforeAll(async () => {
    audio = await startAudioHost();
  });

  beforeEach(async () => {
    await harness.start({ processingDelayMs: 90 });
  });

  afterEach(async () => {
    await harness.close();
  });

  afterAll(async () => {
    await audio.close();
  });

  it('answers with spec-valid transcripts while queued, processing, completed, failed and deleted', async () => {
    const submit = (body: Record<string, unknown>) =>
      json(harness.request('POST', '/v2/transcript', { speech_models: SPEECH_MODELS, ...body }));
    const diarized = await submit({
      audio_url: audio.url('sample.ogg'),
      speaker_labels: true,
      language_code: 'ru',
    });
    const detected = await submit({
      audio_url: audio.url('hello.ogg'),
      language_detection: true,
      language_detection_options: { expected_languages: ['en', 'ru'], fallback_language: 'auto' },
    });
    const failed = await submit({ audio_url: audio.url('missing.ogg') });
    const unsure = await submit({
      audio_url: audio.url('sample.ogg'),
      language_detection: true,
      language_confidence_threshold: 0.9,
    });
    harness.emulator.injectFault({ kind: 'never-complete', times: 1 });
    const stuck = await submit({ audio_url: audio.url('hello.ogg') });
    seen.push({ label: 'queued', schema: 'Transcript', body: diarized });
    await sleep(45);
    seen.push({
      label: 'processing',
      schema: 'Transcript',
      body: await json(harness.request('GET', `/v2/transcript/${stuck.id}`)),
    });

    const completedDiarized = await harness.finished(String(diarized.id));
    const completedPlain = await harness.finished(String(detected.id));
    const failedDownload = await harness.finished(String(failed.id));
    const failedConfidence = await harness.finished(String(unsure.id));
    const deleted = await json(harness.request('DELETE', `/v2/transcript/${diarized.id}`));
    const deletedLater = await json(harness.request('GET', `/v2/transcript/${diarized.id}`));

    expect(seen.map((s) => (s.body as { status: string }).status)).toEqual(['queued', 'processing']);
    expect([completedDiarized.status, completedPlain.status]).toEqual(['completed', 'completed']);
    expect(completedDiarized.utterances).not.toBeNull();
    expect(completedPlain.utterances).toBeNull();
    expect([failedDownload.status, failedConfidence.status]).toEqual(['error', 'error']);
    for (const { body } of seen) expectValid('Transcript', body);
    for (const body of [
      completedDiarized,
      completedPlain,
      failedDownload,
      failedConfidence,
      deleted,
      deletedLater,
    ]) {
      expectValid('Transcript', body);
    }
  });

  it('answers with spec-valid list pages: filtered, paged both ways, empty', async () => {
    const ids: string[] = [];
    for (const name of ['hello.ogg', 'missing.ogg', 'hello.mp3']) {
      const body = await json(
        harness.request('POST', '/v2/transcript', {
          audio_url: audio.url(name),
          speech_models: SPEECH_MODELS,
        }),
      );
      ids.push(String(body.id));
    }
    for (const id of ids) await harness.finished(id);
    await harness.request('DELETE', `/v2/transcript/${ids[0]}`);

    const pages = await Promise.all(
      [
        '/v2/transcript',
        '/v2/transcript?limit=1',
        `/v2/transcript?limit=1&before_id=${ids[2]}`,
        `/v2/transcript?limit=1&after_id=${ids[0]}`,
        '/v2/transcript?status=error',
        '/v2/transcript?created_on=2001-01-01',
      ].map((path) => json(harness.request('GET', path))),
    );

    for (const page of pages) {
      expectValid('TranscriptList', page);
      expectValid('PageDetails', page.page_details);
      for (const item of page.transcripts as unknown[]) expectValid('TranscriptListItem', item);
    }
    expect(pages.map((p) => (p.transcripts as unknown[]).length)).toEqual([3, 1, 1, 1, 1, 0]);
  });

  it('answers errors with the spec Error body', async () => {
    const unauthorized = await json(harness.request('GET', '/v2/transcript', undefined, { headers: {} }));
    const badRequest = await json(harness.request('POST', '/v2/transcript', { audio_url: 'nope' }));
    const notFound = await json(
      harness.request('GET', '/v2/transcript/00000000-0000-4000-8000-000000000000'),
    );

    for (const body of [unauthorized, badRequest, notFound]) expectValid('Error', body);
  });

  describe("the workflow's submit requests (createAssemblyAIProvider)", () => {
    const DEFAULT_POLICY: LanguageDetectionPolicy = {
      expectedLanguages: [...DEFAULT_EXPECTED_LANGUAGES],
      fallbackLanguage: DEFAULT_FALLBACK_LANGUAGE,
      confidenceThreshold: 0,
    };
    const provider = (languageDetection: LanguageDetectionPolicy = DEFAULT_POLICY) =>
      createAssemblyAIProvider({
        apiKey: async () => harness.emulator.apiKey,
        baseUrl: harness.emulator.url,
        speechModels: SPEECH_MODELS,
        languageDetection,
        timeoutMs: 2_000,
      });

    it.each([
      ['language detection with the default expected languages and fallback', DEFAULT_POLICY, {}],
      [
        'a given language and number of speakers',
        DEFAULT_POLICY,
        { languageCode: 'ru', speakersExpected: 2 },
      ],
      [
        'detection of all languages with a confidence threshold',
        { expectedLanguages: ['all'], fallbackLanguage: 'auto', confidenceThreshold: 0.4 },
        {},
      ],
    ])('validate as TranscriptParams for %s', async (_, policy, request) => {
      const job = await provider(policy).submit({ audioUrl: audio.url('hello.ogg'), ...request });

      const [body] = harness.emulator.submitBodies();

      expect(job.status).toBe('queued');
      expectValid('TranscriptParams', body);
      expect(harness.emulator.stats().unknownSubmitFields).toEqual([]);
    });

    it("validate for the SDK's own submit and transcribe", async () => {
      await harness
        .sdk()
        .transcripts.submit({ audio_url: audio.url('hello.ogg'), speech_models: SPEECH_MODELS });
      await harness.transcribe(audio.url('hello.ogg'), { speakers_expected: 2 });

      const bodies = harness.emulator.submitBodies();

      expect(bodies).toHaveLength(2);
      for (const body of bodies) expectValid('TranscriptParams', body);
    });

    it('catch a body the spec does not allow', () => {
      const body = { audio_url: audio.url('hello.ogg'), speech_models: SPEECH_MODELS, speaker_label: true };

      expect(errorsOf('TranscriptParams', body)).toEqual([
        '/ must NOT have additional properties (speaker_label)',
      ]);
      expect(errorsOf('TranscriptParams', { audio_url: audio.url('hello.ogg') })).toEqual([
        "/ must have required property 'speech_models'",
      ]);
    });
  });
});
