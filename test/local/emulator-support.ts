/** Shared set-up for the emulator suites: an audio host, the emulator, the SDK and raw requests. */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssemblyAI, type TranscriptParams } from 'assemblyai';
import { DEFAULT_SPEECH_MODELS } from '../../lambdas/shared/assemblyai-catalog.js';
import {
  type AssemblyAIEmulator,
  type EmulatorOptions,
  startEmulator,
} from '../../local/assemblyai-emulator/emulator.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SPEECH_MODELS = [...DEFAULT_SPEECH_MODELS];

/** A PCM WAV of silence: real audio of any length, made in memory (music-metadata reads its duration). */
export function silentWav(seconds: number, sampleRate = 8000): Buffer {
  const data = seconds * sampleRate * 2;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
}

/** Serves `/sample.ogg`, `/silence-20s.wav` and test/fixtures/audio/* over http, as S3 would. */
export async function startAudioHost(): Promise<{
  url: (name: string) => string;
  close: () => Promise<void>;
}> {
  const generated: Record<string, Buffer> = { '/silence-20s.wav': silentWav(20) };
  const files: Record<string, string> = { '/sample.ogg': join(ROOT, 'local/sample/sample.ogg') };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const bytes = generated[path];
    if (bytes) {
      res.writeHead(200, { 'Content-Type': 'audio/wav' }).end(bytes);
      return;
    }
    readFile(files[path] ?? join(ROOT, 'test/fixtures/audio', path.slice(1))).then(
      (content) => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(content),
      () => res.writeHead(404).end('Not Found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (name) => `${base}/${name}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One emulator per test, restartable with other options. */
export class EmulatorUnderTest {
  emulator!: AssemblyAIEmulator;

  async start(options: EmulatorOptions = {}): Promise<AssemblyAIEmulator> {
    await this.emulator?.close();
    this.emulator = await startEmulator({ processingDelayMs: 50, ...options });
    return this.emulator;
  }

  close(): Promise<void> {
    return this.emulator.close();
  }

  sdk(apiKey = this.emulator.apiKey): AssemblyAI {
    return new AssemblyAI({ apiKey, baseUrl: this.emulator.url });
  }

  transcribe(audioUrl: string, params: Partial<TranscriptParams> = {}) {
    return this.sdk().transcripts.transcribe(
      { audio: audioUrl, speech_models: SPEECH_MODELS, speaker_labels: true, ...params },
      { pollingInterval: 10, pollingTimeout: 5000 },
    );
  }

  request(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.emulator.url}${path}`, {
      method,
      headers: { Authorization: this.emulator.apiKey, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...init,
    });
  }

  /** Polls a job until it is completed or error, returning the raw body. */
  async finished(id: string): Promise<Record<string, unknown>> {
    for (let attempt = 0; attempt < 300; attempt += 1) {
      const body = (await (await this.request('GET', `/v2/transcript/${id}`)).json()) as Record<
        string,
        unknown
      >;
      if (body.status === 'completed' || body.status === 'error') return body;
      await sleep(10);
    }
    throw new Error(`transcript ${id} did not finish`);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as Error,
  );
