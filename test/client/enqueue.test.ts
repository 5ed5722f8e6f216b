/** `enqueueTranscription` against a mocked SQS: the message the intake consumer reads, checked first. */

import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ClientConfigurationError,
  clientConfigFromEnv,
  createTranscriptionClient,
  InvalidInput,
  TranscriptionClient,
} from '../../client/index.js';
import { loadConfig } from '../../lambdas/shared/config.js';
import { parseIntakeMessage } from '../../lambdas/start-execution/start-execution.js';

const STATE_MACHINE_ARN =
  'arn:aws:states:eu-central-1:123456789012:stateMachine:wisevoice-transcription-test';
const BUCKET = 'wisevoice-transcription-test';
const QUEUE_URL = 'https://sqs.eu-central-1.amazonaws.com/123456789012/wisevoice-transcription-test-intake';

function clientWith(config: { intakeQueueUrl?: string; stateMachineArn?: string } = {}) {
  const sqs = new SQSClient({ region: 'eu-central-1' });
  const sqsMock = mockClient(sqs);
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'msg-1' });
  const sfn = new SFNClient({ region: 'eu-central-1' });
  const sfnMock = mockClient(sfn);
  const client = new TranscriptionClient({
    stateMachineArn: STATE_MACHINE_ARN,
    bucket: BUCKET,
    intakeQueueUrl: QUEUE_URL,
    ...config,
    clients: { sqs, sfn, s3: new S3Client({ region: 'eu-central-1' }) },
  });
  return { client, sqsMock, sfnMock };
}

describe('enqueueTranscription', () => {
  it('sends the normalized input as the body and the attempt as a message attribute', async () => {
    const { client, sqsMock, sfnMock } = clientWith();

    const enqueued = await client.enqueueTranscription({
      userId: 123,
      fileId: 'abc-123',
      s3Key: 'transcription/123/abc-123.ogg',
      languageCode: 'ru',
      speakersExpected: 2,
    });

    const input = {
      s3_key: 'transcription/123/abc-123.ogg',
      user_id: 123,
      file_id: 'abc-123',
      bucket: BUCKET,
      language_code: 'ru',
      speakers_expected: 2,
    };
    expect(sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify(input),
        MessageAttributes: { attempt: { DataType: 'Number', StringValue: '1' } },
      },
    ]);
    expect(enqueued).toEqual({
      executionName: '123-abc-123',
      executionArn:
        'arn:aws:states:eu-central-1:123456789012:execution:wisevoice-transcription-test:123-abc-123',
      attempt: 1,
      bucket: BUCKET,
      s3Key: 'transcription/123/abc-123.ogg',
      resultKey: 'results/123/abc-123.json',
      input,
      messageId: 'msg-1',
    });
    // Nothing is started from here: the consumer does that.
    expect(sfnMock.calls()).toHaveLength(0);
  });

  it('sends what the intake consumer reads back as the same request and name', async () => {
    const { client, sqsMock } = clientWith();

    const enqueued = await client.enqueueTranscription({
      userId: 7,
      fileId: 'voice',
      s3Key: 'transcription/7/voice.ogg',
      attempt: 3,
    });
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input;
    const read = parseIntakeMessage(
      {
        body: sent?.MessageBody as string,
        messageAttributes: {
          attempt: {
            dataType: 'Number',
            stringValue: sent?.MessageAttributes?.attempt?.StringValue,
            stringListValues: [],
            binaryListValues: [],
          },
        },
      },
      loadConfig({ TRANSCRIPTION_BUCKET: BUCKET }),
    );

    expect(read).toEqual({ input: enqueued.input, attempt: 3, executionName: '7_3-voice' });
    expect(enqueued.executionName).toBe('7_3-voice');
  });

  it('refuses an invalid input with the workflow message, sending nothing', async () => {
    const { client, sqsMock } = clientWith();

    await expect(client.enqueueTranscription({ userId: 123, fileId: 'abc-123' })).rejects.toThrow(
      new InvalidInput('Invalid input: s3_key is required'),
    );
    await expect(
      client.enqueueTranscription({ userId: 123, fileId: 'abc-123', s3Key: 'transcription/9/abc.ogg' }),
    ).rejects.toBeInstanceOf(InvalidInput);
    await expect(
      client.enqueueTranscription({
        userId: 123,
        fileId: 'abc-123',
        s3Key: 'transcription/123/a.ogg',
        attempt: 0,
      }),
    ).rejects.toBeInstanceOf(RangeError);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('does not upload: audio is refused', async () => {
    const { client, sqsMock } = clientWith();
    const request = { userId: 1, fileId: 'f', s3Key: 'transcription/1/f.ogg', audio: new Uint8Array(1) };

    await expect(client.enqueueTranscription(request as never)).rejects.toThrow(/does not upload audio/);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('needs the intake queue URL', async () => {
    const { client } = clientWith({ intakeQueueUrl: undefined });

    const attempt = client.enqueueTranscription({ userId: 1, fileId: 'f', s3Key: 'transcription/1/f.ogg' });

    await expect(attempt).rejects.toBeInstanceOf(ClientConfigurationError);
    await expect(attempt).rejects.toThrow(/TRANSCRIPTION_INTAKE_QUEUE_URL/);
  });

  it('works without the state machine ARN, and then names no execution ARN', async () => {
    const { client } = clientWith({ stateMachineArn: undefined });

    const enqueued = await client.enqueueTranscription({
      userId: 1,
      fileId: 'f',
      s3Key: 'transcription/1/f.ogg',
    });

    expect(enqueued.executionName).toBe('1-f');
    expect(enqueued).not.toHaveProperty('executionArn');
  });
});

describe('the intake queue URL from the environment', () => {
  it('is read from TRANSCRIPTION_INTAKE_QUEUE_URL', () => {
    const env = { TRANSCRIPTION_INTAKE_QUEUE_URL: ` ${QUEUE_URL} `, AWS_REGION: 'eu-central-1' };

    expect(clientConfigFromEnv(env).intakeQueueUrl).toBe(QUEUE_URL);
    expect(createTranscriptionClient({}, env).config.intakeQueueUrl).toBe(QUEUE_URL);
    expect(clientConfigFromEnv({}).intakeQueueUrl).toBeUndefined();
  });
});
