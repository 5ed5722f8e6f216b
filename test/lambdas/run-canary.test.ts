/**
 * "Run canary": each scheduled event copies the bundled sample to where a bot's upload would be
 * and starts one execution with the bot's input contract, named after the schedule's time, so a
 * redelivered event starts nothing twice. The marks it uses are the ones the finalizer reads.
 */
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { loadCanarySettings } from '../../lambdas/run-canary/canary-settings.js';
import { runCanary, runTimeOf } from '../../lambdas/run-canary/run-canary.js';
import { CANARY_USER_ID, canaryRunId, isCanaryExecution } from '../../lambdas/shared/canary.js';
import { ConfigurationError } from '../../lambdas/shared/errors.js';
import { parseRequest } from '../../lambdas/validate-audio/validate-audio.js';
import { TEST_BUCKET, testConfig } from './step-fixtures.js';

const STATE_MACHINE = 'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-dev';
const settings = {
  stateMachineArn: STATE_MACHINE,
  bucket: TEST_BUCKET,
  inputPrefix: 'transcription/',
  sampleBucket: 'cdk-hnb659fds-assets-123456789012-eu-central-1',
  sampleKey: '0f3c1e.ogg',
};
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const deps = () => ({ ...settings, s3: new S3Client({}), sfn: new SFNClient({}) });
const SCHEDULED = { time: '2026-12-02T15:00:00Z' };

beforeEach(() => {
  s3.reset();
  sfn.reset();
  s3.on(CopyObjectCommand).resolves({});
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
});

describe('runCanary', () => {
  it('copies the sample under the canary user’s prefix, then starts it with an input Validate accepts', async () => {
    const start = await runCanary(SCHEDULED, deps());

    expect(start).toEqual({ execution_name: 'canary-20261202T150000Z', started: true });
    const copies = s3.commandCalls(CopyObjectCommand).map((c) => c.args[0].input);
    expect(copies).toEqual([
      {
        Bucket: TEST_BUCKET,
        Key: `transcription/${CANARY_USER_ID}/canary-20261202T150000Z.ogg`,
        CopySource: `${settings.sampleBucket}/0f3c1e.ogg`,
      },
    ]);
    const [started, ...more] = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(more).toEqual([]);
    expect(started).toMatchObject({ stateMachineArn: STATE_MACHINE, name: 'canary-20261202T150000Z' });
    const input = JSON.parse(started?.input ?? 'null');
    expect(parseRequest(input, testConfig())).toMatchObject({
      user_id: CANARY_USER_ID,
      file_id: 'canary-20261202T150000Z',
      s3_key: copies[0]?.Key,
    });
    expect(isCanaryExecution(started?.name, input.user_id)).toBe(true);
  });

  it('starts the audio copy before the execution, so Validate never finds the object missing', async () => {
    s3.on(CopyObjectCommand).rejects(new Error('AccessDenied'));

    await expect(runCanary(SCHEDULED, deps())).rejects.toThrow('AccessDenied');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('takes a redelivered event’s ExecutionAlreadyExists as this run already started', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    await expect(runCanary(SCHEDULED, deps())).resolves.toEqual({
      execution_name: 'canary-20261202T150000Z',
      started: false,
    });
  });

  it('throws any other refusal, so Lambda retries the invocation and the error alarm counts it', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(runCanary(SCHEDULED, deps())).rejects.toThrow('Rate exceeded');
  });

  it('names a manual invocation (no scheduled time) after the current second', async () => {
    const now = new Date('2026-12-02T15:07:31.482Z');

    expect(runTimeOf({}, now)).toBe(now);
    expect(runTimeOf({ time: 'not a time' }, now)).toBe(now);
    expect(canaryRunId(runTimeOf(undefined, now))).toBe('20261202T150731Z');
    const start = await runCanary({}, { ...deps(), now: () => now });
    expect(start.execution_name).toBe('canary-20261202T150731Z');
  });
});

describe('loadCanarySettings', () => {
  it('reads every setting and names the one that is missing', () => {
    const env = {
      STATE_MACHINE_ARN: STATE_MACHINE,
      TRANSCRIPTION_BUCKET: TEST_BUCKET,
      INPUT_PREFIX: 'transcription/',
      CANARY_SAMPLE_BUCKET: settings.sampleBucket,
      CANARY_SAMPLE_KEY: settings.sampleKey,
    };

    expect(loadCanarySettings(env)).toEqual(settings);
    expect(() => loadCanarySettings({ ...env, CANARY_SAMPLE_KEY: ' ' })).toThrow(
      new ConfigurationError('CANARY_SAMPLE_KEY must be set'),
    );
  });
});

describe('canary marks', () => {
  it('uses a user id beyond Telegram’s (52-bit) ids that the input contract still accepts', () => {
    expect(CANARY_USER_ID).toBeGreaterThan(2 ** 52);
    expect(Number.isSafeInteger(CANARY_USER_ID)).toBe(true);
  });

  it('refuses an invalid time rather than naming a run "NaN"', () => {
    expect(() => canaryRunId(new Date('nope'))).toThrow(RangeError);
  });
});
