/**
 * The live canary against `npm run serve`: the real run-canary handler copies the sample and
 * starts it through the local Step Functions endpoint, the run goes through the real definition
 * to a completed result, and its ending never reaches the bot's completion queue while a bot's
 * ending after it does. Its own file: the handler reads its endpoints at import, once per process.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CanaryStart } from '../../lambdas/run-canary/run-canary.js';
import { CANARY_USER_ID } from '../../lambdas/shared/canary.js';
import type { CompletionMessage } from '../../lambdas/shared/completion-message.js';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';
import { lambdaContext } from '../../local/workflow.js';
import { finishedExecution } from '../support/executions.js';

const SAMPLE_KEY = 'assets/canary-sample.ogg';

let services: LocalServices;
let directory: string;
let sfn: SFNClient;
let s3: S3Client;
let sqs: SQSClient;
let runCanary: (event: unknown) => Promise<CanaryStart>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-serve-canary-'));
  services = await startLocalServices({ directory, fast: true });
  const credentials = services.credentials ?? { accessKeyId: 'x', secretAccessKey: 'x' };
  const endpoints = { region: services.region, credentials };
  sfn = new SFNClient({ ...endpoints, endpoint: services.stepfunctions });
  s3 = new S3Client({ ...endpoints, endpoint: services.s3, forcePathStyle: true });
  sqs = new SQSClient({ ...endpoints, endpoint: services.sqs });
  // The sample where the deployed stack's CDK asset would be.
  await s3.send(
    new PutObjectCommand({
      Bucket: services.bucket,
      Key: SAMPLE_KEY,
      Body: await readFile(SAMPLE_AUDIO_PATH),
    }),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SFN: services.stepfunctions,
    STATE_MACHINE_ARN: services.stateMachineArn,
    INPUT_PREFIX: 'transcription/',
    CANARY_SAMPLE_BUCKET: services.bucket,
    CANARY_SAMPLE_KEY: SAMPLE_KEY,
  });
  const { handler } = (await import('../../lambdas/run-canary/handler.js')) as {
    handler: (event: unknown, context: unknown) => Promise<CanaryStart>;
  };
  runCanary = (event) => handler(event, lambdaContext('run-canary', 30));
}, 60_000);

afterAll(async () => {
  sfn?.destroy();
  s3?.destroy();
  sqs?.destroy();
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

function executionArnOf(name: string): string {
  return `${services.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

const finished = (executionArn: string) => finishedExecution(sfn, executionArn);

/** Every completion message up to and including the one of `executionArn` (bounded). */
async function messagesUntil(executionArn: string): Promise<CompletionMessage[]> {
  const seen: CompletionMessage[] = [];
  for (let i = 0; i < 100; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: services.completionQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    for (const message of Messages) {
      seen.push(JSON.parse(message.Body as string) as CompletionMessage);
      await sqs.send(
        new DeleteMessageCommand({
          QueueUrl: services.completionQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
    if (seen.some((m) => m.execution_arn === executionArn)) return seen;
  }
  throw new Error(`No completion message for ${executionArn}`);
}

describe('the live canary through npm run serve', () => {
  it('transcribes the sample through the real definition and keeps its ending off the completion queue', async () => {
    const scheduled = {
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      time: '2026-12-02T15:00:00Z',
    };

    const start = await runCanary(scheduled);
    const whileRunning = await runCanary(scheduled);
    const described = await finished(executionArnOf(start.execution_name));
    const afterEnd = await runCanary(scheduled);

    expect(start).toEqual({ execution_name: 'canary-20261202T150000Z', started: true });
    // Redeliveries of the event: Step Functions hands back the running execution, then refuses the ended one.
    expect(whileRunning).toEqual(start);
    expect(afterEnd).toEqual({ execution_name: 'canary-20261202T150000Z', started: false });
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn }),
    );
    expect(executions.map((e) => e.name)).toEqual(['canary-20261202T150000Z']);
    expect(described.status).toBe('SUCCEEDED');
    const stored = await s3.send(
      new GetObjectCommand({
        Bucket: services.bucket,
        Key: `results/${CANARY_USER_ID}/canary-20261202T150000Z.json`,
      }),
    );
    const result = JSON.parse(
      await (stored.Body as { transformToString(): Promise<string> }).transformToString(),
    );
    expect((result as TranscriptionResult).status).toBe('completed');

    // A bot's execution ending after the canary's: its message comes, the canary's never did.
    const botKey = 'transcription/12/after-canary.ogg';
    await s3.send(
      new PutObjectCommand({ Bucket: services.bucket, Key: botKey, Body: await readFile(SAMPLE_AUDIO_PATH) }),
    );
    const bot = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: services.stateMachineArn,
        name: '12-after-canary',
        input: JSON.stringify({
          s3_key: botKey,
          user_id: 12,
          file_id: 'after-canary',
          bucket: services.bucket,
        }),
      }),
    );
    const messages = await messagesUntil(bot.executionArn as string);
    expect(messages.map((m) => m.execution_name)).toEqual(['12-after-canary']);
  });
});
