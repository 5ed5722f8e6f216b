/**
 * The Lambdas' configuration: the speech-model and language defaults come from the catalog, and a
 * value AssemblyAI would refuse fails the cold start instead of every transcription.
 */
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_EXPECTED_LANGUAGES,
  DEFAULT_FALLBACK_LANGUAGE,
  DEFAULT_SPEECH_MODELS,
  LANGUAGE_CODES,
  PII_LANGUAGES,
  PII_POLICIES,
  routeSpeechModel,
  SPEECH_MODELS,
  speechModelsProblem,
} from '../../lambdas/shared/assemblyai-catalog.js';
import { loadConfig } from '../../lambdas/shared/config.js';
import { ConfigurationError } from '../../lambdas/shared/errors.js';
import { assemblyaiFixture } from './step-fixtures.js';

const load = (env: Record<string, string> = {}) => loadConfig({ TRANSCRIPTION_BUCKET: 'b', ...env });

describe('loadConfig: AssemblyAI models and language policy', () => {
  it('defaults to models AssemblyAI accepts today, and routes Russian to Universal-2', () => {
    // Act
    const { speechModels } = load().assemblyai;

    // Assert
    expect(speechModels).toEqual(['universal-3-5-pro', 'universal-2']);
    expect(speechModelsProblem(speechModels)).toBeUndefined();
    expect(routeSpeechModel(speechModels, 'ru')).toBe('universal-2');
    expect(routeSpeechModel(speechModels, 'en_us')).toBe('universal-3-5-pro');
  });

  it('refuses the deprecated universal-3-pro with the text AssemblyAI answers', () => {
    // Act
    const attempt = () => load({ ASSEMBLYAI_SPEECH_MODELS: 'universal-3-pro,universal-2' });

    // Assert
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(
      'The "universal-3-pro" speech model(s) have been deprecated. Use speech_models: ["universal-3-5-pro", "universal-2"] instead.',
    );
  });

  it('refuses an unknown model name, naming the current ones', () => {
    expect(() => load({ ASSEMBLYAI_SPEECH_MODELS: 'universal-9' })).toThrow(
      /Unknown speech model\(s\) "universal-9"; current models: universal-3-5-pro, universal-2/,
    );
  });

  it('limits detection to ru and en with fallback ru and no confidence threshold by default', () => {
    expect(load().assemblyai.languageDetection).toEqual({
      expectedLanguages: ['ru', 'en'],
      fallbackLanguage: 'ru',
      confidenceThreshold: 0,
    });
  });

  it('reads the language policy from the environment', () => {
    // Act
    const policy = load({
      ASSEMBLYAI_EXPECTED_LANGUAGES: 'uk, ru ,en',
      ASSEMBLYAI_FALLBACK_LANGUAGE: 'auto',
      ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD: '0.4',
    }).assemblyai.languageDetection;

    // Assert
    expect(policy).toEqual({
      expectedLanguages: ['uk', 'ru', 'en'],
      fallbackLanguage: 'auto',
      confidenceThreshold: 0.4,
    });
  });

  it.each([
    ['ASSEMBLYAI_EXPECTED_LANGUAGES', 'ru,en_gb'],
    ['ASSEMBLYAI_EXPECTED_LANGUAGES', 'zz'],
    ['ASSEMBLYAI_FALLBACK_LANGUAGE', 'ru_ru'],
    ['ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD', '1.5'],
    ['ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD', 'high'],
    ['ASSEMBLYAI_CHECK_HOLD_SECONDS', '31'],
    ['ASSEMBLYAI_CHECK_HOLD_SECONDS', '-1'],
    ['ASSEMBLYAI_CHECK_HOLD_SECONDS', 'long'],
  ])('refuses %s=%s at cold start', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(ConfigurationError);
  });
});

describe('loadConfig: poll settings', () => {
  it('holds Check for 15 s and caps a wait at 1 h by default; 0 turns the hold off', () => {
    // Act
    const defaults = load().poll;
    const off = load({ ASSEMBLYAI_CHECK_HOLD_SECONDS: '0' }).poll;

    // Assert
    expect(defaults).toEqual({
      deadlineBaseSeconds: 900,
      deadlinePerAudioSecond: 0.5,
      maxWaitSeconds: 3600,
      holdSeconds: 15,
    });
    expect(off.holdSeconds).toBe(0);
  });
});

describe('the AssemblyAI catalog', () => {
  it('lists exactly the language codes of the published spec', () => {
    // Arrange: AssemblyAI's OpenAPI spec, copied unchanged (see test/fixtures/assemblyai/README.md)
    const spec = assemblyaiFixture<{
      components: { schemas: { TranscriptLanguageCode: { enum: string[] } } };
    }>('openapi.json');

    // Assert
    expect([...LANGUAGE_CODES]).toEqual(spec.components.schemas.TranscriptLanguageCode.enum);
  });

  it('lists exactly the PII policies of the published spec', () => {
    const spec = assemblyaiFixture<{ components: { schemas: { PiiPolicy: { enum: string[] } } } }>(
      'openapi.json',
    );

    expect([...PII_POLICIES].sort()).toEqual([...spec.components.schemas.PiiPolicy.enum].sort());
  });

  it('redacts in 50 published language codes, the bot’s default languages among them', () => {
    expect(new Set(PII_LANGUAGES).size).toBe(50);
    for (const code of PII_LANGUAGES) expect(LANGUAGE_CODES).toContain(code);
    for (const code of [...DEFAULT_EXPECTED_LANGUAGES, DEFAULT_FALLBACK_LANGUAGE]) {
      expect(PII_LANGUAGES).toContain(code);
    }
  });

  it('keeps every default model current and every current model covering its languages', () => {
    for (const model of DEFAULT_SPEECH_MODELS) expect(SPEECH_MODELS[model]?.status).toBe('current');
    for (const code of LANGUAGE_CODES) expect(routeSpeechModel(DEFAULT_SPEECH_MODELS, code)).toBeDefined();
  });
});
