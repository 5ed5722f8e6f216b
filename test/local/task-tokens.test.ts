/** The local runner's task tokens, answered through the real @aws-sdk/client-sfn as the Lambdas do. */
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { startTaskTokenEndpoint, TaskTokens } from '../../local/task-tokens.js';

const soon = () => Date.now() + 5_000;

describe('TaskTokens', () => {
  it('resumes the task with the output, also when the answer came before the wait', async () => {
    const tokens = new TaskTokens();
    const token = tokens.issue();

    tokens.sendTaskSuccess(token, JSON.stringify({ status: 'completed' }));

    await expect(tokens.wait(token, soon())).resolves.toEqual({ status: 'completed' });
  });

  it('fails the task with the error and cause of SendTaskFailure', async () => {
    const tokens = new TaskTokens();
    const token = tokens.issue();
    const waiting = tokens.wait(token, soon());

    tokens.sendTaskFailure(token, 'TranscriptionFailed', 'deleted');

    await expect(waiting).rejects.toMatchObject({ name: 'TranscriptionFailed', message: 'deleted' });
  });

  it('times out with States.Timeout, and refuses a late answer with TaskTimedOut', async () => {
    const tokens = new TaskTokens();
    const token = tokens.issue();

    await expect(tokens.wait(token, Date.now() + 30)).rejects.toMatchObject({ name: 'States.Timeout' });
    expect(() => tokens.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskTimedOut' }),
    );
  });

  it('refuses a second answer, an unknown token, a malformed one and output that is not JSON', () => {
    const tokens = new TaskTokens();
    const token = tokens.issue();
    const other = tokens.issue();
    tokens.sendTaskSuccess(token, '{}');

    expect(() => tokens.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(() => tokens.sendTaskSuccess('x'.repeat(80), '{}')).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(() => tokens.sendTaskSuccess('short', '{}')).toThrow(
      expect.objectContaining({ name: 'InvalidToken' }),
    );
    expect(() => tokens.sendTaskSuccess(other, 'not json')).toThrow(
      expect.objectContaining({ name: 'InvalidOutput' }),
    );
    expect(() => tokens.sendTaskSuccess(other, JSON.stringify('x'.repeat(262_144)))).toThrow(
      expect.objectContaining({ name: 'InvalidOutput' }),
    );
  });

  it('refuses the token of an attempt that was cancelled (its Lambda failed)', () => {
    const tokens = new TaskTokens();
    const token = tokens.issue();

    tokens.cancel(token);

    expect(() => tokens.sendTaskSuccess(token, '{}')).toThrow(
      expect.objectContaining({ name: 'TaskDoesNotExist' }),
    );
    expect(tokens.waiting).toBe(0);
  });
});

describe('startTaskTokenEndpoint', () => {
  it('answers the SDK as Step Functions does: success, then the service exception for a second answer', async () => {
    const tokens = new TaskTokens();
    const endpoint = await startTaskTokenEndpoint(tokens);
    const sfn = new SFNClient({
      endpoint: endpoint.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const token = tokens.issue();
      const waiting = tokens.wait(token, soon());

      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"ok":true}' }));
      const again = sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'E', cause: 'C' }));

      await expect(waiting).resolves.toEqual({ ok: true });
      await expect(again).rejects.toMatchObject({
        name: 'TaskDoesNotExist',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      sfn.destroy();
      await endpoint.close();
    }
  });
});
