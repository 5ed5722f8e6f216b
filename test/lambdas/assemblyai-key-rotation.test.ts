/**
 * The provider during a key rotation: a 401 with the current key is tried once more with the next
 * one, for every call, against the emulator (which knows only the key it is given) and a small
 * server that records which key each request carried.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Tracer } from '@aws-lambda-powertools/tracer';
import {
  type ApiKeys,
  type AssemblyAIOptions,
  audioUrlDigest,
  createAssemblyAIProvider,
  NEXT_KEY_IN_USE_WARNING,
} from '../../lambdas/shared/assemblyai.js';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import { createProvider } from '../../lambdas/shared/clients.js';
import { loadConfig } from '../../lambdas/shared/config.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';
import { rejectionOf } from './step-fixtures.js';

const AUDIO_URL = 'https://bucket.s3.eu-central-1.amazonaws.com/transcription/1/a.ogg?X-Amz-Signature=abc';
const LANGUAGE_POLICY = loadConfig({ TRANSCRIPTION_BUCKET: 'b' }).assemblyai.languageDetection;

function providerAt(
  baseUrl: string,
  keys: () => Promise<string | ApiKeys>,
  extra: Partial<AssemblyAIOptions>,
) {
  return createAssemblyAIProvider({
    apiKey: keys,
    baseUrl,
    speechModels: [...DEFAULT_SPEECH_MODELS],
    languageDetection: LANGUAGE_POLICY,
    timeoutMs: 2_000,
    ...extra,
  });
}

describe('createAssemblyAIProvider during a key rotation, against the emulator', () => {
  let emulator: AssemblyAIEmulator;
  let warnings: number;

  const start = (options: { apiKeys: string[] }) =>
    startEmulator({
      processingDelayMs: 10,
      inspectAudio: async () => ({ ok: true, durationSeconds: 3, sha256: 'x' }),
      ...options,
    });
  const provider = (keys: ApiKeys) =>
    providerAt(emulator.url, async () => keys, {
      onNextKeyInUse: () => {
        warnings += 1;
      },
    });

  beforeEach(() => {
    warnings = 0;
  });

  afterEach(async () => {
    await emulator.close();
  });

  it('submits with the next key when the current one is refused, creating exactly one job', async () => {
    // Arrange: the old key is revoked, the emulator knows the new one only
    emulator = await start({ apiKeys: ['new-key'] });
    const p = provider({ current: 'old-key', next: 'new-key' });

    // Act
    const job = await p.submit({ audioUrl: AUDIO_URL });

    // Assert
    expect(job.status).toBe('queued');
    expect(emulator.stats().submissions).toBe(2);
    expect(emulator.stats().transcripts.map((t) => t.id)).toEqual([job.id]);
    expect(warnings).toBe(1);
  });

  it('reads, lists, finds and deletes with the next key, then sends it first for the rest of the cold start', async () => {
    // Arrange: a job created with the new key, and a provider still holding the old key as current
    emulator = await start({ apiKeys: ['new-key'] });
    const job = await provider({ current: 'new-key' }).submit({ audioUrl: AUDIO_URL });
    const p = provider({ current: 'old-key', next: 'new-key' });

    // Act
    const read = await p.get(job.id); // refused, then answered: 2 requests
    const gotsAfterFirst = emulator.stats().gets;
    const listed = await p.listTranscripts({ limit: 5 });
    const found = await p.findSubmitted(audioUrlDigest(AUDIO_URL), new Date(Date.now() - 60_000));
    await p.delete(job.id);

    // Assert
    expect(read.id).toBe(job.id);
    expect(gotsAfterFirst).toBe(2);
    expect(listed.transcripts.map((t) => t.id)).toEqual([job.id]);
    expect(found?.id).toBe(job.id);
    // The list and the lookup went out once each with the preferred next key; so did the delete.
    expect(emulator.stats().gets).toBe(4);
    expect(emulator.stats()).toMatchObject({ deletes: 1, deletesSucceeded: 1 });
    expect(warnings).toBe(1);
  });

  it('keeps using the current key while both work, without a warning', async () => {
    // Arrange
    emulator = await start({ apiKeys: ['old-key', 'new-key'] });
    const p = provider({ current: 'old-key', next: 'new-key' });

    // Act
    const job = await p.submit({ audioUrl: AUDIO_URL });
    await p.get(job.id);

    // Assert
    expect(emulator.stats()).toMatchObject({ submissions: 1, gets: 1 });
    expect(warnings).toBe(0);
  });

  it('reports ProviderRejected (401) when both keys are refused, after one request with each', async () => {
    // Arrange
    emulator = await start({ apiKeys: ['another-key'] });
    const p = provider({ current: 'old-key', next: 'new-key' });

    // Act
    const error = await rejectionOf(p.submit({ audioUrl: AUDIO_URL }));

    // Assert
    expect(error).toMatchObject({ name: 'ProviderRejected', httpStatus: 401, retryable: false });
    expect(emulator.stats()).toMatchObject({ submissions: 2, transcripts: [] });
    expect(warnings).toBe(0);
  });

  it('reports ProviderRejected after a single request when there is no next key', async () => {
    // Arrange
    emulator = await start({ apiKeys: ['new-key'] });
    const p = provider({ current: 'old-key' });

    // Act
    const error = await rejectionOf(p.submit({ audioUrl: AUDIO_URL }));

    // Assert
    expect(error).toMatchObject({ name: 'ProviderRejected', httpStatus: 401 });
    expect(emulator.stats().submissions).toBe(1);
  });

  it('does not try the next key on other errors (a 500 says nothing about the key)', async () => {
    // Arrange
    emulator = await start({ apiKeys: ['old-key', 'new-key'] });
    emulator.injectFault({ kind: 'server-error', status: 500, on: 'submit', times: 1 });
    const p = provider({ current: 'old-key', next: 'new-key' });

    // Act
    const error = await rejectionOf(p.submit({ audioUrl: AUDIO_URL }));

    // Assert
    expect(error.name).toBe('ProviderUnavailable');
    expect(emulator.stats().submissions).toBe(1);
  });

  it('reads the JSON form of ASSEMBLYAI_API_KEY through createProvider, as a Lambda does', async () => {
    // Arrange
    emulator = await start({ apiKeys: ['new-key'] });
    const env = {
      TRANSCRIPTION_BUCKET: 'b',
      ASSEMBLYAI_BASE_URL: emulator.url,
      ASSEMBLYAI_API_KEY: JSON.stringify({ current: 'old-key', next: 'new-key' }),
    };
    const warnings: unknown[][] = [];
    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);

    try {
      // Act
      const p = createProvider(loadConfig(env), new Tracer({ enabled: false }), env);
      const job = await p.submit({ audioUrl: AUDIO_URL });
      await p.get(job.id);

      // Assert: logged once, without either key
      expect(warnings).toEqual([[NEXT_KEY_IN_USE_WARNING]]);
      expect(NEXT_KEY_IN_USE_WARNING).not.toMatch(/old-key|new-key/);
    } finally {
      console.warn = consoleWarn;
    }
  });
});

describe('createAssemblyAIProvider key order, over HTTP', () => {
  let server: Server;
  let baseUrl: string;
  /** The Authorization header of each request, in order. */
  let sent: string[];
  let accepted: Set<string>;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const key = String(req.headers.authorization);
      sent.push(key);
      const ok = accepted.has(key);
      res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          ok
            ? { transcripts: [], page_details: { prev_url: null } }
            : { error: 'Authentication error, API token missing/invalid' },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    sent = [];
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('goes back to the current key when the preferred next one is refused and the current one answers', async () => {
    // Arrange: the next key answered once (so it is preferred), then the operator cancelled the rotation
    accepted = new Set(['B']);
    const warned: string[] = [];
    const p = providerAt(baseUrl, async () => ({ current: 'A', next: 'B' }), {
      onNextKeyInUse: () => warned.push('warned'),
    });
    await p.listTranscripts({ limit: 1 });
    accepted = new Set(['A']);

    // Act
    await p.listTranscripts({ limit: 1 });
    await p.listTranscripts({ limit: 1 });

    // Assert
    expect(sent).toEqual(['A', 'B', 'B', 'A', 'A']);
    expect(warned).toHaveLength(1);
  });

  it('follows the secret: once it holds the new key alone, that key is the only one sent', async () => {
    // Arrange
    accepted = new Set(['B']);
    let keys: ApiKeys = { current: 'A', next: 'B' };
    const p = providerAt(baseUrl, async () => keys, { onNextKeyInUse: () => {} });
    await p.listTranscripts({ limit: 1 });

    // Act
    keys = { current: 'B' };
    await p.listTranscripts({ limit: 1 });
    keys = { current: 'B', next: 'C' };
    await p.listTranscripts({ limit: 1 });

    // Assert: a later rotation starts again from its current key
    expect(sent).toEqual(['A', 'B', 'B', 'B']);
  });
});
