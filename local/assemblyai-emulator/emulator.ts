/**
 * A local HTTP server speaking the part of AssemblyAI's REST API the workflow uses (submit, get,
 * delete), so the official `assemblyai` SDK runs unchanged against it with `baseUrl` set.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AudioInspection, downloadAndInspectAudio } from './audio.js';
import {
  type Fault,
  type FaultKind,
  FaultPlan,
  type HttpFault,
  type JobFault,
  seededRandom,
} from './faults.js';
import { loadBundledSample } from './sample.js';
import { parseSubmitParams } from './submit-params.js';
import {
  completedTranscript,
  deletedTranscript,
  failedTranscript,
  pendingTranscript,
  placeholderContent,
  type SubmitParams,
  type TranscriptBody,
} from './transcripts.js';

export type { Fault, FaultKind, FaultRoute, HttpFault, JobFault } from './faults.js';

export interface EmulatorOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** The only `Authorization` header value accepted. @default 'emulator-key' */
  apiKey?: string;
  /** Time from submit to completed; the first third of it the job is `queued`. @default 1500 */
  processingDelayMs?: number;
  faults?: Fault[];
  /** Seed of the PRNG behind fault `probability`. @default 1 */
  seed?: number;
  /** Log method, path (never the query) and status of each request to stderr. @default false */
  verbose?: boolean;
}

export interface EmulatorStats {
  /** `POST /v2/transcript` requests received, whatever the answer. */
  submissions: number;
  /** `GET /v2/transcript/:id` requests received. */
  gets: number;
  /** `DELETE /v2/transcript/:id` requests received. */
  deletes: number;
  /** Transcripts created, in order; `audioPath` is the audio_url's path without its query string. */
  transcripts: { id: string; audioPath: string }[];
  /** Faults that fired, by kind. */
  faults: Partial<Record<FaultKind, number>>;
}

export interface AssemblyAIEmulator {
  /** Base URL for `new AssemblyAI({ apiKey, baseUrl })`, e.g. `http://127.0.0.1:8787`. */
  url: string;
  apiKey: string;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  stats(): EmulatorStats;
  close(): Promise<void>;
}

interface Job {
  id: string;
  params: SubmitParams;
  submittedAt: number;
  fault?: JobFault;
  inspection?: AudioInspection;
  deleted?: TranscriptBody;
}

type Route = { name: 'submit' } | { name: 'list' } | { name: 'get' | 'delete'; id: string };

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TRANSCRIPT_ERROR = 'Server error, developers have been alerted.';
const TRANSCRIPT_PATH = /^\/v2\/transcript\/([^/]+)$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function matchRoute(method: string | undefined, path: string): Route | undefined {
  if (path === '/v2/transcript' && method === 'POST') return { name: 'submit' };
  if (path === '/v2/transcript' && method === 'GET') return { name: 'list' };
  const id = TRANSCRIPT_PATH.exec(path)?.[1];
  if (id === undefined) return undefined;
  if (method === 'GET') return { name: 'get', id };
  if (method === 'DELETE') return { name: 'delete', id };
  return undefined;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'Request body must be valid JSON');
  }
}

const pathWithoutQuery = (url: string): string => {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
};

export async function startEmulator(options: EmulatorOptions = {}): Promise<AssemblyAIEmulator> {
  const apiKey = options.apiKey ?? 'emulator-key';
  const processingDelayMs = options.processingDelayMs ?? 1500;
  const host = options.host ?? '127.0.0.1';
  const sample = await loadBundledSample();
  const plan = new FaultPlan(seededRandom(options.seed ?? 1), options.faults);
  const jobs = new Map<string, Job>();
  const downloads = new Set<Promise<void>>();
  const shutdown = new AbortController();
  const stats: EmulatorStats = { submissions: 0, gets: 0, deletes: 0, transcripts: [], faults: {} };
  const log = (line: string) => {
    if (options.verbose) process.stderr.write(`[assemblyai-emulator] ${line}\n`);
  };

  const countFault = (kind: FaultKind) => {
    stats.faults[kind] = (stats.faults[kind] ?? 0) + 1;
  };

  const currentBody = (job: Job): TranscriptBody => {
    if (job.deleted) return job.deleted;
    const elapsed = Date.now() - job.submittedAt;
    const pending = pendingTranscript(
      job.id,
      job.params,
      elapsed < processingDelayMs / 3 ? 'queued' : 'processing',
    );
    const due = elapsed >= processingDelayMs && job.fault?.kind !== 'never-complete';
    if (!due || !job.inspection) return pending;
    if (job.fault?.kind === 'transcript-error') {
      return failedTranscript(pending, job.fault.message ?? DEFAULT_TRANSCRIPT_ERROR);
    }
    if (!job.inspection.ok) return failedTranscript(pending, job.inspection.error);
    const content =
      job.inspection.sha256 === sample.sha256
        ? sample.transcript
        : placeholderContent(job.inspection.durationSeconds);
    return completedTranscript(pending, job.params, content);
  };

  const startDownload = (job: Job) => {
    const download = downloadAndInspectAudio(job.params.audio_url, shutdown.signal)
      .then((inspection) => {
        job.inspection = inspection;
        log(`download ${pathWithoutQuery(job.params.audio_url)} ${inspection.ok ? 'audio' : 'failed'}`);
      })
      .catch(() => undefined)
      .finally(() => downloads.delete(download));
    downloads.add(download);
  };

  const submit = async (req: IncomingMessage, res: ServerResponse) => {
    const params = parseSubmitParams(await readJsonBody(req));
    if ('error' in params) throw new HttpError(400, params.error);
    const job: Job = { id: randomUUID(), params, submittedAt: Date.now(), fault: plan.nextJobFault() };
    if (job.fault) countFault(job.fault.kind);
    jobs.set(job.id, job);
    stats.transcripts.push({ id: job.id, audioPath: pathWithoutQuery(params.audio_url) });
    startDownload(job);
    sendJson(res, 200, pendingTranscript(job.id, params, 'queued'));
  };

  /** `GET /v2/transcript`: newest first, as AssemblyAI lists them (`limit`, `created_on`, `before_id`). */
  const list = (req: IncomingMessage, res: ServerResponse) => {
    const query = new URL(req.url ?? '/', 'http://emulator').searchParams;
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 10) || 10, 1), 200);
    const createdOn = query.get('created_on');
    const beforeId = query.get('before_id');
    const newestFirst = [...jobs.values()]
      .filter((job) => !createdOn || new Date(job.submittedAt).toISOString().startsWith(createdOn))
      .sort((a, b) => b.submittedAt - a.submittedAt);
    const start = beforeId ? newestFirst.findIndex((job) => job.id === beforeId) + 1 : 0;
    const page = newestFirst.slice(start, start + limit);
    const last = page.at(-1);
    const base = `http://${req.headers.host}/v2/transcript`;
    sendJson(res, 200, {
      page_details: {
        limit,
        result_count: page.length,
        current_url: `${base}?${query}`,
        // Like AssemblyAI: absolute, pointing at older transcripts.
        prev_url:
          last && start + limit < newestFirst.length ? `${base}?limit=${limit}&before_id=${last.id}` : null,
        next_url: null,
      },
      transcripts: page.map((job) => {
        const body = currentBody(job);
        return {
          id: job.id,
          resource_url: `${base}/${job.id}`,
          status: body.status,
          // Like AssemblyAI: no time zone (it is UTC).
          created: new Date(job.submittedAt).toISOString().replace('Z', ''),
          completed: body.status === 'completed' ? new Date().toISOString().replace('Z', '') : null,
          audio_url: job.params.audio_url,
          error: body.status === 'error' ? (body.error ?? null) : null,
        };
      }),
    });
  };

  const findJob = (id: string): Job => {
    const job = jobs.get(id);
    if (!job) throw new HttpError(400, 'Transcript lookup error, transcript id not found');
    return job;
  };

  /** Answers with the fault, or returns true when the request should go on (none, or `slow`). */
  const applyHttpFault = async (
    fault: HttpFault,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean> => {
    countFault(fault.kind);
    switch (fault.kind) {
      case 'rate-limit': {
        const retryAfter = String(fault.retryAfterSeconds ?? 1);
        sendJson(res, 429, { error: 'Too Many Requests' }, { 'Retry-After': retryAfter });
        return false;
      }
      case 'server-error':
        sendJson(res, fault.status ?? 500, { error: 'Internal Server Error' });
        return false;
      case 'drop-connection':
        req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/js', () => req.socket.destroy());
        return false;
      case 'slow':
        await sleep(fault.delayMs, undefined, { signal: shutdown.signal });
        return true;
      case 'lose-response':
        res.writeHead = () => res;
        res.end = () => {
          req.socket.destroy();
          return res;
        };
        return true;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    res.on('finish', () => log(`${req.method} ${path} ${res.statusCode}`));
    const route = matchRoute(req.method, path);
    if (!route) throw new HttpError(404, 'Not found');
    if (route.name === 'submit') stats.submissions += 1;
    else if (route.name === 'get' || route.name === 'list') stats.gets += 1;
    else stats.deletes += 1;

    const fault = plan.nextHttpFault(route.name === 'list' ? 'get' : route.name);
    if (fault && !(await applyHttpFault(fault, req, res))) {
      if (fault.kind === 'drop-connection') log(`${req.method} ${path} dropped`);
      return;
    }
    if (req.headers.authorization !== apiKey) {
      throw new HttpError(401, 'Authentication error, API token missing/invalid');
    }
    if (route.name === 'submit') return submit(req, res);
    if (route.name === 'list') return list(req, res);
    const job = findJob(route.id);
    if (route.name === 'delete' && !job.deleted) job.deleted = deletedTranscript(currentBody(job));
    sendJson(res, 200, currentBody(job));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
      else if (shutdown.signal.aborted) req.socket.destroy();
      else sendJson(res, 500, { error: 'Internal Server Error' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    apiKey,
    injectFault: (fault) => plan.add(fault),
    clearFaults: () => plan.clear(),
    stats: () => structuredClone(stats),
    close() {
      closing ??= (async () => {
        shutdown.abort();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.allSettled([closed, ...downloads]);
      })();
      return closing;
    },
  };
}
