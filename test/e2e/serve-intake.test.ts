/**
 * `npm run serve`'s intake queue in-process: messages sent with the client's
 * `enqueueTranscription` (and raw SQS) are started by the real start-execution handler through
 * the local Step Functions endpoint, under the deterministic name — the same message again starts
 * nothing and creates no second AssemblyAI job, and a malformed one lands in the dead-letter queue
 * at once, starting nothing. Its own file: the handler reads its endpoints at import, once per process.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { TranscriptionClient } from '../../client/index.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';

let services: LocalServices;
let directory: string;
let client: TranscriptionClient;
let sample: Buffer;
let intakeQueueUrl: string;
let deadLetterQueueUrl: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-serve-intake-'));
  services = await startLocalServices({ directory, fast: true });
  intakeQueueUrl = services.intakeQueueUrl as string;
  deadLetterQueueUrl = services.intakeDeadLetterQueueUrl as string;
  client = new TranscriptionClient({
    stateMachineArn: services.stateMachineArn,
    bucket: services.bucket,
    region: services.region,
    intakeQueueUrl,
    endpoints: { stepfunctions: services.stepfunctions, s3: services.s3, sqs: services.sqs },
    credentials: services.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  sample = await readFile(SAMPLE_AUDIO_PATH);
}, 60_000);

afterAll(async () => {
  client?.sfn.destroy();
  client?.s3.destroy();
  client?.sqs.destroy();
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

async function upload(userId: number, fileId: string): Promise<string> {
  const key = `transcription/${userId}/${fileId}.ogg`;
  await client.s3.send(new PutObjectCommand({ Bucket: services.bucket, Key: key, Body: sample }));
  return key;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until the intake queue holds nothing, visible or in flight (bounded). */
async function intakeDrained(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { Attributes } = await client.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: intakeQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    if (
      Attributes?.ApproximateNumberOfMessages === '0' &&
      Attributes.ApproximateNumberOfMessagesNotVisible === '0'
    ) {
      return;
    }
    await sleep(50);
  }
  throw new Error('The intake queue was not drained');
}

/** The execution once it has ended (bounded). */
async function ended(executionArn: string) {
  for (let i = 0; i < 300; i++) {
    const described = await client.describe(executionArn);
    if (described && described.status !== 'RUNNING') return described;
    await sleep(50);
  }
  throw new Error(`${executionArn} did not end`);
}

async function executionNames(): Promise<string[]> {
  const listed = await client.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn }),
  );
  return (listed.executions ?? []).map((e) => e.name as string);
}

function jobsFor(fileKey: string): number {
  return (services.emulatorStats?.().transcripts ?? []).filter((t) => t.audioPath.endsWith(`/${fileKey}`))
    .length;
}

/** Every message on the dead-letter queue so far (received once, left there). */
const deadLetters: Message[] = [];
async function deadLettersOf(count: number): Promise<Message[]> {
  for (let i = 0; i < 100; i++) {
    const { Messages } = await client.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 600,
        MessageAttributeNames: ['All'],
      }),
    );
    deadLetters.push(...(Messages ?? []));
    if (deadLetters.length >= count) break;
    if (!Messages?.length) await sleep(50);
  }
  return deadLetters;
}

describe('npm run serve: the intake queue', () => {
  it('announces the intake queue and its dead-letter queue in the ready line', () => {
    const ready = JSON.parse(services.readyLine()) as Record<string, string>;

    expect(ready.intakeQueueUrl).toBe(intakeQueueUrl);
    expect(ready.intakeDeadLetterQueueUrl).toBe(deadLetterQueueUrl);
    expect(ready.sqs).toBe(services.sqs);
  });

  it('starts a message under the deterministic name to a completed result; the same message again starts nothing', async () => {
    const s3Key = await upload(31, 'intake-ok');

    // Sent twice at once, as a bot that retried a send (or SQS delivering twice) would.
    const [first, second] = await Promise.all([
      client.enqueueTranscription({ userId: 31, fileId: 'intake-ok', s3Key, languageCode: 'ru' }),
      client.enqueueTranscription({ userId: 31, fileId: 'intake-ok', s3Key, languageCode: 'ru' }),
    ]);
    await intakeDrained();
    const execution = await ended(first.executionArn as string);
    const result = await client.getResult(first.executionArn as string);
    // Once more after the end: Step Functions answers ExecutionAlreadyExists, the same input.
    await client.enqueueTranscription({ userId: 31, fileId: 'intake-ok', s3Key, languageCode: 'ru' });
    await intakeDrained();

    expect(first).toMatchObject({
      executionName: '31-intake-ok',
      executionArn: services.stateMachineArn.replace(':stateMachine:', ':execution:').concat(':31-intake-ok'),
      attempt: 1,
      resultKey: 'results/31/intake-ok.json',
      input: {
        s3_key: s3Key,
        user_id: 31,
        file_id: 'intake-ok',
        bucket: services.bucket,
        language_code: 'ru',
      },
    });
    expect(second.executionName).toBe(first.executionName);
    expect(second.messageId).not.toBe(first.messageId);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.input as string)).toEqual(first.input);
    expect(result).toMatchObject({ status: 'completed', user_id: 31, file_id: 'intake-ok' });
    expect((await executionNames()).filter((n) => n.endsWith('intake-ok'))).toEqual(['31-intake-ok']);
    expect(jobsFor('31/intake-ok.ogg')).toBe(1);
    expect(await deadLettersOf(0)).toEqual([]);
  });

  it('starts the next attempt as its own execution, and refuses the name taken by another input', async () => {
    const s3Key = 'transcription/31/intake-ok.ogg';

    const retried = await client.enqueueTranscription({ userId: 31, fileId: 'intake-ok', s3Key, attempt: 2 });
    await intakeDrained();
    const execution = await ended(retried.executionArn as string);
    // Attempt 1 with another language: the name is taken by the first input.
    await client.enqueueTranscription({ userId: 31, fileId: 'intake-ok', s3Key, languageCode: 'en' });
    await intakeDrained();
    const [refused] = await deadLettersOf(1);

    expect(retried.executionName).toBe('31_2-intake-ok');
    expect(execution.status).toBe('SUCCEEDED');
    expect(refused?.MessageAttributes?.refusal?.StringValue).toBe('name-taken');
    expect(refused?.MessageAttributes?.refusal_detail?.StringValue).toContain('attempt=2');
    expect(JSON.parse(refused?.Body as string)).toMatchObject({ file_id: 'intake-ok', language_code: 'en' });
    expect((await executionNames()).filter((n) => n.endsWith('intake-ok')).sort()).toEqual([
      '31-intake-ok',
      '31_2-intake-ok',
    ]);
  });

  it('moves malformed messages to the dead-letter queue at once, with the reason, starting nothing', async () => {
    const before = await executionNames();
    const send = (body: string, attempt?: string) =>
      client.sqs.send(
        new SendMessageCommand({
          QueueUrl: intakeQueueUrl,
          MessageBody: body,
          ...(attempt && { MessageAttributes: { attempt: { DataType: 'Number', StringValue: attempt } } }),
        }),
      );
    const valid = { s3_key: 'transcription/32/x.ogg', user_id: 32, file_id: 'x', bucket: services.bucket };
    const notJson = 'not json';
    const againstContract = JSON.stringify({
      user_id: 32,
      file_id: 'x',
      bucket: services.bucket,
      speakers_expected: 99,
    });
    const badAttempt = JSON.stringify(valid);

    await send(notJson);
    await send(againstContract);
    await send(badAttempt, '0');
    await intakeDrained();
    const letters = (await deadLettersOf(4)).slice(1);
    const letter = (body: string) => letters.find((m) => m.Body === body)?.MessageAttributes ?? {};

    expect(letters).toHaveLength(3);
    expect(letter(notJson).refusal?.StringValue).toBe('invalid-input');
    expect(letter(notJson).refusal_detail?.StringValue).toBe('Invalid input: the message body is not JSON');
    expect(letter(againstContract).refusal?.StringValue).toBe('invalid-input');
    expect(letter(againstContract).refusal_detail?.StringValue).toMatch(
      /s3_key is required.*speakers_expected must be an integer from 1 to 10/,
    );
    expect(letter(badAttempt).refusal?.StringValue).toBe('invalid-attempt');
    // The original attributes travel with the refused message, for a redrive once it is fixed.
    expect(letter(badAttempt).attempt?.StringValue).toBe('0');
    expect(await executionNames()).toEqual(before);
    await expect(
      client.sfn.send(
        new DescribeExecutionCommand({
          executionArn: services.stateMachineArn.replace(':stateMachine:', ':execution:').concat(':32-x'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });
});
