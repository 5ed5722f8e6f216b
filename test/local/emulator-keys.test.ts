/** The emulator's keys: one by default, or several keys of one project (both keys of a rotation). */
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';

const AUDIO_URL = 'https://bucket.s3.eu-central-1.amazonaws.com/transcription/1/a.ogg';

let emulator: AssemblyAIEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function request(target: AssemblyAIEmulator, key: string, method: string, path: string, body?: unknown) {
  return fetch(`${target.url}${path}`, {
    method,
    headers: { Authorization: key, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const startFast = (options: Parameters<typeof startEmulator>[0]) =>
  startEmulator({
    processingDelayMs: 10,
    inspectAudio: async () => ({ ok: true, durationSeconds: 3, sha256: 'x' }),
    ...options,
  });

describe('AssemblyAI emulator keys', () => {
  it('accepts only its one key by default', async () => {
    // Arrange
    emulator = await startFast({});

    // Act
    const own = await request(emulator, emulator.apiKey, 'GET', '/v2/transcript?limit=1');
    const other = await request(emulator, 'another-key', 'GET', '/v2/transcript?limit=1');

    // Assert
    expect(emulator.apiKey).toBe('emulator-key');
    expect(own.status).toBe(200);
    expect(other.status).toBe(401);
  });

  it('accepts every key of apiKeys, which see the same transcripts, and refuses the rest', async () => {
    // Arrange
    emulator = await startFast({ apiKeys: ['old-key', 'new-key'] });

    // Act
    const submitted = await request(emulator, 'old-key', 'POST', '/v2/transcript', {
      audio_url: AUDIO_URL,
      speech_models: ['universal-2'],
    });
    const { id } = (await submitted.json()) as { id: string };
    const readWithNew = await request(emulator, 'new-key', 'GET', `/v2/transcript/${id}`);
    const listWithNew = (await (
      await request(emulator, 'new-key', 'GET', '/v2/transcript?limit=5')
    ).json()) as {
      transcripts: { id: string }[];
    };
    const deletedWithNew = await request(emulator, 'new-key', 'DELETE', `/v2/transcript/${id}`);
    const refused = await request(emulator, 'revoked-key', 'GET', `/v2/transcript/${id}`);

    // Assert
    expect(emulator.apiKey).toBe('old-key');
    expect(submitted.status).toBe(200);
    expect(readWithNew.status).toBe(200);
    expect(listWithNew.transcripts.map((t) => t.id)).toEqual([id]);
    expect(deletedWithNew.status).toBe(200);
    expect(refused.status).toBe(401);
  });

  it('keeps apiKey as the first key when both options are given', async () => {
    // Arrange
    emulator = await startFast({ apiKey: 'primary', apiKeys: ['secondary'] });

    // Act
    const primary = await request(emulator, 'primary', 'GET', '/v2/transcript?limit=1');
    const secondary = await request(emulator, 'secondary', 'GET', '/v2/transcript?limit=1');

    // Assert
    expect(emulator.apiKey).toBe('primary');
    expect([primary.status, secondary.status]).toEqual([200, 200]);
  });

  it('refuses an empty key', async () => {
    await expect(startFast({ apiKeys: ['ok', ''] })).rejects.toThrow(RangeError);
  });
});
