/**
 * Task tokens for the local runner: what Step Functions does for a `.waitForTaskToken` task and
 * aws-local-stepfunctions does not (its feature page lists the callback pattern as unsupported).
 * LocalWorkflow issues a token per attempt, the Lambda code answers it with SendTaskSuccess or
 * SendTaskFailure through the real `@aws-sdk/client-sfn` (AWS_ENDPOINT_URL_SFN points at
 * `startTaskTokenEndpoint`, or at `npm run serve`'s Step Functions endpoint), and the task
 * resumes, fails, or times out as deployed.
 *
 * Kept as the service answers: SendTaskSuccess before the task waits still counts (Submit answers
 * its own token inside its invocation); a token answered, timed out or never issued is refused
 * (TaskDoesNotExist, TaskTimedOut, InvalidToken); output must be JSON within 256 KB
 * (InvalidOutput). Not kept: heartbeats (the definition sets no HeartbeatSeconds).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Step Functions' limit on SendTaskSuccess's output, as on every state's output. */
const MAX_OUTPUT_BYTES = 262_144;

/** An error the service answers with: HTTP 400 and `{"__type", "message"}`. */
export class TaskTokenError extends Error {
  constructor(
    override readonly name: 'TaskDoesNotExist' | 'TaskTimedOut' | 'InvalidToken' | 'InvalidOutput',
    message: string,
  ) {
    super(message);
  }
}

/** How a task's wait ended when it failed: the Error and Cause the state's Retry/Catch see. */
export class TaskFailure extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

type Outcome = { ok: true; output: unknown } | { ok: false; error: TaskFailure };

interface Pending {
  settle: (outcome: Outcome) => void;
  outcome: Promise<Outcome>;
}

const TOKEN = /^[A-Za-z0-9_-]{64,1024}$/;

export class TaskTokens {
  /** Tokens that can still be answered. */
  private readonly pending = new Map<string, Pending>();
  /** Every issued token's outcome, until its task has read it (an answer may come before the wait). */
  private readonly outcomes = new Map<string, Promise<Outcome>>();
  private readonly ended = new Map<string, 'answered' | 'timed-out' | 'cancelled'>();

  /** A new token (as long and opaque as the service's), answerable until it ends. */
  issue(): string {
    const token = randomBytes(96).toString('base64url');
    let settle!: (outcome: Outcome) => void;
    const outcome = new Promise<Outcome>((resolve) => {
      settle = resolve;
    });
    this.pending.set(token, { settle, outcome });
    this.outcomes.set(token, outcome);
    return token;
  }

  /** Tokens issued and not yet answered, timed out or cancelled. */
  get waiting(): number {
    return this.pending.size;
  }

  private take(token: unknown): Pending {
    if (typeof token !== 'string' || !TOKEN.test(token)) {
      throw new TaskTokenError('InvalidToken', 'Invalid token');
    }
    const pending = this.pending.get(token);
    if (pending) return pending;
    if (this.ended.get(token) === 'timed-out') throw new TaskTokenError('TaskTimedOut', 'Task Timed Out');
    throw new TaskTokenError('TaskDoesNotExist', 'Task does not exist anymore');
  }

  private end(token: string, how: 'answered' | 'timed-out' | 'cancelled'): void {
    this.pending.delete(token);
    this.ended.set(token, how);
  }

  sendTaskSuccess(token: unknown, output: unknown): void {
    const pending = this.take(token);
    if (typeof output !== 'string' || Buffer.byteLength(output, 'utf8') > MAX_OUTPUT_BYTES) {
      throw new TaskTokenError('InvalidOutput', 'Output is not a JSON text within 262144 bytes');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new TaskTokenError('InvalidOutput', 'Invalid JSON output');
    }
    this.end(token as string, 'answered');
    pending.settle({ ok: true, output: parsed });
  }

  sendTaskFailure(token: unknown, error: unknown, cause: unknown): void {
    const pending = this.take(token);
    this.end(token as string, 'answered');
    pending.settle({
      ok: false,
      error: new TaskFailure(typeof error === 'string' ? error : '', typeof cause === 'string' ? cause : ''),
    });
  }

  /** The token's attempt ended otherwise (its Lambda failed, the execution stopped): refuse it from now on. */
  cancel(token: string): void {
    if (this.pending.has(token)) this.end(token, 'cancelled');
    this.outcomes.delete(token);
  }

  /**
   * The task's output once the token is answered; rejects with its TaskFailure, or with
   * `States.Timeout` once `Date.now()` passes `deadline` (checked every `pollMs`, so a virtual
   * clock that jumps ahead times it out as the service would).
   */
  async wait(token: string, deadline: number, pollMs = 20): Promise<unknown> {
    const outcome = this.outcomes.get(token);
    if (!outcome) throw new Error('wait() on a token that was not issued or was already waited for');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      const check = () => {
        if (Date.now() >= deadline) resolve('timeout');
        else timer = setTimeout(check, pollMs).unref();
      };
      check();
    });
    try {
      const first = await Promise.race([outcome, timedOut]);
      if (first === 'timeout') {
        if (this.pending.has(token)) this.end(token, 'timed-out');
        throw new TaskFailure('States.Timeout', 'The task did not receive a callback in time');
      }
      if (!first.ok) throw first.error;
      return first.output;
    } finally {
      clearTimeout(timer);
      this.outcomes.delete(token);
    }
  }

  /** SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat as the AWS JSON protocol carries them. */
  handleAction(action: string, body: Record<string, unknown>): Record<string, never> {
    switch (action) {
      case 'SendTaskSuccess':
        this.sendTaskSuccess(body.taskToken, body.output);
        return {};
      case 'SendTaskFailure':
        this.sendTaskFailure(body.taskToken, body.error, body.cause);
        return {};
      case 'SendTaskHeartbeat':
        this.take(body.taskToken);
        return {};
      default:
        throw new Error(`Unsupported action ${action}`);
    }
  }
}

export const TASK_TOKEN_ACTIONS = new Set(['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat']);

/** Writes a TaskTokenError the way the service does, so the SDK raises the same exception class. */
export function writeTaskTokenError(response: ServerResponse, error: TaskTokenError): void {
  response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
  response.end(JSON.stringify({ __type: `com.amazonaws.sfn#${error.name}`, message: error.message }));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A Step Functions endpoint that knows only the task-token actions: for local runs without `npm
 * run serve`'s full endpoint (npm start, the tests, the bench).
 */
export async function startTaskTokenEndpoint(
  tokens: TaskTokens,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    readBody(request).then(
      (text) => {
        const action = String(request.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
        try {
          const result = tokens.handleAction(action, JSON.parse(text || '{}') as Record<string, unknown>);
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(JSON.stringify(result));
        } catch (error) {
          if (error instanceof TaskTokenError) return writeTaskTokenError(response, error);
          response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          response.end(
            JSON.stringify({ __type: 'com.amazonaws.sfn#ValidationException', message: String(error) }),
          );
        }
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
