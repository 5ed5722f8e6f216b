/** receive-webhook: AssemblyAI's delivery in, the task token answered (or not) and an HTTP status out. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { receiveWebhook, secretMatches } from '../../lambdas/receive-webhook/receive-webhook.js';
import {
  type ProviderTranscript,
  providerJobOf,
  type TranscriptionProvider,
} from '../../lambdas/shared/assemblyai.js';
import type { TaskCallbacks } from '../../lambdas/shared/task-callbacks.js';
import { type WebhookRecord, webhookRecordKey } from '../../lambdas/shared/workflow-state.js';
import { assemblyaiFixture, startTestS3, submittedState, type TestS3, testConfig } from './step-fixtures.js';

const completed = assemblyaiFixture<ProviderTranscript>('completed-diarized.openapi-Transcript-example.json');
const queued = assemblyaiFixture<ProviderTranscript>('queued.go-sdk-testdata.json');
const tooShort = assemblyaiFixture<Partial<ProviderTranscript>>('error-too-short.docs-common-errors.json');

const HEADER = 'X-Transcription-Webhook-Secret';
const SECRET = 'a-webhook-secret-of-this-deployment';
const config = testConfig();
const state = submittedState();
const id = state.transcript.id;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.stop();
});
beforeEach(async () => {
  await s3.clear('');
});

function delivery(
  body: unknown = { transcript_id: id, status: 'completed' },
  headers: Record<string, string> = { [HEADER.toLowerCase()]: SECRET },
  method = 'POST',
): APIGatewayProxyEventV2 {
  return {
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method } },
  } as unknown as APIGatewayProxyEventV2;
}

/** Records every task answer; `refuse` makes them throw like SendTask* does. */
function recordingTasks(refuse?: string) {
  const calls: { kind: 'succeed' | 'fail'; token: string; output?: unknown; error?: string }[] = [];
  const tasks: TaskCallbacks = {
    async succeed(token, output) {
      if (refuse) throw Object.assign(new Error(refuse), { name: refuse });
      calls.push({ kind: 'succeed', token, output });
    },
    async fail(token, error) {
      if (refuse) throw Object.assign(new Error(refuse), { name: refuse });
      calls.push({ kind: 'fail', token, error });
    },
  };
  return { tasks, calls };
}

/** A provider whose `get` reads AssemblyAI answering 200 with `transcript` (or fails with the error). */
function providerAnswering(transcript: Partial<ProviderTranscript> | Error) {
  const gets: string[] = [];
  const provider = {
    get: async (asked: string) => {
      gets.push(asked);
      if (transcript instanceof Error) throw transcript;
      return providerJobOf(Buffer.from(JSON.stringify({ ...transcript, id: asked })));
    },
  } as unknown as TranscriptionProvider;
  return { provider, gets };
}

async function register(record: Partial<WebhookRecord> = {}) {
  await s3.put(
    webhookRecordKey(config.workPrefix, id),
    JSON.stringify({ task_token: 'token-1', execution: state.execution, job: state.transcript, ...record }),
  );
}

const deps = (provider: TranscriptionProvider, tasks: TaskCallbacks) => ({
  s3: s3.client,
  provider,
  config,
  tasks,
  secret: async () => SECRET,
  headerName: HEADER,
});

describe('secretMatches', () => {
  it('accepts only the exact secret, whatever the lengths', () => {
    expect(secretMatches(SECRET, SECRET)).toBe(true);
    expect(secretMatches(`${SECRET}x`, SECRET)).toBe(false);
    expect(secretMatches(SECRET.slice(1), SECRET)).toBe(false);
    expect(secretMatches('', SECRET)).toBe(false);
    expect(secretMatches(undefined, SECRET)).toBe(false);
  });
});

describe('receiveWebhook', () => {
  it('stores the completed transcript and answers the task with what Check would return', async () => {
    // Arrange
    await register();
    const { provider, gets } = providerAnswering(completed);
    const { tasks, calls } = recordingTasks();

    // Act
    const answer = await receiveWebhook(delivery(), deps(provider, tasks));

    // Assert
    expect(answer).toMatchObject({ statusCode: 200, outcome: 'answered', jobStatus: 'completed' });
    expect(gets).toEqual([id]);
    expect(calls).toHaveLength(1);
    const output = calls[0]?.output as { status: string; transcript_key: string; checks: number };
    expect(calls[0]?.token).toBe('token-1');
    expect(output.status).toBe('completed');
    expect(output.checks).toBe(state.transcript.checks + 1);
    const stored = JSON.parse((await s3.get(output.transcript_key))?.body ?? '{}');
    expect(stored.words).toHaveLength(completed.words?.length ?? -1);
    const { audio_url: _presigned, ...sent } = completed;
    expect(stored).toEqual({ ...sent, id });
  });

  it('re-reads the job rather than trusting the payload: a job still queued gets 503 and no answer', async () => {
    await register();
    const { provider } = providerAnswering(queued);
    const { tasks, calls } = recordingTasks();

    const answer = await receiveWebhook(delivery(), deps(provider, tasks));

    expect(answer).toMatchObject({ statusCode: 503, outcome: 'not-final' });
    expect(calls).toEqual([]);
  });

  it('answers a failed job with its classified error, for "Transcript ready?" to route', async () => {
    await register();
    const { provider } = providerAnswering({ ...queued, ...tooShort, status: 'error' });
    const { tasks, calls } = recordingTasks();

    const answer = await receiveWebhook(
      delivery({ transcript_id: id, status: 'error' }),
      deps(provider, tasks),
    );

    expect(answer).toMatchObject({ statusCode: 200, jobStatus: 'error' });
    expect(calls[0]?.output).toMatchObject({ status: 'error', error: { type: 'AudioTooShort' } });
  });

  it('fails the task when the transcript was deleted before it was stored', async () => {
    await register();
    const { provider } = providerAnswering({
      ...completed,
      text: 'Deleted by user.',
      audio_url: 'http://deleted_by_user',
    });
    const { tasks, calls } = recordingTasks();

    await receiveWebhook(delivery(), deps(provider, tasks));

    expect(calls).toEqual([{ kind: 'fail', token: 'token-1', error: 'TranscriptionFailed' }]);
  });

  it.each([
    ['a wrong secret', delivery(undefined, { [HEADER.toLowerCase()]: 'guess' }), 401],
    ['no secret', delivery(undefined, {}), 401],
    ['another method', delivery(undefined, undefined, 'GET'), 405],
    ['a body that is not JSON', delivery('{"transcript_id":'), 400],
    ['a malformed transcript id', delivery({ transcript_id: '../../etc', status: 'completed' }), 400],
  ])(
    'refuses %s with a 4xx (never retried by AssemblyAI) and touches nothing',
    async (_case, event, status) => {
      await register();
      const { provider, gets } = providerAnswering(completed);
      const { tasks, calls } = recordingTasks();

      const answer = await receiveWebhook(event, deps(provider, tasks));

      expect(answer.statusCode).toBe(status);
      expect(gets).toEqual([]);
      expect(calls).toEqual([]);
    },
  );

  it('finds the header whatever its case', async () => {
    await register();
    const { provider } = providerAnswering(completed);
    const { tasks } = recordingTasks();

    const answer = await receiveWebhook(delivery(undefined, { [HEADER]: SECRET }), deps(provider, tasks));

    expect(answer.statusCode).toBe(200);
  });

  it('answers 503 before Submit has recorded the token, so AssemblyAI delivers again', async () => {
    const { provider, gets } = providerAnswering(completed);
    const { tasks, calls } = recordingTasks();

    const answer = await receiveWebhook(delivery(), deps(provider, tasks));

    expect(answer).toMatchObject({ statusCode: 503, outcome: 'not-registered' });
    expect(gets).toEqual([]);
    expect(calls).toEqual([]);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'answers 200 when the task is over (%s): a repeated delivery, or a run that fell back to polling',
    async (error) => {
      await register();
      const { provider } = providerAnswering(completed);
      const { tasks } = recordingTasks(error);

      const answer = await receiveWebhook(delivery(), deps(provider, tasks));

      expect(answer).toMatchObject({ statusCode: 200, outcome: 'task-over' });
    },
  );

  it.each([
    ['Step Functions throttles', () => recordingTasks('ThrottlingException'), providerAnswering(completed)],
    [
      'AssemblyAI is down',
      () => recordingTasks(),
      providerAnswering(Object.assign(new Error('down'), { name: 'ProviderUnavailable' })),
    ],
  ])('answers 503 when %s, so the delivery is retried', async (_case, makeTasks, { provider }) => {
    await register();
    const { tasks } = makeTasks();

    const answer = await receiveWebhook(delivery(), deps(provider, tasks));

    expect(answer).toMatchObject({ statusCode: 503, outcome: 'unavailable' });
  });
});
