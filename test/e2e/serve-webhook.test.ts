/**
 * `npm run serve -- --webhook` in-process: the bot's SDK calls against the local Step Functions
 * endpoint, with AssemblyAI's webhook (the emulator's) answering Submit's task token through the
 * real receiver. Its own file: the handlers read the delivery mode at import, as on a cold start.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';

let services: LocalServices;
let directory: string;
let sfn: SFNClient;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-serve-webhook-'));
  services = await startLocalServices({ directory, fast: true, webhook: true, completions: false });
  const credentials = services.credentials ?? { accessKeyId: 'x', secretAccessKey: 'x' };
  sfn = new SFNClient({ endpoint: services.stepfunctions, region: services.region, credentials });
  s3 = new S3Client({
    endpoint: services.s3,
    region: services.region,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  sfn?.destroy();
  s3?.destroy();
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('npm run serve -- --webhook', () => {
  it('runs an execution that waits for the webhook instead of polling, to a completed result', async () => {
    const key = 'transcription/21/voice.ogg';
    await s3.send(
      new PutObjectCommand({ Bucket: services.bucket, Key: key, Body: await readFile(SAMPLE_AUDIO_PATH) }),
    );
    const input = JSON.stringify({ s3_key: key, user_id: 21, file_id: 'voice', bucket: services.bucket });

    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: services.stateMachineArn, name: '21-voice', input }),
    );
    let status = 'RUNNING';
    for (let i = 0; i < 200 && status === 'RUNNING'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'RUNNING';
    }
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const entered = (history.events ?? []).flatMap((e) => e.stateEnteredEventDetails?.name ?? []);
    const stored = await s3.send(
      new GetObjectCommand({ Bucket: services.bucket, Key: 'results/21/voice.json' }),
    );
    const result = JSON.parse((await stored.Body?.transformToString()) ?? '{}') as TranscriptionResult;

    expect(status).toBe('SUCCEEDED');
    expect(entered).toContain('Submit and wait for webhook');
    expect(entered).not.toContain('Wait for transcript');
    expect(result.status === 'completed' && result.segments.length).toBe(3);
  });
});
