/**
 * `npm run serve`'s REST API in-process (local/rest-api.ts, the counterpart of `-c restApi=true`):
 * a POST starts the execution under the deterministic name (202; the same POST while it runs gets
 * the same answer), the GET answers `pending_or_unknown` until the result is written and then the
 * result; the same POST after the end is a 409 naming the same execution and creates no second AssemblyAI job; a body against the contract, a bad
 * attempt or a name too long for the plain form is a 400 that starts nothing. Signatures are not
 * checked locally.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { CompletedResult } from '../../lambdas/shared/contracts.js';
import { SAMPLE_AUDIO_PATH } from '../../local/assemblyai-emulator/sample.js';
import { type LocalServices, startLocalServices } from '../../local/sfn-endpoint.js';

let services: LocalServices;
let directory: string;
let s3: S3Client;
let sfn: SFNClient;
let api: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'transcription-serve-rest-'));
  services = await startLocalServices({ directory, fast: true, completions: false, intake: false });
  api = services.restApi as string;
  const credentials = services.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  s3 = new S3Client({
    region: services.region,
    endpoint: services.s3,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  sfn = new SFNClient({ region: services.region, endpoint: services.stepfunctions, credentials });
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  sfn?.destroy();
  await services?.close();
  await rm(directory, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(body: unknown, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api}/transcriptions${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function get(
  userId: number,
  fileId: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api}/transcriptions/${userId}/${fileId}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function jobsFor(fileKey: string): number {
  return (services.emulatorStats?.().transcripts ?? []).filter((t) => t.audioPath.endsWith(`/${fileKey}`))
    .length;
}

async function ended(executionArn: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') return;
    await sleep(50);
  }
  throw new Error(`${executionArn} did not end`);
}

async function executionNames(): Promise<string[]> {
  const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: services.stateMachineArn }));
  return (listed.executions ?? []).map((e) => e.name as string);
}

describe('npm run serve: the REST API', () => {
  it('announces the REST API in the ready line', () => {
    expect(JSON.parse(services.readyLine()).restApi).toBe(api);
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('starts with 202, reads pending then the result, and answers the same POST again with 409 and no second job', async () => {
    const s3Key = 'transcription/41/rest-ok.ogg';
    await s3.send(
      new PutObjectCommand({ Bucket: services.bucket, Key: s3Key, Body: await readFile(SAMPLE_AUDIO_PATH) }),
    );
    const input = {
      s3_key: s3Key,
      user_id: 41,
      file_id: 'rest-ok',
      bucket: services.bucket,
      language_code: 'ru',
    };
    const before = await get(41, 'rest-ok');

    const started = await post(input);
    // While it runs, Step Functions answers the same name and input with that execution.
    const whileRunning = await post(input);
    let result = await get(41, 'rest-ok');
    for (let i = 0; i < 300 && result.status !== 200; i++) {
      await sleep(50);
      result = await get(41, 'rest-ok');
    }
    await ended(started.body.execution_arn as string);
    // After it ended, ExecutionAlreadyExists: 409 naming the same execution.
    const again = await post(input);

    expect(before).toEqual({ status: 404, body: { status: 'pending_or_unknown' } });
    expect(started).toEqual({
      status: 202,
      body: {
        execution_arn: `${services.stateMachineArn.replace(':stateMachine:', ':execution:')}:41-rest-ok`,
        execution_name: '41-rest-ok',
        result_key: 'results/41/rest-ok.json',
      },
    });
    expect(whileRunning).toEqual(started);
    expect(result.status).toBe(200);
    expect(result.body as unknown as CompletedResult).toMatchObject({
      status: 'completed',
      user_id: 41,
      file_id: 'rest-ok',
      metadata: { execution_arn: started.body.execution_arn },
    });
    expect(again).toEqual({ status: 409, body: { error: 'ExecutionAlreadyExists', ...started.body } });
    expect(jobsFor('41/rest-ok.ogg')).toBe(1);
    expect((await executionNames()).filter((n) => n.endsWith('rest-ok'))).toEqual(['41-rest-ok']);
  });

  it('starts a later attempt under its own name', async () => {
    const input = {
      s3_key: 'transcription/41/rest-ok.ogg',
      user_id: '41',
      file_id: 'rest-ok',
      bucket: services.bucket,
    };

    const retried = await post(input, '?attempt=2');

    expect(retried).toMatchObject({
      status: 202,
      body: { execution_name: '41_2-rest-ok', result_key: 'results/41/rest-ok.json' },
    });
  });

  it('refuses a body against the contract, a bad attempt and an over-long name with 400, starting nothing', async () => {
    const before = await executionNames();
    const valid = { s3_key: 'transcription/42/x.ogg', user_id: 42, file_id: 'x', bucket: services.bucket };

    const missing = await post({ user_id: 42, file_id: 'x', bucket: services.bucket, speakers_expected: 99 });
    const unknownField = await post({ ...valid, attempt: 2 });
    const notJson = await post('not json');
    const otherUser = await post({ ...valid, s3_key: 'transcription/43/x.ogg' });
    const badAttempt = await post(valid, '?attempt=0');
    const longId = 'a'.repeat(100);
    const tooLong = await post({ ...valid, file_id: longId, s3_key: `transcription/42/${longId}.ogg` });

    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'InvalidInput' });
    expect(String(missing.body.message)).toMatch(
      /s3_key is required.*speakers_expected must be an integer from 1 to 10/,
    );
    expect(unknownField).toMatchObject({ status: 400, body: { error: 'InvalidInput' } });
    expect(notJson).toMatchObject({ status: 400, body: { error: 'InvalidInput' } });
    expect(otherUser).toMatchObject({ status: 400, body: { error: 'InvalidInput' } });
    expect(badAttempt).toMatchObject({ status: 400, body: { error: 'InvalidExecutionName' } });
    expect(tooLong).toMatchObject({ status: 400, body: { error: 'InvalidExecutionName' } });
    expect(await executionNames()).toEqual(before);
  });

  it('answers a route it does not have as API Gateway does', async () => {
    const response = await fetch(`${api}/transcriptions/41`);

    expect(response.status).toBe(403);
  });
});
