/**
 * The emulator's webhooks, as AssemblyAI delivers them for pre-recorded audio: a POST of
 * `{transcript_id, status}` with the job's custom header once it is completed or error, retried
 * until a 2xx (at most 10 attempts), never after a 4xx; and the webhook faults.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmulatorOptions, InspectedAudio } from '../../local/assemblyai-emulator/emulator.js';
import { parseFaultSpec } from '../../local/assemblyai-emulator/faults.js';
import { EmulatorUnderTest, SPEECH_MODELS, sleep, startAudioHost } from './emulator-support.js';

type Body = Record<string, unknown>;

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver does with its n-th request (1-based): answer with a status, or never answer. */
type Answer = (n: number) => number | 'hang';

interface Receiver {
  url: (path?: string) => string;
  received: Received[];
  close: () => Promise<void>;
}

const SECRET = 'webhook-secret-value-42';
const PROCESSING_MS = 50;
/** Headers Node's fetch sends by itself; anything else on a delivery came from the emulator. */
const FETCH_HEADERS = [
  'host',
  'connection',
  'content-type',
  'content-length',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-fetch-mode',
  'user-agent',
];

const harness = new EmulatorUnderTest();
const receivers: Receiver[] = [];
let audio: Awaited<ReturnType<typeof startAudioHost>>;

async function startReceiver(answer: Answer = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const reply = answer(received.length);
      if (reply === 'hang') hanging.push(res);
      else res.writeHead(reply, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const receiver: Receiver = {
    url: (path = '/hook') => `${base}${path}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  receivers.push(receiver);
  return receiver;
}

/** Audio the emulator "downloaded" at once: the tests are about what happens after. */
const instantAudio = async (): Promise<InspectedAudio> => ({ ok: true, durationSeconds: 3, sha256: 'x' });

const start = (options: EmulatorOptions = {}) =>
  harness.start({ processingDelayMs: PROCESSING_MS, inspectAudio: instantAudio, ...options });

const submit = async (body: Body): Promise<Body> => {
  const response = await harness.request('POST', '/v2/transcript', {
    audio_url: audio.url('hello.ogg'),
    speech_models: SPEECH_MODELS,
    ...body,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Body;
};

const get = async (id: unknown): Promise<Body> =>
  (await (await harness.request('GET', `/v2/transcript/${String(id)}`)).json()) as Body;

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

beforeAll(async () => {
  audio = await startAudioHost();
});

afterEach(async () => {
  await harness.emulator?.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await audio.close();
});

describe('AssemblyAI emulator webhooks', () => {
  describe('delivery', () => {
    it('POSTs {transcript_id, status} with the custom auth header once the job completed, via the SDK', async () => {
      const receiver = await startReceiver();
      const emulator = await harness.start({ processingDelayMs: PROCESSING_MS });
      const submittedAt = Date.now();
      const job = await harness.sdk().transcripts.submit({
        audio: audio.url('sample.ogg'),
        speech_models: SPEECH_MODELS,
        webhook_url: receiver.url('/hook?client=7'),
        webhook_auth_header_name: 'X-Webhook-Secret',
        webhook_auth_header_value: SECRET,
      });
      expect(job.webhook_status_code).toBeNull();

      await until(() => receiver.received.length === 1);
      const [hit] = receiver.received;

      expect(hit?.method).toBe('POST');
      expect(hit?.path).toBe('/hook?client=7');
      expect(hit?.headers['content-type']).toBe('application/json');
      expect(hit?.headers['x-webhook-secret']).toBe(SECRET);
      expect(JSON.parse(hit?.body ?? '')).toEqual({ transcript_id: job.id, status: 'completed' });
      expect(Object.keys(JSON.parse(hit?.body ?? ''))).toEqual(['transcript_id', 'status']);
      expect(hit?.at).toBeGreaterThanOrEqual(submittedAt + PROCESSING_MS);
      const finished = await get(job.id);
      expect(finished).toMatchObject({
        status: 'completed',
        webhook_url: receiver.url('/hook?client=7'),
        webhook_auth: true,
        webhook_auth_header_name: 'X-Webhook-Secret',
      });
      expect(JSON.stringify(finished)).not.toContain(SECRET);
      expect(emulator.webhookDeliveries()).toEqual([
        {
          transcript_id: job.id,
          status: 'completed',
          attempt: 1,
          http_status: 200,
          at: expect.any(Number),
        },
      ]);
      expect(emulator.stats().webhooks).toEqual({ attempts: 1, delivered: 1 });
    });

    it('is not sent before the job completes', async () => {
      const receiver = await startReceiver();
      // Wide margins: a loaded CI machine may take hundreds of milliseconds between two lines.
      await start({ processingDelayMs: 2000 });
      const job = await submit({ webhook_url: receiver.url() });

      await sleep(250);
      expect(['queued', 'processing']).toContain((await get(job.id)).status);
      expect(receiver.received).toHaveLength(0);
      await until(() => receiver.received.length === 1, 10_000);
      expect((await get(job.id)).status).toBe('completed');
    });

    it('sends no auth header when none was configured (webhook_auth false)', async () => {
      const receiver = await startReceiver();
      await start();
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 1);

      const headers = Object.keys(receiver.received[0]?.headers ?? {});
      expect(headers.filter((name) => !FETCH_HEADERS.includes(name))).toEqual([]);
      expect(await get(job.id)).toMatchObject({ webhook_auth: false, webhook_auth_header_name: null });
    });

    it('sends no webhook for a job submitted without webhook_url', async () => {
      const receiver = await startReceiver();
      const emulator = await start();
      const job = await submit({});
      await harness.finished(String(job.id));
      await sleep(100);

      expect(receiver.received).toHaveLength(0);
      expect(emulator.webhookDeliveries()).toEqual([]);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });

    it('an error job delivers status "error"', async () => {
      const receiver = await startReceiver();
      await start({ faults: [{ kind: 'transcript-error', times: 1 }] });
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 1);

      expect(JSON.parse(receiver.received[0]?.body ?? '')).toEqual({
        transcript_id: job.id,
        status: 'error',
      });
      expect((await get(job.id)).status).toBe('error');
    });

    it('a job deleted before its webhook was due is not delivered', async () => {
      const receiver = await startReceiver();
      const emulator = await start({ webhookDelayMs: 300 });
      const job = await submit({ webhook_url: receiver.url() });
      await harness.finished(String(job.id));

      expect((await harness.request('DELETE', `/v2/transcript/${job.id}`)).status).toBe(200);
      await sleep(500);

      expect(receiver.received).toHaveLength(0);
      expect(emulator.webhookDeliveries()).toEqual([]);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });

    it('a never-complete job is never delivered', async () => {
      const receiver = await startReceiver();
      const emulator = await start({ faults: [{ kind: 'never-complete', times: 1 }] });
      await submit({ webhook_url: receiver.url() });
      await sleep(200);

      expect(receiver.received).toHaveLength(0);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });

    it('webhookDelayMs: the first attempt comes that long after completion', async () => {
      const receiver = await startReceiver();
      await start({ webhookDelayMs: 300 });
      const submittedAt = Date.now();
      const job = await submit({ webhook_url: receiver.url() });
      await harness.finished(String(job.id));

      expect(receiver.received).toHaveLength(0);
      await until(() => receiver.received.length === 1);
      expect(receiver.received[0]?.at).toBeGreaterThanOrEqual(submittedAt + PROCESSING_MS + 300);
    });

    it('webhook_status_code shows the status of the last attempt (null before)', async () => {
      const receiver = await startReceiver((n) => (n === 1 ? 503 : 204));
      await start({ webhookRetryDelayMs: 150 });
      const job = await submit({ webhook_url: receiver.url() });
      expect(job.webhook_status_code).toBeNull();

      await until(() => receiver.received.length === 1);
      await until(() => harness.emulator.webhookDeliveries()[0]?.http_status === 503);
      expect((await get(job.id)).webhook_status_code).toBe(503);
      await until(() => receiver.received.length === 2);
      await until(() => harness.emulator.webhookDeliveries()[1]?.http_status === 204);
      expect((await get(job.id)).webhook_status_code).toBe(204);
    });

    it('never logs the header value or the URL query, only that a delivery happened', async () => {
      const receiver = await startReceiver();
      const lines: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) =>
        lines.push(String(chunk)) > 0) as typeof process.stderr.write;
      try {
        await start({ verbose: true });
        const job = await submit({
          webhook_url: receiver.url('/hook?token=query-secret'),
          webhook_auth_header_name: 'X-Webhook-Secret',
          webhook_auth_header_value: SECRET,
        });
        await until(() => harness.emulator.webhookDeliveries()[0]?.http_status === 200);
        const log = lines.join('');
        expect(log).toContain(`webhook ${String(job.id)} attempt 1: 200`);
        expect(log).not.toContain(SECRET);
        expect(log).not.toContain('query-secret');
        expect(log).not.toContain(receiver.url(''));
      } finally {
        process.stderr.write = write;
      }
    });
  });

  describe('retries', () => {
    it('retries after a 503 and stops at the first 2xx', async () => {
      const receiver = await startReceiver((n) => (n === 1 ? 503 : 200));
      const emulator = await start({ webhookRetryDelayMs: 30 });
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 2);
      await sleep(200);

      expect(receiver.received).toHaveLength(2);
      expect(receiver.received[1]?.body).toBe(receiver.received[0]?.body);
      expect(emulator.webhookDeliveries().map((d) => [d.attempt, d.http_status])).toEqual([
        [1, 503],
        [2, 200],
      ]);
      const [first, second] = emulator.webhookDeliveries();
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(30);
      expect(emulator.stats().webhooks).toEqual({ attempts: 2, delivered: 1 });
      expect((await get(job.id)).webhook_status_code).toBe(200);
    });

    it('retries an attempt the receiver does not answer within webhookTimeoutMs', async () => {
      const receiver = await startReceiver((n) => (n === 1 ? 'hang' : 200));
      const emulator = await start({ webhookTimeoutMs: 150, webhookRetryDelayMs: 10 });
      await submit({ webhook_url: receiver.url() });

      await until(() => emulator.webhookDeliveries()[1]?.http_status === 200);

      expect(emulator.webhookDeliveries()).toEqual([
        expect.objectContaining({ attempt: 1, http_status: null, error: 'timeout' }),
        expect.objectContaining({ attempt: 2, http_status: 200 }),
      ]);
      expect(receiver.received).toHaveLength(2);
    });

    it('retries after a network error (nothing listening)', async () => {
      const gone = await startReceiver();
      const url = gone.url();
      await gone.close();
      const emulator = await start({ webhookRetryDelayMs: 10 });
      await submit({ webhook_url: url });

      await until(() => emulator.webhookDeliveries().length >= 2);

      expect(emulator.webhookDeliveries()[0]).toMatchObject({
        attempt: 1,
        http_status: null,
        error: 'network error (ECONNREFUSED)',
      });
    });

    it('a 4xx answer is never retried', async () => {
      const receiver = await startReceiver(() => 401);
      const emulator = await start({ webhookRetryDelayMs: 10 });
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 1);
      await sleep(200);

      expect(receiver.received).toHaveLength(1);
      expect(emulator.stats().webhooks).toEqual({ attempts: 1, delivered: 0 });
      expect((await get(job.id)).webhook_status_code).toBe(401);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });

    it('makes at most 10 attempts against a receiver that always answers 500', async () => {
      const receiver = await startReceiver(() => 500);
      const emulator = await start({ webhookRetryDelayMs: 5 });
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 10);
      await sleep(250);

      expect(receiver.received).toHaveLength(10);
      expect(emulator.webhookDeliveries().map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(emulator.stats().webhooks).toEqual({ attempts: 10, delivered: 0 });
      expect((await get(job.id)).webhook_status_code).toBe(500);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });
  });

  describe('faults', () => {
    it('webhook-lost: nothing reaches the receiver, the job completes for GET, attempts are retried as timeouts', async () => {
      const receiver = await startReceiver();
      const emulator = await start({
        faults: [parseFaultSpec('webhook-lost')],
        webhookTimeoutMs: 10,
        webhookRetryDelayMs: 5,
      });
      const job = await submit({ webhook_url: receiver.url() });

      expect((await harness.finished(String(job.id))).status).toBe('completed');
      await until(() => emulator.webhookDeliveries().length === 10);
      await sleep(100);

      expect(receiver.received).toHaveLength(0);
      expect(emulator.webhookDeliveries()).toHaveLength(10);
      expect(emulator.webhookDeliveries()[0]).toMatchObject({
        attempt: 1,
        http_status: null,
        error: 'lost (webhook-lost fault)',
      });
      expect((await get(job.id)).webhook_status_code).toBeNull();
      expect(emulator.stats().faults['webhook-lost']).toBe(1);
      expect(emulator.stats().webhooks).toEqual({ attempts: 10, delivered: 0 });
    });

    it('webhook-lost with times: 1 hits only the next job with a webhook', async () => {
      const receiver = await startReceiver();
      const emulator = await start({ faults: [{ kind: 'webhook-lost', times: 1 }], webhookTimeoutMs: 1000 });
      await submit({}); // no webhook_url: not a match
      const lost = await submit({ webhook_url: receiver.url() });
      const delivered = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 1);
      await sleep(100);

      expect(receiver.received.map((r) => JSON.parse(r.body).transcript_id)).toEqual([delivered.id]);
      expect(emulator.webhookDeliveries().find((d) => d.transcript_id === lost.id)?.error).toBe(
        'lost (webhook-lost fault)',
      );
    });

    it('webhook-repeat:3 sends the delivery 3 times although each is answered 200', async () => {
      const receiver = await startReceiver();
      const emulator = await start({ faults: [parseFaultSpec('webhook-repeat:3')], webhookRetryDelayMs: 10 });
      const job = await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 3);
      await sleep(200);

      expect(receiver.received).toHaveLength(3);
      for (const hit of receiver.received) {
        expect(JSON.parse(hit.body)).toEqual({ transcript_id: job.id, status: 'completed' });
      }
      expect(emulator.stats().webhooks).toEqual({ attempts: 3, delivered: 3 });
      expect(emulator.stats().faults['webhook-repeat']).toBe(1);
    });

    it('webhook-delay:MS: the first attempt comes MS after completion', async () => {
      const receiver = await startReceiver();
      await start({ faults: [parseFaultSpec('webhook-delay:300')] });
      const submittedAt = Date.now();
      const job = await submit({ webhook_url: receiver.url() });
      await harness.finished(String(job.id));

      await sleep(150);
      expect(receiver.received).toHaveLength(0);
      await until(() => receiver.received.length === 1);
      expect(receiver.received[0]?.at).toBeGreaterThanOrEqual(submittedAt + PROCESSING_MS + 300);
    });

    it('a job fault and a webhook fault apply to the same job', async () => {
      const receiver = await startReceiver();
      await start({
        faults: [{ kind: 'webhook-repeat', count: 2 }, { kind: 'transcript-error' }],
        webhookRetryDelayMs: 10,
      });
      await submit({ webhook_url: receiver.url() });

      await until(() => receiver.received.length === 2);
      expect(receiver.received.map((r) => JSON.parse(r.body).status)).toEqual(['error', 'error']);
    });

    it('parses and validates the webhook fault specs', () => {
      expect(parseFaultSpec('webhook-lost')).toEqual({ kind: 'webhook-lost' });
      expect(parseFaultSpec('webhook-repeat')).toEqual({ kind: 'webhook-repeat', count: undefined });
      expect(parseFaultSpec('webhook-repeat:10')).toEqual({ kind: 'webhook-repeat', count: 10 });
      expect(parseFaultSpec('webhook-delay:2500')).toEqual({ kind: 'webhook-delay', delayMs: 2500 });
      expect(() => parseFaultSpec('webhook-repeat:1')).toThrow(/count must be an integer from 2 to 10/);
      expect(() => parseFaultSpec('webhook-repeat:11')).toThrow(/count must be an integer from 2 to 10/);
      expect(() => parseFaultSpec('webhook-delay:-1')).toThrow(/delayMs must be >= 0/);
    });
  });

  describe('timing for tests and the benchmark', () => {
    it('nextWebhookDueAt: the due time (completion + delay) of a job still processing, then undefined', async () => {
      const receiver = await startReceiver();
      const emulator = await start({ webhookDelayMs: 200 });
      expect(emulator.nextWebhookDueAt()).toBeUndefined();

      const before = Date.now();
      await submit({ webhook_url: receiver.url() });
      const after = Date.now();
      const due = emulator.nextWebhookDueAt();

      expect(due).toBeGreaterThanOrEqual(before + PROCESSING_MS + 200);
      expect(due).toBeLessThanOrEqual(after + PROCESSING_MS + 200);
      await until(() => receiver.received.length === 1);
      expect(receiver.received[0]?.at).toBeGreaterThanOrEqual(due ?? Number.POSITIVE_INFINITY);
      await until(() => emulator.webhookDeliveries()[0]?.http_status === 200);
      expect(emulator.nextWebhookDueAt()).toBeUndefined();
    });

    it('nextWebhookDueAt: the next retry after a failed attempt', async () => {
      const receiver = await startReceiver(() => 503);
      const emulator = await start({ webhookRetryDelayMs: 60_000 });
      await submit({ webhook_url: receiver.url() });

      await until(() => emulator.webhookDeliveries()[0]?.http_status === 503);
      const due = emulator.nextWebhookDueAt() ?? 0;
      expect(due - Date.now()).toBeGreaterThan(59_000);
      expect(due - Date.now()).toBeLessThanOrEqual(60_000);
    });

    it('follows Date.now(): a virtual clock jumping past the due time delivers at once', async () => {
      const receiver = await startReceiver();
      const realNow = Date.now;
      let offset = 0;
      Date.now = () => realNow() + offset;
      try {
        const emulator = await start({ processingDelayMs: 3_600_000, webhookDelayMs: 60_000 });
        const job = await submit({ webhook_url: receiver.url() });
        const due = emulator.nextWebhookDueAt() ?? 0;
        await sleep(100);
        expect(receiver.received).toHaveLength(0);

        offset = due - realNow() + 1;
        const jumpedAt = realNow();
        await until(() => receiver.received.length === 1, 1000);

        expect(realNow() - jumpedAt).toBeLessThan(500);
        expect(JSON.parse(receiver.received[0]?.body ?? '')).toEqual({
          transcript_id: job.id,
          status: 'completed',
        });
        expect(emulator.webhookDeliveries()[0]?.at).toBeGreaterThanOrEqual(due);
      } finally {
        Date.now = realNow;
      }
    });

    it('close() stops the scheduler and waits for deliveries in flight', async () => {
      const receiver = await startReceiver(() => 'hang');
      const emulator = await start({ webhookTimeoutMs: 5000 });
      await submit({ webhook_url: receiver.url() });
      await until(() => receiver.received.length === 1);

      const closing = Date.now();
      await emulator.close();

      expect(Date.now() - closing).toBeLessThan(1000);
      expect(emulator.webhookDeliveries()).toEqual([
        expect.objectContaining({ attempt: 1, http_status: null, error: 'aborted (emulator closed)' }),
      ]);
    });

    it('rejects negative webhook options', async () => {
      await expect(start({ webhookRetryDelayMs: -1 })).rejects.toThrow(
        /webhookRetryDelayMs must be a number >= 0/,
      );
    });
  });
});
