/**
 * What AssemblyAI accepts today, in one place: speech model names (current and deprecated, with
 * the languages each covers), the language codes it publishes, and the deployment defaults built
 * from them. The Lambdas' config, the CDK context, request validation and the emulator all read
 * this module, so the day a model name goes stale one edit (and a failing test) says so.
 *
 * Sources (check them when AssemblyAI changes its models):
 * - Language codes: AssemblyAI's OpenAPI spec (AssemblyAI/assemblyai-api-spec `openapi.json`,
 *   v1.3.4, `components.schemas.TranscriptLanguageCode`; copy in test/fixtures/assemblyai/).
 * - Models: https://www.assemblyai.com/docs/getting-started/models ("Universal-3.5 Pro … Supports
 *   18 languages"; "Universal-2 … 99 languages"); the 18 languages as listed on
 *   https://www.assemblyai.com/docs/streaming/universal-3-pro ("EN, ES, DE, FR, PT, IT, TR, NL,
 *   SV, NO, DA, FI, HI, VI, AR, HE, JA, ZH").
 * - Deprecation: since mid-2026 `POST /v2/transcript` answers HTTP 400 to `universal-3-pro` with
 *   'The "universal-3-pro" speech model(s) have been deprecated. Use speech_models:
 *   ["universal-3-5-pro", "universal-2"] instead.' (TypeWhisper/typewhisper-mac#1042,
 *   Thinline-Dynamic-Solutions/ThinLineRadio#237). `nano` is no longer accepted (vercel/ai
 *   @ai-sdk/assemblyai 1.0.33 release notes); `best`, `slam-1` and `universal` are legacy names.
 */

/** `TranscriptLanguageCode` of AssemblyAI's OpenAPI spec 1.3.4, in the spec's order. */
// biome-ignore format: one code list, kept compact
export const LANGUAGE_CODES = [
  'en', 'en_au', 'en_uk', 'en_us', 'es', 'fr', 'de', 'it', 'pt', 'nl', 'af', 'sq', 'am', 'ar', 'hy',
  'as', 'az', 'ba', 'eu', 'be', 'bn', 'bs', 'br', 'bg', 'my', 'ca', 'zh', 'hr', 'cs', 'da', 'et',
  'fo', 'fi', 'gl', 'ka', 'el', 'gu', 'ht', 'ha', 'haw', 'he', 'hi', 'hu', 'is', 'id', 'ja', 'jw',
  'kn', 'kk', 'km', 'ko', 'lo', 'la', 'lv', 'ln', 'lt', 'lb', 'mk', 'mg', 'ms', 'ml', 'mt', 'mi',
  'mr', 'mn', 'ne', 'no', 'nn', 'oc', 'pa', 'ps', 'fa', 'pl', 'ro', 'ru', 'sa', 'sr', 'sn', 'sd',
  'si', 'sk', 'sl', 'so', 'su', 'sw', 'sv', 'tl', 'tg', 'ta', 'tt', 'te', 'th', 'bo', 'tr', 'tk',
  'uk', 'ur', 'uz', 'vi', 'cy', 'yi', 'yo',
] as const;

export type LanguageCode = (typeof LANGUAGE_CODES)[number];

const LANGUAGE_CODE_SET: ReadonlySet<string> = new Set(LANGUAGE_CODES);

export function isLanguageCode(value: unknown): value is LanguageCode {
  return typeof value === 'string' && LANGUAGE_CODE_SET.has(value);
}

/** `en_us` → `en`: the language a regional code belongs to. */
export function baseLanguage(code: string): string {
  return code.split('_')[0] ?? code;
}

export interface SpeechModelInfo {
  status: 'current' | 'deprecated';
  /** Base languages the model transcribes; `'all'` for every published code. */
  languages: readonly string[] | 'all';
}

export const SPEECH_MODELS: Readonly<Record<string, SpeechModelInfo>> = {
  'universal-3-5-pro': {
    status: 'current',
    languages: [
      'en',
      'es',
      'de',
      'fr',
      'pt',
      'it',
      'tr',
      'nl',
      'sv',
      'no',
      'da',
      'fi',
      'hi',
      'vi',
      'ar',
      'he',
      'ja',
      'zh',
    ],
  },
  'universal-2': { status: 'current', languages: 'all' },
  'universal-3-pro': { status: 'deprecated', languages: ['en', 'es', 'de', 'fr', 'pt', 'it'] },
  best: { status: 'deprecated', languages: 'all' },
  nano: { status: 'deprecated', languages: 'all' },
  'slam-1': { status: 'deprecated', languages: ['en'] },
  universal: { status: 'deprecated', languages: 'all' },
};

/** The `speech_models` AssemblyAI itself recommends: the best model first, Universal-2 for the other 81 languages (Russian among them). */
export const DEFAULT_SPEECH_MODELS = ['universal-3-5-pro', 'universal-2'] as const;

/** The bot's audience: Russian and English voice messages, mostly shorter than detection needs. */
export const DEFAULT_EXPECTED_LANGUAGES = ['ru', 'en'] as const;
export const DEFAULT_FALLBACK_LANGUAGE = 'ru';

/** AssemblyAI's 400 text for deprecated model names, verbatim for a single name. */
export function deprecatedModelsMessage(models: readonly string[]): string {
  const names = models.map((m) => `"${m}"`).join(', ');
  const replacement = DEFAULT_SPEECH_MODELS.map((m) => `"${m}"`).join(', ');
  return `The ${names} speech model(s) have been deprecated. Use speech_models: [${replacement}] instead.`;
}

/** Why a `speech_models` list cannot be sent today, or undefined when it can. */
export function speechModelsProblem(models: readonly string[]): string | undefined {
  if (models.length === 0) return 'speech_models must name at least one model';
  const unknown = models.filter((m) => !(m in SPEECH_MODELS));
  if (unknown.length > 0) {
    const current = Object.keys(SPEECH_MODELS).filter((m) => SPEECH_MODELS[m]?.status === 'current');
    return `Unknown speech model(s) ${unknown.map((m) => `"${m}"`).join(', ')}; current models: ${current.join(', ')}`;
  }
  const deprecated = models.filter((m) => SPEECH_MODELS[m]?.status === 'deprecated');
  return deprecated.length > 0 ? deprecatedModelsMessage(deprecated) : undefined;
}

export function modelCoversLanguage(model: string, languageCode: string): boolean {
  const languages = SPEECH_MODELS[model]?.languages;
  if (languages === undefined) return false;
  return languages === 'all' || languages.includes(baseLanguage(languageCode));
}

/** The first model in the priority list that covers the language (AssemblyAI's routing), if any. */
export function routeSpeechModel(models: readonly string[], languageCode: string): string | undefined {
  return models.find((m) => modelCoversLanguage(m, languageCode));
}

/**
 * Keyterms prompting (`keyterms_prompt`) per model, from AssemblyAI's "Improving transcript
 * accuracy" docs and the OpenAPI spec: Universal-3 Pro and its successor take up to 1,000 terms of
 * at most 6 words each, in the model's languages; Universal-2 up to 200, in English only (beta),
 * and ignores terms shorter than 5 or longer than 50 characters. Models not listed take none.
 * Universal-3.5 Pro's languages for keyterms are assumed to be its transcription languages: the
 * docs available here predate it.
 */
export interface KeytermSupport {
  maxTerms: number;
  maxWordsPerTerm: number;
  /** Longer terms are ignored by the model, so they are refused. */
  maxTermChars: number;
  /** Base languages; `'model'`: every language the model transcribes. */
  languages: readonly string[] | 'model';
}

export const KEYTERM_SUPPORT: Readonly<Record<string, KeytermSupport>> = {
  'universal-3-5-pro': { maxTerms: 1000, maxWordsPerTerm: 6, maxTermChars: 100, languages: 'model' },
  'universal-2': { maxTerms: 200, maxWordsPerTerm: 6, maxTermChars: 50, languages: ['en'] },
};

/** Whether this model boosts keyterms in this language (AssemblyAI ignores them otherwise). */
export function modelBoostsLanguage(model: string, languageCode: string): boolean {
  const support = KEYTERM_SUPPORT[model];
  if (!support) return false;
  return support.languages === 'model'
    ? modelCoversLanguage(model, languageCode)
    : support.languages.includes(baseLanguage(languageCode));
}

/**
 * Why these keyterms cannot be sent with this deployment's models (and the request's language, when
 * it names one), or undefined. With a language the job runs on the first model that covers it, so
 * that model's rules apply; with detection it may run on any model of the list, so the strictest
 * limits apply (a language a model cannot boost is then AssemblyAI's to skip, silently).
 */
export function keytermsProblem(
  models: readonly string[],
  languageCode: string | undefined,
  keyterms: readonly string[],
): string | undefined {
  let candidates: string[];
  if (languageCode) {
    const model = routeSpeechModel(models, languageCode);
    if (!model || !modelBoostsLanguage(model, languageCode)) {
      return `keyterms are not available for language_code "${languageCode}" with the speech model it runs on (${model ?? 'none'})`;
    }
    candidates = [model];
  } else {
    candidates = models.filter((m) => KEYTERM_SUPPORT[m]);
    if (candidates.length === 0) return "keyterms are not available with this deployment's speech models";
  }
  const limits = candidates.map((m) => KEYTERM_SUPPORT[m] as KeytermSupport);
  const maxTerms = Math.min(...limits.map((l) => l.maxTerms));
  const maxWords = Math.min(...limits.map((l) => l.maxWordsPerTerm));
  const maxChars = Math.min(...limits.map((l) => l.maxTermChars));
  // Every word of a phrase counts against the limit (AssemblyAI's docs for Universal-3 Pro).
  const words = keyterms.reduce((sum, term) => sum + term.split(/\s+/).length, 0);
  if (words > maxTerms)
    return `keyterms must hold at most ${maxTerms} words in all (every word of a phrase counts)`;
  const tooLong = keyterms.find((t) => t.length > maxChars || t.split(/\s+/).length > maxWords);
  if (tooLong !== undefined) {
    return `keyterms must be at most ${maxWords} words and ${maxChars} characters each`;
  }
  return undefined;
}

/** AssemblyAI's `redact_pii_policies` values (OpenAPI spec 1.3.4, `PiiPolicy`; the SDK's are the same 44). */
// biome-ignore format: the spec's list, alphabetical
export const PII_POLICIES = [
  'account_number', 'banking_information', 'blood_type', 'credit_card_cvv', 'credit_card_expiration',
  'credit_card_number', 'date', 'date_interval', 'date_of_birth', 'drivers_license', 'drug', 'duration',
  'email_address', 'event', 'filename', 'gender_sexuality', 'healthcare_number', 'injury', 'ip_address',
  'language', 'location', 'marital_status', 'medical_condition', 'medical_process', 'money_amount',
  'nationality', 'number_sequence', 'occupation', 'organization', 'passport_number', 'password',
  'person_age', 'person_name', 'phone_number', 'physical_attribute', 'political_affiliation', 'religion',
  'statistics', 'time', 'url', 'us_social_security_number', 'username', 'vehicle_id', 'zodiac_sign',
] as const;
export type PiiPolicy = (typeof PII_POLICIES)[number];

export function isPiiPolicy(value: unknown): value is PiiPolicy {
  return typeof value === 'string' && (PII_POLICIES as readonly string[]).includes(value);
}

/**
 * What is redacted when redaction is on and nobody said which: who someone is and how to reach or
 * charge them. Not `date`, `time`, `language` and the like, which a voice message is full of.
 */
export const DEFAULT_PII_POLICIES: readonly PiiPolicy[] = [
  'person_name',
  'phone_number',
  'email_address',
  'location',
  'date_of_birth',
  'credit_card_number',
  'credit_card_cvv',
  'credit_card_expiration',
  'banking_information',
  'account_number',
  'passport_number',
  'drivers_license',
  'us_social_security_number',
  'healthcare_number',
  'password',
];

/**
 * The languages AssemblyAI's PII redaction covers: the language table of its "PII Redaction" docs
 * (https://www.assemblyai.com/docs/guardrails/redact-pii-from-transcripts; 50 codes, on
 * Universal-3 Pro and Universal-2, US and EU). A job in another language ends in an error after the
 * audio was processed (as AssemblyAI does for features a language lacks), so it is refused first.
 */
// biome-ignore format: the docs' table, in its order
export const PII_LANGUAGES = [
  'en', 'en_au', 'en_uk', 'en_us', 'es', 'fr', 'de', 'it', 'pt', 'nl', 'hi', 'ja', 'zh', 'fi', 'ko', 'pl',
  'ru', 'tr', 'uk', 'vi', 'af', 'ar', 'be', 'bg', 'my', 'ca', 'hr', 'cs', 'da', 'et', 'ka', 'el', 'he',
  'hu', 'is', 'id', 'km', 'lv', 'lt', 'lb', 'ms', 'no', 'fa', 'ro', 'sk', 'sl', 'sw', 'sv', 'tl', 'ta',
] as const;

export function redactsLanguage(languageCode: string): boolean {
  return (PII_LANGUAGES as readonly string[]).includes(languageCode);
}

/**
 * Why PII redaction cannot be asked for in this language, or undefined. Without a language code the
 * job runs in whichever language detection picks, so every language it may pick (the expected
 * ones, or any with `all`, and the fallback) must be one AssemblyAI redacts.
 */
export function piiRedactionProblem(
  languageCode: string | undefined,
  detection: { expectedLanguages: readonly string[]; fallbackLanguage: string },
): string | undefined {
  if (languageCode !== undefined) {
    return redactsLanguage(languageCode)
      ? undefined
      : `redact_pii is not available for language_code "${languageCode}": AssemblyAI redacts PII in ${PII_LANGUAGES.length} languages (its docs' "PII Redaction" table)`;
  }
  const expected = detection.expectedLanguages;
  if (expected.length === 0 || expected.includes('all')) {
    return 'redact_pii needs a language_code: language detection here may pick any language, and AssemblyAI does not redact PII in all of them';
  }
  const candidates = [
    ...expected,
    ...(detection.fallbackLanguage === 'auto' ? [] : [detection.fallbackLanguage]),
  ];
  const outside = [...new Set(candidates.filter((code) => !redactsLanguage(code)))];
  return outside.length === 0
    ? undefined
    : `redact_pii needs a language_code: language detection here may pick ${outside.map((c) => `"${c}"`).join(', ')}, where AssemblyAI does not redact PII`;
}
