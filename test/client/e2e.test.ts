/**
 * The client and the CLI against the local endpoint (local/sfn-endpoint.ts) with the real SDK
 * clients: the bundled sample through the real state machine, its Lambdas and the AssemblyAI
 * emulator, as the bot and an operator would drive a deployment.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, runCli } from '../../cli/program.js';
import { type CompletionMessage, consumeCompletions, TranscriptionClient } from '../../client/index.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';

let services: LocalServices;
let directory: string;
let client: TranscriptionClient;
let env: Record<string, string>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-client-e2e-'));
  services = await startLocalServices({ directory, fast: true });
  const credentials = services.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  client = new TranscriptionClient({
    stateMachineArn: services.stateMachineArn,
    bucket: services.bucket,
    region: services.region,
    completionQueueUrl: services.completionQueueUrl,
    endpoints: { stepfunctions: services.stepfunctions, s3: services.s3, sqs: services.sqs },
    credentials,
  });
  env = {
    TRANSCRIPTION_STATE_MACHINE_ARN: services.stateMachineArn,
    TRANSCRIPTION_S3_BUCKET: services.bucket,
    AWS_REGION: services.region,
    AWS_ENDPOINT_URL_SFN: services.stepfunctions,
    AWS_ENDPOINT_URL_S3: services.s3,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}, 60_000);

afterAll(async () => {
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
  });
  return { code, stdout, stderr };
}

describe('the client against the local endpoint', () => {
  it('uploads, starts, waits for the completed result, and a retried start returns the same execution', async () => {
    const started = await client.startTranscription({
      userId: 7,
      fileId: 'e2e-sample',
      audio: { path: SAMPLE_AUDIO_PATH },
      languageCode: 'ru',
    });

    const result = await client.waitForResult(started.executionArn, {
      timeoutMs: 60_000,
      initialDelayMs: 100,
    });
    // The result is written by Persist result, a state before the execution ends; a start retried
    // after the end is refused by the service (ExecutionAlreadyExists) and resolved by the client.
    while ((await client.describe(started.executionArn))?.status === 'RUNNING') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const again = await client.startTranscription({
      userId: 7,
      fileId: 'e2e-sample',
      s3Key: started.s3Key,
      languageCode: 'ru',
    });

    expect(started).toMatchObject({ executionName: '7-e2e-sample', uploaded: true });
    expect(result.status).toBe('completed');
    expect(result.status === 'completed' && result.segments.length).toBeGreaterThan(0);
    expect(result.metadata.execution_arn).toBe(started.executionArn);
    expect(again).toMatchObject({ executionArn: started.executionArn, alreadyStarted: true });
  }, 60_000);

  it('asks for captions and names, and reads the WebVTT back with getOutput', async () => {
    const started = await client.startTranscription({
      userId: 7,
      fileId: 'e2e-captions',
      audio: { path: SAMPLE_AUDIO_PATH },
      speakerNames: { A: 'Анна' },
      outputs: ['vtt'],
    });

    const result = await client.waitForResult(started.executionArn, {
      timeoutMs: 60_000,
      initialDelayMs: 100,
    });
    if (result.status !== 'completed') throw new Error('no completed result');
    const vtt = await client.getOutput(result, 'vtt');

    expect(result.segments[0]?.speaker).toBe('Анна');
    expect(vtt?.startsWith('WEBVTT\n')).toBe(true);
    expect(vtt).toContain('<v Анна>');
    expect(await client.getOutput(result, 'srt')).toBeUndefined();
  }, 60_000);

  it('refuses an impossible option before uploading or starting anything', async () => {
    await expect(
      client.startTranscription({
        userId: 7,
        fileId: 'e2e-refused',
        s3Key: 'transcription/7/x.ogg',
        speakersMin: 3,
        speakersMax: 2,
      }),
    ).rejects.toThrow('speakers_min must not be above speakers_max');
  });

  it('hands the completion message of a run to consumeCompletions', async () => {
    const queueUrl = services.completionQueueUrl as string;
    expect(queueUrl).toBeDefined();
    const started = await client.startTranscription({
      userId: 7,
      fileId: 'e2e-queue',
      audio: { path: SAMPLE_AUDIO_PATH },
      languageCode: 'ru',
    });
    await client.waitForResult(started.executionArn, { timeoutMs: 60_000, initialDelayMs: 100 });
    const controller = new AbortController();
    const seen: CompletionMessage[] = [];

    await consumeCompletions({
      sqs: client.sqs,
      queueUrl,
      waitTimeSeconds: 1,
      maxReceives: 10,
      signal: controller.signal,
      handler: (message) => {
        seen.push(message);
        if (message.execution_arn === started.executionArn) controller.abort();
      },
    });

    expect(seen.find((m) => m.execution_arn === started.executionArn)).toMatchObject({
      status: 'SUCCEEDED',
      outcome: 'completed',
      result_key: started.resultKey,
    });
  }, 60_000);
});

describe('the CLI against the local endpoint', () => {
  it('starts a file with --wait and prints its segments, then `result` prints them again', async () => {
    const start = await cli(
      'start',
      SAMPLE_AUDIO_PATH,
      '--user',
      '8',
      '--file-id',
      'cli-sample',
      '--language',
      'ru',
      '--wait',
    );
    const result = await cli('result', 'cli-sample', '--user', '8');
    const status = await cli('status', 'cli-sample', '--user', '8');

    expect(start.code).toBe(EXIT.ok);
    expect(start.stdout).toMatch(/^\[00:\d\d\.\d\d\] A: /);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(start.stdout);
    expect(status.stdout).toContain('SUCCEEDED');
  }, 60_000);

  it('exits 2 for audio that is not under the user’s folder, before anything runs', async () => {
    const { code, stderr } = await cli('start', 'transcription/9/x.ogg', '--user', '8', '--file-id', 'nope');

    expect(code).toBe(EXIT.usage);
    expect(stderr).toContain('must be an object under "transcription/8/"');
  });
});
