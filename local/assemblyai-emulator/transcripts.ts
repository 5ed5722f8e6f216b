/** Builds transcript bodies shaped like AssemblyAI's own (see /work/shared/fixtures/assemblyai). */
import type { Transcript, TranscriptStatus, TranscriptUtterance, TranscriptWord } from 'assemblyai';

/** What was transcribed: the known sample's transcript or a placeholder, always with speakers. */
export interface TranscriptContent {
  language_code: string;
  audio_duration: number;
  text: string;
  confidence: number;
  words: TranscriptWord[];
  utterances: TranscriptUtterance[];
}

/** The submit body fields the emulator reads (the rest are accepted and ignored). */
export interface SubmitParams {
  audio_url: string;
  speech_models: string[];
  language_code?: string | null;
  language_detection?: boolean | null;
  speaker_labels?: boolean | null;
  speakers_expected?: number | null;
  punctuate?: boolean | null;
  format_text?: boolean | null;
  webhook_url?: string | null;
  webhook_auth_header_name?: string | null;
}

/** A transcript as sent on the wire: like the SDK's type, but `null` where the real API sends null. */
export type TranscriptBody = Omit<Transcript, 'language_code' | 'error' | 'redact_pii_sub'> & {
  language_code: string | null;
  error: string | null;
  redact_pii_sub: string | null;
};

export const PLACEHOLDER_TEXT =
  '[AssemblyAI emulator] placeholder transcript: this audio is not the bundled sample';

/** Languages Universal-3 Pro covers; other languages fall back to the next model in `speech_models`. */
const UNIVERSAL_3_LANGUAGES = new Set(['en', 'es', 'de', 'fr', 'pt', 'it']);

export function speechModelUsed(models: readonly string[], languageCode: string): string {
  const language = languageCode.split('_')[0] ?? languageCode;
  const usable = models.find((m) => !m.startsWith('universal-3') || UNIVERSAL_3_LANGUAGES.has(language));
  return usable ?? models[models.length - 1] ?? 'universal-2';
}

/** The placeholder for audio that is not the bundled sample: speaker A over the whole duration. */
export function placeholderContent(durationSeconds: number): TranscriptContent {
  const end = Math.round(durationSeconds * 1000);
  const tokens = PLACEHOLDER_TEXT.split(' ');
  const words = tokens.map((text, i) => ({
    text,
    start: Math.round((end * i) / tokens.length),
    end: Math.round((end * (i + 1)) / tokens.length),
    confidence: 0.5,
    speaker: 'A',
  }));
  return {
    language_code: 'en',
    audio_duration: durationSeconds,
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
  return {
    id,
    status,
    audio_url: params.audio_url,
    language_model: 'assemblyai_default',
    acoustic_model: 'assemblyai_default',
    language_code: params.language_code ?? (params.language_detection ? null : 'en_us'),
    language_detection: params.language_detection ?? false,
    language_confidence_threshold: null,
    language_confidence: null,
    language_codes: null,
    speech_model: null,
    speech_models: params.speech_models,
    speech_model_used: null,
    punctuate: params.punctuate ?? true,
    format_text: params.format_text ?? true,
    speaker_labels: params.speaker_labels ?? false,
    speakers_expected: params.speakers_expected ?? null,
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
    redact_pii: false,
    redact_pii_audio: false,
    redact_pii_audio_quality: null,
    redact_pii_policies: null,
    redact_pii_sub: null,
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

/** A completed transcript; without speaker labels, `utterances` is null and words carry no speaker. */
export function completedTranscript(
  pending: TranscriptBody,
  params: SubmitParams,
  content: TranscriptContent,
): TranscriptBody {
  const diarized = params.speaker_labels === true;
  const languageCode = params.language_code ?? (params.language_detection ? content.language_code : 'en_us');
  const words = content.words.map((w) => ({ ...w, speaker: diarized ? w.speaker : null }));
  return {
    ...pending,
    status: 'completed',
    language_code: languageCode,
    language_confidence: params.language_detection ? 0.98 : null,
    speech_model_used: speechModelUsed(params.speech_models, languageCode),
    text: content.text,
    words,
    utterances: diarized ? content.utterances : null,
    confidence: content.confidence,
    audio_duration: Math.round(content.audio_duration),
  };
}

export function failedTranscript(pending: TranscriptBody, error: string): TranscriptBody {
  return { ...pending, status: 'error', error };
}

/** What DELETE leaves behind: the transcript text, words and URLs are gone, the rest stays. */
export function deletedTranscript(transcript: TranscriptBody): TranscriptBody {
  const deletedUrl = 'http://deleted_by_user';
  return {
    ...transcript,
    audio_url: deletedUrl,
    webhook_url: transcript.webhook_url ? deletedUrl : null,
    language_code: null,
    text: 'Deleted by user.',
    words: null,
    utterances: null,
    confidence: null,
  };
}
