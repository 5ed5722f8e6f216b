/**
 * The AssemblyAI provider: error classification against AssemblyAI's documented bodies and job
 * errors, and the real SDK over real HTTP against the emulator (faults included).
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  type AssemblyAIOptions,
  audioUrlDigest,
  capProviderText,
  classifyHttpError,
  classifyJobError,
  createAssemblyAIProvider,
  type ProviderJob,
  type ProviderTranscript,
  parseProviderTime,
  providerJobOf,
  redactUrls,
  s3ObjectOfUrl,
  safeProviderText,
  type TranscriptionProvider,
  urlPointsAtBucket,
  urlPointsAtObject,
} from '../../lambdas/shared/assemblyai.js';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import { loadConfig } from '../../lambdas/shared/config.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';
import {
  AUDIO_DIR,
  assemblyaiFixture,
  rejectionOf,
  startTestS3,
  TEST_BUCKET,
  type TestS3,
} from './step-fixtures.js';

const httpBodies = assemblyaiFixture<Record<string, { error: string }>>('http-error-bodies.docs.json');
const downloadError = assemblyaiFixture<{ error: string }>('error-download.docs-common-errors.json');
const tooShortError = assemblyaiFixture<{ error: string }>('error-too-short.docs-common-errors.json');
const SPEECH_MODELS = [...DEFAULT_SPEECH_MODELS];
/** The deployment defaults (expected ru/en, fallback ru, no threshold). */
const DEFAULT_LANGUAGE_POLICY = loadConfig({ TRANSCRIPTION_BUCKET: 'b' }).assemblyai.languageDetection;
const PRESIGNED =
  'https://wisevoice-transcription-dev.s3.eu-central-1.amazonaws.com/transcription/123/abc-123.ogg' +
  '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAXXXXXXXX%2F20260301%2Feu-central-1%2Fs3%2Faws4_request' +
  '&X-Amz-Date=20260301T100000Z&X-Amz-Expires=3600&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE' +
  '&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef&X-Amz-SignedHeaders=host';

const bodyOf = (name: string) => JSON.stringify(httpBodies[name]);

describe('classifyHttpError', () => {
  it('classifies 429 as ProviderRateLimited with the Retry-After seconds', () => {
    // Act
    const error = classifyHttpError(429, bodyOf('429_openapi'), '17');

    // Assert
    expect(error.name).toBe('ProviderRateLimited');
    expect(error).toMatchObject({ retryAfterSeconds: 17, retryable: true });
    expect(error.message).toContain('Too Many Requests');
  });

  it.each<[string | null, string]>([
    [null, 'absent'],
    ['', 'empty'],
    ['Wed, 21 Oct 2026 07:28:00 GMT', 'an HTTP date'],
    ['-3', 'negative'],
  ])('leaves retryAfterSeconds undefined when Retry-After is %p (%s)', (header) => {
    // Act
    const error = classifyHttpError(429, bodyOf('429_openapi'), header);

    // Assert
    expect(error.name).toBe('ProviderRateLimited');
    expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBeUndefined();
  });

  it.each([
    [500, '500_openapi'],
    [500, '500_cookbook'],
    [502, '500_openapi'],
    [503, '500_openapi'],
    [408, '500_openapi'],
  ])('classifies HTTP %i as the retryable ProviderUnavailable', (status, body) => {
    // Act
    const error = classifyHttpError(status, bodyOf(body), null);

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it.each([
    [400, '400_negative_balance'],
    [400, '400_language_unsupported_model'],
    [400, '400_transcript_not_found'],
    [401, '401_cookbook'],
    [401, '401_openapi'],
    [403, '403_upload_other_project'],
    [404, '404_openapi'],
  ])('classifies HTTP %i (%s) as ProviderRejected with the body error text', (status, body) => {
    // Act
    const error = classifyHttpError(status, bodyOf(body), null);

    // Assert
    expect(error.name).toBe('ProviderRejected');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`(HTTP ${status})`);
    expect(error.message).toContain(httpBodies[body]?.error);
  });

  it('keeps a non-JSON body as text and falls back to the status for an empty one', () => {
    // Act
    const text = classifyHttpError(502, '<html>Bad Gateway</html>', null);
    const empty = classifyHttpError(400, '', null);

    // Assert
    expect(text.message).toContain('HTTP 502): an HTML error page');
    expect(text.message).not.toContain('<html>');
    expect(empty.message).toContain('HTTP 400');
  });

  it('redacts a URL echoed in an error body', () => {
    // Act
    const error = classifyHttpError(400, JSON.stringify({ error: `Cannot access ${PRESIGNED}` }), null);

    // Assert
    expect(error.message).not.toContain('X-Amz-Signature');
    expect(error.message).not.toContain('http');
  });
});

describe('safeProviderText', () => {
  it('caps a 300 KB provider text far below the state limit, after redacting', () => {
    // Arrange
    const huge = `${PRESIGNED} ${'x'.repeat(300_000)}`;

    // Act
    const text = safeProviderText(huge);

    // Assert
    expect(text.length).toBeLessThanOrEqual(300);
    expect(text).not.toContain('X-Amz-Signature');
  });

  it('does not echo an HTML error page', () => {
    expect(safeProviderText('<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>')).toBe(
      'an HTML error page',
    );
  });

  it('never cuts a surrogate pair in half', () => {
    const cut = capProviderText('🎤'.repeat(400));
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(cut.endsWith('🎤…')).toBe(true);
  });
});

describe('classifyJobError', () => {
  it('keeps a 300 KB job error small enough for a state', () => {
    expect(classifyJobError('e'.repeat(300_000)).message.length).toBeLessThan(500);
  });

  it('classifies the documented download error as AudioDownloadFailed with the URL redacted', () => {
    // Act
    const error = classifyJobError(downloadError.error);

    // Assert
    expect(error.name).toBe('AudioDownloadFailed');
    expect(error.message).not.toContain('http');
    expect(error.message).not.toContain('foo.bar');
    expect(error.message).toContain('Download error');
  });

  it('redacts a presigned URL in a download error', () => {
    // Act
    const error = classifyJobError(`Download error, unable to download ${PRESIGNED}. Please make sure…`);

    // Assert
    expect(error.name).toBe('AudioDownloadFailed');
    expect(error.message).not.toMatch(/http|X-Amz|amazonaws/);
  });

  it('classifies the documented too-short error as AudioTooShort', () => {
    // Act
    const error = classifyJobError(tooShortError.error);

    // Assert
    expect(error.name).toBe('AudioTooShort');
  });

  it('explains a detection below the confidence threshold as a language problem the user can fix', () => {
    // Arrange: the form of AssemblyAI's error for language_confidence_threshold (its guide
    // "Route to default language if language confidence is low")
    const message =
      "detected language 'ru', confidence 0.4123, is below the requested confidence threshold value of '0.6'";

    // Act
    const error = classifyJobError(message);

    // Assert
    expect(error.name).toBe('TranscriptionFailed');
    expect(error.message).toMatch(
      /^The language of the audio could not be recognised with enough confidence/,
    );
  });

  it('classifies a transcoding failure as UnsupportedAudioFormat', () => {
    // Act
    const error = classifyJobError(
      'Transcoding failed. File does not appear to contain audio. File type is text/html.',
    );

    // Assert
    expect(error.name).toBe('UnsupportedAudioFormat');
  });

  it.each(['Server error, developers have been alerted.', null, undefined])(
    'classifies %p as TranscriptionFailed',
    (message) => {
      // Act
      const error = classifyJobError(message);

      // Assert
      expect(error.name).toBe('TranscriptionFailed');
      expect(error.retryable).toBe(false);
    },
  );
});

describe('urlPointsAtObject', () => {
  const key = 'transcription/123/abc-123.ogg';
  const object = { bucket: TEST_BUCKET, key };

  it.each([
    ['a virtual-hosted presigned URL', PRESIGNED, { bucket: 'wisevoice-transcription-dev', key }],
    ['a path-style URL', `http://127.0.0.1:4569/${TEST_BUCKET}/${key}?X-Amz-Signature=abc`, object],
  ])('recognises %s of the key', (_label, url, target) => {
    // Act
    const matches = urlPointsAtObject(url, target);

    // Assert
    expect(matches).toBe(true);
  });

  it('recognises a percent-encoded key', () => {
    // Act
    const matches = urlPointsAtObject(
      'https://b.s3.amazonaws.com/transcription/123/%D0%B3%D0%BE%D0%BB%D0%BE%D1%81%20one.ogg?X-Amz-Signature=abc',
      { bucket: 'b', key: 'transcription/123/голос one.ogg' },
    );

    // Assert
    expect(matches).toBe(true);
  });

  it.each([
    ['another file of the user', 'https://b.s3.amazonaws.com/transcription/123/other.ogg'],
    ['a longer key that merely ends with this one', `https://b.s3.amazonaws.com/transcription/9/${key}`],
    ['a path-style URL of a longer key', `http://127.0.0.1:4569/${TEST_BUCKET}/transcription/9/${key}`],
    ['the same key in another bucket (virtual-hosted)', `https://other-bucket.s3.amazonaws.com/${key}`],
    ['the same key in another bucket (path-style)', `http://127.0.0.1:4569/other-bucket/${key}`],
    ['not a URL', 'Deleted by user.'],
  ])('does not take %s for the key', (_label, url) => {
    // Act
    const matches = urlPointsAtObject(url, object);

    // Assert
    expect(matches).toBe(false);
  });
});

describe('s3ObjectOfUrl', () => {
  it.each([
    ['virtual-hosted', PRESIGNED, 'wisevoice-transcription-dev', 'transcription/123/abc-123.ogg'],
    ['virtual-hosted, legacy global endpoint', 'https://b.s3.amazonaws.com/k/1.ogg', 'b', 'k/1.ogg'],
    ['virtual-hosted, dual-stack', 'https://b.s3.dualstack.eu-west-1.amazonaws.com/k/1.ogg', 'b', 'k/1.ogg'],
    ['virtual-hosted, accelerated', 'https://b.s3-accelerate.amazonaws.com/k/1.ogg', 'b', 'k/1.ogg'],
    [
      'virtual-hosted, a dotted bucket',
      'https://a.s3.b.s3.eu-west-1.amazonaws.com/k/1.ogg',
      'a.s3.b',
      'k/1.ogg',
    ],
    ['path-style on AWS', 'https://s3.eu-west-1.amazonaws.com/b/k/1.ogg?X-Amz-Signature=x', 'b', 'k/1.ogg'],
    ['path-style on an emulator', 'http://127.0.0.1:4569/b/k/%D0%B3.ogg', 'b', 'k/г.ogg'],
  ])('reads the bucket and key of a %s URL', (_label, url, bucket, key) => {
    expect(s3ObjectOfUrl(url)).toEqual({ bucket, key });
  });

  it.each([
    ['a bucket without a key', 'https://b.s3.amazonaws.com/'],
    ['a path-style bucket without a key', 'http://127.0.0.1:4569/b'],
    ['a deleted transcript', 'http://deleted_by_user'],
    ['not a URL', 'Deleted by user.'],
    ['another scheme', 'ftp://127.0.0.1/b/k.ogg'],
    ['a broken escape', 'http://127.0.0.1:4569/b/%E0%A4%A.ogg'],
  ])('finds no object in %s', (_label, url) => {
    expect(s3ObjectOfUrl(url)).toBeUndefined();
  });
});

describe('urlPointsAtBucket', () => {
  const target = { bucket: 'wisevoice-transcription-dev', prefix: 'transcription/' };

  it.each([
    ['a virtual-hosted presigned URL', PRESIGNED],
    [
      'a path-style URL',
      'http://127.0.0.1:4569/wisevoice-transcription-dev/transcription/9/x.ogg?X-Amz-Signature=a',
    ],
  ])('recognises %s under the prefix', (_label, url) => {
    expect(urlPointsAtBucket(url, target)).toBe(true);
  });

  it.each([
    ['another bucket', 'https://other.s3.eu-central-1.amazonaws.com/transcription/9/x.ogg'],
    [
      'a bucket whose name starts with ours',
      'https://wisevoice-transcription-dev-old.s3.amazonaws.com/transcription/9/x.ogg',
    ],
    [
      'a dotted bucket that starts with ours',
      'https://wisevoice-transcription-dev.backup.s3.amazonaws.com/transcription/9/x.ogg',
    ],
    [
      'our bucket outside the prefix',
      'https://wisevoice-transcription-dev.s3.amazonaws.com/results/9/x.json',
    ],
    ['a prefix lookalike', 'https://wisevoice-transcription-dev.s3.amazonaws.com/transcription-old/9/x.ogg'],
    ['the prefix itself', 'https://wisevoice-transcription-dev.s3.amazonaws.com/transcription/'],
    [
      'our bucket as a key of another',
      'https://other.s3.amazonaws.com/wisevoice-transcription-dev/transcription/9/x.ogg',
    ],
    [
      'our bucket as a key on an emulator',
      'http://127.0.0.1:4569/other/wisevoice-transcription-dev/transcription/9/x.ogg',
    ],
    ['a deleted transcript', 'http://deleted_by_user'],
  ])('does not take %s for ours', (_label, url) => {
    expect(urlPointsAtBucket(url, target)).toBe(false);
  });
});

describe('parseProviderTime', () => {
  it("reads AssemblyAI's zone-less list times as UTC, whatever the machine's zone", () => {
    expect(parseProviderTime('2023-11-02T21:49:25.586965').toISOString()).toBe('2023-11-02T21:49:25.586Z');
    expect(parseProviderTime('2023-11-02T21:49:25Z').toISOString()).toBe('2023-11-02T21:49:25.000Z');
    expect(parseProviderTime('2023-11-02T23:49:25+02:00').toISOString()).toBe('2023-11-02T21:49:25.000Z');
  });
});

describe('redactUrls', () => {
  it.each([
    ['upper-case scheme', PRESIGNED.replace('https://', 'HTTPS://')],
    ['JSON-escaped slashes', PRESIGNED.replace('https://', 'https:\\/\\/')],
    ['a query without its scheme', PRESIGNED.slice(PRESIGNED.indexOf('?'))],
  ])('removes a presigned URL written with %s', (_label, url) => {
    // Act
    const redacted = redactUrls(`Download error, unable to download ${url}. Please check`);

    // Assert
    expect(redacted).not.toMatch(/X-Amz-Signature|X-Amz-Credential|0123456789abcdef/i);
    expect(redacted).toContain('<url>');
  });

  it('removes a presigned S3 URL entirely, signature included', () => {
    // Act
    const redacted = redactUrls(`could not fetch ${PRESIGNED} in time`);

    // Assert
    expect(redacted).toBe('could not fetch <url> in time');
  });

  it('redacts every URL and keeps the surrounding text', () => {
    // Act
    const redacted = redactUrls('from http://a.example/x?sig=1 and "https://b.example/y"');

    // Assert
    expect(redacted).toBe('from <url> and "<url>"');
  });

  it('finds a URL after a scheme-less "://" in the same run of text, and keeps what precedes it', () => {
    // Act
    const redacted = redactUrls(`(://nothing)at=${PRESIGNED.replace('?', '?a=1&').replace(/X-Amz-/g, 'x-')}`);

    // Assert
    expect(redacted).toBe('(://nothing)at=<url>');
  });

  it('leaves a 300 KB run without spaces or URLs as it is', () => {
    // Arrange: the shape that made the single-regex version quadratic
    const run = 'a'.repeat(300_000);

    // Act
    const redacted = redactUrls(`${run} ${run}:x`);

    // Assert
    expect(redacted).toBe(`${run} ${run}:x`);
  });
});

describe('the submit request body', () => {
  /** A one-route server that records the POST body and answers like AssemblyAI (a queued job). */
  async function capturingServer() {
    const bodies: Record<string, unknown>[] = [];
    const queued = assemblyaiFixture<Record<string, unknown>>('queued.go-sdk-testdata.json');
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ...queued, id: '6f9a1c2e-5d4b-4c3a-9e8f-0a1b2c3d4e5f' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { url, bodies, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const submitWith = async (env: Record<string, string>, request: { languageCode?: string } = {}) => {
    const server = await capturingServer();
    try {
      const config = loadConfig({ TRANSCRIPTION_BUCKET: 'b', ...env });
      await createAssemblyAIProvider({
        apiKey: async () => 'key',
        baseUrl: server.url,
        speechModels: config.assemblyai.speechModels,
        languageDetection: config.assemblyai.languageDetection,
        timeoutMs: 2_000,
      }).submit({ audioUrl: PRESIGNED, ...request });
      return server.bodies[0] as Record<string, unknown>;
    } finally {
      await server.close();
    }
  };

  it('sends the current default models and detection limited to ru/en with fallback ru', async () => {
    // Act
    const body = await submitWith({});

    // Assert
    expect(body.speech_models).toEqual(['universal-3-5-pro', 'universal-2']);
    expect(body.language_detection).toBe(true);
    expect(body.language_detection_options).toEqual({
      expected_languages: ['ru', 'en'],
      fallback_language: 'ru',
    });
    expect(body).not.toHaveProperty('language_confidence_threshold');
    expect(body).not.toHaveProperty('language_code');
  });

  it("lets the request's language_code win over detection", async () => {
    // Act
    const body = await submitWith({}, { languageCode: 'en_us' });

    // Assert
    expect(body.language_code).toBe('en_us');
    expect(body).not.toHaveProperty('language_detection');
    expect(body).not.toHaveProperty('language_detection_options');
  });

  it('sends a configured confidence threshold, and bare detection for expected languages "all"', async () => {
    // Act
    const body = await submitWith({
      ASSEMBLYAI_EXPECTED_LANGUAGES: 'all',
      ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD: '0.6',
    });

    // Assert
    expect(body.language_detection).toBe(true);
    expect(body).not.toHaveProperty('language_detection_options');
    expect(body.language_confidence_threshold).toBe(0.6);
  });
});

describe('createAssemblyAIProvider against the emulator', () => {
  let emulator: AssemblyAIEmulator;
  let s3: TestS3;
  let audioUrl: string;

  const provider = (options: Partial<AssemblyAIOptions> = {}): TranscriptionProvider =>
    createAssemblyAIProvider({
      apiKey: async () => emulator.apiKey,
      baseUrl: emulator.url,
      speechModels: SPEECH_MODELS,
      languageDetection: DEFAULT_LANGUAGE_POLICY,
      timeoutMs: 2_000,
      ...options,
    });

  async function waitUntilDone(p: TranscriptionProvider, id: string): Promise<ProviderJob> {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const transcript = await p.get(id);
      if (transcript.status === 'completed' || transcript.status === 'error') return transcript;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`transcript ${id} did not finish`);
  }

  /** The completed transcript as AssemblyAI sent it (what `get` keeps as bytes). */
  async function completedTranscript(p: TranscriptionProvider, id: string): Promise<ProviderTranscript> {
    const done = await waitUntilDone(p, id);
    expect(done.body).toBeInstanceOf(Uint8Array);
    return JSON.parse(Buffer.from(done.body ?? []).toString('utf8')) as ProviderTranscript;
  }

  beforeAll(async () => {
    s3 = await startTestS3();
    const key = 'transcription/123/hello.ogg';
    await s3.put(key, await readFile(join(AUDIO_DIR, 'hello.ogg')));
    audioUrl = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }), {
      expiresIn: 600,
    });
  });

  beforeEach(async () => {
    emulator = await startEmulator({ processingDelayMs: 20 });
  });

  afterEach(async () => {
    await emulator.close();
  });

  afterAll(async () => {
    await s3.stop();
  });

  it('submits, reads the completed transcript and deletes it', async () => {
    // Arrange
    const p = provider();

    // Act
    const job = await p.submit({ audioUrl });
    const done = await completedTranscript(p, job.id);
    await p.delete(job.id);
    const afterDelete = await p.get(job.id);

    // Assert
    expect(job.status).toBe('queued');
    expect(done.status).toBe('completed');
    expect(done.utterances?.length).toBeGreaterThan(0);
    expect(afterDelete.text).toBe('Deleted by user.');
    expect(JSON.parse(Buffer.from(afterDelete.body ?? []).toString()).words).toBeNull();
    expect(emulator.stats()).toMatchObject({ submissions: 1, deletes: 1 });
  });

  it('asks for speaker labels, the configured models and language detection when no language is given', async () => {
    // Arrange
    const p = provider();

    // Act
    const job = await p.submit({ audioUrl });
    const seen = await completedTranscript(p, job.id);

    // Assert
    expect(seen.speaker_labels).toBe(true);
    expect(seen.speech_models).toEqual(SPEECH_MODELS);
    expect(seen.language_detection).toBe(true);
    expect(seen.speakers_expected).toBeNull();
    expect(emulator.stats().transcripts[0]?.audioPath).toBe(`/${TEST_BUCKET}/transcription/123/hello.ogg`);
  });

  it('passes language_code and speakers_expected instead of language detection when given', async () => {
    // Arrange
    const p = provider();

    // Act
    const job = await p.submit({ audioUrl, languageCode: 'ru', speakersExpected: 2 });
    const seen = await completedTranscript(p, job.id);

    // Assert
    expect(seen.language_code).toBe('ru');
    expect(seen.language_detection).toBe(false);
    expect(seen.speakers_expected).toBe(2);
    expect(seen.speaker_labels).toBe(true);
  });

  it('passes a speaker range and keyterms, and the emulator diarizes into the range like AssemblyAI', async () => {
    const p = provider();

    const job = await p.submit({
      audioUrl,
      languageCode: 'en',
      speakersRange: { min: 2, max: 3 },
      keyterms: ['WiseVoice', 'Step Functions'],
    });
    const seen = await completedTranscript(p, job.id);

    expect(seen).toMatchObject({
      speaker_options: { min_speakers_expected: 2, max_speakers_expected: 3 },
      keyterms_prompt: ['WiseVoice', 'Step Functions'],
    });
    expect(seen.speakers_expected).toBeNull();
    const speakers = new Set((seen.utterances ?? []).map((u) => u.speaker));
    expect(speakers.size).toBeGreaterThanOrEqual(2);
    expect(speakers.size).toBeLessThanOrEqual(3);
  });

  it('reports a wrong API key as ProviderRejected (401), not retryable', async () => {
    // Arrange
    const p = provider({ apiKey: async () => 'not-the-key' });

    // Act
    const error = await rejectionOf(p.submit({ audioUrl }));

    // Assert
    expect(error.name).toBe('ProviderRejected');
    expect(error.message).toContain('(HTTP 401)');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Authentication error');
  });

  it('reports a 429 as ProviderRateLimited with the Retry-After seconds', async () => {
    // Arrange
    emulator.injectFault({ kind: 'rate-limit', retryAfterSeconds: 7, on: 'submit', times: 1 });

    // Act
    const error = await rejectionOf(provider().submit({ audioUrl }));

    // Assert
    expect(error.name).toBe('ProviderRateLimited');
    expect(error.retryAfterSeconds).toBe(7);
  });

  it.each([500, 502, 503] as const)(
    'reports a %i on a status read as ProviderUnavailable',
    async (status) => {
      // Arrange
      const p = provider();
      const job = await p.submit({ audioUrl });
      emulator.injectFault({ kind: 'server-error', status, on: 'get', times: 1 });

      // Act
      const error = await rejectionOf(p.get(job.id));

      // Assert
      expect(error.name).toBe('ProviderUnavailable');
      expect(error.message).toContain(`HTTP ${status}`);
    },
  );

  it('reports a dropped connection as ProviderUnavailable', async () => {
    // Arrange
    emulator.injectFault({ kind: 'drop-connection', on: 'submit', times: 1 });

    // Act
    const error = await rejectionOf(provider().submit({ audioUrl }));

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/unreachable|cut off/);
  });

  it('gives up on a response slower than timeoutMs with ProviderUnavailable mentioning the timeout', async () => {
    // Arrange
    emulator.injectFault({ kind: 'slow', delayMs: 1_000, on: 'submit', times: 1 });
    const started = performance.now();

    // Act
    const error = await rejectionOf(provider({ timeoutMs: 100 }).submit({ audioUrl }));

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(error.message).toMatch(/timed out/);
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('reports the job error of an undownloadable audio URL in the transcript, not as a thrown error', async () => {
    // Arrange
    const p = provider();
    const missing = audioUrl.replace('hello.ogg', 'missing.ogg');

    // Act
    const job = await p.submit({ audioUrl: missing });
    const done = await waitUntilDone(p, job.id);

    // Assert
    expect(done.status).toBe('error');
    expect(classifyJobError(done.error).name).toBe('AudioDownloadFailed');
  });

  it('pages back through newer jobs to find the lost one, and stops at jobs older than the marker', async () => {
    // Arrange: the lost job, then five newer jobs for other objects; pages of two
    const p = provider({ lookupPageSize: 2 });
    const before = new Date(Date.now() - 1_000);
    const lost = await p.submit({ audioUrl });
    for (let i = 0; i < 5; i++) await p.submit({ audioUrl: audioUrl.replace('hello.ogg', `other-${i}.ogg`) });
    const gets = emulator.stats().gets;

    // Act
    const found = await p.findSubmitted(audioUrlDigest(audioUrl), before);
    const pagesRead = emulator.stats().gets - gets;
    const missing = await p.findSubmitted(
      audioUrlDigest(audioUrl.replace('hello.ogg', 'absent.ogg')),
      before,
    );

    // Assert
    expect(found?.id).toBe(lost.id);
    expect(pagesRead).toBe(3);
    expect(missing).toBeUndefined();
  });

  it('refuses to guess when the lost job is further back than it may look', async () => {
    // Arrange: the lost job behind more than five pages of newer ones
    const p = provider({ lookupPageSize: 1 });
    const before = new Date(Date.now() - 1_000);
    await p.submit({ audioUrl });
    for (let i = 0; i < 5; i++) await p.submit({ audioUrl: audioUrl.replace('hello.ogg', `other-${i}.ogg`) });

    // Act
    const error = await rejectionOf(p.findSubmitted(audioUrlDigest(audioUrl), before));

    // Assert: retried by the state machine, never 'not found' (which would submit a second job)
    expect(error.name).toBe('ProviderUnavailable');
  });

  it('finds only the job whose audio URL is exactly the one this attempt sent, since a given time', async () => {
    // Arrange: another execution's job for the same object, signed differently
    const p = provider();
    const before = new Date(Date.now() - 1_000);
    const job = await p.submit({ audioUrl });
    const sameObjectOtherSignature = `${audioUrl}&response-content-disposition=other`;
    await p.submit({ audioUrl: sameObjectOtherSignature });

    // Act
    const found = await p.findSubmitted(audioUrlDigest(audioUrl), before);
    const otherKey = await p.findSubmitted(
      audioUrlDigest(audioUrl.replace('hello.ogg', 'other.ogg')),
      before,
    );
    const tooOld = await p.findSubmitted(audioUrlDigest(audioUrl), new Date(Date.now() + 60_000));

    // Assert
    expect(found?.id).toBe(job.id);
    expect(otherKey).toBeUndefined();
    expect(tooOld).toBeUndefined();
  });

  it('never matches a deleted job, whose audio_url AssemblyAI replaces', async () => {
    // Arrange
    const p = provider();
    const before = new Date(Date.now() - 1_000);
    const job = await p.submit({ audioUrl });
    await waitUntilDone(p, job.id);
    await p.delete(job.id);

    // Act
    const found = await p.findSubmitted(audioUrlDigest(audioUrl), before);

    // Assert
    expect(found).toBeUndefined();
  });

  it.each(['../x', 'abc/def', 'id?x=1', ''])(
    'refuses the malformed transcript id %p without an HTTP call',
    async (id) => {
      // Arrange
      const p = provider();

      // Act
      const getError = await rejectionOf(p.get(id));
      const deleteError = await rejectionOf(p.delete(id));

      // Assert
      expect(getError.name).toBe('ProviderRejected');
      expect(deleteError.name).toBe('ProviderRejected');
      expect(emulator.stats()).toMatchObject({ gets: 0, deletes: 0 });
    },
  );

  it('lists transcripts newest first, page by page back from the last id, until there are no more', async () => {
    // Arrange
    const p = createAssemblyAIProvider({
      apiKey: async () => emulator.apiKey,
      baseUrl: emulator.url,
      speechModels: SPEECH_MODELS,
      languageDetection: DEFAULT_LANGUAGE_POLICY,
      timeoutMs: 2_000,
    });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await p.submit({ audioUrl: `${audioUrl}&n=${i}` })).id);

    // Act
    const first = await p.listTranscripts({ limit: 2 });
    const second = await p.listTranscripts({ limit: 2, beforeId: first.transcripts.at(-1)?.id });
    const third = await p.listTranscripts({ limit: 2, beforeId: second.transcripts.at(-1)?.id });

    // Assert
    expect(first.transcripts.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(first.more).toBe(true);
    expect(second.transcripts.map((t) => t.id)).toEqual([ids[0]]);
    expect(second.transcripts[0]).toMatchObject({ status: expect.any(String), audio_url: `${audioUrl}&n=0` });
    expect(third).toEqual({ transcripts: [], more: false });
  });

  it.each([
    ['a page size AssemblyAI refuses', { limit: 201 }, 'RangeError'],
    ['a malformed before id', { limit: 10, beforeId: '../x' }, 'ProviderRejected'],
  ])('refuses %s without an HTTP call', async (_label, page, errorName) => {
    // Arrange
    const p = createAssemblyAIProvider({
      apiKey: async () => emulator.apiKey,
      baseUrl: emulator.url,
      speechModels: SPEECH_MODELS,
      languageDetection: DEFAULT_LANGUAGE_POLICY,
      timeoutMs: 2_000,
    });

    // Act
    const error = await rejectionOf(p.listTranscripts(page));

    // Assert
    expect(error.name).toBe(errorName);
    expect(emulator.stats().gets).toBe(0);
  });
});

describe('providerJobOf', () => {
  const completed = assemblyaiFixture<Record<string, unknown>>(
    'completed-diarized.openapi-Transcript-example.json',
  );
  const bytes = (text: string) => Buffer.from(text, 'utf8');
  const decoded = (job: ProviderJob) => Buffer.from(job.body ?? []).toString('utf8');

  it("keeps a completed transcript's bytes and parses only the fields the workflow routes on", () => {
    // Arrange
    const sent = bytes(JSON.stringify(completed));

    // Act
    const job = providerJobOf(Buffer.from(sent));

    // Assert
    const { body, ...fields } = job;
    expect(fields).toEqual({ id: completed.id, status: 'completed', audio_url: completed.audio_url });
    const { audio_url: _presigned, ...rest } = completed;
    expect(JSON.parse(decoded(job))).toEqual(rest);
    expect(body?.length).toBe(sent.length);
    const changed = [...(body ?? [])].flatMap((byte, i) => (byte === sent[i] ? [] : [i]));
    const blanked = sent.indexOf('"audio_url"');
    expect(changed[0]).toBeGreaterThanOrEqual(blanked - 1);
    expect(changed.at(-1)).toBeLessThan(
      blanked + `"audio_url":${JSON.stringify(completed.audio_url)},`.length,
    );
  });

  it.each([
    ['first', '{"audio_url":"https://b.s3/k?X-Amz-Signature=s","id":"a","status":"completed"}'],
    ['in the middle', '{"id":"a","audio_url":"https://b.s3/k","status":"completed"}'],
    ['last', '{"id":"a","status":"completed","audio_url":"https://b.s3/k"}'],
    ['pretty-printed', '{\n  "id": "a",\n  "audio_url" : "https://b.s3/k" ,\n  "status": "completed"\n}\n'],
    [
      'with escapes around it',
      '{"id":"a","t":"\\"audio_url\\": ,}","audio_url":"h\\u0074tps://b","status":"completed"}',
    ],
    [
      'after multi-byte text and escapes',
      '{"text":"привет \\"мир\\" 😀 \\u00e9","id":"a","audio_url":"https://b.s3/k","status":"completed"}',
    ],
  ])('removes a top-level audio_url placed %s and leaves valid JSON', (_label, text) => {
    // Act
    const job = providerJobOf(bytes(text));

    // Assert
    const { audio_url: _presigned, ...rest } = JSON.parse(text);
    expect(JSON.parse(decoded(job))).toEqual(rest);
    expect(decoded(job)).not.toContain('b.s3');
    expect(job.audio_url).toMatch(/^h/);
  });

  it('reads top-level fields only, whatever nested objects hold', () => {
    // Arrange: nested `status`, `id` and `audio_url` come first
    const text = JSON.stringify({
      auto_highlights_result: { status: 'success', id: 'nested', audio_url: 'keep-me' },
      words: [{ text: 'a', status: 'error', error: 'nested' }],
      id: 'top',
      status: 'completed',
      audio_url: 'drop-me',
    });

    // Act
    const job = providerJobOf(bytes(text));

    // Assert
    expect(job).toMatchObject({ id: 'top', status: 'completed', audio_url: 'drop-me' });
    expect(job).not.toHaveProperty('error');
    expect(JSON.parse(decoded(job)).auto_highlights_result.audio_url).toBe('keep-me');
  });

  it("keeps a deleted transcript's short text, and a failed job's error, without a body", () => {
    // Act
    const deleted = providerJobOf(
      bytes('{"id":"a","status":"completed","audio_url":"http://deleted_by_user","text":"Deleted by user."}'),
    );
    const failed = providerJobOf(
      bytes(JSON.stringify({ id: 'a', status: 'error', error: downloadError.error })),
    );

    // Assert
    expect(deleted).toMatchObject({ text: 'Deleted by user.', audio_url: 'http://deleted_by_user' });
    expect(failed).toEqual({ id: 'a', status: 'error', error: downloadError.error });
  });

  it('leaves a long text in the body only', () => {
    // Act
    const job = providerJobOf(
      bytes(JSON.stringify({ id: 'a', status: 'completed', text: 'word '.repeat(100) })),
    );

    // Assert
    expect(job).not.toHaveProperty('text');
    expect(JSON.parse(decoded(job)).text).toBe('word '.repeat(100));
  });

  it.each([
    ['a JSON string', '"completed"', 'completed'],
    ['null', 'null', null],
    ['an array', '[{"status":"completed"}]', [{ status: 'completed' }]],
    ['a number', ' 42 ', 42],
  ])('returns %s as parsed, for checkedAnswer to refuse', (_label, text, expected) => {
    expect(providerJobOf(bytes(text))).toEqual(expected);
  });

  it.each([
    ['cut off', '{"id":"a","status":"completed","words":[{"text":"a"'],
    ['cut off between members', '{"id":"a","status":"completed",'],
    ['a trailing comma', '{"id":"a","status":"completed",}'],
    ['broken inside the words', '{"id":"a","status":"completed","words":[{"text" "a"}]}'],
    ['two documents', '{"id":"a"}{"id":"b"}'],
    ['empty', ''],
    ['an HTML page', '<!DOCTYPE html><html></html>'],
  ])('throws on an answer that is %s, as JSON.parse would', (_label, text) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(() => providerJobOf(bytes(text))).toThrow();
  });

  it('skips a UTF-8 byte order mark, as fetch does', () => {
    // Act
    const job = providerJobOf(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"id":"a","status":"completed"}')]),
    );

    // Assert
    expect(job.status).toBe('completed');
    expect(JSON.parse(decoded(job))).toEqual({ id: 'a', status: 'completed' });
  });
});

describe('createAssemblyAIProvider get, over HTTP', () => {
  const ID = '6f9a1c2e-5d4b-4c3a-9e8f-0a1b2c3d4e5f';

  /** Answers `GET /v2/transcript/:id` with these bytes (`length` overrides Content-Length, then the socket closes). */
  async function serving(body: Buffer, options: { length?: number; status?: number } = {}) {
    const server = createServer((_req, res) => {
      res.writeHead(options.status ?? 200, {
        'Content-Type': 'application/json',
        'Content-Length': options.length ?? body.length,
      });
      if (options.length === undefined) res.end(body);
      else res.write(body, () => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const provider = createAssemblyAIProvider({
      apiKey: async () => 'key',
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      speechModels: SPEECH_MODELS,
      languageDetection: DEFAULT_LANGUAGE_POLICY,
      timeoutMs: 2_000,
    });
    return { provider, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  /** A completed transcript of `count` words, each also in its utterance (as AssemblyAI sends them). */
  function longTranscript(count: number) {
    const words = Array.from({ length: count }, (_, i) => ({
      text: `wörd${i}`,
      start: i * 400,
      end: i * 400 + 300,
      confidence: 0.97,
      speaker: i % 100 < 50 ? 'A' : 'B',
    }));
    const utterances = Array.from({ length: count / 50 }, (_, u) => {
      const own = words.slice(u * 50, u * 50 + 50);
      return {
        speaker: own[0]?.speaker,
        text: own.map((w) => w.text).join(' '),
        start: 0,
        end: 1,
        words: own,
      };
    });
    return {
      id: ID,
      status: 'completed',
      audio_url: 'https://bucket.s3.eu-west-1.amazonaws.com/k.ogg?X-Amz-Signature=abc',
      text: words.map((w) => w.text).join(' '),
      words,
      utterances,
    };
  }

  it('hands a completed transcript over as the bytes it came as, less its audio_url', async () => {
    // Arrange
    const transcript = longTranscript(20_000);
    const sent = Buffer.from(JSON.stringify(transcript));
    const server = await serving(sent);

    // Act
    const job = await server.provider.get(ID).finally(server.close);

    // Assert
    const { body, ...fields } = job;
    expect(fields).toEqual({ id: ID, status: 'completed', audio_url: transcript.audio_url });
    expect(body?.length).toBe(sent.length);
    const { audio_url: _presigned, ...rest } = transcript;
    expect(JSON.parse(Buffer.from(body ?? []).toString('utf8'))).toEqual(rest);
  });

  it.each([
    ['cut off before its Content-Length', { length: 10_000 }],
    ['not JSON', {}],
  ])('turns a 200 whose body is %s into ProviderUnavailable', async (label, options) => {
    // Arrange
    const body =
      label === 'not JSON' ? Buffer.from('<html>busy</html>') : Buffer.from('{"id":"x","status":"comp');
    const server = await serving(body, options);

    // Act
    const error = await rejectionOf(server.provider.get(ID).finally(server.close));

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
  });

  it('still classifies an HTTP error of a status read', async () => {
    // Arrange
    const server = await serving(Buffer.from('{"error":"Transcript lookup error"}'), { status: 400 });

    // Act
    const error = await rejectionOf(server.provider.get(ID).finally(server.close));

    // Assert
    expect(error.name).toBe('ProviderRejected');
    expect(error.message).toContain('Transcript lookup error');
  });
});
