/**
 * The endings no Catch sees, through the real definition: an aborted execution, one that hits the
 * execution timeout, a state over the 256 KB limit (`States.DataLimitExceeded`), and a Record
 * failure that fails itself. After each, finalize-execution runs as the deployed EventBridge rule
 * runs it, and the bot still finds a result; a completed result is never replaced.
 */
import { readFile } from 'node:fs/promises';
import type { EventLog } from '../../local/workflow.js';
import { MAX_STATE_BYTES, StartExecutionRefused } from '../../local/workflow.js';
import { type Harness, startHarness, TEST_BUCKET } from '../support/harness.js';

const SAMPLE = new URL('../../local/sample/sample.ogg', import.meta.url);

let harness: Harness;
let sample: Buffer;
let counter = 0;

async function upload() {
  counter += 1;
  const fileId = `ending-${counter}`;
  const s3_key = `transcription/43/${fileId}.ogg`;
  await harness.upload(s3_key, sample);
  return { s3_key, user_id: 43, file_id: fileId, bucket: TEST_BUCKET };
}

beforeAll(async () => {
  harness = await startHarness();
  sample = await readFile(SAMPLE);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(() => {
  harness.emulator.clearFaults();
});

/** Calls `then` once, on the first event for which `when` holds. */
function onFirst(when: (event: EventLog) => boolean, then: () => void) {
  let done = false;
  return (event: EventLog) => {
    if (!done && when(event)) {
      done = true;
      then();
    }
  };
}

const enteredWait = (event: EventLog) =>
  event.type === 'StateEntered' && event.state.name === 'Wait for transcript';

describe('endings without a Catch', () => {
  it('finalizes an aborted execution: InternalError result, AssemblyAI job and work objects deleted', async () => {
    const input = await upload();
    const deletesBefore = harness.emulator.stats().deletes;
    let abort = () => {};
    const running = harness.workflow().start(input, {
      ...harness.runOptions({ waitMs: 60_000 }),
      executionName: `abort-${counter}`,
      // Once the job exists: the poll loop's Wait, or (webhook mode) the wait for the webhook.
      onEvent: onFirst(enteredWait, () => abort()),
      onCallbackWait: () => abort(),
    });
    abort = running.abort;

    const outcome = await running.outcome;

    expect(outcome.status).toBe('ABORTED');
    expect(outcome.statesEntered).not.toContain('Record failure');
    expect(await harness.readResult(43, input.file_id)).toMatchObject({
      status: 'failed',
      error: { type: 'InternalError' },
      metadata: { execution_arn: outcome.executionArn, failed_state: 'Execution aborted' },
    });
    expect(harness.emulator.stats().deletes - deletesBefore).toBe(1);
    expect(await harness.listKeys(`work/${running.name}/`)).toEqual([]);
  });

  it('finalizes an execution that hits the execution timeout with TranscriptionTimedOut', async () => {
    const input = await upload();
    // Webhook mode: a webhook that comes late, so the execution is still waiting at its timeout.
    harness.emulator.injectFault({ kind: 'webhook-delay', delayMs: 60_000, times: 1 });

    const outcome = await harness
      .workflow()
      .run(input, { ...harness.runOptions({ waitMs: 60_000 }), executionTimeoutMs: 300 });

    expect(outcome.status).toBe('TIMED_OUT');
    expect(await harness.readResult(43, input.file_id)).toMatchObject({
      status: 'failed',
      error: { type: 'TranscriptionTimedOut' },
      metadata: { execution_arn: outcome.executionArn, failed_state: 'Execution timed out' },
    });
  });

  it('never replaces a completed result when a forced re-run is aborted', async () => {
    const input = await upload();
    const first = await harness.workflow().run(input, harness.runOptions());
    let abort = () => {};
    const forced = harness.workflow().start(
      { ...input, force: true },
      {
        ...harness.runOptions({ waitMs: 60_000 }),
        onEvent: onFirst(enteredWait, () => abort()),
        onCallbackWait: () => abort(),
      },
    );
    abort = forced.abort;

    const outcome = await forced.outcome;

    expect(outcome.status).toBe('ABORTED');
    const result = await harness.readResult(43, input.file_id);
    expect(result?.status === 'completed' && result.metadata.execution_arn).toBe(first.executionArn);
  });

  it('fails a Task result over 256 KB with States.DataLimitExceeded, which no Catch handles', async () => {
    const input = await upload();
    const oversized = async (event: unknown) => ({
      ...((await harness.handlers['format-segments']?.(event)) as object),
      preview: 'x'.repeat(MAX_STATE_BYTES),
    });

    const outcome = await harness.workflow({ 'format-segments': oversized }).run(input, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('States.DataLimitExceeded');
    expect(outcome.cause).toMatch(/Format segments/);
    expect(outcome.statesEntered).not.toContain('Record failure');
    expect(outcome.statesEntered).not.toContain('Persist result');
    // Finalize wrote the result Record failure could not.
    expect(await harness.readResult(43, input.file_id)).toMatchObject({
      status: 'failed',
      error: { type: 'InternalError' },
      metadata: { execution_arn: outcome.executionArn },
    });
  });

  it('fails a Task whose Parameters make an input over 256 KB (an input just under the limit, wrapped)', async () => {
    const base = await upload();
    const padding = MAX_STATE_BYTES - Buffer.byteLength(JSON.stringify({ ...base, note: '' })) - 10;
    const input = { ...base, note: 'x'.repeat(padding) };
    const submissions = harness.emulator.stats().submissions;

    const outcome = await harness.workflow().run(input, harness.runOptions());

    expect(Buffer.byteLength(JSON.stringify(input))).toBeLessThanOrEqual(MAX_STATE_BYTES);
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('States.DataLimitExceeded');
    expect(outcome.cause).toMatch(/'Validate audio' received an input/);
    // Its Lambda never runs.
    expect(outcome.statesEntered.slice(0, 1)).toEqual(['Validate audio']);
    expect(outcome.statesEntered).not.toContain('Record failure');
    expect(harness.emulator.stats().submissions).toBe(submissions);
  });

  it('refuses an input over 256 KB before any state runs, as StartExecution does', async () => {
    const input = { ...(await upload()), note: 'x'.repeat(MAX_STATE_BYTES) };

    expect(() => harness.workflow().start(input, harness.runOptions())).toThrow(StartExecutionRefused);
  });

  it('writes the result when Record failure itself fails', async () => {
    const missing = {
      s3_key: 'transcription/43/none.ogg',
      user_id: 43,
      file_id: 'none',
      bucket: TEST_BUCKET,
    };
    const broken = async () => {
      throw Object.assign(new Error('boom'), { name: 'Runtime.ExitError' });
    };

    const outcome = await harness.workflow({ 'record-failure': broken }).run(missing, harness.runOptions());

    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('AudioNotFound');
    expect(await harness.readResult(43, 'none')).toMatchObject({
      status: 'failed',
      error: { type: 'AudioNotFound' },
      metadata: { execution_arn: outcome.executionArn, failed_state: 'Execution failed' },
    });
  });
});
