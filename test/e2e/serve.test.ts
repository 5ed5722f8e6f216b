/**
 * `npm run serve`'s services in-process (local/sfn-endpoint.ts), driven by the real AWS SDK
 * clients as the bot drives Step Functions, S3 and SQS; and the CLI itself once, as a child.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  GetExecutionHistoryCommand,
  InvalidExecutionInput,
  InvalidName,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  ValidationException,
} from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CompletionMessage } from '../../lambdas/shared/completion-message.js';
import type { TranscriptionResult } from '../../lambdas/shared/contracts.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';
import { finishedExecution } from '../support/executions.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let services: LocalServices;
let directory: string;
let sfn: SFNClient;
let s3: S3Client;
let sqs: SQSClient;
let sample: Buffer;
const completions: CompletionMessage[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-serve-'));
  services = await startLocalServices({ directory, fast: true });
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
  sqs = new SQSClient({ endpoint: services.sqs, region: services.region, credentials });
  sample = await readFile(SAMPLE_AUDIO_PATH);
});

afterAll(async () => {
  sfn?.destroy();
  s3?.destroy();
  sqs?.destroy();
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

async function upload(userId: number, fileId: string): Promise<string> {
  const key = `transcription/${userId}/${fileId}.ogg`;
  await s3.send(new PutObjectCommand({ Bucket: services.bucket, Key: key, Body: sample }));
  return key;
}

function request(userId: number, fileId: string, key = `transcription/${userId}/${fileId}.ogg`) {
  return JSON.stringify({ s3_key: key, user_id: userId, file_id: fileId, bucket: services.bucket });
}

async function start(name: string, input: string) {
  return sfn.send(new StartExecutionCommand({ stateMachineArn: services.stateMachineArn, name, input }));
}

const finished = (executionArn: string) => finishedExecution(sfn, executionArn);

/** The completion message of an execution, read from the local queue (bounded). */
async function completionOf(executionArn: string): Promise<CompletionMessage> {
  for (let i = 0; i < 40; i++) {
    const seen = completions.find((m) => m.execution_arn === executionArn);
    if (seen) return seen;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: services.completionQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    for (const message of received.Messages ?? []) {
      completions.push(JSON.parse(message.Body as string) as CompletionMessage);
      await sqs.send(
        new DeleteMessageCommand({
          QueueUrl: services.completionQueueUrl,
          ReceiptHandle: message.ReceiptHandle,
        }),
      );
    }
    if (!received.Messages?.length) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`No completion message for ${executionArn}`);
}

async function readResult(userId: number, fileId: string): Promise<TranscriptionResult> {
  const response = await s3.send(
    new GetObjectCommand({ Bucket: services.bucket, Key: `results/${userId}/${fileId}.json` }),
  );
  return JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString());
}

describe('npm run serve (in-process)', () => {
  it('runs an execution to SUCCEEDED, with its output, and publishes a completed message', async () => {
    await upload(11, 'serve-ok');

    const started = await start('11-serve-ok', request(11, 'serve-ok'));
    const described = await finished(started.executionArn as string);

    expect(started.startDate).toBeInstanceOf(Date);
    expect(described).toMatchObject({
      status: 'SUCCEEDED',
      name: '11-serve-ok',
      stateMachineArn: services.stateMachineArn,
    });
    expect(described.executionArn).toBe(
      services.stateMachineArn.replace(':stateMachine:', ':execution:').concat(':11-serve-ok'),
    );
    expect(described.stopDate?.getTime()).toBeGreaterThanOrEqual(described.startDate?.getTime() as number);
    expect(JSON.parse(described.output as string)).toBeInstanceOf(Object);
    const result = await readResult(11, 'serve-ok');
    expect(result.status).toBe('completed');
    expect(await completionOf(started.executionArn as string)).toMatchObject({
      version: 1,
      status: 'SUCCEEDED',
      outcome: 'completed',
      user_id: 11,
      file_id: 'serve-ok',
      result_key: 'results/11/serve-ok.json',
      error_type: null,
      error_category: null,
    });
  });

  it('answers the same name and input while running with the running execution, a different input with ExecutionAlreadyExists', async () => {
    await upload(12, 'serve-idem');
    const input = request(12, 'serve-idem');

    const first = await start('12-serve-idem', input);
    const again = await start('12-serve-idem', input);
    const other = start('12-serve-idem', request(12, 'serve-other'));

    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate?.getTime()).toBe(first.startDate?.getTime());
    await expect(other).rejects.toBeInstanceOf(ExecutionAlreadyExists);
    await finished(first.executionArn as string);
    // Once it has ended the name is taken whatever the input.
    await expect(start('12-serve-idem', input)).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('refuses invalid names, non-JSON input and input over 256 KB as the service does', async () => {
    for (const name of ['has space', 'a/b', 'x'.repeat(81), 'semi;colon', 'star*', '']) {
      await expect(start(name, '{}')).rejects.toBeInstanceOf(InvalidName);
    }
    await expect(start('not-json', '{')).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(start('too-big', JSON.stringify({ x: 'y'.repeat(262_144) }))).rejects.toBeInstanceOf(
      ValidationException,
    );
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${services.stateMachineArn.replace(':stateMachine:', ':execution:')}:nope`,
        }),
      ),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
  });

  it('fails an execution of missing audio with the failure result and a user-error message', async () => {
    const started = await start('13-serve-missing', request(13, 'serve-missing'));
    const described = await finished(started.executionArn as string);

    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('AudioNotFound');
    expect((await readResult(13, 'serve-missing')).status).toBe('failed');
    expect(await completionOf(started.executionArn as string)).toMatchObject({
      status: 'FAILED',
      outcome: 'failed',
      result_key: 'results/13/serve-missing.json',
      error_type: 'AudioNotFound',
      error_category: 'user',
    });
  });

  it('lists executions by status, newest first, in pages', async () => {
    const succeeded = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn, statusFilter: 'SUCCEEDED' }),
    );
    const failed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn, statusFilter: 'FAILED' }),
    );
    const firstPage = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn, maxResults: 1 }),
    );
    const secondPage = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: services.stateMachineArn,
        maxResults: 1,
        nextToken: firstPage.nextToken,
      }),
    );

    expect(succeeded.executions?.map((e) => e.name)).toEqual(
      expect.arrayContaining(['11-serve-ok', '12-serve-idem']),
    );
    expect(succeeded.executions?.every((e) => e.status === 'SUCCEEDED')).toBe(true);
    expect(failed.executions?.map((e) => e.name)).toEqual(['13-serve-missing']);
    expect(firstPage.executions?.map((e) => e.name)).toEqual(['13-serve-missing']);
    expect(firstPage.nextToken).toEqual(expect.any(String));
    expect(secondPage.executions?.map((e) => e.name)).toEqual(['12-serve-idem']);
  });

  it('gives the history in the service event types, ids increasing, both orders', async () => {
    const executionArn = services.stateMachineArn
      .replace(':stateMachine:', ':execution:')
      .concat(':11-serve-ok');

    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
    const reversed = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
    );

    const events = history.events ?? [];
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(types).toEqual(
      expect.arrayContaining([
        'TaskStateEntered',
        'LambdaFunctionScheduled',
        'LambdaFunctionStarted',
        'LambdaFunctionSucceeded',
        'TaskStateExited',
        'ChoiceStateEntered',
        'WaitStateEntered',
      ]),
    );
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[1]?.previousEventId).toBe(1);
    expect(events[0]?.timestamp).toBeInstanceOf(Date);
    expect(JSON.parse(events[0]?.executionStartedEventDetails?.input as string)).toMatchObject({
      user_id: 11,
    });
    const validate = events.find((e) => e.type === 'TaskStateEntered');
    expect(validate?.stateEnteredEventDetails?.name).toBe('Validate audio');
    expect(reversed.events?.map((e) => e.type)[0]).toBe('ExecutionSucceeded');
    expect(reversed.nextToken).toEqual(expect.any(String));
  });

  it('stops an execution: ABORTED at once, its failure result written, an aborted message published', async () => {
    await upload(14, 'serve-stop');
    const started = await start('14-serve-stop', request(14, 'serve-stop'));

    await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn, cause: 'operator' }));
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    const message = await completionOf(started.executionArn as string);

    expect(described.status).toBe('ABORTED');
    expect(described.cause).toBe('operator');
    expect(message).toMatchObject({
      status: 'ABORTED',
      outcome: 'failed',
      error_type: 'InternalError',
      error_category: 'system',
      result_key: 'results/14/serve-stop.json',
    });
    const result = await readResult(14, 'serve-stop');
    expect(result).toMatchObject({ status: 'failed', metadata: { failed_state: 'Execution aborted' } });
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }));
    expect(history.events?.at(-1)?.type).toBe('ExecutionAborted');
  });

  it('redrives an unsuccessful execution from the state that did not complete, never a succeeded one', async () => {
    const failed = services.stateMachineArn
      .replace(':stateMachine:', ':execution:')
      .concat(':13-serve-missing');
    const succeeded = services.stateMachineArn
      .replace(':stateMachine:', ':execution:')
      .concat(':11-serve-ok');

    await expect(sfn.send(new RedriveExecutionCommand({ executionArn: succeeded }))).rejects.toBeInstanceOf(
      ExecutionNotRedrivable,
    );
    const redriven = await sfn.send(new RedriveExecutionCommand({ executionArn: failed }));
    const described = await finished(failed);
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: failed, maxResults: 1000 }),
    );

    expect(redriven.redriveDate).toBeInstanceOf(Date);
    // It failed in the Fail state after Record failure: the redrive runs that state again.
    expect(described).toMatchObject({ status: 'FAILED', redriveCount: 1 });
    const types = history.events?.map((e) => e.type) ?? [];
    const redrive = types.indexOf('ExecutionRedriven');
    expect(redrive).toBeGreaterThan(0);
    expect(types.slice(redrive + 1)).toEqual(['FailStateEntered', 'ExecutionFailed']);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('npm run serve (the CLI)', () => {
  let child: ChildProcess | undefined;
  let cwd: string;
  let stopped = false;

  afterAll(async () => {
    if (child?.pid && !stopped) process.kill(-child.pid, 'SIGKILL');
    await rm(cwd, { recursive: true, force: true });
  });

  it('prints exactly one JSON line on stdout with the fixed port, times an execution out with its message, and stops on SIGTERM', async () => {
    cwd = await mkdtemp(join(tmpdir(), 'transcription-serve-cli-'));
    const port = await freePort();
    // Real waits and a 1 s execution timeout: the sample's first 4 s wait outlasts it.
    const args = [
      'tsx',
      'local/serve.ts',
      '--port',
      String(port),
      '--execution-timeout',
      '1',
      '--directory',
      cwd,
    ];
    child = spawn('npx', args, {
      cwd: ROOT,
      env: { ...process.env, ASSEMBLYAI_API_KEY: '', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: npx does not pass SIGTERM on, so the test signals the group, as a
      // terminal's Ctrl-C or a process manager does.
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`No ready line; stderr: ${stderr}`)), 25_000);
      child?.stdout?.on('data', (chunk) => {
        stdout += String(chunk);
        if (stdout.includes('\n')) {
          clearTimeout(timer);
          resolve(stdout.slice(0, stdout.indexOf('\n')));
        }
      });
      child?.once('exit', (code) => reject(new Error(`Exited ${code}; stderr: ${stderr}`)));
    });
    const ready = JSON.parse(line) as Record<string, string>;
    const client = new SFNClient({
      endpoint: ready.stepfunctions,
      region: ready.region,
      credentials: {
        accessKeyId: ready.accessKeyId as string,
        secretAccessKey: ready.secretAccessKey as string,
      },
    });
    const listed = await client.send(new ListExecutionsCommand({ stateMachineArn: ready.stateMachineArn }));
    const credentials = {
      accessKeyId: ready.accessKeyId as string,
      secretAccessKey: ready.secretAccessKey as string,
    };
    const bucketClient = new S3Client({
      endpoint: ready.s3,
      region: ready.region,
      credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await bucketClient.send(
      new PutObjectCommand({ Bucket: ready.bucket, Key: 'transcription/9/slow.ogg', Body: sample }),
    );
    const { executionArn } = await client.send(
      new StartExecutionCommand({
        stateMachineArn: ready.stateMachineArn,
        name: '9-slow',
        input: JSON.stringify({
          s3_key: 'transcription/9/slow.ogg',
          user_id: 9,
          file_id: 'slow',
          bucket: ready.bucket,
        }),
      }),
    );
    const queue = new SQSClient({ endpoint: ready.sqs, region: ready.region, credentials });
    let message: CompletionMessage | undefined;
    for (let i = 0; i < 50 && !message; i++) {
      const received = await queue.send(
        new ReceiveMessageCommand({ QueueUrl: ready.completionQueueUrl, WaitTimeSeconds: 0 }),
      );
      const body = received.Messages?.[0]?.Body;
      if (body) message = JSON.parse(body) as CompletionMessage;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const timedOut = await client.send(new DescribeExecutionCommand({ executionArn }));
    const stored = await bucketClient.send(
      new GetObjectCommand({ Bucket: ready.bucket, Key: 'results/9/slow.json' }),
    );
    const result = JSON.parse((await stored.Body?.transformToString()) ?? 'null') as TranscriptionResult;
    for (const sdk of [client, bucketClient, queue]) sdk.destroy();

    const stderrClosed = new Promise<void>((resolve) => child?.stderr?.once('close', () => resolve()));
    process.kill(-(child.pid as number), 'SIGTERM');
    await stderrClosed;
    stopped = true;

    expect(Object.keys(ready).sort()).toEqual(
      [
        'accessKeyId',
        'bucket',
        'completionQueueUrl',
        'intakeDeadLetterQueueUrl',
        'intakeQueueUrl',
        'region',
        'restApi',
        's3',
        'secretAccessKey',
        'sqs',
        'stateMachineArn',
        'stepfunctions',
      ].sort(),
    );
    expect(ready.stepfunctions).toBe(`http://127.0.0.1:${port}`);
    expect(listed.executions).toEqual([]);
    expect(timedOut.status).toBe('TIMED_OUT');
    expect(result).toMatchObject({ status: 'failed', error: { type: 'TranscriptionTimedOut' } });
    expect(message).toMatchObject({
      execution_arn: executionArn,
      status: 'TIMED_OUT',
      outcome: 'failed',
      error_type: 'TranscriptionTimedOut',
      error_category: 'system',
      result_key: 'results/9/slow.json',
    });
    expect(stderr).toContain('SIGTERM: stopping');
    expect(stderr).toContain('Stopped.');
    expect(stdout.trim().split('\n')).toHaveLength(1);
  }, 40_000);
});
