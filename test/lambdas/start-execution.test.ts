/**
 * The intake queue's consumer against mocked Step Functions and SQS: the deterministic name, one
 * execution however often a message comes, refusals moved to the dead-letter queue with their
 * reason, faults handed back to SQS, and one StartExecution in flight at a time.
 */
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidExecutionInput,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../lambdas/shared/config.js';
import {
  type IntakeDeps,
  loadIntakeSettings,
  MIN_TIME_PER_MESSAGE_MS,
  parseIntakeMessage,
  sameExecutionInput,
  startFromBatch,
} from '../../lambdas/start-execution/start-execution.js';

const BUCKET = 'wisevoice-transcription-test';
const STATE_MACHINE_ARN =
  'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-test';
const DLQ_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/intake-dlq';
const arnOf = (name: string) =>
  `arn:aws:states:eu-central-1:123456789012:execution:wisevoice-transcription-test:${name}`;
const config = loadConfig({ TRANSCRIPTION_BUCKET: BUCKET });

const INPUT = { s3_key: 'transcription/123/abc-123.ogg', user_id: 123, file_id: 'abc-123', bucket: BUCKET };

let sequence = 0;
function record(body: unknown, attempt?: string, extra: Partial<SQSRecord> = {}): SQSRecord {
  sequence += 1;
  return {
    messageId: `m-${sequence}`,
    receiptHandle: `r-${sequence}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1767225600000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1767225600000',
    },
    messageAttributes:
      attempt === undefined
        ? {}
        : {
            attempt: { dataType: 'Number', stringValue: attempt, stringListValues: [], binaryListValues: [] },
          },
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:intake',
    awsRegion: 'eu-central-1',
    ...extra,
  };
}

function setup(timeLeftMs = () => 30_000) {
  const sfn = new SFNClient({ region: 'eu-central-1' });
  const sqs = new SQSClient({ region: 'eu-central-1' });
  const sfnMock = mockClient(sfn);
  const sqsMock = mockClient(sqs);
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dead-letter' });
  const deps: IntakeDeps = {
    sfn,
    sqs,
    config,
    settings: { stateMachineArn: STATE_MACHINE_ARN, deadLetterQueueUrl: DLQ_URL },
    timeLeftMs,
  };
  return { deps, sfnMock, sqsMock };
}

const alreadyExists = () =>
  new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} });
const serviceError = (name: string, status: number) =>
  new SFNServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });

describe('startFromBatch', () => {
  it('starts each message under its deterministic name with the normalized input', async () => {
    const { deps, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).callsFake(async (input: { name: string }) => ({
      executionArn: arnOf(input.name),
      startDate: new Date(),
    }));

    const result = await startFromBatch(
      [record({ ...INPUT, user_id: '123', language_code: 'ru' }), record(INPUT, '2')],
      deps,
    );

    expect(result.batchItemFailures).toEqual([]);
    expect(sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input)).toEqual([
      {
        stateMachineArn: STATE_MACHINE_ARN,
        name: '123-abc-123',
        input: JSON.stringify({ ...INPUT, language_code: 'ru' }),
      },
      { stateMachineArn: STATE_MACHINE_ARN, name: '123_2-abc-123', input: JSON.stringify(INPUT) },
    ]);
    expect(result.outcomes).toMatchObject([
      { outcome: 'started', execution_name: '123-abc-123', execution_arn: arnOf('123-abc-123'), attempt: 1 },
      { outcome: 'started', execution_name: '123_2-abc-123', attempt: 2, user_id: 123, file_id: 'abc-123' },
    ]);
  });

  it('takes a name already used by this input as done: a redelivered message starts nothing new', async () => {
    const { deps, sfnMock, sqsMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    // Same content in another key order, as a bot's own StartExecution may have written it.
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: arnOf('123-abc-123'),
      status: 'SUCCEEDED',
      input: JSON.stringify({ bucket: BUCKET, file_id: 'abc-123', user_id: 123, s3_key: INPUT.s3_key }),
    });

    const result = await startFromBatch([record(INPUT)], deps);

    expect(result).toMatchObject({ batchItemFailures: [], outcomes: [{ outcome: 'already-started' }] });
    expect(sfnMock.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({
      executionArn: arnOf('123-abc-123'),
    });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('refuses a name taken by another input, moving the message to the dead-letter queue with the next attempt', async () => {
    const { deps, sfnMock, sqsMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ input: JSON.stringify({ ...INPUT, language_code: 'en' }) });
    const message = record(INPUT, '1');

    const result = await startFromBatch([message], deps);

    expect(result).toMatchObject({
      batchItemFailures: [],
      outcomes: [
        { outcome: 'refused', reason: 'name-taken', forwarded: true, execution_name: '123-abc-123' },
      ],
    });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input).toEqual({
      QueueUrl: DLQ_URL,
      MessageBody: message.body,
      MessageAttributes: {
        attempt: { DataType: 'Number', StringValue: '1' },
        refusal: { DataType: 'String', StringValue: 'name-taken' },
        refusal_detail: {
          DataType: 'String',
          StringValue:
            'Execution 123-abc-123 already exists with another input: send it with the message attribute attempt=2',
        },
      },
    });
  });

  it.each([
    [
      'a body that is not JSON',
      'not json',
      undefined,
      'invalid-input',
      'Invalid input: the message body is not JSON',
    ],
    [
      'an input against the contract',
      { ...INPUT, user_id: 0, extra: 1 },
      undefined,
      'invalid-input',
      'Invalid input: user_id must be a positive integer (at most 2^53-1); unknown field(s) "extra"',
    ],
    [
      'another bucket',
      { ...INPUT, bucket: 'elsewhere' },
      undefined,
      'invalid-input',
      expect.stringContaining('bucket is not the bucket'),
    ],
    [
      'attempt 0',
      INPUT,
      '0',
      'invalid-attempt',
      expect.stringContaining('"attempt" must be a positive integer'),
    ],
    ['attempt 1.5', INPUT, '1.5', 'invalid-attempt', expect.stringContaining('"attempt"')],
  ])('refuses %s at once, without calling Step Functions', async (_name, body, attempt, reason, detail) => {
    const { deps, sfnMock, sqsMock } = setup();

    const result = await startFromBatch([record(body, attempt)], deps);

    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ outcome: 'refused', reason, detail, forwarded: true }),
    ]);
    expect(sfnMock.calls()).toHaveLength(0);
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageAttributes?.refusal).toEqual({
      DataType: 'String',
      StringValue: reason,
    });
  });

  it('refuses a start Step Functions itself refuses as invalid', async () => {
    const { deps, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(new InvalidExecutionInput({ message: 'bad', $metadata: {} }));

    const result = await startFromBatch([record(INPUT)], deps);

    expect(result.outcomes).toMatchObject([
      { outcome: 'refused', reason: 'execution-refused', forwarded: true },
    ]);
    expect(result.batchItemFailures).toEqual([]);
  });

  it.each([
    ['throttled', serviceError('ThrottlingException', 400)],
    ['a 5xx', serviceError('ServiceUnavailable', 503)],
    ['the execution quota', serviceError('ExecutionLimitExceeded', 400)],
    ['a missing permission', serviceError('AccessDeniedException', 400)],
    ['a network fault', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })],
  ])('hands a message back to SQS when the start is %s', async (_name, error) => {
    const { deps, sfnMock, sqsMock } = setup();
    sfnMock
      .on(StartExecutionCommand)
      .rejectsOnce(error)
      .resolves({ executionArn: arnOf('x'), startDate: new Date() });
    const failing = record(INPUT);
    const fine = record({ ...INPUT, file_id: 'other' });

    const result = await startFromBatch([failing, fine], deps);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
    expect(result.outcomes[0]).toMatchObject({ outcome: 'retry', error_type: error.name });
    expect(result.outcomes[1]).toMatchObject({ outcome: 'started' });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('hands a message back when the name is taken and the execution cannot be read', async () => {
    const { deps, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock.on(DescribeExecutionCommand).rejects(serviceError('ThrottlingException', 400));
    const message = record(INPUT);

    const result = await startFromBatch([message], deps);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
  });

  it('hands a refused message back when it cannot be moved to the dead-letter queue', async () => {
    const { deps, sqsMock } = setup();
    sqsMock.on(SendMessageCommand).rejects(serviceError('KMS.KMSThrottlingException', 400));
    const message = record('not json');

    const result = await startFromBatch([message], deps);

    expect(result.outcomes).toMatchObject([{ outcome: 'refused', forwarded: false }]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
  });

  it('hands back the messages it has no time left for, untouched', async () => {
    let left = MIN_TIME_PER_MESSAGE_MS + 1;
    const { deps, sfnMock } = setup(() => left);
    sfnMock.on(StartExecutionCommand).callsFake(async () => {
      left = MIN_TIME_PER_MESSAGE_MS - 1;
      return { executionArn: arnOf('x'), startDate: new Date() };
    });
    const messages = [record(INPUT), record({ ...INPUT, file_id: 'b' }), record({ ...INPUT, file_id: 'c' })];

    const result = await startFromBatch(messages, deps);

    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(1);
    expect(result.batchItemFailures).toEqual(messages.slice(1).map((m) => ({ itemIdentifier: m.messageId })));
  });

  it('never has two StartExecution calls in flight: the rate bound is the mapping concurrency', async () => {
    const { deps, sfnMock } = setup();
    let inFlight = 0;
    let most = 0;
    sfnMock.on(StartExecutionCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { executionArn: arnOf('x'), startDate: new Date() };
    });
    const messages = Array.from({ length: 10 }, (_, i) => record({ ...INPUT, file_id: `f${i}` }));

    const result = await startFromBatch(messages, deps);

    expect(result.outcomes.every((o) => o.outcome === 'started')).toBe(true);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(10);
    expect(most).toBe(1);
  });

  it('retries when the taken name vanished between the two calls', async () => {
    const { deps, sfnMock } = setup();
    sfnMock.on(StartExecutionCommand).rejects(alreadyExists());
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'gone', $metadata: {} }));

    const result = await startFromBatch([record(INPUT)], deps);

    expect(result.outcomes).toMatchObject([{ outcome: 'retry', error_type: 'ExecutionDoesNotExist' }]);
  });
});

describe('parseIntakeMessage', () => {
  it('reads the attempt from the message attribute, 1 without it', () => {
    expect(parseIntakeMessage(record(INPUT), config)).toMatchObject({
      attempt: 1,
      executionName: '123-abc-123',
    });
    expect(parseIntakeMessage(record(INPUT, '12'), config)).toMatchObject({
      attempt: 12,
      executionName: '123_12-abc-123',
      input: INPUT,
    });
  });

  it('refuses an attempt in the body: it is not an input field', () => {
    expect(() => parseIntakeMessage(record({ ...INPUT, attempt: 2 }), config)).toThrow(
      expect.objectContaining({ name: 'IntakeRefused', reason: 'invalid-input' }),
    );
  });
});

describe('sameExecutionInput', () => {
  it('compares by content, not key order, and never matches what is not JSON', () => {
    expect(sameExecutionInput('{"b":1,"a":{"y":2,"x":1}}', { a: { x: 1, y: 2 }, b: 1 })).toBe(true);
    expect(sameExecutionInput('{"a":1}', { a: 2 })).toBe(false);
    expect(sameExecutionInput('{', { a: 1 })).toBe(false);
    expect(sameExecutionInput(undefined, {})).toBe(false);
  });
});

describe('loadIntakeSettings', () => {
  it('needs the state machine ARN and the dead-letter queue URL', () => {
    expect(
      loadIntakeSettings({ STATE_MACHINE_ARN: STATE_MACHINE_ARN, INTAKE_DEAD_LETTER_QUEUE_URL: DLQ_URL }),
    ).toEqual({
      stateMachineArn: STATE_MACHINE_ARN,
      deadLetterQueueUrl: DLQ_URL,
    });
    expect(() => loadIntakeSettings({ INTAKE_DEAD_LETTER_QUEUE_URL: DLQ_URL })).toThrow(/STATE_MACHINE_ARN/);
    expect(() => loadIntakeSettings({ STATE_MACHINE_ARN: STATE_MACHINE_ARN })).toThrow(
      /INTAKE_DEAD_LETTER_QUEUE_URL/,
    );
  });
});
