/** The operator CLI against mocked Step Functions and S3: what it prints, and its exit codes. */

import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionDoesNotExist,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { EXIT, fileIdFromName, historyRenderer, runCli } from '../../cli/program.js';
import { TranscriptionClient } from '../../client/index.js';

const SM = 'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-test';
const BUCKET = 'wisevoice-transcription-test';
const arnOf = (name: string) =>
  `arn:aws:states:eu-central-1:123456789012:execution:wisevoice-transcription-test:${name}`;
const INPUT = { s3_key: 'transcription/123/abc-123.ogg', user_id: 123, file_id: 'abc-123', bucket: BUCKET };
const T0 = new Date('2026-12-01T10:00:00Z');

const sfn = new SFNClient({ region: 'eu-central-1' });
const s3 = new S3Client({ region: 'eu-central-1' });
const sqs = new SQSClient({ region: 'eu-central-1' });
const sfnMock = mockClient(sfn);
const s3Mock = mockClient(s3);

function execution(name: string, status: string, extra: Partial<DescribeExecutionCommandOutput> = {}) {
  return {
    $metadata: {},
    executionArn: arnOf(name),
    stateMachineArn: SM,
    name,
    status,
    input: JSON.stringify(INPUT),
    startDate: T0,
    ...(status !== 'RUNNING' && { stopDate: new Date(T0.getTime() + 4200) }),
    ...extra,
  } as DescribeExecutionCommandOutput;
}

function result(value: unknown) {
  s3Mock
    .on(GetObjectCommand)
    .resolves({ Body: { transformToString: async () => JSON.stringify(value) } } as never);
}

const COMPLETED = {
  status: 'completed',
  file_id: 'abc-123',
  user_id: 123,
  segments: [
    { speaker: 'A', text: 'Привет, как дела?', start: 0.25, end: 1.9 },
    { speaker: 'B', text: 'Хорошо, спасибо. А у тебя?', start: 61.92, end: 64 },
  ],
  metadata: {
    total_segments: 2,
    processing_time: 4.2,
    audio_duration: 64,
    language_code: 'ru',
    language_confidence: null,
    speech_model_used: 'universal-2',
    transcript_id: 't',
    execution_arn: arnOf('123-abc-123'),
    s3_key: INPUT.s3_key,
    audio_etag: '"e"',
  },
};

const FAILED = {
  status: 'failed',
  file_id: 'abc-123',
  user_id: 123,
  error: { type: 'AudioTooShort', message: 'The audio is 0.1 s long; the minimum is 0.3 s' },
  metadata: { processing_time: 0.4, execution_arn: arnOf('123-abc-123'), failed_state: 'Validate audio' },
};

/** The last events of a failure Record failure recorded, newest first. */
function recordedFailureHistory(failedState: string, recorded = true): HistoryEvent[] {
  return [
    {
      id: 9,
      type: 'ExecutionFailed',
      timestamp: T0,
      executionFailedEventDetails: { error: 'AudioTooShort', cause: 'The audio is 0.1 s long' },
    },
    {
      id: 8,
      type: 'FailStateEntered',
      timestamp: T0,
      stateEnteredEventDetails: {
        name: 'Transcription failed',
        input: JSON.stringify({
          failure: {
            Error: 'AudioTooShort',
            failed_state: failedState,
            result_key: recorded ? 'results/123/abc-123.json' : null,
          },
        }),
      },
    },
  ];
}

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { TRANSCRIPTION_STATE_MACHINE_ARN: SM, TRANSCRIPTION_S3_BUCKET: BUCKET },
    columns: 60,
    now: () => T0.getTime() + 3_600_000,
    sleep: async () => {},
    createClient: (options) =>
      new TranscriptionClient({
        ...options,
        clients: { sfn, s3, sqs },
        clock: { now: () => 0, sleep: async () => {} },
      }),
  });
  return { code, stdout, stderr };
}

beforeEach(() => {
  sfnMock.reset();
  s3Mock.reset();
  s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
  sfnMock.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
});

describe('transcription CLI', () => {
  it('prints help with every command and exits 0', async () => {
    const { code, stdout } = await run('--help');

    expect(code).toBe(EXIT.ok);
    for (const command of [
      'start',
      'status',
      'watch',
      'result',
      'failures',
      'redrive',
      'retry',
      'stats',
      'rotate-key',
    ]) {
      expect(stdout).toContain(command);
    }
  });

  it('exits 2 on an unknown command or a missing required option', async () => {
    expect((await run('transcribe-everything')).code).toBe(EXIT.usage);
    expect((await run('start', 'transcription/123/a.ogg')).code).toBe(EXIT.usage);
  });

  it('exits 2 without a state machine, saying where to get one', async () => {
    let stderr = '';

    const code = await runCli(['status', 'x'], { stdout: () => {}, stderr: (t) => (stderr += t), env: {} });

    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('TRANSCRIPTION_STATE_MACHINE_ARN');
  });

  describe('with --stack', () => {
    const cloudFormation = mockClient(CloudFormationClient);
    const OTHER_SM = 'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-prod';

    afterEach(() => cloudFormation.reset());

    async function runWithStack(env: Record<string, string>, ...argv: string[]) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(argv, {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
        env: { AWS_REGION: 'eu-central-1', ...env },
        createClient: (options) =>
          new TranscriptionClient({
            ...options,
            clients: { sfn, s3, sqs },
            clock: { now: () => 0, sleep: async () => {} },
          }),
      });
      return { code, stdout, stderr };
    }

    it("takes the state machine and bucket from the stack's outputs", async () => {
      // Arrange
      cloudFormation.on(DescribeStacksCommand, { StackName: 'wisevoice-transcription-prod' }).resolves({
        Stacks: [
          {
            StackName: 'wisevoice-transcription-prod',
            CreationTime: T0,
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: [
              { OutputKey: 'StateMachineArn', OutputValue: OTHER_SM },
              { OutputKey: 'BucketName', OutputValue: 'wisevoice-transcription-prod' },
            ],
          },
        ],
      });
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: T0 });

      // Act
      const { code } = await runWithStack(
        {},
        '--stack',
        'wisevoice-transcription-prod',
        'start',
        'transcription/123/abc-123.ogg',
        '--user',
        '123',
      );

      // Assert: the execution was started on the stack's state machine, with its bucket in the input
      expect(code).toBe(EXIT.ok);
      const started = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
      expect(started?.stateMachineArn).toBe(OTHER_SM);
      expect(JSON.parse(started?.input ?? '{}').bucket).toBe('wisevoice-transcription-prod');
    });

    it('lets an explicit --state-machine-arn win over the stack', async () => {
      // Arrange
      cloudFormation.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 's',
            CreationTime: T0,
            StackStatus: 'CREATE_COMPLETE',
            Outputs: [
              { OutputKey: 'StateMachineArn', OutputValue: OTHER_SM },
              { OutputKey: 'BucketName', OutputValue: BUCKET },
            ],
          },
        ],
      });
      sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'x', startDate: T0 });

      // Act
      await runWithStack(
        { TRANSCRIPTION_STACK_NAME: 's' },
        '--state-machine-arn',
        SM,
        'start',
        'transcription/123/abc-123.ogg',
        '--user',
        '123',
      );

      // Assert
      expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.stateMachineArn).toBe(SM);
    });

    it('exits 1 naming the stack when its outputs cannot be read', async () => {
      // Arrange
      cloudFormation.on(DescribeStacksCommand).rejects(new Error('Stack with id nope does not exist'));

      // Act
      const { code, stderr } = await runWithStack(
        {},
        '--stack',
        'nope',
        'status',
        'abc-123',
        '--user',
        '123',
      );

      // Assert
      expect(code).toBe(EXIT.error);
      expect(stderr).toContain('stack nope');
    });
  });

  it('starts a key under its deterministic name and prints where the result will be', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123-abc-123'), startDate: T0 });

    const { code, stdout } = await run(
      'start',
      'transcription/123/abc-123.ogg',
      '--user',
      '123',
      '--language',
      'ru',
    );

    expect(code).toBe(EXIT.ok);
    expect(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.name).toBe('123-abc-123');
    expect(stdout).toContain(`result: s3://${BUCKET}/results/123/abc-123.json`);
  });

  it('passes the request options as the input’s fields, repeatable ones in order', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123-abc-123'), startDate: T0 });

    const { code } = await run(
      'start',
      '--keyterm',
      'WiseVoice',
      'transcription/123/abc-123.ogg',
      '--user',
      '123',
      '--speakers-min',
      '2',
      '--speakers-max',
      '3',
      '--speaker-name',
      'A=Анна',
      '--speaker-name',
      'B=Boris Petrov',
      '--keyterm',
      'Step Functions',
      '--output',
      'srt',
      '--output',
      'txt',
      '--pii-policy',
      'person_name',
    );

    expect(code).toBe(EXIT.ok);
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null');
    expect(input).toMatchObject({
      s3_key: 'transcription/123/abc-123.ogg',
      speakers_min: 2,
      speakers_max: 3,
      speaker_names: { A: 'Анна', B: 'Boris Petrov' },
      keyterms: ['WiseVoice', 'Step Functions'],
      outputs: ['srt', 'txt'],
      redact_pii_policies: ['person_name'],
    });
    expect(input).not.toHaveProperty('redact_pii');
  });

  it('turns redaction off for one request with --no-redact-pii', async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123-abc-123'), startDate: T0 });

    await run('start', 'transcription/123/abc-123.ogg', '--user', '123', '--no-redact-pii');

    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? 'null');
    expect(input.redact_pii).toBe(false);
  });

  it.each([
    [['--speaker-name', 'Anna'], '--speaker-name must be LETTER=NAME'],
    [['--output', 'pdf'], 'outputs.0 must be one of "srt", "vtt", "txt"'],
  ])('refuses %j with exit 2 before starting anything', async (extra, message) => {
    const { code, stderr } = await run('start', 'transcription/123/abc-123.ogg', '--user', '123', ...extra);

    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain(message);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses an invalid input with the workflow’s message and exit 2', async () => {
    const { code, stderr } = await run(
      'start',
      'transcription/123/abc-123.ogg',
      '--user',
      '123',
      '--language',
      'zz',
    );

    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('language_code is not a language code AssemblyAI publishes');
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('prints a completed result as timed, wrapped speaker lines', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'SUCCEEDED', { output: '{}' }));
    result(COMPLETED);

    const { code, stdout } = await run('result', 'abc-123', '--user', '123');

    expect(code).toBe(EXIT.ok);
    expect(stdout).toBe('[00:00.25] A: Привет, как дела?\n[01:01.92] B: Хорошо, спасибо. А у тебя?\n');
  });

  it('prints the result object with --json', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'SUCCEEDED', { output: '{}' }));
    result(COMPLETED);

    const { stdout } = await run('result', '123-abc-123', '--json');

    expect(JSON.parse(stdout)).toEqual(COMPLETED);
  });

  it('exits 3 on a failed result, naming the state and the error', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'FAILED'));
    result(FAILED);

    const { code, stdout } = await run('result', 'abc-123', '--user', '123', '--attempt', '1');

    expect(code).toBe(EXIT.failed);
    expect(stdout).toContain('Failed in Validate audio: AudioTooShort');
  });

  it('exits 4 while running, also when an earlier run’s result is at the key', async () => {
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arnOf('123-abc-123') })
      .resolves(execution('123-abc-123', 'FAILED'));
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arnOf('123_2-abc-123') })
      .resolves(execution('123_2-abc-123', 'RUNNING'));
    result(FAILED);

    const { code, stderr } = await run('result', 'abc-123', '--user', '123');

    expect(code).toBe(EXIT.pending);
    expect(stderr).toContain('RUNNING');
  });

  it('exits 5 for an execution that does not exist', async () => {
    expect((await run('status', '123-nope')).code).toBe(EXIT.notFound);
  });

  it('lists failures with error type, failed state and a console link', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    sfnMock.on(ListExecutionsCommand, { statusFilter: 'FAILED' }).resolves({
      executions: [
        {
          executionArn: arnOf('123-abc-123'),
          stateMachineArn: SM,
          name: '123-abc-123',
          status: 'FAILED',
          startDate: T0,
        },
        // Older than the window: not listed.
        {
          executionArn: arnOf('1-old'),
          stateMachineArn: SM,
          name: '1-old',
          status: 'FAILED',
          startDate: new Date(0),
        },
      ],
    });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: recordedFailureHistory('Validate audio') });

    const { code, stdout } = await run('failures', '--since', '24h');

    expect(code).toBe(EXIT.ok);
    expect(stdout).toMatch(/2026-12-01 10:00:00Z\s+AudioTooShort\s+Validate audio\s+123-abc-123/);
    expect(stdout).toContain(
      'https://eu-central-1.console.aws.amazon.com/states/home?region=eu-central-1#/v2/executions/details/',
    );
    expect(stdout).not.toContain('1-old');
  });

  it('refuses to redrive a recorded failure, pointing to retry', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'FAILED'));
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: recordedFailureHistory('Validate audio') });

    const { code, stderr } = await run('redrive', '123-abc-123');

    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('transcription retry');
    expect(sfnMock.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it('redrives a failure that left no result', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'FAILED'));
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolves({ events: recordedFailureHistory('Persist result', false) });
    sfnMock.on(RedriveExecutionCommand).resolves({ redriveDate: T0 });

    const { code } = await run('redrive', arnOf('123-abc-123'));

    expect(code).toBe(EXIT.ok);
    expect(sfnMock.commandCalls(RedriveExecutionCommand)[0]?.args[0].input.executionArn).toBe(
      arnOf('123-abc-123'),
    );
  });

  it('retries a file as the next attempt with the same input', async () => {
    const withLanguage = { ...INPUT, language_code: 'ru' };
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arnOf('123-abc-123') })
      .resolves(execution('123-abc-123', 'FAILED', { input: JSON.stringify(withLanguage) }));
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: arnOf('123_2-abc-123') });

    const { code, stdout } = await run('retry', 'abc-123', '--user', '123');

    const start = sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(code).toBe(EXIT.ok);
    expect(start?.name).toBe('123_2-abc-123');
    expect(JSON.parse(start?.input ?? '')).toEqual(withLanguage);
    expect(stdout).toContain('Started attempt 2');
  });

  it('refuses to retry while the last attempt runs', async () => {
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arnOf('123-abc-123') })
      .resolves(execution('123-abc-123', 'RUNNING'));

    expect((await run('retry', 'abc-123', '--user', '123')).code).toBe(EXIT.usage);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('counts executions by status and error type with duration percentiles', async () => {
    const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
    sfnMock.on(ListExecutionsCommand).resolves({
      executions: [1, 2, 3, 4, 10]
        .map((s, i) => ({
          executionArn: arnOf(`ok-${i}`),
          stateMachineArn: SM,
          name: `ok-${i}`,
          status: 'SUCCEEDED' as ExecutionStatus,
          startDate: T0,
          stopDate: at(s),
        }))
        .concat([
          {
            executionArn: arnOf('bad'),
            stateMachineArn: SM,
            name: 'bad',
            status: 'FAILED',
            startDate: T0,
            stopDate: at(1),
          },
        ]),
    });
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: arnOf('bad') })
      .resolves(execution('bad', 'FAILED', { error: 'ProviderRejected' }));

    const { code, stdout } = await run('stats', '--since', '7d', '--json');

    expect(code).toBe(EXIT.ok);
    expect(JSON.parse(stdout)).toMatchObject({
      total: 6,
      by_status: { SUCCEEDED: 5, FAILED: 1 },
      by_error_type: { ProviderRejected: 1 },
      duration: { succeeded: { p50_ms: 3000, p95_ms: 10_000 } },
    });
  });

  it('watches an execution to its end and exits 3 when it failed', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 1, type: 'ExecutionStarted', timestamp: T0 },
        {
          id: 2,
          type: 'TaskStateEntered',
          timestamp: T0,
          stateEnteredEventDetails: { name: 'Validate audio' },
        },
        {
          id: 3,
          type: 'LambdaFunctionFailed',
          timestamp: new Date(T0.getTime() + 130),
          lambdaFunctionFailedEventDetails: { error: 'AudioTooShort' },
        },
        ...recordedFailureHistory('Validate audio')
          .reverse()
          .map((e, i) => ({ ...e, id: 4 + i })),
      ],
    });
    sfnMock.on(DescribeExecutionCommand).resolves(execution('123-abc-123', 'FAILED'));

    const { code, stdout } = await run('watch', '123-abc-123');

    expect(code).toBe(EXIT.failed);
    expect(stdout.split('\n')).toEqual([
      '   0.1s  ✗ Validate audio: AudioTooShort',
      '   0.0s  Failed: AudioTooShort — The audio is 0.1 s long',
      '',
    ]);
  });
});

describe('historyRenderer', () => {
  it('prints each event once across polls, with task durations and the transcript status', () => {
    const render = historyRenderer();
    const t = (ms: number) => new Date(T0.getTime() + ms);
    const first: HistoryEvent[] = [
      { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
      {
        id: 2,
        type: 'TaskStateEntered',
        timestamp: t(100),
        stateEnteredEventDetails: { name: 'Check transcript status' },
      },
    ];
    const second: HistoryEvent[] = [
      ...first,
      {
        id: 3,
        type: 'TaskStateExited',
        timestamp: t(111),
        stateExitedEventDetails: {
          name: 'Check transcript status',
          output: '{"transcript":{"status":"completed"}}',
        },
      },
    ];

    expect(render(first)).toEqual([]);
    expect(render(second)).toEqual(['   0.1s  ✓ Check transcript status (11 ms): completed']);
  });
});

describe('fileIdFromName', () => {
  it('makes a valid file id of a file name', () => {
    expect(fileIdFromName('/tmp/Voice message (2).ogg')).toBe('Voice-message-2');
    expect(fileIdFromName('голос.ogg')).toBe('audio');
  });
});
