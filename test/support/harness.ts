/**
 * The real workflow for tests: the ASL definition, the real Lambda handlers, an embedded S3 and
 * the AssemblyAI emulator, wired exactly as `npm start` wires them. One per test file: handlers
 * read their configuration at import, as on a Lambda cold start.
 *
 * Both delivery modes: jest's `webhook` project (jest.config.js) sets TEST_TRANSCRIPT_DELIVERY, and
 * the same suites then run with the emulator's webhooks reaching the real receiver and Submit
 * waiting for them (`-c transcriptDelivery=webhook` deployed). `harness.states` names the states
 * that differ between the modes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { type AssemblyAIEmulator, startEmulator } from '../../local/assemblyai-emulator/emulator.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../local/embedded-s3.js';
import { type S3FaultProxy, startS3FaultProxy } from '../../local/s3-fault-proxy.js';
import { type LocalWebhookMode, startLocalWebhookMode } from '../../local/webhook-mode.js';
import {
  type LambdaHandlers,
  LocalWorkflow,
  loadLambdaHandlers,
  type RunOptions,
} from '../../local/workflow.js';

export const TEST_BUCKET = 'wisevoice-transcription-test';

export type Delivery = 'poll' | 'webhook';

/** The delivery mode this test run exercises (jest.config.js's projects). */
export const DELIVERY: Delivery = process.env.TEST_TRANSCRIPT_DELIVERY === 'webhook' ? 'webhook' : 'poll';

/** State names whose role depends on the delivery mode. */
export function statesOf(delivery: Delivery) {
  const webhook = delivery === 'webhook';
  const submit = webhook ? 'Submit and wait for webhook' : 'Submit to AssemblyAI';
  return {
    /** The state that creates the job. */
    submit,
    /** The state whose output first says the job completed or failed. */
    status: webhook ? submit : 'Check transcript status',
    /** From the start until the job is known to be finished. */
    happyPath: [
      'Validate audio',
      'Already transcribed?',
      ...(webhook ? [submit] : [submit, 'Wait for transcript', 'Check transcript status']),
      'Transcript ready?',
    ],
  };
}

/** How long a callback task waits in fast runs before it falls back to polling (a lost webhook). */
export const FAST_CALLBACK_TIMEOUT_MS = 5_000;

export interface Harness {
  s3: EmbeddedS3;
  /** Between the handlers and the embedded S3: inject S3 errors here. */
  s3Faults: S3FaultProxy;
  emulator: AssemblyAIEmulator;
  handlers: LambdaHandlers;
  delivery: Delivery;
  states: ReturnType<typeof statesOf>;
  /** Webhook mode only: the local receiver and the task tokens. */
  webhook?: LocalWebhookMode;
  /** A workflow whose handlers can be wrapped per test (fault injection around a real handler). */
  workflow(overrides?: Partial<LambdaHandlers>): LocalWorkflow;
  upload(key: string, body: Uint8Array | string): Promise<void>;
  readResult(userId: number, fileId: string): Promise<TranscriptionResult | undefined>;
  resultContentType(userId: number, fileId: string): Promise<string | undefined>;
  listKeys(prefix: string): Promise<string[]>;
  /** Fast runs: waits and retry intervals replaced by 0 ms unless a test says otherwise. */
  runOptions(extra?: RunOptions): RunOptions;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const directory = await mkdtemp(join(tmpdir(), 'transcription-s3-'));
  const s3 = await startEmbeddedS3({ directory, bucket: TEST_BUCKET });
  const s3Faults = await startS3FaultProxy(s3.endpoint);
  const emulator = await startEmulator({ processingDelayMs: 20, webhookRetryDelayMs: 50 });
  const delivery: Delivery = (env.TRANSCRIPT_DELIVERY as Delivery | undefined) ?? DELIVERY;
  const webhook = delivery === 'webhook' ? await startLocalWebhookMode() : undefined;
  Object.assign(process.env, s3.env, webhook?.env, {
    TRANSCRIPT_DELIVERY: delivery,
    AWS_ENDPOINT_URL_S3: s3Faults.url,
    TRANSCRIPTION_BUCKET: TEST_BUCKET,
    ASSEMBLYAI_BASE_URL: emulator.url,
    ASSEMBLYAI_API_KEY: emulator.apiKey,
    ASSEMBLYAI_TIMEOUT_MS: '2000',
    // Fast runs shorten the settle window with the retry intervals (local/workflow.ts keeps the
    // SubmissionPending retrier at >= 500 ms, so 10 retries span 5 s > 2 s + 0.3 s).
    ASSEMBLYAI_SUBMIT_SETTLE_MS: '300',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...env,
  });
  const handlers = await loadLambdaHandlers();
  webhook?.attach(handlers);

  const read = async (key: string) => {
    try {
      const response = await s3.client.send(new GetObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
      return await response.Body?.transformToString('utf-8');
    } catch {
      return undefined;
    }
  };

  return {
    s3,
    s3Faults,
    emulator,
    handlers,
    delivery,
    states: statesOf(delivery),
    webhook,
    workflow: (overrides = {}) =>
      new LocalWorkflow({ ...handlers, ...overrides } as LambdaHandlers, { taskTokens: webhook?.tokens }),
    async upload(key, body) {
      await s3.client.send(new PutObjectCommand({ Bucket: TEST_BUCKET, Key: key, Body: body }));
    },
    async readResult(userId, fileId) {
      const text = await read(`results/${userId}/${fileId}.json`);
      return text === undefined ? undefined : (JSON.parse(text) as TranscriptionResult);
    },
    async resultContentType(userId, fileId) {
      const head = await s3.client.send(
        new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: `results/${userId}/${fileId}.json` }),
      );
      return head.ContentType;
    },
    async listKeys(prefix) {
      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix }));
      return (listed.Contents ?? []).map((o) => o.Key as string);
    },
    runOptions: (extra = {}) => ({
      waitMs: 0,
      retryIntervalMs: 0,
      ...(webhook && { callbackTimeoutMs: FAST_CALLBACK_TIMEOUT_MS }),
      ...extra,
    }),
    async close() {
      await webhook?.close();
      await emulator.close();
      await s3Faults.close();
      await s3.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
