/**
 * Privacy of the logs: every line the real handlers log during full runs of the real state
 * machine — Powertools Logger at DEBUG, with event logging on — is captured and searched for the
 * API key, presigned URL parts and the transcript's text, on the success path and on the failure
 * paths that carry them closest to a log line (a download error whose provider message holds the
 * whole presigned URL, a 401, request timeouts, a provider error, the poll deadline).
 */
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { format } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { resultKey } from '../../lambdas/shared/contracts.js';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);
const SAMPLE_TRANSCRIPT = new URL('../../local/sample/sample.transcript.json', import.meta.url);
const USER_ID = 77;
const REQUEST_TIMEOUT_MS = 500;
/** A `slow` fault's delay: past the client timeout. */
const SLOW_MS = REQUEST_TIMEOUT_MS * 2;

/**
 * A pass-through HTTP proxy in front of the emulator that can swap the API key for a wrong one, so
 * the emulator itself answers 401 while the handlers keep the key they read at cold start.
 */
interface ProviderProxy {
  url: string;
  target: string;
  sendWrongKey: boolean;
  close(): Promise<void>;
}

async function startProviderProxy(): Promise<ProviderProxy> {
  const proxy = { target: '', sendWrongKey: false } as ProviderProxy;
  const server: Server = createServer((req, res) => {
    const target = new URL(req.url ?? '/', proxy.target);
    const headers = { ...req.headers, host: target.host };
    if (proxy.sendWrongKey) headers.authorization = 'not-the-real-key';
    const upstream = request(target, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

interface SampleTranscript {
  text: string;
  words: { text: string }[];
  utterances: { text: string }[];
}

/** `Привет` → `\u041f\u0440…`: the form a JSON encoder that escapes non-ASCII would write. */
const asciiEscaped = (text: string) =>
  text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

let harness: Harness;
let proxy: ProviderProxy;
let sample: Buffer;
/** Strings that must never appear in a log line. */
let forbidden: string[];
let lines: string[] = [];
let fileCounter = 0;
let slowFaultsBefore = 0;

function captureOutput(): void {
  lines = [];
  const keep = (...args: unknown[]) => {
    lines.push(format(...args));
  };
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    jest.spyOn(console, method).mockImplementation(keep);
  }
  for (const stream of [process.stdout, process.stderr]) {
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      keep(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
}

async function uploadSample() {
  fileCounter += 1;
  const fileId = `privacy-${fileCounter}`;
  const s3_key = `transcription/${USER_ID}/${fileId}.ogg`;
  await harness.upload(s3_key, sample);
  return { s3_key, user_id: USER_ID, file_id: fileId, bucket: TEST_BUCKET };
}

async function readResultText(fileId: string): Promise<string> {
  const answer = await harness.s3.client.send(
    new GetObjectCommand({ Bucket: TEST_BUCKET, Key: resultKey('results/', USER_ID, fileId) }),
  );
  return (await answer.Body?.transformToString('utf-8')) ?? '';
}

/**
 * AssemblyAI's download of the presigned URL is refused (403), while the workflow's own reads of
 * the object succeed: only the presigned download names the execution in its query.
 */
const refuseProviderDownload = (key: string) =>
  harness.s3Faults.inject({
    method: 'GET',
    path: new RegExp(`/${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    query: /response-content-disposition=/,
    status: 403,
    code: 'AccessDenied',
  });

const parsed = (line: string): Record<string, unknown> | undefined => {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

function expectNothingForbiddenIn(text: string[]): void {
  const leaks = forbidden.flatMap((secret) =>
    text.filter((line) => line.toLowerCase().includes(secret.toLowerCase())).map(() => secret),
  );
  expect([...new Set(leaks)]).toEqual([]);
}

beforeAll(async () => {
  proxy = await startProviderProxy();
  harness = await startHarness({
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOGGER_LOG_EVENT: 'true',
    ASSEMBLYAI_BASE_URL: proxy.url,
    ASSEMBLYAI_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    POLL_DEADLINE_BASE_SECONDS: '1',
    POLL_DEADLINE_PER_AUDIO_SECOND: '0.01',
  });
  proxy.target = harness.emulator.url;
  sample = await readFile(SAMPLE);
  const transcript = JSON.parse(await readFile(SAMPLE_TRANSCRIPT, 'utf-8')) as SampleTranscript;
  const words = transcript.words
    .map((w) => w.text.replace(/[^\p{L}\p{N}]/gu, ''))
    .filter((word) => word.length >= 4);
  const texts = [transcript.text, ...transcript.utterances.map((u) => u.text), ...words];
  forbidden = [
    harness.emulator.apiKey,
    'X-Amz-Signature',
    'X-Amz-Credential',
    ...texts,
    ...texts.map(asciiEscaped).filter((escaped) => escaped.includes('\\u')),
    // Webhook mode (jest's webhook project): the secret header AssemblyAI sends back, and every task token.
    ...(process.env.WEBHOOK_SECRET ? [process.env.WEBHOOK_SECRET] : []),
  ];
  const tokens = harness.webhook?.tokens;
  if (tokens) {
    const issue = tokens.issue.bind(tokens);
    tokens.issue = () => {
      const token = issue();
      forbidden.push(token);
      return token;
    };
  }
});

afterAll(async () => {
  await harness?.close();
  await proxy?.close();
});

beforeEach(() => {
  harness.emulator.clearFaults();
  slowFaultsBefore = harness.emulator.stats().faults.slow ?? 0;
  proxy.sendWrongKey = false;
  captureOutput();
});

afterEach(async () => {
  jest.restoreAllMocks();
  // A `slow` request the client gave up on is still answered later (a late submit still creates
  // a job, and would take the next test's job fault): let those finish first.
  if ((harness.emulator.stats().faults.slow ?? 0) > slowFaultsBefore) await sleep(SLOW_MS);
});

describe('the logs of a full run', () => {
  it('carry the correlation keys but no key, presigned URL or transcript text on a completed run', async () => {
    // Arrange
    const input = await uploadSample();

    // Act
    const outcome = await harness.workflow().run(input, harness.runOptions());

    // Assert
    expect(outcome.status).toBe('SUCCEEDED');
    expect(lines.length).toBeGreaterThan(5);
    const records = lines.map(parsed).filter((r) => r !== undefined);
    expect(records).toContainEqual(
      expect.objectContaining({
        execution_arn: outcome.executionArn,
        file_id: input.file_id,
        user_id: USER_ID,
      }),
    );
    const transcriptId = harness.emulator.stats().transcripts.at(-1)?.id;
    expect(records).toContainEqual(expect.objectContaining({ transcript_id: transcriptId }));
    expectNothingForbiddenIn(lines);
  });

  it.each([
    {
      path: 'AssemblyAI cannot download the presigned URL',
      error: 'AudioDownloadFailed',
      arrange: (input: { s3_key: string }) => {
        refuseProviderDownload(input.s3_key);
        return {};
      },
    },
    {
      path: 'AssemblyAI answers 401',
      error: 'ProviderRejected',
      arrange: () => {
        proxy.sendWrongKey = true;
        return {};
      },
    },
    {
      path: 'the job ends with status error',
      error: 'TranscriptionFailed',
      arrange: () => {
        harness.emulator.injectFault({ kind: 'transcript-error', times: 1 });
        return {};
      },
    },
    {
      path: 'the job never completes (poll deadline)',
      error: 'TranscriptionTimedOut',
      arrange: () => {
        harness.emulator.injectFault({ kind: 'never-complete', times: 1 });
        return {};
      },
    },
    {
      path: 'AssemblyAI stays unavailable (503 on every submit)',
      error: 'ProviderUnavailable',
      arrange: () => {
        harness.emulator.injectFault({ kind: 'server-error', status: 503, on: 'submit' });
        return {};
      },
    },
    {
      path: 'every request to AssemblyAI times out',
      error: 'ProviderUnavailable',
      arrange: () => {
        harness.emulator.injectFault({ kind: 'slow', delayMs: SLOW_MS, on: 'any' });
        return {};
      },
    },
  ])('carry no key, presigned URL or transcript text when $path ($error)', async ({ arrange, error }) => {
    // Arrange
    const input = await uploadSample();
    const overrides = arrange(input);

    // Act
    const outcome = await harness.workflow(overrides).run(input, harness.runOptions({ waitMs: 50 }));

    // Assert
    expect(outcome).toMatchObject({ status: 'FAILED', error });
    const records = lines.map(parsed).filter((r) => r !== undefined);
    expect(records).toContainEqual(
      expect.objectContaining({
        execution_arn: outcome.executionArn,
        file_id: input.file_id,
        user_id: USER_ID,
      }),
    );
    expectNothingForbiddenIn([...lines, outcome.cause ?? '']);
    const result = await readResultText(input.file_id);
    expect(JSON.parse(result)).toMatchObject({ status: 'failed', error: { type: error } });
    expect(result).not.toMatch(/X-Amz-/i);
    expect(result).not.toMatch(/https?:/i);
  });

  it('carry no transcript text when a status check times out and is retried to completion', async () => {
    // Arrange
    const input = await uploadSample();
    harness.emulator.injectFault({ kind: 'slow', delayMs: SLOW_MS, on: 'get', times: 1 });

    // Act
    const outcome = await harness.workflow().run(input, harness.runOptions());

    // Assert
    expect(outcome.status).toBe('SUCCEEDED');
    if (harness.delivery === 'poll')
      expect(outcome.retries['Check transcript status']).toBeGreaterThanOrEqual(1);
    // Webhook mode: the receiver's read timed out, it answered 503, and AssemblyAI delivered again.
    else expect(harness.webhook?.deliveries().map((d) => d.statusCode)).toContain(503);
    expectNothingForbiddenIn(lines);
  });

  it('would have leaked the presigned URL: the provider error it redacts really holds one', async () => {
    // Arrange: the download-error path again, reading the job as AssemblyAI reports it
    const input = await uploadSample();

    // Act
    refuseProviderDownload(input.s3_key);
    await harness.workflow().run(input, harness.runOptions());
    const job = harness.emulator.stats().transcripts.at(-1);
    const answer = await fetch(`${harness.emulator.url}/v2/transcript/${job?.id}`, {
      headers: { authorization: harness.emulator.apiKey },
    });

    // Assert
    expect(((await answer.json()) as { error: string }).error).toMatch(/X-Amz-Signature=/);
    expectNothingForbiddenIn(lines);
  });
});
