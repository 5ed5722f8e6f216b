/**
 * Builds transcript bodies shaped like AssemblyAI's own (see test/fixtures/assemblyai) and models
 * the parts of the service a body depends on: language detection, speech-model routing, speaker
 * counts, keyterms and PII redaction.
 */
import type { Transcript, TranscriptStatus, TranscriptUtterance, TranscriptWord } from 'assemblyai';
import {
  baseLanguage,
  modelBoostsLanguage,
  redactsLanguage,
  routeSpeechModel,
} from '../../lambdas/shared/assemblyai-catalog.js';

/** What was transcribed: the known sample's transcript or a placeholder, always with speakers. */
export interface TranscriptContent {
  language_code: string;
  audio_duration: number;
  text: string;
  confidence: number;
  words: TranscriptWord[];
  utterances: TranscriptUtterance[];
}

export interface LanguageDetectionOptions {
  expected_languages?: string[];
  fallback_language?: string;
}

/** The submit body fields the emulator reads (other spec fields are accepted and ignored). */
export interface SubmitParams {
  audio_url: string;
  speech_models: string[];
  language_code?: string | null;
  language_detection?: boolean | null;
  language_detection_options?: LanguageDetectionOptions | null;
  language_confidence_threshold?: number | null;
  speaker_labels?: boolean | null;
  speakers_expected?: number | null;
  speaker_options?: { min_speakers_expected?: number; max_speakers_expected?: number } | null;
  keyterms_prompt?: string[] | null;
  redact_pii?: boolean | null;
  redact_pii_policies?: string[] | null;
  redact_pii_sub?: string | null;
  punctuate?: boolean | null;
  format_text?: boolean | null;
  webhook_url?: string | null;
  webhook_auth_header_name?: string | null;
  /** Sent back in the webhook's `<webhook_auth_header_name>` header; never in a transcript body. */
  webhook_auth_header_value?: string | null;
}

/**
 * A transcript as sent on the wire: like the SDK's type, but `null` where the real API sends null,
 * and without `speech_model_used`/`language_code` while they are not known (the spec types both as
 * plain strings, so the emulator leaves them out rather than sending null).
 */
export type TranscriptBody = Omit<Transcript, 'language_code' | 'error' | 'redact_pii_sub'> & {
  language_code?: string | null;
  error: string | null;
  redact_pii_sub: string | null;
  language_detection_options?: LanguageDetectionOptions | null;
  /** Sent by the real API (recorded responses), not described by the spec. */
  dual_channel?: boolean | null;
  word_boost?: string[] | null;
  boost_param?: string | null;
  speaker_count?: number | null;
  cluster_id?: string | null;
};

export const PLACEHOLDER_TEXT =
  '[AssemblyAI emulator] placeholder transcript: this audio is not the bundled sample';

/** AssemblyAI's docs: "a file must contain at least 15 seconds of spoken audio" to detect its language reliably. */
export const RELIABLE_DETECTION_SECONDS = 15;

/**
 * The language short audio is mistaken for when detection is not constrained: close relatives, as
 * Whisper-style language identification confuses them on a few seconds of speech.
 */
const CONFUSED_WITH: Readonly<Record<string, string>> = {
  ru: 'uk',
  uk: 'ru',
  be: 'ru',
  bg: 'mk',
  en: 'nl',
  nl: 'de',
  de: 'nl',
  es: 'pt',
  pt: 'es',
  it: 'es',
  fr: 'it',
};

/** Confidence the detector gives a language it does not hear at all. */
const UNHEARD_CONFIDENCE = 0.01;

export interface DetectedLanguage {
  language_code: string;
  language_confidence: number;
}

/**
 * Deterministic stand-in for AssemblyAI's language detection of audio whose language is `spoken`.
 * Long audio (≥ 15 s): the spoken language at 0.97. Short or unknown-length audio: its confusable
 * relative wins narrowly (0.46 vs 0.41), so bare detection is wrong and unsure. `expected_languages`
 * restricts the candidates (the best of them wins); when none of them is heard, `fallback_language`
 * is used, or with `auto` (the default) the best-scoring expected language.
 */
export function detectLanguage(
  spoken: string,
  durationSeconds: number | null,
  options: LanguageDetectionOptions | null | undefined,
): DetectedLanguage {
  const base = baseLanguage(spoken);
  const confused = CONFUSED_WITH[base] ?? (base === 'en' ? 'nl' : 'en');
  const reliable = durationSeconds !== null && durationSeconds >= RELIABLE_DETECTION_SECONDS;
  const scores = new Map<string, number>(
    reliable
      ? [
          [base, 0.97],
          [confused, 0.02],
        ]
      : [
          [confused, 0.46],
          [base, 0.41],
        ],
  );
  const score = (code: string) => scores.get(baseLanguage(code)) ?? UNHEARD_CONFIDENCE;
  const expected = (options?.expected_languages ?? []).filter((code) => code !== 'all');
  if (expected.length === 0) {
    const [code, confidence] = [...scores.entries()].sort((a, b) => b[1] - a[1])[0] ?? [base, 0.41];
    return { language_code: code, language_confidence: confidence };
  }
  const best = expected.reduce((a, b) => (score(b) > score(a) ? b : a));
  const heard = score(best) > UNHEARD_CONFIDENCE;
  const fallback = options?.fallback_language;
  const chosen = heard || !fallback || fallback === 'auto' ? best : fallback;
  return { language_code: chosen, language_confidence: score(chosen) };
}

/** AssemblyAI's job error when detection is less sure than `language_confidence_threshold` (its docs' wording). */
export function lowLanguageConfidenceMessage(detected: DetectedLanguage, threshold: number): string {
  return `detected language '${detected.language_code}', confidence ${detected.language_confidence.toFixed(4)}, is below the requested confidence threshold value of '${threshold}'`;
}

/** The model AssemblyAI routes to: the first in the priority list that covers the language. */
export function speechModelUsed(models: readonly string[], languageCode: string): string | undefined {
  return routeSpeechModel(models, languageCode);
}

/** The placeholder for audio that is not the bundled sample: speaker A over the whole duration. */
export function placeholderContent(durationSeconds: number | null, languageCode = 'en'): TranscriptContent {
  // Unknown length (a stream without a duration header): one second, so words still have times.
  const end = Math.round((durationSeconds ?? 1) * 1000);
  const tokens = PLACEHOLDER_TEXT.split(' ');
  const words = tokens.map((text, i) => ({
    text,
    start: Math.round((end * i) / tokens.length),
    end: Math.round((end * (i + 1)) / tokens.length),
    confidence: 0.5,
    speaker: 'A',
  }));
  return {
    language_code: languageCode,
    audio_duration: durationSeconds ?? 1,
    text: PLACEHOLDER_TEXT,
    confidence: 0.5,
    words,
    utterances: [{ speaker: 'A', text: PLACEHOLDER_TEXT, start: 0, end, confidence: 0.5, words }],
  };
}

/** A transcript that is not finished yet; also the body every later state builds on. */
export function pendingTranscript(
  id: string,
  params: SubmitParams,
  status: TranscriptStatus,
): TranscriptBody {
  const detecting = params.language_detection === true && !params.language_code;
  return {
    id,
    status,
    audio_url: params.audio_url,
    language_model: 'assemblyai_default',
    acoustic_model: 'assemblyai_default',
    // Known from the request, or only once detection has run.
    ...(!detecting && { language_code: params.language_code ?? 'en_us' }),
    language_detection: params.language_detection ?? false,
    language_detection_options: params.language_detection_options ?? null,
    language_confidence_threshold: params.language_confidence_threshold ?? null,
    language_confidence: null,
    language_codes: null,
    speech_model: null,
    speech_models: params.speech_models,
    punctuate: params.punctuate ?? true,
    format_text: params.format_text ?? true,
    speaker_labels: params.speaker_labels ?? false,
    speakers_expected: params.speakers_expected ?? null,
    ...(params.speaker_options && { speaker_options: params.speaker_options }),
    ...(params.keyterms_prompt && { keyterms_prompt: params.keyterms_prompt }),
    multichannel: null,
    dual_channel: null,
    webhook_url: params.webhook_url ?? null,
    webhook_status_code: null,
    webhook_auth: Boolean(params.webhook_auth_header_name),
    webhook_auth_header_name: params.webhook_auth_header_name ?? null,
    audio_start_from: null,
    audio_end_at: null,
    word_boost: [],
    boost_param: null,
    filter_profanity: false,
    redact_pii: params.redact_pii ?? false,
    redact_pii_audio: false,
    redact_pii_audio_quality: null,
    redact_pii_policies: (params.redact_pii_policies ?? null) as TranscriptBody['redact_pii_policies'],
    redact_pii_sub: params.redact_pii ? (params.redact_pii_sub ?? 'hash') : null,
    speed_boost: false,
    auto_highlights: false,
    auto_highlights_result: null,
    content_safety: false,
    content_safety_labels: null,
    iab_categories: false,
    iab_categories_result: null,
    custom_spelling: null,
    auto_chapters: false,
    chapters: null,
    summarization: false,
    summary_type: null,
    summary_model: null,
    summary: null,
    custom_topics: false,
    topics: [],
    sentiment_analysis: false,
    sentiment_analysis_results: null,
    entity_detection: false,
    entities: null,
    disfluencies: false,
    speech_threshold: null,
    throttled: null,
    error: null,
    text: null,
    words: null,
    utterances: null,
    confidence: null,
    audio_duration: null,
  };
}

/** What language and model a finished job reports. */
export interface JobLanguage {
  language_code: string;
  /** 0–1 when detected; null when given. */
  language_confidence: number | null;
  speech_model_used: string;
}

/** A completed transcript; without speaker labels, `utterances` is null and words carry no speaker. */
export function completedTranscript(
  pending: TranscriptBody,
  params: SubmitParams,
  content: TranscriptContent,
  language: JobLanguage,
): TranscriptBody {
  const diarized = params.speaker_labels === true;
  const boostable =
    params.keyterms_prompt && modelBoostsLanguage(language.speech_model_used, language.language_code);
  const recognised = boostable ? boosted(content, params.keyterms_prompt ?? []) : content;
  const heard = params.redact_pii
    ? redacted(recognised, params.redact_pii_policies ?? [], params.redact_pii_sub)
    : recognised;
  const spoken = diarized ? withSpeakerCount(heard, speakerCountOf(params)) : heard;
  const words = spoken.words.map((w) => ({ ...w, speaker: diarized ? w.speaker : null }));
  return {
    ...pending,
    status: 'completed',
    ...language,
    text: heard.text,
    words,
    utterances: diarized ? spoken.utterances : null,
    confidence: content.confidence,
    audio_duration: Math.round(content.audio_duration),
  };
}

/**
 * The job error for PII redaction in a language AssemblyAI does not redact. The emulator's own
 * wording: AssemblyAI ends such a job in an error (as it does for other features a language lacks),
 * but no recording of the text is at hand, so the workflow must not depend on it.
 */
export function piiLanguageMessage(languageCode: string): string {
  return `PII redaction is not supported for language_code '${languageCode}'.`;
}

/** Whether a finished job in this language can have the redaction it asked for. */
export function redactionPossible(params: SubmitParams, languageCode: string): boolean {
  return !params.redact_pii || redactsLanguage(languageCode);
}

/** Lower case, without the punctuation around a word: how the emulator compares heard and boosted words. */
function bare(word: string): string {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

/** Levenshtein distance, for the short strings of one word. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** A heard word close enough to a boosted one to be it: the same ignoring case, or one edit off (two for 8+ letters; short words must match). */
function soundsLike(heard: string, term: string): boolean {
  if (heard === term) return true;
  if (term.length < 4) return false;
  return editDistance(heard, term) <= (term.length >= 8 ? 2 : 1);
}

/**
 * The content as a model that was prompted with these keyterms hears it: a run of words close to a
 * term (see `soundsLike`, word by word for a phrase) takes the term's spelling, its punctuation
 * kept; the text and utterances rebuilt. AssemblyAI's model biases recognition rather than
 * rewriting text, but what a test can see is the same: the boosted spelling wins.
 */
export function boosted(content: TranscriptContent, keyterms: readonly string[]): TranscriptContent {
  const terms = keyterms.map((term) => term.trim().split(/\s+/));
  const words = content.words.map((w) => ({ ...w }));
  for (let at = 0; at < words.length; at++) {
    const term = terms.find(
      (parts) =>
        at + parts.length <= words.length &&
        parts.every((part, k) => soundsLike(bare(words[at + k]?.text ?? ''), bare(part))),
    );
    if (!term) continue;
    term.forEach((part, k) => {
      const word = words[at + k];
      if (!word) return;
      const [, lead = '', , tail = ''] = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/u.exec(word.text) ?? [];
      word.text = `${lead}${part}${tail}`;
    });
    at += term.length - 1;
  }
  return rebuilt(content, words);
}

/** The content with these words, its utterances and text made of them. */
function rebuilt(content: TranscriptContent, words: TranscriptWord[]): TranscriptContent {
  let at = 0;
  const utterances = content.utterances.map((u) => {
    const own = words.slice(at, at + u.words.length);
    at += u.words.length;
    return { ...u, words: own, text: own.map((w) => w.text).join(' ') };
  });
  return { ...content, words, utterances, text: words.map((w) => w.text).join(' ') };
}

/** First names the emulator recognises as `person_name` (AssemblyAI's model finds any; this is a stand-in). */
// biome-ignore format: a word list
const PERSON_NAMES = new Set([
  'anna', 'анна', 'boris', 'борис', 'ivan', 'иван', 'maria', 'мария', 'oleg', 'олег', 'john', 'alice', 'bob',
]);

/** The policy a word belongs to, by the emulator's simple detectors, or undefined. */
function piiPolicyOf(word: string): string | undefined {
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(word)) return 'email_address';
  if ((word.match(/\d/g) ?? []).length >= 7 && /^[+\d()\-.]+$/.test(word)) return 'phone_number';
  if (PERSON_NAMES.has(word.toLowerCase())) return 'person_name';
  return undefined;
}

/**
 * The content as AssemblyAI returns it with `redact_pii`: each word of a requested policy replaced
 * by `[POLICY_NAME]` (`entity_name`) or by one `#` per character (`hash`, the default), its
 * punctuation kept; the text and utterances rebuilt from the words.
 */
export function redacted(
  content: TranscriptContent,
  policies: readonly string[],
  sub?: string | null,
): TranscriptContent {
  const wanted = new Set(policies);
  const redactWord = (text: string): string => {
    const [, core = text, tail = ''] = /^(.*?)([.,!?;:]*)$/.exec(text) ?? [];
    const policy = piiPolicyOf(core);
    if (!policy || !wanted.has(policy)) return text;
    return `${sub === 'entity_name' ? `[${policy.toUpperCase()}]` : '#'.repeat(core.length)}${tail}`;
  };
  return rebuilt(
    content,
    content.words.map((w) => ({ ...w, text: redactWord(w.text) })),
  );
}

const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The speakers the request asks for: an exact count, or a range (either end optional). */
export function speakerCountOf(params: SubmitParams): { min: number; max: number } {
  if (params.speakers_expected) return { min: params.speakers_expected, max: params.speakers_expected };
  const options = params.speaker_options ?? {};
  return { min: options.min_speakers_expected ?? 1, max: options.max_speakers_expected ?? LABELS.length };
}

/**
 * The content with as many speakers as the request allows: AssemblyAI's diarization honours the
 * count it is given, so the emulator does too. Fewer distinct speakers than `min`: the words are
 * split into that many consecutive turns; more than `max`: the extra speakers' words go to the
 * last allowed one. Otherwise unchanged.
 */
export function withSpeakerCount(
  content: TranscriptContent,
  range: { min: number; max: number },
): TranscriptContent {
  const distinct = [...new Set(content.words.map((w) => w.speaker ?? 'A'))];
  let relabel: (word: TranscriptContent['words'][number], index: number) => string;
  if (distinct.length < range.min) {
    const turn = Math.ceil(content.words.length / Math.min(range.min, content.words.length || 1));
    relabel = (_w, i) => LABELS[Math.floor(i / turn)] ?? 'A';
  } else if (distinct.length > range.max) {
    const kept = distinct.slice(0, range.max);
    relabel = (w) => (kept.includes(w.speaker ?? 'A') ? (w.speaker ?? 'A') : (kept.at(-1) ?? 'A'));
  } else {
    return content;
  }
  const words = content.words.map((w, i) => ({ ...w, speaker: relabel(w, i) }));
  const utterances: TranscriptContent['utterances'] = [];
  for (const word of words) {
    const last = utterances.at(-1);
    if (last && last.speaker === word.speaker) {
      last.words.push(word);
      last.text = `${last.text} ${word.text}`;
      last.end = word.end;
    } else {
      utterances.push({
        speaker: word.speaker,
        text: word.text,
        start: word.start,
        end: word.end,
        confidence: word.confidence,
        words: [word],
      });
    }
  }
  return { ...content, words, utterances };
}

export function failedTranscript(
  pending: TranscriptBody,
  error: string,
  language?: Partial<JobLanguage>,
): TranscriptBody {
  return { ...pending, ...language, status: 'error', error };
}

export const DELETED_URL = 'http://deleted_by_user';

/**
 * What DELETE leaves behind, field for field as AssemblyAI's deleted transcript
 * (assemblyai-go-sdk testdata/transcript/deleted.json): id, status and duration stay; text is
 * "Deleted by user."; URLs become http://deleted_by_user; the request's options and all content are
 * nulled, and the booleans the spec requires read false.
 */
export function deletedTranscript(transcript: TranscriptBody): TranscriptBody {
  return {
    id: transcript.id,
    language_model: transcript.language_model,
    acoustic_model: transcript.acoustic_model,
    language_code: null,
    status: transcript.status,
    audio_url: DELETED_URL,
    text: 'Deleted by user.',
    words: null,
    utterances: null,
    confidence: null,
    audio_duration: transcript.audio_duration,
    punctuate: null,
    format_text: null,
    dual_channel: null,
    webhook_url: transcript.webhook_url ? DELETED_URL : null,
    webhook_status_code: null,
    webhook_auth: false,
    webhook_auth_header_name: null,
    speed_boost: null,
    auto_highlights_result: null,
    auto_highlights: false,
    audio_start_from: null,
    audio_end_at: null,
    word_boost: null,
    boost_param: null,
    filter_profanity: null,
    redact_pii: false,
    redact_pii_audio: null,
    redact_pii_audio_quality: null,
    redact_pii_policies: null,
    redact_pii_sub: null,
    speaker_labels: null,
    speaker_count: null,
    // The recording is of a completed job (error null). A failed job keeps its error, which holds
    // the audio URL: undocumented, so the emulator assumes the worst for privacy.
    error: transcript.status === 'error' ? transcript.error : null,
    content_safety: null,
    iab_categories: null,
    content_safety_labels: null,
    iab_categories_result: null,
    language_detection: null,
    custom_spelling: null,
    cluster_id: null,
    throttled: null,
    auto_chapters: false,
    summarization: false,
    summary_type: null,
    summary_model: null,
    custom_topics: null,
    topics: null,
    speech_threshold: null,
    disfluencies: false,
    sentiment_analysis: false,
    entity_detection: false,
    chapters: null,
    sentiment_analysis_results: null,
    entities: null,
    summary: null,
    // Required by the spec, absent from the older recording.
    speech_model: null,
    language_confidence_threshold: null,
    language_confidence: null,
    // The recording predates `language_codes`, `speech_models` and friends: not sent.
  } as unknown as TranscriptBody;
}
