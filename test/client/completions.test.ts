/** Completion messages: what parses, what is refused, and what consumeCompletions deletes. */
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type CompletionMessage,
  consumeCompletions,
  MalformedCompletionMessage,
  parseCompletionMessage,
} from '../../client/index.js';

const ARN = 'arn:aws:states:eu-central-1:123456789012:execution:wisevoice-transcription-test:123-abc-123';

const MESSAGE: CompletionMessage = {
  version: 1,
  execution_arn: ARN,
  execution_name: '123-abc-123',
  status: 'FAILED',
  outcome: 'failed',
  user_id: 123,
  file_id: 'abc-123',
  result_key: 'results/123/abc-123.json',
  error_type: 'AudioTooShort',
  error_category: 'user',
  started_at: '2026-12-01T10:00:00.000Z',
  stopped_at: '2026-12-01T10:00:00.400Z',
  duration_seconds: 0.4,
  audio_duration_seconds: 0.1,
};

describe('parseCompletionMessage', () => {
  it('parses a message, also inside an SNS notification', () => {
    const sns = JSON.stringify({ Type: 'Notification', Message: JSON.stringify(MESSAGE) });

    expect(parseCompletionMessage(JSON.stringify(MESSAGE))).toEqual(MESSAGE);
    expect(parseCompletionMessage(sns)).toEqual(MESSAGE);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['another version', JSON.stringify({ ...MESSAGE, version: 2 })],
    ['an unknown error type', JSON.stringify({ ...MESSAGE, error_type: 'Oops' })],
    ['a bad file id', JSON.stringify({ ...MESSAGE, file_id: '../x' })],
    ['a missing field', JSON.stringify({ ...MESSAGE, stopped_at: undefined })],
    ['a success with an error', JSON.stringify({ ...MESSAGE, status: 'SUCCEEDED', outcome: 'completed' })],
    ['a failure without its type', JSON.stringify({ ...MESSAGE, error_type: null })],
    ['a date that is not one', JSON.stringify({ ...MESSAGE, started_at: 'yesterday' })],
  ])('refuses %s', (_case, body) => {
    expect(() => parseCompletionMessage(body, 'm-1')).toThrow(MalformedCompletionMessage);
  });
});

describe('consumeCompletions', () => {
  const sqs = new SQSClient({ region: 'eu-central-1' });
  const sqsMock = mockClient(sqs);
  const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/completions';

  beforeEach(() => {
    sqsMock.reset();
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          { MessageId: 'good', ReceiptHandle: 'r-good', Body: JSON.stringify(MESSAGE) },
          { MessageId: 'bad', ReceiptHandle: 'r-bad', Body: '{"hello":"world"}' },
          {
            MessageId: 'boom',
            ReceiptHandle: 'r-boom',
            Body: JSON.stringify({ ...MESSAGE, file_id: 'boom' }),
            Attributes: { ApproximateReceiveCount: '3' },
          },
        ],
      })
      .resolves({ Messages: [] });
  });

  it('deletes what the handler accepted and leaves failures and malformed messages for redelivery', async () => {
    const seen: string[] = [];
    const errors: string[] = [];

    const summary = await consumeCompletions({
      sqs,
      queueUrl: QUEUE,
      stopWhenEmpty: true,
      onError: (error) => errors.push((error as Error).name),
      handler: (message, context) => {
        seen.push(`${message.file_id}@${context.receiveCount}`);
        if (message.file_id === 'boom') throw new Error('database down');
      },
    });

    expect(seen).toEqual(['abc-123@1', 'boom@3']);
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual([
      'r-good',
    ]);
    expect(errors).toEqual(['MalformedCompletionMessage', 'Error']);
    expect(summary).toEqual({ received: 3, handled: 1, failed: 1, malformed: 1 });
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();

    const summary = await consumeCompletions({
      sqs,
      queueUrl: QUEUE,
      signal: controller.signal,
      onError: () => {},
      handler: () => controller.abort(),
    });

    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
    expect(summary.handled).toBe(1);
  });
});
