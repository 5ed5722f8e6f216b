/** "Format segments": AssemblyAI's transcript (real responses) → the bot's speaker segments, S3 to S3. */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { TranscriptUtterance, TranscriptWord } from 'assemblyai';
import { mockClient } from 'aws-sdk-client-mock';
import { parseSync } from 'subtitle';
import {
  captionWordsOf,
  formatSegments,
  redactionCounts,
  toSegments,
  validSegments,
} from '../../lambdas/format-segments/format-segments.js';
import { providerJobOf, type StoredTranscript } from '../../lambdas/shared/assemblyai.js';
import type { SegmentsDocument } from '../../lambdas/shared/workflow-state.js';
import {
  assemblyaiFixture,
  byteLength,
  rejectionOf,
  startTestS3,
  submittedState,
  type TestS3,
  testConfig,
} from './step-fixtures.js';

const diarized = assemblyaiFixture<{ utterances: TranscriptUtterance[] }>(
  'diarized-utterances.docs-speaker-diarization-response.json',
);
const completedDiarized = assemblyaiFixture<StoredTranscript>(
  'completed-diarized.openapi-Transcript-example.json',
);
const universal2 = assemblyaiFixture<StoredTranscript>(
  'completed-universal2-no-diarization.cli-fixture.json',
);

/** The docs' utterances as a whole transcript (the fixture holds only `utterances`). */
function fromDiarizedDocs(overrides: Partial<StoredTranscript> = {}): StoredTranscript {
  const words = diarized.utterances.flatMap((u) => u.words);
  return {
    id: 'docs-diarized',
    language_code: 'en_us',
    audio_duration: 83,
    text: diarized.utterances.map((u) => u.text).join(' '),
    words,
    utterances: diarized.utterances,
    ...overrides,
  };
}

const TEN_HOURS_MS = 36_000_000;
const WORDS = ['привет', 'как', 'дела', 'hello', 'world', 'это', 'тест', 'transcription', 'speaker', 'да'];

/** A ten-hour, three-speaker transcript shaped like AssemblyAI's: ~100k words in 2,000 utterances. */
function tenHourTranscript(): StoredTranscript {
  const utteranceCount = 2_000;
  const wordsPerUtterance = 50;
  const slot = TEN_HOURS_MS / (utteranceCount * wordsPerUtterance);
  const utterances: TranscriptUtterance[] = [];
  const allWords: TranscriptWord[] = [];
  for (let u = 0; u < utteranceCount; u += 1) {
    const speaker = ['A', 'B', 'C'][u % 3] as string;
    const words: TranscriptWord[] = [];
    for (let w = 0; w < wordsPerUtterance; w += 1) {
      const i = u * wordsPerUtterance + w;
      words.push({
        text: WORDS[i % WORDS.length] as string,
        start: Math.round(i * slot),
        end: Math.round((i + 1) * slot) - 20,
        confidence: 0.97,
        speaker,
      });
    }
    allWords.push(...words);
    utterances.push({
      speaker,
      text: words.map((w) => w.text).join(' '),
      start: words[0]?.start ?? 0,
      end: words[words.length - 1]?.end ?? 0,
      confidence: 0.97,
      words,
    });
  }
  return {
    id: 'ten-hours',
    language_code: 'ru',
    audio_duration: 36_000,
    text: utterances.map((u) => u.text).join(' '),
    words: allWords,
    utterances,
  };
}

describe('toSegments', () => {
  it('turns the docs diarized utterances into six segments A/B/A/B/A/B in seconds', () => {
    // Act
    const segments = toSegments(fromDiarizedDocs());

    // Assert
    expect(segments.map((s) => s.speaker)).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
    expect(segments[0]).toMatchObject({ start: 0.25, end: 26.95 });
    expect(segments[1]).toEqual({ speaker: 'B', text: 'Good morning.', start: 27.85, end: 28.84 });
    expect(segments[3]).toMatchObject({ start: 38.97, end: 56.142 });
    expect(segments.map((s) => s.text)).toEqual(diarized.utterances.map((u) => u.text));
  });

  it('uses the utterances of a completed diarized transcript, not its full text', () => {
    // Act
    const segments = toSegments(completedDiarized);

    // Assert: upstream trimmed utterances to one, so `text` is much longer than the segment
    expect(segments).toHaveLength(1);
    expect(segments[0]).toEqual({
      speaker: 'A',
      text: completedDiarized.utterances?.[0]?.text,
      start: 0.25,
      end: 26.95,
    });
    expect(segments[0]?.text.length).toBeLessThan(completedDiarized.text?.length ?? 0);
  });

  it('makes one segment "A" with the whole text when there are no speakers (universal-2, no diarization)', () => {
    // Act
    const segments = toSegments(universal2);

    // Assert
    expect(universal2.utterances).toBeNull();
    expect(segments).toEqual([{ speaker: 'A', text: universal2.text, start: 0.24, end: 280.53 }]);
  });

  it('groups words by consecutive speaker when there are speakers but no utterances', () => {
    // Arrange
    const transcript = fromDiarizedDocs({ utterances: null });

    // Act
    const segments = toSegments(transcript);

    // Assert
    expect(segments).toEqual(
      diarized.utterances.map((u) => ({
        speaker: u.speaker,
        text: u.words.map((w) => w.text).join(' '),
        start: u.start / 1000,
        end: u.end / 1000,
      })),
    );
  });

  it('gives words without a speaker amid labelled ones the default speaker "A"', () => {
    // Arrange
    const words: TranscriptWord[] = [
      { text: 'one', start: 0, end: 400, confidence: 1, speaker: 'B' },
      { text: 'two', start: 500, end: 900, confidence: 1, speaker: null },
      { text: 'three', start: 1000, end: 1400, confidence: 1, speaker: 'A' },
    ];

    // Act
    const segments = toSegments({
      id: 'x',
      language_code: 'en',
      audio_duration: 2,
      text: null,
      words,
      utterances: [],
    });

    // Assert
    expect(segments).toEqual([
      { speaker: 'B', text: 'one', start: 0, end: 0.4 },
      { speaker: 'A', text: 'two three', start: 0.5, end: 1.4 },
    ]);
  });

  it.each([
    ['empty words and utterances', { text: '', words: [], utterances: [] }],
    ['null words and utterances', { text: null, words: null, utterances: null }],
    ['whitespace-only text', { text: '  ', words: [], utterances: null }],
  ])('gives no segments for silence (%s)', (_label, content) => {
    // Act
    const segments = toSegments({ id: 'silence', language_code: 'en', audio_duration: 4, ...content });

    // Assert
    expect(segments).toEqual([]);
  });
});

describe('validSegments', () => {
  const base = fromDiarizedDocs();
  const utterance = base.utterances?.[0] as TranscriptUtterance;

  it.each([
    ['a numeric speaker, null text and start', { ...utterance, speaker: 1, text: null, start: null }],
    ['a missing end', { ...utterance, end: undefined }],
    ['a negative start', { ...utterance, start: -5 }],
    ['an end before its start', { ...utterance, start: 5_000, end: 1_000 }],
    ['a non-finite time', { ...utterance, end: Number.POSITIVE_INFINITY }],
  ])('refuses an utterance with %s as TranscriptionFailed', (_label, broken) => {
    // Arrange
    const transcript = { ...base, utterances: [utterance, broken as unknown as TranscriptUtterance] };

    // Act
    const attempt = () => validSegments(transcript);

    // Assert
    expect(attempt).toThrow(expect.objectContaining({ name: 'TranscriptionFailed' }));
    expect(attempt).toThrow(/segment 2/);
  });

  it('refuses words that are not objects', () => {
    expect(() =>
      validSegments({ ...base, utterances: null, words: [null as unknown as TranscriptWord] }),
    ).toThrow(expect.objectContaining({ name: 'TranscriptionFailed' }));
  });

  it('accepts every recorded real transcript', () => {
    expect(validSegments(completedDiarized).length).toBeGreaterThan(0);
    expect(validSegments(universal2).length).toBe(1);
    expect(validSegments(base).length).toBe(6);
  });
});

describe('formatSegments', () => {
  let s3: TestS3;
  const config = testConfig();

  it('fails the step with TranscriptionFailed for a transcript that cannot make a valid result, writing nothing', async () => {
    // Arrange
    const state = submittedState({ status: 'completed' });
    const broken = { ...fromDiarizedDocs(), utterances: [{ speaker: 1, text: null, start: null }] };
    await s3.put(`work/${state.execution.name}/transcript.json`, JSON.stringify(broken));

    // Act
    const error = await rejectionOf(formatSegments(state, { s3: s3.client, config }));

    // Assert
    expect(error.name).toBe('TranscriptionFailed');
    expect(await s3.keys(`work/${state.execution.name}/segments.json`)).toEqual([]);
  });

  beforeAll(async () => {
    s3 = await startTestS3();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('writes the segments of a ten-hour transcript to S3 and returns only a small reference', async () => {
    // Arrange
    const transcript = tenHourTranscript();
    const state = submittedState({ status: 'completed' });
    const transcriptKey = `work/${state.execution.name}/transcript.json`;
    await s3.put(transcriptKey, JSON.stringify(transcript), 'application/json');
    state.transcript.transcript_key = transcriptKey;

    // Act
    const ref = await formatSegments(state, { s3: s3.client, config });

    // Assert
    expect(transcript.words?.length).toBe(100_000);
    expect(byteLength(transcript)).toBeGreaterThan(256 * 1024);
    expect(byteLength(ref)).toBeLessThan(1024);
    expect(byteLength({ ...state, segments: ref })).toBeLessThan(4 * 1024);
    expect(ref).toEqual({
      key: `work/${state.execution.name}/segments.json`,
      total_segments: 2_000,
      audio_duration: 36_000,
      language_code: 'ru',
    });
    const stored = JSON.parse((await s3.get(ref.key))?.body ?? 'null') as SegmentsDocument;
    expect(stored.transcript_id).toBe('ten-hours');
    expect(stored.segments).toHaveLength(2_000);
    expect(stored.segments.slice(0, 3).map((s) => s.speaker)).toEqual(['A', 'B', 'C']);
    expect(stored.segments.at(-1)?.end).toBeLessThanOrEqual(TEN_HOURS_MS / 1000);
    expect(stored.segments.at(-1)?.end).toBeGreaterThan(35_999);
  });

  it('reads the transcript from the execution work prefix when the state has no key', async () => {
    // Arrange
    const state = submittedState({ status: 'completed' });
    await s3.put(`work/${state.execution.name}/transcript.json`, JSON.stringify(fromDiarizedDocs()));

    // Act
    const ref = await formatSegments(state, { s3: s3.client, config });

    // Assert
    expect(ref.total_segments).toBe(6);
    expect(ref.language_code).toBe('en_us');
  });

  /** The object Check stores for this answer: AssemblyAI's bytes as `get` kept them. */
  const storedByCheck = (answer: unknown) => providerJobOf(Buffer.from(JSON.stringify(answer))).body ?? '';

  it('carries the model that ran and the language confidence into the segments document', async () => {
    // Arrange: the recorded 2026 response names the model that ran
    const state = submittedState({ status: 'completed' });
    await s3.put(`work/${state.execution.name}/transcript.json`, storedByCheck(universal2));

    // Act
    await formatSegments(state, { s3: s3.client, config });

    // Assert
    const stored = JSON.parse((await s3.get(`work/${state.execution.name}/segments.json`))?.body ?? '{}');
    expect(stored.speech_model_used).toBe((universal2 as { speech_model_used?: string }).speech_model_used);
    expect(stored.speech_model_used).toEqual(expect.any(String));
    expect(stored.language_confidence).toBe(
      (universal2 as { language_confidence?: number }).language_confidence ?? null,
    );
  });

  it.each([
    ['diarized', completedDiarized],
    ['Universal-2, not diarized', universal2],
  ])(
    "makes the same segments document of AssemblyAI's whole %s answer as of the fields Format reads",
    async (_label, answer) => {
      // Arrange: what Check stores now, and the subset it stored before
      const whole = submittedState({ status: 'completed' });
      const subset = submittedState({ status: 'completed' });
      const { id, language_code, audio_duration, text, words, utterances } = answer;
      const { speech_model_used, language_confidence } = answer;
      const { redact_pii, redact_pii_policies } = answer as {
        redact_pii?: boolean;
        redact_pii_policies?: string[];
      };
      await s3.put(`work/${whole.execution.name}/transcript.json`, storedByCheck(answer));
      await s3.put(
        `work/${subset.execution.name}/transcript.json`,
        JSON.stringify({
          ...{ id, language_code, audio_duration, text, words, utterances },
          speech_model_used: speech_model_used ?? null,
          language_confidence: language_confidence ?? null,
          redact_pii,
          redact_pii_policies,
        }),
      );

      // Act
      const fromWhole = await formatSegments(whole, { s3: s3.client, config });
      const fromSubset = await formatSegments(subset, { s3: s3.client, config });

      // Assert
      const read = async (key: string) => JSON.parse((await s3.get(key))?.body ?? 'null');
      expect(fromWhole.total_segments).toBeGreaterThan(0);
      expect({ ...fromWhole, key: '' }).toEqual({ ...fromSubset, key: '' });
      expect(await read(fromWhole.key)).toEqual(await read(fromSubset.key));
    },
  );

  it('records null model and confidence for a transcript stored before those fields existed', async () => {
    // Arrange
    const state = submittedState({ status: 'completed' });
    await s3.put(`work/${state.execution.name}/transcript.json`, JSON.stringify(fromDiarizedDocs()));

    // Act
    await formatSegments(state, { s3: s3.client, config });

    // Assert
    const stored = JSON.parse((await s3.get(`work/${state.execution.name}/segments.json`))?.body ?? '{}');
    expect(stored).toMatchObject({ speech_model_used: null, language_confidence: null });
  });

  it('takes the audio duration from validation when the transcript has none', async () => {
    // Arrange
    const state = submittedState({ status: 'completed' });
    await s3.put(
      `work/${state.execution.name}/transcript.json`,
      JSON.stringify(fromDiarizedDocs({ audio_duration: null, language_code: undefined })),
    );

    // Act
    const ref = await formatSegments(state, { s3: s3.client, config });

    // Assert
    expect(ref.audio_duration).toBe(state.audio.duration_seconds);
    expect(ref.language_code).toBeNull();
  });

  it('stores an empty segment list for silence', async () => {
    // Arrange
    const state = submittedState({ status: 'completed' });
    await s3.put(
      `work/${state.execution.name}/transcript.json`,
      JSON.stringify({
        id: 'silence',
        language_code: 'ru',
        audio_duration: 3,
        text: '',
        words: [],
        utterances: [],
      }),
    );

    // Act
    const ref = await formatSegments(state, { s3: s3.client, config });

    // Assert
    expect(ref.total_segments).toBe(0);
    const stored = JSON.parse((await s3.get(ref.key))?.body ?? 'null') as SegmentsDocument;
    expect(stored.segments).toEqual([]);
  });

  it('reports S3 throttling while reading the transcript as StorageUnavailable', async () => {
    // Arrange
    const failing = new S3Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const s3Mock = mockClient(failing);
    s3Mock.on(GetObjectCommand).rejects(Object.assign(new Error('Slow down'), { name: 'SlowDown' }));

    // Act
    const error = await rejectionOf(
      formatSegments(submittedState({ status: 'completed' }), { s3: failing, config }),
    );

    // Assert
    expect(error.name).toBe('StorageUnavailable');
    s3Mock.restore();
  });
});

describe('formatSegments with the request options', () => {
  let s3: TestS3;
  const config = testConfig();

  beforeAll(async () => {
    s3 = await startTestS3();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('names the speakers it was given, keeps the other letters, and renders the requested outputs', async () => {
    const state = submittedState({ status: 'completed' });
    state.request = { ...state.request, speaker_names: { A: 'Anna' }, outputs: ['srt', 'txt'] };
    await s3.put(`work/${state.execution.name}/transcript.json`, JSON.stringify(fromDiarizedDocs()));

    const ref = await formatSegments(state, { s3: s3.client, config });
    const document = JSON.parse((await s3.get(ref.key))?.body ?? 'null') as SegmentsDocument;

    expect(new Set(document.segments.map((seg) => seg.speaker))).toEqual(new Set(['Anna', 'B']));
    expect(document.speaker_names).toEqual({ A: 'Anna' });
    expect(Object.keys(document.outputs ?? {}).sort()).toEqual(['srt', 'txt']);
    const cues = parseSync(document.outputs?.srt ?? '').filter((node) => node.type === 'cue');
    expect(cues.length).toBeGreaterThan(document.segments.length);
    expect(document.outputs?.txt?.startsWith('Anna: ')).toBe(true);
    // The raw transcript's text is in them, the transcript's words all accounted for.
    expect(document.outputs?.txt).toContain(diarized.utterances[1]?.text);
  });

  it('writes no outputs and keeps the letters when the request asks for neither', async () => {
    const state = submittedState({ status: 'completed' });
    await s3.put(`work/${state.execution.name}/transcript.json`, JSON.stringify(fromDiarizedDocs()));

    const ref = await formatSegments(state, { s3: s3.client, config });
    const document = JSON.parse((await s3.get(ref.key))?.body ?? 'null') as SegmentsDocument;

    expect(document.outputs).toBeUndefined();
    expect(document.speaker_names).toBeUndefined();
    expect(new Set(document.segments.map((seg) => seg.speaker))).toEqual(new Set(['A', 'B']));
  });

  it('times captions of a transcript without word timings by spreading each segment’s words over it', () => {
    const words = captionWordsOf(
      { id: 'x', text: 'one two three four', words: null, utterances: null } as never,
      [{ speaker: 'A', text: 'one two three four', start: 1, end: 3 }],
    );

    expect(words.map((w) => [w.text, w.start, w.end])).toEqual([
      ['one', 1000, 1500],
      ['two', 1500, 2000],
      ['three', 2000, 2500],
      ['four', 2500, 3000],
    ]);
  });
});

describe('redactionCounts', () => {
  it('counts each run of one placeholder once, only for the policies asked for', () => {
    const text =
      'Hi, I am [PERSON_NAME] [PERSON_NAME], call [PHONE_NUMBER] or [PERSON_NAME]. [LOCATION] stays, [NOTE] is text.';

    expect(redactionCounts(text, ['person_name', 'phone_number', 'email_address'])).toEqual({
      person_name: 2,
      phone_number: 1,
    });
    expect(redactionCounts('nothing here', ['person_name'])).toEqual({});
  });
});
