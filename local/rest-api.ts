/**
 * The REST API of `-c restApi=true` (cdk/constructs/rest-api.ts) for `npm run serve`: the same two
 * routes and answers on a local HTTP port, in front of the local Step Functions endpoint and the
 * embedded S3.
 *
 * - `POST /transcriptions[?attempt=N]`: the body is checked by the workflow's own input check
 *   (`parseRequest` of Validate, the zod schema) — so locally every contract violation is a 400,
 *   also the few the deployed model cannot state (another user's folder, a percent-encoded ".."),
 *   which on AWS start an execution that Validate fails. Then StartExecution under
 *   `{user_id}-{file_id}` / `{user_id}_{attempt}-{file_id}` with the body as the input, and the
 *   deployed mapping of its answers: 202, 409 on ExecutionAlreadyExists, 400 on a name over 80
 *   characters or a bad attempt, 429 when throttled.
 * - `GET /transcriptions/{user_id}/{file_id}`: the result object, or 404 `{"status":"pending_or_unknown"}`.
 *
 * Not kept: SigV4 (any request is accepted; nothing checks a signature or execute-api:Invoke),
 * throttling, access logs, X-Ray.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { WorkflowConfig } from '../lambdas/shared/config.js';
import { MAX_EXECUTION_NAME_LENGTH } from '../lambdas/shared/contracts.js';
import { InvalidInput } from '../lambdas/shared/errors.js';
import { parseRequest } from '../lambdas/validate-audio/validate-audio.js';

export interface LocalRestApiOptions {
  /** The local Step Functions endpoint. */
  stepfunctions: string;
  stateMachineArn: string;
  region: string;
  s3: S3Client;
  /** The workflow's configuration (bucket, prefixes, per-user uploads), as Validate reads it. */
  config: WorkflowConfig;
  /** @default a free one */
  port?: number;
  log?: (line: string) => void;
}

export interface LocalRestApi {
  /** `http://127.0.0.1:{port}` — the routes are `/transcriptions…`, as under the deployed stage URL. */
  url: string;
  close(): Promise<void>;
}

const INVALID_NAME_MESSAGE =
  "attempt must be a positive integer, and the execution name {user_id}-{file_id} (or {user_id}_{attempt}-{file_id}) at most 80 characters: longer file ids need the client's hashed name";

interface Answer {
  status: number;
  body: unknown;
}

/** What the deployed templates answer for a started (or already existing) execution. */
function startedFields(executionArn: string, resultsPrefix: string) {
  const name = executionArn.slice(executionArn.lastIndexOf(':') + 1);
  const key = name.replace(/^([0-9]+)(_[0-9]+)?-/, '$1/');
  return { execution_arn: executionArn, execution_name: name, result_key: `${resultsPrefix}${key}.json` };
}

function awsName(error: unknown): string {
  return (error as { name?: string }).name ?? '';
}

export async function startLocalRestApi(options: LocalRestApiOptions): Promise<LocalRestApi> {
  const log = options.log ?? (() => undefined);
  const { config } = options;
  const sfn = new SFNClient({
    region: options.region,
    endpoint: options.stepfunctions,
    // The local endpoint accepts any credentials; the deployed API signs with its integration role.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  async function start(request: IncomingMessage, url: URL, text: string): Promise<Answer> {
    const type = String(request.headers['content-type'] ?? 'application/json');
    if (!/^application\/json\b/i.test(type)) {
      return { status: 415, body: { message: 'Unsupported Media Type' } };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { status: 400, body: { error: 'InvalidInput', message: 'Invalid input: the body is not JSON' } };
    }
    let parsed: ReturnType<typeof parseRequest>;
    try {
      parsed = parseRequest(body, config);
    } catch (error) {
      if (!(error instanceof InvalidInput)) throw error;
      return { status: 400, body: { error: 'InvalidInput', message: error.message } };
    }
    const attemptText = url.searchParams.get('attempt') ?? '';
    const attempt = attemptText === '' ? 1 : /^[1-9][0-9]{0,8}$/.test(attemptText) ? Number(attemptText) : 0;
    const name =
      attempt === 1
        ? `${parsed.user_id}-${parsed.file_id}`
        : `${parsed.user_id}_${attempt}-${parsed.file_id}`;
    if (attempt === 0 || name.length > MAX_EXECUTION_NAME_LENGTH) {
      return { status: 400, body: { error: 'InvalidExecutionName', message: INVALID_NAME_MESSAGE } };
    }
    try {
      const started = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: options.stateMachineArn,
          name,
          // The body as sent (re-serialized, as API Gateway's `$input.json('$')` does), not the normalized request.
          input: JSON.stringify(body),
        }),
      );
      return { status: 202, body: startedFields(started.executionArn as string, config.resultsPrefix) };
    } catch (error) {
      const code = awsName(error);
      const message = (error as Error).message;
      if (code === 'ExecutionAlreadyExists') {
        const arn = /'([^']*)'/.exec(message)?.[1] ?? '';
        return {
          status: 409,
          body: { error: 'ExecutionAlreadyExists', ...startedFields(arn, config.resultsPrefix) },
        };
      }
      if (code === 'ThrottlingException' || code === 'ExecutionLimitExceeded') {
        return { status: 429, body: { error: 'Throttled', message } };
      }
      if (code === 'InvalidName') {
        return { status: 400, body: { error: 'InvalidExecutionName', message: INVALID_NAME_MESSAGE } };
      }
      if (code === 'ValidationException' || code === 'InvalidExecutionInput') {
        return { status: 400, body: { error: 'InvalidInput', message } };
      }
      log(`REST API: StartExecution failed: ${code} ${message}`);
      return { status: 500, body: { error: 'StartFailed', message: 'The execution could not be started' } };
    }
  }

  async function result(userId: string, fileId: string): Promise<Answer | { status: 200; text: string }> {
    // The deployed route reads this key whatever the segments hold; IAM confines it to the results prefix.
    const key = `${config.resultsPrefix}${userId}/${fileId}.json`;
    try {
      const object = await options.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      return { status: 200, text: (await object.Body?.transformToString('utf8')) ?? '' };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (awsName(error) === 'NoSuchKey' || status === 404) {
        return { status: 404, body: { status: 'pending_or_unknown' } };
      }
      log(`REST API: GetObject ${key} failed: ${awsName(error)}`);
      return { status: 500, body: { error: 'ResultUnavailable', message: 'The result could not be read' } };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '');
    let answer: Answer | { status: 200; text: string };
    const resultRoute = /^\/transcriptions\/([^/]+)\/([^/]+)$/.exec(path);
    if (request.method === 'POST' && path === '/transcriptions') {
      answer = await start(request, url, Buffer.concat(chunks).toString('utf8'));
    } else if (request.method === 'GET' && resultRoute) {
      answer = await result(
        decodeURIComponent(resultRoute[1] as string),
        decodeURIComponent(resultRoute[2] as string),
      );
    } else {
      // What API Gateway answers for a route or method it does not have.
      answer = { status: 403, body: { message: 'Missing Authentication Token' } };
    }
    const text = 'text' in answer ? answer.text : JSON.stringify(answer.body);
    response.writeHead(answer.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`REST API error: ${(error as Error).stack ?? String(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json' });
      response.end('{"message":"Internal server error"}');
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, '127.0.0.1', () => done());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: async () => {
      sfn.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
