/**
 * Webhook mode (`-c transcriptDelivery=webhook`) through the real definition and handlers: the
 * emulator delivers AssemblyAI's webhook to the real receiver, which answers Submit's task token.
 * What only this mode has: the 8-transition path, lost, repeated and forged deliveries, and the
 * fallback to the poll loop when no webhook comes.
 */
import { readFile } from 'node:fs/promises';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);

let harness: Harness;
let sample: Buffer;
let counter = 0;

async function upload() {
  counter += 1;
  const fileId = `hook-${counter}`;
  const s3_key = `transcription/42/${fileId}.ogg`;
  await harness.upload(s3_key, sample);
  return { s3_key, user_id: 42, file_id: fileId, bucket: TEST_BUCKET };
}

const transitionsOf = (outcome: { statesEntered: string[]; retries: Record<string, number> }) =>
  outcome.statesEntered.length + Object.values(outcome.retries).reduce((a, b) => a + b, 0);

beforeAll(async () => {
  harness = await startHarness({ TRANSCRIPT_DELIVERY: 'webhook' });
  sample = await readFile(SAMPLE);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(() => {
  harness.emulator.clearFaults();
});

describe('webhook mode', () => {
  it('completes on the webhook in 6 transitions, without a poll loop', async () => {
    const input = await upload();
    const delivered = harness.emulator.stats().webhooks.delivered;

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.statesEntered).toEqual([
      'Validate audio',
      'Already transcribed?',
      'Submit and wait for webhook',
      'Transcript ready?',
      'Format segments',
      'Persist result',
    ]);
    expect(transitionsOf(outcome)).toBe(6);
    expect(harness.emulator.stats().webhooks.delivered - delivered).toBe(1);
    const result = await harness.readResult(42, input.file_id);
    expect(result?.status === 'completed' && result.segments.length).toBe(3);
  });

  it('sends AssemblyAI the receiver URL and the secret header, never logging them in the result', async () => {
    const input = await upload();

    await harness.workflow().run(input, harness.runOptions());

    const body = harness.emulator.submitBodies().at(-1) as Record<string, unknown>;
    expect(body.webhook_url).toBe(harness.webhook?.url);
    expect(body.webhook_auth_header_name).toBe('X-Transcription-Webhook-Secret');
    expect(body.webhook_auth_header_value).toBe(process.env.WEBHOOK_SECRET);
    const result = JSON.stringify(await harness.readResult(42, input.file_id));
    expect(result).not.toContain(String(process.env.WEBHOOK_SECRET));
  });

  it('survives a lost webhook: the wait times out and the poll loop finds the job, with one job only', async () => {
    const input = await upload();
    const jobs = harness.emulator.stats().transcripts.length;
    harness.emulator.injectFault({ kind: 'webhook-lost', times: 1 });

    const outcome = await harness.workflow().run(input, harness.runOptions({ callbackTimeoutMs: 500 }));

    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.statesEntered).toEqual(
      expect.arrayContaining([
        'Submit and wait for webhook',
        'Submit to AssemblyAI',
        'Check transcript status',
      ]),
    );
    expect(harness.emulator.stats().transcripts.length - jobs).toBe(1);
    expect((await harness.readResult(42, input.file_id))?.status).toBe('completed');
  });

  it('answers repeated deliveries of one webhook with 2xx and transcribes once', async () => {
    const input = await upload();
    const outcome = await harness.workflow().run(input, harness.runOptions());
    const jobId = harness.emulator.stats().transcripts.at(-1)?.id;
    const before = await harness.readResult(42, input.file_id);

    // AssemblyAI delivers at least once: the same webhook again, twice, after the task was answered.
    const replay = () =>
      fetch(String(harness.webhook?.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-transcription-webhook-secret': String(process.env.WEBHOOK_SECRET),
        },
        body: JSON.stringify({ transcript_id: jobId, status: 'completed' }),
      });
    const answers = [(await replay()).status, (await replay()).status];

    expect(outcome.status).toBe('SUCCEEDED');
    expect(answers).toEqual([200, 200]);
    expect(await harness.readResult(42, input.file_id)).toEqual(before);
  });

  it('refuses a forged delivery (wrong secret) with 401 and leaves the waiting execution alone', async () => {
    const input = await upload();
    harness.emulator.injectFault({ kind: 'webhook-delay', delayMs: 1000, times: 1 });
    const running = harness.workflow().start(input, harness.runOptions());
    await new Promise((resolve) => setTimeout(resolve, 300));
    const jobId = harness.emulator.stats().transcripts.at(-1)?.id;

    const forged = await fetch(String(harness.webhook?.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-transcription-webhook-secret': 'guessed' },
      body: JSON.stringify({ transcript_id: jobId, status: 'error' }),
    });
    const outcome = await running.outcome;

    expect(forged.status).toBe(401);
    expect(outcome.status).toBe('SUCCEEDED');
    expect((await harness.readResult(42, input.file_id))?.status).toBe('completed');
  });

  it('lets two executions of the same audio share one job: the follower answers its own token and polls the result', async () => {
    const input = await upload();
    const jobs = harness.emulator.stats().transcripts.length;
    harness.emulator.injectFault({ kind: 'webhook-delay', delayMs: 500, times: 1 });

    const [first, second] = await Promise.all([
      harness.workflow().run(input, harness.runOptions({ waitMs: 50 })),
      harness.workflow().run(input, harness.runOptions({ waitMs: 50 })),
    ]);

    expect([first.status, second.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(harness.emulator.stats().transcripts.length - jobs).toBe(1);
    const follower = [first, second].find((o) => o.statesEntered.includes('Wait for transcript'));
    expect(follower?.statesEntered).not.toContain('Format segments');
  });
});
