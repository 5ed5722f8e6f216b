/**
 * Validates a `POST /v2/transcript` body like AssemblyAI: the types of the spec's
 * TranscriptParams (openapi.json 1.3.4), today's speech models and language codes from the
 * project's catalog, with the service's 400 texts where they are known.
 */
import {
  isLanguageCode,
  isPiiPolicy,
  KEYTERM_SUPPORT,
  LANGUAGE_CODES,
  PII_POLICIES,
  routeSpeechModel,
  SPEECH_MODELS,
  speechModelsProblem,
} from '../../lambdas/shared/assemblyai-catalog.js';
import type { SubmitParams } from './transcripts.js';

type FieldKind = 'boolean' | 'string' | 'integer' | 'number' | 'list' | 'object' | 'any';

/**
 * Every property of TranscriptParams = {audio_url} ∪ TranscriptOptionalParams, with its JSON type
 * (`nullable` where the spec allows null). Fields not listed here are unknown to the spec.
 */
// biome-ignore format: one row per spec property
const FIELDS: Readonly<Record<string, { kind: FieldKind; nullable?: boolean }>> = {
  audio_url: { kind: 'string' },
  audio_end_at: { kind: 'integer' }, audio_start_from: { kind: 'integer' },
  auto_chapters: { kind: 'boolean' }, auto_highlights: { kind: 'boolean' },
  content_safety: { kind: 'boolean' }, content_safety_confidence: { kind: 'integer' },
  custom_spelling: { kind: 'list' }, disfluencies: { kind: 'boolean' },
  entity_detection: { kind: 'boolean' }, filter_profanity: { kind: 'boolean' },
  format_text: { kind: 'boolean' }, iab_categories: { kind: 'boolean' },
  keyterms_prompt: { kind: 'list' }, language_code: { kind: 'string', nullable: true },
  language_codes: { kind: 'list', nullable: true },
  language_confidence_threshold: { kind: 'number' }, language_detection: { kind: 'boolean' },
  language_detection_options: { kind: 'object' }, multichannel: { kind: 'boolean' },
  prompt: { kind: 'string' }, punctuate: { kind: 'boolean' }, redact_pii: { kind: 'boolean' },
  redact_pii_audio: { kind: 'boolean' }, redact_pii_audio_options: { kind: 'object' },
  redact_pii_audio_quality: { kind: 'string' }, redact_pii_policies: { kind: 'list' },
  redact_pii_sub: { kind: 'string', nullable: true }, sentiment_analysis: { kind: 'boolean' },
  speaker_labels: { kind: 'boolean' }, speaker_options: { kind: 'object' },
  speakers_expected: { kind: 'integer', nullable: true }, speech_models: { kind: 'list' },
  speech_threshold: { kind: 'number', nullable: true }, speech_understanding: { kind: 'object' },
  summarization: { kind: 'boolean' }, summary_model: { kind: 'string' }, summary_type: { kind: 'string' },
  remove_audio_tags: { kind: 'string', nullable: true }, temperature: { kind: 'number' },
  webhook_auth_header_name: { kind: 'string', nullable: true },
  webhook_auth_header_value: { kind: 'string', nullable: true }, webhook_url: { kind: 'string' },
  custom_topics: { kind: 'boolean' }, speech_model: { kind: 'string', nullable: true },
  topics: { kind: 'list' },
};

/** Spec properties of `language_detection_options`. */
const DETECTION_OPTION_FIELDS = new Set([
  'expected_languages',
  'fallback_language',
  'code_switching',
  'code_switching_confidence_threshold',
]);

const TYPE_NAMES: Record<FieldKind, string> = {
  boolean: 'a Boolean',
  string: 'a String',
  integer: 'an Integer',
  number: 'a Number',
  list: 'a List',
  object: 'an Object',
  any: 'a value',
};

function hasKind(value: unknown, kind: FieldKind): boolean {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'list':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'any':
      return true;
  }
}

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** The text a client that parses it expects: "language_code must be one of en, en_au, …." */
const languageCodeMessage = (field: string, extra: readonly string[] = []) =>
  `${field} must be one of ${[...extra, ...LANGUAGE_CODES].join(', ')}.`;

export type ParsedSubmit = { params: SubmitParams; unknownFields: string[] } | { error: string };

/**
 * Returns the parameters and the names of fields the spec does not define (accepted and recorded:
 * AssemblyAI's behaviour for them is not documented), or the `error` text of a 400 answer.
 */
export function parseSubmitParams(body: unknown): ParsedSubmit {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { error: 'Request body must be a JSON object' };
  }
  const fields = body as Record<string, unknown>;
  if (fields.audio_url === undefined || fields.audio_url === null) return { error: 'audio_url is required' };
  if (!isHttpUrl(fields.audio_url)) return { error: 'audio_url must be a valid http or https URL' };
  const unknownFields = Object.keys(fields).filter((name) => !(name in FIELDS));
  for (const [name, { kind, nullable }] of Object.entries(FIELDS)) {
    const value = fields[name];
    if (value === undefined || (value === null && nullable)) continue;
    if (name === 'speakers_expected' && !(Number.isInteger(value) && (value as number) >= 1)) {
      return { error: 'speakers_expected must be a positive Integer' };
    }
    if (name === 'speech_models') continue;
    if (!hasKind(value, kind)) return { error: `${name} must be ${TYPE_NAMES[kind]}` };
  }

  const models = fields.speech_models;
  if (
    !Array.isArray(models) ||
    models.length === 0 ||
    !models.every((m) => typeof m === 'string' && m !== '')
  ) {
    return { error: 'speech_models must be a non-empty list of supported model names' };
  }
  const modelsProblem = speechModelsProblem(models as string[]);
  if (modelsProblem) return { error: modelsProblem };

  const languageCode = fields.language_code;
  if (typeof languageCode === 'string') {
    if (!isLanguageCode(languageCode)) return { error: languageCodeMessage('language_code') };
    if (!routeSpeechModel(models as string[], languageCode)) {
      return { error: unsupportedLanguageMessage(models as string[], languageCode) };
    }
  }

  const threshold = fields.language_confidence_threshold;
  if (typeof threshold === 'number' && !(threshold >= 0 && threshold <= 1)) {
    return { error: 'language_confidence_threshold must be between 0 and 1' };
  }

  const options = fields.language_detection_options as Record<string, unknown> | undefined;
  if (options !== undefined) {
    const unknownOption = Object.keys(options).find((name) => !DETECTION_OPTION_FIELDS.has(name));
    if (unknownOption) return { error: `language_detection_options.${unknownOption} is not a valid option` };
    const expected = options.expected_languages;
    if (expected !== undefined) {
      if (!Array.isArray(expected)) return { error: 'expected_languages must be a List' };
      if (!expected.every((code) => code === 'all' || isLanguageCode(code))) {
        return { error: languageCodeMessage('expected_languages', ['all']) };
      }
    }
    const fallback = options.fallback_language;
    if (fallback !== undefined && fallback !== 'auto' && !isLanguageCode(fallback)) {
      return { error: languageCodeMessage('fallback_language', ['auto']) };
    }
  }
  const speakerOptions = fields.speaker_options as Record<string, unknown> | undefined;
  if (speakerOptions !== undefined) {
    const unknownOption = Object.keys(speakerOptions).find((name) => !SPEAKER_OPTION_FIELDS.has(name));
    if (unknownOption) return { error: `speaker_options.${unknownOption} is not a valid option` };
    const { min_speakers_expected: min, max_speakers_expected: max } = speakerOptions;
    for (const [name, value] of Object.entries({ min_speakers_expected: min, max_speakers_expected: max })) {
      if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1)) {
        return { error: `speaker_options.${name} must be a positive Integer` };
      }
    }
    if (typeof min === 'number' && typeof max === 'number' && max < min) {
      return { error: 'max_speakers_expected must be greater than or equal to min_speakers_expected' };
    }
  }

  const policies = fields.redact_pii_policies;
  if (Array.isArray(policies) && !policies.every(isPiiPolicy)) {
    return { error: `redact_pii_policies must be a List of ${PII_POLICIES.join(', ')}` };
  }
  const sub = fields.redact_pii_sub;
  if (typeof sub === 'string' && sub !== 'entity_name' && sub !== 'hash') {
    return { error: 'redact_pii_sub must be one of entity_name, hash' };
  }

  const keyterms = fields.keyterms_prompt;
  if (Array.isArray(keyterms)) {
    if (!keyterms.every((term) => typeof term === 'string' && term.trim() !== '')) {
      return { error: 'keyterms_prompt must be a List of non-empty Strings' };
    }
    // The model the job runs on refuses more terms or longer ones than it takes (the catalog's limits).
    const model =
      typeof languageCode === 'string'
        ? routeSpeechModel(models as string[], languageCode)
        : (models[0] as string);
    const support = model ? KEYTERM_SUPPORT[model] : undefined;
    if (!support) return { error: `"keyterms_prompt" is not compatible with ${model}.` };
    const words = keyterms.reduce((sum, term) => sum + term.trim().split(/\s+/).length, 0);
    if (keyterms.length > support.maxTerms || words > support.maxTerms) {
      return { error: `keyterms_prompt must contain no more than ${support.maxTerms} WORDS` };
    }
  }
  return { params: fields as unknown as SubmitParams, unknownFields };
}

/** Spec properties of `speaker_options`. */
const SPEAKER_OPTION_FIELDS = new Set(['min_speakers_expected', 'max_speakers_expected']);

/** The 400 for a language none of the listed models transcribes (wording is the emulator's own). */
export function unsupportedLanguageMessage(models: readonly string[], languageCode: string): string {
  const covering = Object.keys(SPEECH_MODELS).filter(
    (m) => SPEECH_MODELS[m]?.status === 'current' && routeSpeechModel([m], languageCode),
  );
  return `The requested speech_models (${models.join(', ')}) do not support language_code "${languageCode}". Models that do: ${covering.join(', ')}.`;
}
