/**
 * What the step unit tests share: an embedded S3 per test file, a config pointing at it, the
 * AssemblyAI response fixtures, and the state a step receives from the ones before it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createAssemblyAIProvider, type TranscriptionProvider } from '../../lambdas/shared/assemblyai.js';
import { loadConfig, type WorkflowConfig } from '../../lambdas/shared/config.js';
import type { TranscriptionRequest } from '../../lambdas/shared/contracts.js';
import type { AudioInfo, ExecutionRef, SubmittedState } from '../../lambdas/shared/workflow-state.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/embedded-s3.js';

export const TEST_BUCKET = 'wisevoice-transcription-test';
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AUDIO_DIR = join(ROOT, 'test/fixtures/audio');

/** A fixture from test/fixtures/assemblyai (real AssemblyAI responses, see its README). */
export function assemblyaiFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/assemblyai', name), 'utf8')) as T;
}

export function testConfig(env: Record<string, string> = {}): WorkflowConfig {
  return loadConfig({ TRANSCRIPTION_BUCKET: TEST_BUCKET, ...env });
}

export interface TestS3 extends EmbeddedS3 {
  put(key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  /** Undefined when there is no object at `key`. */
  get(key: string): Promise<{ body: string; contentType: string | undefined } | undefined>;
  exists(key: string): Promise<boolean>;
  keys(prefix?: string): Promise<string[]>;
  /** Deletes every object under `prefix`. */
  clear(prefix: string): Promise<void>;
  /** Closes the server and removes its folder. */
  stop(): Promise<void>;
}

export async function startTestS3(): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 'lambdas-s3-'));
  const s3 = await startEmbeddedS3({ directory, bucket: TEST_BUCKET });
  const client: S3Client = s3.client;
  return {
    ...s3,
    async put(key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: body, ContentType: contentType }),
      );
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
        return { body: (await out.Body?.transformToString('utf-8')) ?? '', contentType: out.ContentType };
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
          return false;
        }
        throw error;
      }
    },
    async keys(prefix = '') {
      const out = await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
    },
    async clear(prefix) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix }));
      const objects = (out.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
      if (objects.length === 0) return;
      await client.send(new DeleteObjectsCommand({ Bucket: TEST_BUCKET, Delete: { Objects: objects } }));
    },
    async stop() {
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Settles a promise into the error it rejected with (fails the test if it resolved). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

let executionCounter = 0;

/** A fresh execution reference, as the ASL passes it in from `$$.Execution`. */
export function newExecution(startedAt = new Date('2026-03-01T10:00:00.000Z')): ExecutionRef {
  executionCounter += 1;
  const name = `exec-${process.pid}-${executionCounter}`;
  return {
    arn: `arn:aws:states:us-east-1:123456789012:execution:Transcription:${name}`,
    name,
    started_at: startedAt.toISOString(),
  };
}

export const REQUEST: TranscriptionRequest = {
  s3_key: 'transcription/123/abc-123.ogg',
  user_id: 123,
  file_id: 'abc-123',
  bucket: TEST_BUCKET,
};

export const HELLO_OGG_AUDIO: AudioInfo = {
  container: 'Ogg',
  codec: 'Opus',
  duration_seconds: 1.428,
  size_bytes: 4315,
};

/** The state "Check transcript status" and later steps receive. */
export function submittedState(
  overrides: Partial<SubmittedState['transcript']> = {},
  execution = newExecution(),
): SubmittedState {
  const submittedAt = new Date('2026-03-01T10:00:01.000Z');
  return {
    execution,
    request: REQUEST,
    audio: HELLO_OGG_AUDIO,
    transcript: {
      id: 'b3a4c2e1-0000-4000-8000-000000000001',
      status: 'queued',
      submitted_at: submittedAt.toISOString(),
      deadline_at: new Date(submittedAt.getTime() + 900_000).toISOString(),
      checks: 0,
      wait_seconds: 4,
      ...overrides,
    },
  };
}

export const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** A fresh AssemblyAI emulator (fast jobs) and the real provider module pointed at it. */
export async function startEmulatedProvider(
  config: WorkflowConfig,
): Promise<{ emulator: AssemblyAIEmulator; provider: TranscriptionProvider }> {
  const emulator = await startEmulator({ processingDelayMs: 20 });
  const provider = createAssemblyAIProvider({
    apiKey: async () => emulator.apiKey,
    baseUrl: emulator.url,
    speechModels: config.assemblyai.speechModels,
    languageDetection: config.assemblyai.languageDetection,
    timeoutMs: 2_000,
  });
  return { emulator, provider };
}
