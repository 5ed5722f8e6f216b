/** The execution input contract (README, "Execution input") and where results live. */

import { DEFAULT_PII_POLICIES } from '../../lambdas/shared/assemblyai-catalog.js';
import { redactionOf } from '../../lambdas/shared/config.js';
import {
  DEFAULT_INPUT_PREFIX,
  MAX_S3_KEY_BYTES,
  resultKey,
  s3KeyProblem,
} from '../../lambdas/shared/contracts.js';
import { transcriptionRequestSchema } from '../../lambdas/validate-audio/request-schema.js';
import { parseRequest } from '../../lambdas/validate-audio/validate-audio.js';
import { testConfig } from './step-fixtures.js';

const BUCKET = 'wisevoice-transcription-dev';
const config = testConfig({ TRANSCRIPTION_BUCKET: BUCKET });
const SEED_INPUT = {
  s3_key: 'transcription/123/abc-123.mp3',
  user_id: 123,
  file_id: 'abc-123',
  bucket: BUCKET,
};

/** parseRequest's error for `input`, or fails the test if it was accepted. */
function refusal(input: unknown): Error {
  try {
    parseRequest(input, config);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

const withField = (field: string, value: unknown) => ({ ...SEED_INPUT, [field]: value });
const withoutField = (field: string) =>
  Object.fromEntries(Object.entries(SEED_INPUT).filter(([k]) => k !== field));

describe('transcriptionRequestSchema', () => {
  it('accepts the seed example input unchanged', () => {
    // Arrange
    const schema = transcriptionRequestSchema({ bucket: BUCKET, inputPrefix: DEFAULT_INPUT_PREFIX });

    // Act
    const parsed = schema.parse(SEED_INPUT);

    // Assert
    expect(parsed).toEqual(SEED_INPUT);
  });

  it('refuses an input prefix other than the one it was built for', () => {
    // Arrange
    const schema = transcriptionRequestSchema({ bucket: BUCKET, inputPrefix: 'uploads/' });

    // Act
    const result = schema.safeParse(SEED_INPUT);

    // Assert
    expect(result.success).toBe(false);
  });
});

describe('parseRequest', () => {
  it('accepts the seed example input', () => {
    // Act
    const request = parseRequest(SEED_INPUT, config);

    // Assert
    expect(request).toEqual(SEED_INPUT);
  });

  it('normalizes a user_id given as a string of digits to a number', () => {
    // Act
    const request = parseRequest(withField('user_id', '123'), config);

    // Assert
    expect(request.user_id).toBe(123);
  });

  it('accepts the optional language_code "ru" and speakers_expected 2', () => {
    // Act
    const request = parseRequest({ ...SEED_INPUT, language_code: 'ru', speakers_expected: 2 }, config);

    // Assert
    expect(request.language_code).toBe('ru');
    expect(request.speakers_expected).toBe(2);
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['fractional', 1.5],
    ['beyond the safe integer range', 2 ** 60],
    ['a string with a letter', '12a'],
    ['a string with a leading zero', '0123'],
    ['a digit string beyond the safe integer range', '99999999999999999'],
    ['a boolean', true],
  ])('refuses a user_id that is %s as InvalidInput naming the field', (_label, value) => {
    // Act
    const error = refusal(withField('user_id', value));

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('user_id');
  });

  it.each(['user_id', 'file_id', 's3_key', 'bucket'])(
    'refuses an input without %s, naming the field',
    (field) => {
      // Act
      const error = refusal(withoutField(field));

      // Assert
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain(field);
    },
  );

  it.each([
    ['a slash', 'abc/123'],
    ['a dot-dot', '..'],
    ['a space', 'abc 123'],
    ['129 characters', 'a'.repeat(129)],
    ['non-ASCII letters', 'файл-1'],
    ['an empty string', ''],
  ])('refuses a file_id with %s as InvalidInput naming the field', (_label, value) => {
    // Act
    const error = refusal(withField('file_id', value));

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('file_id');
  });

  it('accepts a file_id of exactly 128 allowed characters', () => {
    // Arrange
    const fileId = `${'A'.repeat(64)}${'z9_-'.repeat(16)}`;

    // Act
    const request = parseRequest(withField('file_id', fileId), config);

    // Assert
    expect(request.file_id).toBe(fileId);
  });

  it.each([
    ['that is absolute', '/transcription/123/abc.mp3'],
    ['with a ".." segment', 'transcription/../secrets/abc.mp3'],
    ['with a percent-encoded ".." segment', 'transcription/%2e%2e/secrets/abc.mp3'],
    ['outside the input prefix', 'results/123/abc-123.json'],
    ['equal to the bare prefix', 'transcription/'],
    ['with a NUL character', 'transcription/123/abc\u0000.mp3'],
    ['with a newline', 'transcription/123/abc\n.mp3'],
    ['with a percent-encoded control character', 'transcription/123/abc%0a.mp3'],
    ['longer than 1024 bytes', `transcription/${'я'.repeat(510)}.mp3`],
    ['with a lone high surrogate', 'transcription/123/abc\ud800.mp3'],
    ['with a lone low surrogate', 'transcription/123/\udc00abc.mp3'],
    ['with a C1 control character', 'transcription/123/abc\u0085.mp3'],
    ['with a right-to-left override', 'transcription/123/abc\u202egpm.mp3'],
    ['with a bidi isolate', 'transcription/123/abc\u2067.mp3'],
    ['with a line separator', 'transcription/123/abc\u2028.mp3'],
    ['with a paragraph separator', 'transcription/123/abc\u2029.mp3'],
    ["under another user's uploads", 'transcription/456/abc-123.mp3'],
    ['naming only the user folder', 'transcription/123/'],
  ])('refuses an s3_key %s as InvalidInput naming the field', (_label, key) => {
    // Act
    const error = refusal(withField('s3_key', key));

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('s3_key');
  });

  it('names the user folder the audio must be in', () => {
    expect(refusal(withField('s3_key', 'transcription/456/a.ogg')).message).toContain(
      's3_key must be an object under "transcription/123/", the user\'s own uploads',
    );
  });

  it("accepts another user's folder when INPUT_PER_USER is false", () => {
    // Arrange
    const shared = testConfig({ TRANSCRIPTION_BUCKET: BUCKET, INPUT_PER_USER: 'false' });

    // Act
    const request = parseRequest(withField('s3_key', 'transcription/shared/a.ogg'), shared);

    // Assert
    expect(request.s3_key).toBe('transcription/shared/a.ogg');
  });

  it('accepts Cyrillic, emoji and a well-formed surrogate pair in the key', () => {
    expect(parseRequest(withField('s3_key', 'transcription/123/голос 🎤.ogg'), config).s3_key).toBe(
      'transcription/123/голос 🎤.ogg',
    );
  });

  it('refuses a bucket that is not the configured one', () => {
    // Act
    const error = refusal(withField('bucket', 'someone-elses-bucket'));

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('bucket');
  });

  it('refuses an unknown extra field, naming it', () => {
    // Act
    const error = refusal({ ...SEED_INPUT, callback_url: 'https://example.com' });

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('callback_url');
  });

  it.each(['Russian', 'RU', 'r', 'ru-RU', '', 'zz', 'en_gb', 'ru_ru'])(
    'refuses the language_code %p',
    (code) => {
      // Act
      const error = refusal(withField('language_code', code));

      // Assert
      expect(error.name).toBe('InvalidInput');
      expect(error.message).toContain('language_code');
      expect(error.message).toMatch(
        /language_code (must be a string|is not a language code AssemblyAI publishes)/,
      );
    },
  );

  it.each(['en_uk', 'en_au', 'haw', 'uk', 'ru'])('accepts the published language_code %p', (code) => {
    expect(parseRequest(withField('language_code', code), config).language_code).toBe(code);
  });

  it.each([0, 11, 1.5, '2'])('refuses speakers_expected %p', (value) => {
    // Act
    const error = refusal(withField('speakers_expected', value));

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain('speakers_expected');
  });

  it.each([
    ['null', null],
    ['an array', [SEED_INPUT]],
    ['a string', JSON.stringify(SEED_INPUT)],
    ['a number', 123],
    ['undefined', undefined],
  ])('refuses %s as input with InvalidInput', (_label, input) => {
    // Act
    const error = refusal(input);

    // Assert
    expect(error.name).toBe('InvalidInput');
    expect(error.message).toMatch(/JSON object/);
  });

  it('lists every problem of an input in one message', () => {
    // Act
    const error = refusal({ ...SEED_INPUT, user_id: -5, file_id: 'a b' });

    // Assert
    expect(error.message).toContain('user_id');
    expect(error.message).toContain('file_id');
  });
});

describe('s3KeyProblem', () => {
  it('accepts a key under the input prefix', () => {
    // Act
    const problem = s3KeyProblem('transcription/123/abc-123.mp3', 'transcription/');

    // Assert
    expect(problem).toBeUndefined();
  });

  it('accepts a key of exactly the byte limit', () => {
    // Arrange
    const key = `transcription/${'a'.repeat(MAX_S3_KEY_BYTES - 'transcription/'.length)}`;

    // Act
    const problem = s3KeyProblem(key, 'transcription/');

    // Assert
    expect(Buffer.byteLength(key)).toBe(MAX_S3_KEY_BYTES);
    expect(problem).toBeUndefined();
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    // Arrange: 600 characters, 1,200+ bytes
    const key = `transcription/${'ж'.repeat(600)}`;

    // Act
    const problem = s3KeyProblem(key, 'transcription/');

    // Assert
    expect(problem).toMatch(/1024 bytes/);
  });

  it.each([
    ['a "." segment', 'transcription/./abc.mp3', /"\.".*segments/],
    ['an upper-case percent-encoded ".."', 'transcription/%2E%2E/abc.mp3', /segments/],
    ['backslashes', 'transcription\\..\\abc.mp3', /\\/],
    ['a percent-encoded leading "/"', '%2Ftranscription/abc.mp3', /must not start with/],
    ['a DEL character', 'transcription/abc\u007f.mp3', /control characters/],
  ])('explains that a key with %s is refused', (_label, key, explanation) => {
    // Act
    const problem = s3KeyProblem(key, 'transcription/');

    // Assert
    expect(problem).toMatch(explanation);
  });
});

describe('resultKey', () => {
  it('places a result at {prefix}{user_id}/{file_id}.json', () => {
    // Act
    const key = resultKey('results/', 123, 'abc-123');

    // Assert
    expect(key).toBe('results/123/abc-123.json');
  });

  it('honours a configured results prefix', () => {
    // Act
    const key = resultKey('bot/results/', 7, 'x_1');

    // Assert
    expect(key).toBe('bot/results/7/x_1.json');
  });
});

describe('the request options (issue 12)', () => {
  it('accepts a speaker range, names, keyterms and outputs, trimmed', () => {
    const request = parseRequest(
      {
        ...SEED_INPUT,
        speakers_min: 2,
        speakers_max: 3,
        speaker_names: { A: ' Анна ', B: 'Boris' },
        keyterms: ['  WiseVoice ', 'Step   Functions'],
        outputs: ['vtt', 'srt', 'txt'],
      },
      config,
    );

    expect(request).toMatchObject({
      speakers_min: 2,
      speakers_max: 3,
      speaker_names: { A: 'Анна', B: 'Boris' },
      keyterms: ['WiseVoice', 'Step Functions'],
      outputs: ['vtt', 'srt', 'txt'],
    });
  });

  it.each([
    [
      { speakers_expected: 2, speakers_max: 3 },
      'speakers_expected must not be given with speakers_min or speakers_max',
    ],
    [{ speakers_min: 4, speakers_max: 3 }, 'speakers_min must not be above speakers_max'],
    [{ speakers_max: 11 }, 'speakers_max must be an integer from 1 to 10'],
    [{ speaker_names: { a: 'Anna' } }, "must map AssemblyAI's speaker letters"],
    [{ speaker_names: { A: 'x'.repeat(36) } }, 'names of 1-35 characters'],
    [{ speaker_names: { A: 'Anna\u2028Maria' } }, 'on one line'],
    [{ keyterms: [] }, 'keyterms must be a list of 1 or more distinct words or phrases'],
    [{ keyterms: ['Kyiv', ' Kyiv'] }, 'distinct'],
    [{ outputs: ['pdf'] }, 'outputs.0 must be one of "srt", "vtt", "txt"'],
    [{ outputs: ['srt', 'srt'] }, 'outputs must be a list of distinct formats among "srt", "vtt", "txt"'],
    [{ outputs: [] }, 'outputs must be a list of distinct formats'],
    [{ redact_pii: 'yes' }, 'redact_pii must be true or false'],
    [
      { redact_pii_policies: ['person_name', 'social_credit'] },
      'redact_pii_policies must be a list of distinct AssemblyAI PII policies',
    ],
    [
      { redact_pii: false, redact_pii_policies: ['person_name'] },
      'redact_pii_policies must not be given with redact_pii false',
    ],
  ])('refuses %j with InvalidInput', (patch, message) => {
    const error = refusal({ ...SEED_INPUT, ...patch });

    expect(error.name).toBe('InvalidInput');
    expect(error.message).toContain(message);
  });

  describe('keyterms against the deployment’s speech models (universal-3-5-pro, universal-2)', () => {
    const terms = (n: number, words = 1) =>
      Array.from({ length: n }, (_, i) => Array.from({ length: words }, (_, w) => `term${i}w${w}`).join(' '));

    it('refuses keyterms for Russian: it runs on Universal-2, which boosts English only', () => {
      expect(refusal({ ...SEED_INPUT, language_code: 'ru', keyterms: ['Сбербанк'] }).message).toContain(
        'keyterms are not available for language_code "ru" with the speech model it runs on (universal-2)',
      );
    });

    it('allows 1,000 words for English (Universal-3.5 Pro) but 200 with detection (it may run on Universal-2)', () => {
      expect(
        parseRequest({ ...SEED_INPUT, language_code: 'en', keyterms: terms(500, 2) }, config).keyterms,
      ).toHaveLength(500);
      expect(refusal({ ...SEED_INPUT, language_code: 'en', keyterms: terms(1001) }).message).toContain(
        'at most 1000 words in all',
      );
      expect(parseRequest({ ...SEED_INPUT, keyterms: terms(200) }, config).keyterms).toHaveLength(200);
      expect(refusal({ ...SEED_INPUT, keyterms: terms(201) }).message).toContain('at most 200 words in all');
    });

    it('refuses a phrase of more than 6 words, and with detection one longer than Universal-2’s 50 characters', () => {
      expect(refusal({ ...SEED_INPUT, keyterms: terms(1, 7) }).message).toContain('at most 6 words');
      expect(refusal({ ...SEED_INPUT, keyterms: ['x'.repeat(51)] }).message).toContain('50 characters');
      expect(
        parseRequest({ ...SEED_INPUT, language_code: 'en', keyterms: ['x'.repeat(51)] }, config).keyterms,
      ).toEqual(['x'.repeat(51)]);
    });

    it('refuses keyterms when no configured model takes them', () => {
      const nano = testConfig({ TRANSCRIPTION_BUCKET: BUCKET, ASSEMBLYAI_SPEECH_MODELS: 'universal-2' });

      expect(() => parseRequest({ ...SEED_INPUT, language_code: 'de', keyterms: ['Bahn'] }, nano)).toThrow(
        /keyterms are not available for language_code "de"/,
      );
    });
  });
});

describe('redaction: the request’s, else the deployment’s', () => {
  const deployment = (env: Record<string, string>) => testConfig({ TRANSCRIPTION_BUCKET: BUCKET, ...env });

  it('is off by default, on with the default policies when the deployment says so, and a request wins', () => {
    const on = deployment({ REDACT_PII: 'true' });

    expect(redactionOf({}, config)).toBeUndefined();
    expect(redactionOf({}, on)?.policies).toEqual([...DEFAULT_PII_POLICIES]);
    expect(redactionOf({ redact_pii: false }, on)).toBeUndefined();
    expect(redactionOf({ redact_pii: true }, config)?.policies).toEqual([...DEFAULT_PII_POLICIES]);
    expect(redactionOf({ redact_pii_policies: ['phone_number'] }, config)).toEqual({
      policies: ['phone_number'],
    });
    expect(redactionOf({}, deployment({ REDACT_PII: 'true', REDACT_PII_POLICIES: 'email_address' }))).toEqual(
      {
        policies: ['email_address'],
      },
    );
  });

  describe('in the languages AssemblyAI redacts (its docs’ 50)', () => {
    const refusal = (input: object, at = config) => {
      try {
        parseRequest(input, at);
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected a refusal');
    };

    it('takes Russian, English and a regional English code, and refuses Thai or Welsh before submission', () => {
      for (const language_code of ['ru', 'en', 'en_au', 'uk']) {
        expect(parseRequest({ ...SEED_INPUT, language_code, redact_pii: true }, config).language_code).toBe(
          language_code,
        );
      }
      const thai = refusal({ ...SEED_INPUT, language_code: 'th', redact_pii: true });
      expect(thai.name).toBe('InvalidInput');
      expect(thai.message).toBe(
        'Invalid input: redact_pii is not available for language_code "th": AssemblyAI redacts PII in 50 languages (its docs\' "PII Redaction" table)',
      );
      expect(
        refusal({ ...SEED_INPUT, language_code: 'cy', redact_pii_policies: ['person_name'] }).message,
      ).toContain('language_code "cy"');
    });

    it('refuses a language it cannot redact only when redaction is on, by request or by the deployment', () => {
      expect(parseRequest({ ...SEED_INPUT, language_code: 'th' }, config).language_code).toBe('th');
      const on = deployment({ REDACT_PII: 'true' });
      expect(refusal({ ...SEED_INPUT, language_code: 'th' }, on).message).toContain('language_code "th"');
      expect(parseRequest({ ...SEED_INPUT, language_code: 'th', redact_pii: false }, on).language_code).toBe(
        'th',
      );
    });

    it('with detection, needs every language detection may pick to be redactable', () => {
      const all = deployment({ ASSEMBLYAI_EXPECTED_LANGUAGES: 'all' });
      expect(refusal({ ...SEED_INPUT, redact_pii: true }, all).message).toContain(
        'redact_pii needs a language_code: language detection here may pick any language',
      );
      const withThai = deployment({ ASSEMBLYAI_EXPECTED_LANGUAGES: 'ru,th' });
      expect(refusal({ ...SEED_INPUT, redact_pii: true }, withThai).message).toContain('may pick "th"');
      expect(
        parseRequest({ ...SEED_INPUT, language_code: 'ru', redact_pii: true }, withThai).language_code,
      ).toBe('ru');
      const thaiFallback = deployment({ ASSEMBLYAI_FALLBACK_LANGUAGE: 'th' });
      expect(refusal({ ...SEED_INPUT, redact_pii: true }, thaiFallback).message).toContain('may pick "th"');
      expect(parseRequest({ ...SEED_INPUT, redact_pii: true }, config).redact_pii).toBe(true);
    });

    it('refuses at cold start a deployment that redacts by default while detecting languages it cannot redact', () => {
      expect(() => deployment({ REDACT_PII: 'true', ASSEMBLYAI_EXPECTED_LANGUAGES: 'all' })).toThrow(
        /^REDACT_PII=true with ASSEMBLYAI_EXPECTED_LANGUAGES\/ASSEMBLYAI_FALLBACK_LANGUAGE: redact_pii needs a language_code/,
      );
      expect(() => deployment({ REDACT_PII: 'true', ASSEMBLYAI_EXPECTED_LANGUAGES: 'ru,en' })).not.toThrow();
    });
  });

  it('refuses a deployment policy AssemblyAI does not know at cold start', () => {
    expect(() => deployment({ REDACT_PII_POLICIES: 'person_name,social_credit' })).toThrow(
      'REDACT_PII_POLICIES holds names AssemblyAI does not know: social_credit',
    );
  });
});
