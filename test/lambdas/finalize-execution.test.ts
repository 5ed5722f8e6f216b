/** "Finalize execution": a result, no AssemblyAI copy and no work objects after every ending no Catch sees. */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  type ExecutionStatusChangeDetail,
  executionStatusChangeEvent,
  finalizeExecution,
} from '../../lambdas/finalize-execution/finalize-execution.js';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { startTestS3, TEST_BUCKET, type TestS3, testConfig } from './step-fixtures.js';

const config = testConfig();
const STARTED = Date.parse('2026-03-01T10:00:00.000Z');
const INPUT = { s3_key: 'transcription/7/voice-1.ogg', user_id: 7, file_id: 'voice-1', bucket: TEST_BUCKET };
const RESULT_KEY = 'results/7/voice-1.json';

let s3: TestS3;
let counter = 0;

beforeAll(async () => {
  s3 = await startTestS3();
});

afterAll(async () => {
  await s3.stop();
});

/** A fresh execution name (and so work folder) per test; the result key is shared on purpose. */
function detail(overrides: Partial<ExecutionStatusChangeDetail> = {}): ExecutionStatusChangeDetail {
  counter += 1;
  const name = `7-voice-1-run${counter}`;
  return {
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:wisevoice-transcription-test:${name}`,
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:wisevoice-transcription-test',
    name,
    status: 'TIMED_OUT',
    startDate: STARTED,
    stopDate: Date.now(),
    input: JSON.stringify(INPUT),
    inputDetails: { included: true },
    output: null,
    error: 'States.Timeout',
    cause: null,
    ...overrides,
  };
}

function deps(overrides: { describeInput?: (arn: string) => Promise<string | undefined> } = {}) {
  const deleted: string[] = [];
  const described: string[] = [];
  return {
    deleted,
    described,
    deps: {
      s3: s3.client,
      config,
      provider: {
        delete: async (id: string) => {
          deleted.push(id);
        },
        findSubmitted: async () => undefined,
      },
      describeInput:
        overrides.describeInput ??
        (async (arn: string) => {
          described.push(arn);
          return JSON.stringify(INPUT);
        }),
    },
  };
}

async function recordSubmission(d: ExecutionStatusChangeDetail, transcriptId = 'job-123') {
  await s3.put(`work/${d.name}/submission.json`, JSON.stringify({ transcript_id: transcriptId }));
  await s3.put(`work/${d.name}/transcript.json`, '{}');
}

async function result(): Promise<TranscriptionResult | undefined> {
  const stored = await s3.get(RESULT_KEY);
  return stored ? (JSON.parse(stored.body) as TranscriptionResult) : undefined;
}

beforeEach(async () => {
  await s3.client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key: RESULT_KEY }));
});

describe('finalizeExecution', () => {
  it('writes TranscriptionTimedOut for a timed-out execution, deletes its AssemblyAI job and work objects', async () => {
    const d = detail({ status: 'TIMED_OUT' });
    await recordSubmission(d);
    const { deps: injected, deleted } = deps();

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(finalized).toMatchObject({ result: 'written', error_type: 'TranscriptionTimedOut' });
    expect(await result()).toMatchObject({
      status: 'failed',
      user_id: 7,
      file_id: 'voice-1',
      error: { type: 'TranscriptionTimedOut' },
      metadata: { execution_arn: d.executionArn, failed_state: 'Execution timed out' },
    });
    expect(deleted).toEqual(['job-123']);
    expect(await s3.keys(`work/${d.name}/`)).toEqual([]);
  });

  it('writes InternalError for an aborted execution', async () => {
    const d = detail({ status: 'ABORTED', error: null });
    const { deps: injected } = deps();

    await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(await result()).toMatchObject({
      status: 'failed',
      error: { type: 'InternalError' },
      metadata: { failed_state: 'Execution aborted' },
    });
  });

  it('writes the failure of an execution that failed without a result, generic for service errors', async () => {
    const d = detail({ status: 'FAILED', error: 'States.DataLimitExceeded', cause: 'The state/task …' });
    const { deps: injected } = deps();

    await finalizeExecution(executionStatusChangeEvent(d), injected);

    const written = await result();
    expect(written).toMatchObject({ status: 'failed', error: { type: 'InternalError' } });
    expect(JSON.stringify(written)).not.toContain('DataLimitExceeded');
  });

  it('keeps the result Record failure wrote for this execution, and leaves the job to it', async () => {
    const d = detail({ status: 'FAILED', error: 'AudioNotFound', cause: 'There is no audio' });
    await recordSubmission(d);
    const own = {
      status: 'failed',
      user_id: 7,
      file_id: 'voice-1',
      error: { type: 'AudioNotFound', message: 'There is no audio' },
      metadata: { processing_time: 1, execution_arn: d.executionArn, failed_state: 'Validate audio' },
    };
    await s3.put(RESULT_KEY, JSON.stringify(own));
    const { deps: injected, deleted } = deps();

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(finalized.result).toBe('kept');
    expect(await result()).toEqual(own);
    expect(deleted).toEqual([]);
    expect(await s3.keys(`work/${d.name}/`)).toEqual([]);
  });

  it('never replaces a completed result, whichever execution wrote it', async () => {
    const completed = {
      status: 'completed',
      user_id: 7,
      file_id: 'voice-1',
      segments: [],
      metadata: { execution_arn: 'arn:…:execution:wisevoice-transcription-test:7-voice-1' },
    };
    await s3.put(RESULT_KEY, JSON.stringify(completed));
    const { deps: injected } = deps();

    const finalized = await finalizeExecution(
      executionStatusChangeEvent(detail({ status: 'ABORTED' })),
      injected,
    );

    expect(finalized.result).toBe('kept');
    expect(await result()).toEqual(completed);
  });

  it('replaces an earlier execution’s failure, but not one written after this execution stopped', async () => {
    const earlier = { status: 'failed', metadata: { execution_arn: 'arn:earlier' } };
    await s3.put(RESULT_KEY, JSON.stringify(earlier));
    const { deps: injected } = deps();
    const late = detail({ status: 'ABORTED', stopDate: Date.now() - 60_000 });

    const replaced = await finalizeExecution(executionStatusChangeEvent(detail()), injected);
    const kept = await finalizeExecution(executionStatusChangeEvent(late), injected);

    expect(replaced.result).toBe('written');
    expect(kept.result).toBe('kept');
    expect((await result())?.metadata.execution_arn).not.toBe(late.executionArn);
  });

  it('reads the input with DescribeExecution when the event could not carry it', async () => {
    const d = detail({ input: null, inputDetails: { included: false } });
    const { deps: injected, described } = deps();

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(described).toEqual([d.executionArn]);
    expect(finalized.result).toBe('written');
  });

  it('is idempotent: a second delivery of the same event changes nothing and calls AssemblyAI no more', async () => {
    const d = detail({ status: 'TIMED_OUT' });
    await recordSubmission(d);
    const { deps: injected, deleted } = deps();
    const event = executionStatusChangeEvent(d);

    await finalizeExecution(event, injected);
    const first = await s3.get(RESULT_KEY);
    const again = await finalizeExecution(event, injected);

    expect(again).toMatchObject({ result: 'kept', provider_job: 'none', work_objects_deleted: 0 });
    expect(await s3.get(RESULT_KEY)).toEqual(first);
    expect(deleted).toEqual(['job-123']);
  });

  it('writes nothing for an input without a valid user and file, but still cleans up', async () => {
    const d = detail({ input: '"not an object"' });
    await recordSubmission(d);
    const { deps: injected, deleted } = deps();

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(finalized).toMatchObject({ result: 'no-owner', result_key: null });
    expect(await result()).toBeUndefined();
    expect(deleted).toEqual(['job-123']);
    expect(await s3.keys(`work/${d.name}/`)).toEqual([]);
  });

  it('reports a refused AssemblyAI delete without failing (best effort)', async () => {
    const d = detail();
    await recordSubmission(d);
    const { deps: injected } = deps();
    const refusing = {
      ...injected,
      provider: {
        delete: async () => {
          throw new Error('Transcript is still processing');
        },
        findSubmitted: async () => undefined,
      },
    };

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), refusing);

    expect(finalized).toMatchObject({ result: 'written', provider_job: 'failed', transcript_id: 'job-123' });
    expect(await s3.keys(`work/${d.name}/`)).toEqual([]);
  });

  it.each(['SUCCEEDED', 'RUNNING'])('ignores %s executions', async (status) => {
    const d = detail({ status });
    await recordSubmission(d);
    const { deps: injected, deleted } = deps();

    const finalized = await finalizeExecution(executionStatusChangeEvent(d), injected);

    expect(finalized.result).toBe('ignored');
    expect(await result()).toBeUndefined();
    expect(deleted).toEqual([]);
    expect(await s3.keys(`work/${d.name}/`)).toHaveLength(2);
  });
});
