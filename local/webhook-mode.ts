/**
 * Webhook mode for local runs (`npm start -- --webhook`, `npm run serve -- --webhook`, the tests
 * and the bench): the receiver Lambda's real handler behind a local HTTP server standing in for
 * its Function URL, task tokens for LocalWorkflow, and the environment that points the handlers
 * at both — as the stack wires them when deployed with `-c transcriptDelivery=webhook`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTaskTokenEndpoint, TaskTokens } from './task-tokens.js';
import { type LambdaHandlers, type TaskHandler, WEBHOOK_LAMBDA } from './workflow.js';

export interface LocalWebhookMode {
  /** Set these before `loadLambdaHandlers`: the handlers read them at cold start. */
  env: Record<string, string>;
  /** Give these to LocalWorkflow. */
  tokens: TaskTokens;
  /** The receiver's local URL (what AssemblyAI, here the emulator, delivers to). */
  url: string;
  /** The loaded handlers: the server answers with the receiver's once attached (503 before). */
  attach(handlers: LambdaHandlers): void;
  /** Deliveries received, with the status answered (for tests). */
  deliveries(): { statusCode: number }[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A request as a Lambda Function URL hands it over (payload format 2.0). */
function functionUrlEvent(request: IncomingMessage, body: string) {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : (value ?? ''),
    ]),
  );
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    body,
    isBase64Encoded: false,
    requestContext: {
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
      },
      requestId: randomBytes(8).toString('hex'),
      timeEpoch: Date.now(),
    },
  };
}

export async function startLocalWebhookMode(
  options: { stepFunctionsEndpoint?: string } = {},
): Promise<LocalWebhookMode> {
  const tokens = new TaskTokens();
  const tokenEndpoint = options.stepFunctionsEndpoint ? undefined : await startTaskTokenEndpoint(tokens);
  let receiver: TaskHandler | undefined;
  const answered: { statusCode: number }[] = [];
  const server: Server = createServer((request, response) => {
    readBody(request)
      .then(async (body) => {
        if (!receiver) return { statusCode: 503 };
        return (await receiver(functionUrlEvent(request, body))) as { statusCode: number };
      })
      .then(
        (result) => {
          answered.push({ statusCode: result.statusCode });
          response.writeHead(result.statusCode).end();
        },
        () => {
          // An unhandled Lambda error: a Function URL answers 502.
          answered.push({ statusCode: 502 });
          response.writeHead(502).end();
        },
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    env: {
      TRANSCRIPT_DELIVERY: 'webhook',
      WEBHOOK_URL: url,
      WEBHOOK_SECRET: randomBytes(32).toString('base64url'),
      AWS_ENDPOINT_URL_SFN: options.stepFunctionsEndpoint ?? (tokenEndpoint?.url as string),
    },
    tokens,
    url,
    attach(handlers) {
      receiver = handlers[WEBHOOK_LAMBDA];
      if (!receiver)
        throw new Error(`No ${WEBHOOK_LAMBDA} handler: set TRANSCRIPT_DELIVERY=webhook before loading them`);
    },
    deliveries: () => [...answered],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await tokenEndpoint?.close();
    },
  };
}
