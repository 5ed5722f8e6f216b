/**
 * A local HTTP server speaking the part of AssemblyAI's REST API the workflow uses (submit, get,
 * list, delete), so the official `assemblyai` SDK runs unchanged against it with `baseUrl` set.
 * Its requests and answers are checked against AssemblyAI's OpenAPI spec in
 * test/local/emulator-spec.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { routeSpeechModel } from '../../lambdas/shared/assemblyai-catalog.js';
import { downloadAndInspectAudio } from './audio.js';
import {
  type Fault,
  type FaultKind,
  FaultPlan,
  type HttpFault,
  HUGE_ERROR_BYTES,
  type JobFault,
  type MalformedAnswerVariant,
  type MalformedTranscriptVariant,
  seededRandom,
  type WebhookFault,
} from './faults.js';
import { loadBundledSample } from './sample.js';
import { parseSubmitParams } from './submit-params.js';
import {
  completedTranscript,
  DELETED_URL,
  deletedTranscript,
  detectLanguage,
  failedTranscript,
  type JobLanguage,
  lowLanguageConfidenceMessage,
  pendingTranscript,
  piiLanguageMessage,
  placeholderContent,
  redactionPossible,
  type SubmitParams,
  type TranscriptBody,
  type TranscriptContent,
} from './transcripts.js';
import { type WebhookDelivery, type WebhookJobState, WebhookScheduler } from './webhooks.js';

export type { Fault, FaultKind, FaultRoute, HttpFault, JobFault, WebhookFault } from './faults.js';
export type { WebhookDelivery } from './webhooks.js';

/** What a download tells about the audio: `durationSeconds` is null when the container does not say. */
export type InspectedAudio =
  | { ok: true; durationSeconds: number | null; sha256: string }
  | { ok: false; error: string };

export interface EmulatorOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** The `Authorization` header value accepted (with any of `apiKeys`). @default apiKeys[0], else 'emulator-key' */
  apiKey?: string;
  /**
   * Further keys accepted besides `apiKey`, as keys of one project (they see the same transcripts):
   * both keys of a key rotation. @default - only `apiKey`
   */
  apiKeys?: string[];
  /** Time from submit to completed; the first third of it the job is `queued`. @default 1500 */
  processingDelayMs?: number;
  /**
   * Per-job processing time (ms), called once when a job is created with its `audio_url`; e.g. a
   * benchmark's model of AssemblyAI's turnaround by audio length. @default - `processingDelayMs`
   */
  processingDelayMsFor?: (audioUrl: string) => number;
  faults?: Fault[];
  /** Seed of the PRNG behind fault `probability`. @default 1 */
  seed?: number;
  /**
   * The language any audio other than the bundled sample "really" is, for language detection
   * (the sample is Russian). @default 'en' (the test fixtures say "hello world")
   */
  spokenLanguage?: string;
  /** Downloads and judges `audio_url`. @default downloadAndInspectAudio (audio.ts) */
  inspectAudio?: (url: string, signal: AbortSignal) => Promise<InspectedAudio>;
  /**
   * Log method, path (never the query) and status of each request to stderr, and each webhook
   * attempt's outcome (transcript id and answer, never the URL or the auth header). @default false
   */
  verbose?: boolean;
  /** Latency between a job's completion and the first attempt of its webhook. @default 0 */
  webhookDelayMs?: number;
  /**
   * Wait between the end of a failed webhook attempt and the next one. AssemblyAI does not
   * document its interval: an assumption. @default 10_000
   */
  webhookRetryDelayMs?: number;
  /** How long a webhook attempt waits for a 2xx (AssemblyAI: 10 s), in real time. @default 10_000 */
  webhookTimeoutMs?: number;
}

export interface EmulatorStats {
  /** `POST /v2/transcript` requests received, whatever the answer. */
  submissions: number;
  /** `GET /v2/transcript/:id` and `GET /v2/transcript` (list) requests received. */
  gets: number;
  /** `DELETE /v2/transcript/:id` requests received. */
  deletes: number;
  /** Jobs created, in order (also those whose answer was lost or slow); `audioPath` is the audio_url's path without its query string. */
  transcripts: {
    id: string;
    audioPath: string;
    /** The request options the job was submitted with (the transcript echoes them until it is deleted). */
    options: Pick<SubmitParams, 'speakers_expected' | 'speaker_options' | 'keyterms_prompt'>;
  }[];
  /** Faults that fired, by kind. */
  faults: Partial<Record<FaultKind, number>>;
  /** Of `gets`, the list requests. */
  lists: number;
  /** DELETEs answered 200 (the transcript is in its deleted form). */
  deletesSucceeded: number;
  /** Submit body fields the spec does not define, in order received (accepted, as their fate at AssemblyAI is undocumented). */
  unknownSubmitFields: string[];
  /** Webhook attempts sent (lost ones included), and those answered 2xx. */
  webhooks: { attempts: number; delivered: number };
}

export interface AssemblyAIEmulator {
  /** Base URL for `new AssemblyAI({ apiKey, baseUrl })`, e.g. `http://127.0.0.1:8787`. */
  url: string;
  apiKey: string;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  stats(): EmulatorStats;
  /**
   * The JSON bodies of every `POST /v2/transcript` that passed authentication, as received. Unlike
   * `stats()` they hold full audio URLs (presigned queries included): for tests that check requests.
   */
  submitBodies(): unknown[];
  /** Every webhook attempt, in the order sent. */
  webhookDeliveries(): WebhookDelivery[];
  /**
   * What AssemblyAI "hears" in the audio with this SHA-256, instead of the placeholder: lets a test
   * give a transcript words that redaction, diarization or captions must handle.
   */
  addKnownTranscript(sha256: string, content: TranscriptContent): void;
  /**
   * The `Date.now()` time (ms) at which the earliest webhook attempt not sent yet is due — also of
   * jobs still processing (their completion + the delay) — or undefined when none is pending.
   */
  nextWebhookDueAt(): number | undefined;
  /** Stops the server and the webhook scheduler, and waits for downloads and deliveries in flight (aborted). */
  close(): Promise<void>;
}

interface Job {
  id: string;
  params: SubmitParams;
  createdAt: number;
  fault?: JobFault;
  inspection?: InspectedAudio;
  inspectedAt?: number;
  /** The body DELETE left; frozen from then on. */
  deleted?: TranscriptBody;
  /** When the job finished (completed or error), once it has. */
  finishedAt?: number;
  /** Time from submit to completed for this job. */
  processingDelayMs: number;
  /** The HTTP status of the last answered webhook attempt. */
  webhookStatusCode?: number;
}

type Route = { name: 'submit' } | { name: 'list' } | { name: 'get' | 'delete'; id: string };

/** An answer before faults that alter answers (`slow`, `lose-response`, `malformed-answer`) apply. */
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TRANSCRIPT_ERROR = 'Server error, developers have been alerted.';
const TRANSCRIPT_PATH = /^\/v2\/transcript\/([^/]+)$/;
const STATUSES = ['queued', 'processing', 'completed', 'error'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const REFUSED_DELETE_MESSAGE =
  'Transcript is still being processed and cannot be deleted. Wait until its status is completed or error, then delete it.';
const HTML_ERROR_PAGE =
  '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n';

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

function send(res: ServerResponse, reply: Reply, contentType = 'application/json; charset=utf-8'): void {
  const payload =
    typeof reply.body === 'string' && !contentType.startsWith('application/json')
      ? reply.body
      : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(payload),
    ...reply.headers,
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

/** AssemblyAI's list times: UTC, microseconds, no zone (`2023-11-02T21:49:25.586965`). */
const providerTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, -1)}000`;

/** A text of `HUGE_ERROR_BYTES`, like a stack trace pasted into an error field. */
function hugeText(prefix: string): string {
  const line = 'Traceback (most recent call last): File "/app/worker/transcribe.py", line 412, in run\n';
  return `${prefix}\n${line.repeat(Math.ceil(HUGE_ERROR_BYTES / line.length))}`.slice(0, HUGE_ERROR_BYTES);
}

/** Words and utterances that break the contract (times in ms, text strings, speakers letters). */
function malformedContent(body: TranscriptBody, variant: MalformedTranscriptVariant): TranscriptBody {
  const broken: Record<MalformedTranscriptVariant, { words: unknown[]; utterances: unknown[] }> = {
    'null-fields': {
      words: [{ speaker: 1, text: null, start: null, end: 400, confidence: 0.9 }],
      utterances: [{ speaker: 1, text: null, start: null, end: 400, confidence: 0.9, words: [] }],
    },
    'missing-end': {
      words: [{ speaker: 'A', text: 'Hello', start: 0, confidence: 0.9 }],
      utterances: [{ speaker: 'A', text: 'Hello', start: 0, confidence: 0.9, words: [] }],
    },
    'negative-times': {
      words: [{ speaker: 'A', text: 'Hello', start: -500, end: -1200, confidence: 0.9 }],
      utterances: [{ speaker: 'A', text: 'Hello', start: -500, end: -1200, confidence: 0.9, words: [] }],
    },
  };
  return { ...body, ...(broken[variant] as Pick<TranscriptBody, 'words' | 'utterances'>) };
}

function malformedAnswer(
  body: unknown,
  variant: MalformedAnswerVariant,
): { body: unknown; contentType?: string } {
  const object = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  switch (variant) {
    case 'empty-object':
      return { body: {} };
    case 'json-string':
      return { body: 'completed' };
    case 'html':
      return { body: HTML_ERROR_PAGE, contentType: 'text/html; charset=utf-8' };
    case 'no-status': {
      const { status: _status, ...rest } = object;
      return { body: rest };
    }
    case 'unknown-status':
      return { body: { ...object, status: 'transcribing' } };
  }
}

const nonNegative = (name: string, value: number | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a number >= 0`);
  return value;
};

export async function startEmulator(options: EmulatorOptions = {}): Promise<AssemblyAIEmulator> {
  const webhookDelayMs = nonNegative('webhookDelayMs', options.webhookDelayMs, 0);
  const webhookRetryDelayMs = nonNegative('webhookRetryDelayMs', options.webhookRetryDelayMs, 10_000);
  const webhookTimeoutMs = nonNegative('webhookTimeoutMs', options.webhookTimeoutMs, 10_000);
  const apiKey = options.apiKey ?? options.apiKeys?.[0] ?? 'emulator-key';
  const acceptedKeys = new Set([apiKey, ...(options.apiKeys ?? [])]);
  if ([...acceptedKeys].some((key) => key === '')) throw new RangeError('An API key must not be empty');
  const authorized = (req: IncomingMessage) =>
    req.headers.authorization !== undefined && acceptedKeys.has(req.headers.authorization);
  const processingDelayMs = options.processingDelayMs ?? 1500;
  const host = options.host ?? '127.0.0.1';
  const spokenLanguage = options.spokenLanguage ?? 'en';
  const inspectAudio = options.inspectAudio ?? downloadAndInspectAudio;
  const sample = await loadBundledSample();
  const known = new Map<string, TranscriptContent>();
  const plan = new FaultPlan(seededRandom(options.seed ?? 1), options.faults);
  const jobs = new Map<string, Job>();
  const downloads = new Set<Promise<void>>();
  const shutdown = new AbortController();
  const submitBodies: unknown[] = [];
  const stats: EmulatorStats = {
    submissions: 0,
    gets: 0,
    deletes: 0,
    transcripts: [],
    faults: {},
    lists: 0,
    deletesSucceeded: 0,
    unknownSubmitFields: [],
    webhooks: { attempts: 0, delivered: 0 },
  };
  const log = (line: string) => {
    if (options.verbose) process.stderr.write(`[assemblyai-emulator] ${line}\n`);
  };

  const countFault = (kind: FaultKind) => {
    stats.faults[kind] = (stats.faults[kind] ?? 0) + 1;
  };

  /** The language and model of a finished job, or the job error they lead to. */
  const jobLanguage = (job: Job, content: TranscriptContent, duration: number | null) => {
    const { params } = job;
    let language: Omit<JobLanguage, 'speech_model_used'>;
    if (params.language_code) {
      language = { language_code: params.language_code, language_confidence: null };
    } else if (params.language_detection) {
      const detected = detectLanguage(content.language_code, duration, params.language_detection_options);
      language = detected;
      const threshold = params.language_confidence_threshold ?? 0;
      if (detected.language_confidence < threshold) {
        return { language, error: lowLanguageConfidenceMessage(detected, threshold) };
      }
    } else {
      language = { language_code: 'en_us', language_confidence: null };
    }
    const model = routeSpeechModel(params.speech_models, language.language_code);
    if (!model) {
      const error = `The detected language '${language.language_code}' is not supported by the requested speech_models (${params.speech_models.join(', ')}).`;
      return { language, error };
    }
    if (!redactionPossible(params, language.language_code)) {
      return { language, error: piiLanguageMessage(language.language_code) };
    }
    return { language: { ...language, speech_model_used: model } };
  };

  /** The finished transcript (completed or error), computed from the download and the job's fault. */
  const finishedBody = (job: Job, pending: TranscriptBody, inspection: InspectedAudio): TranscriptBody => {
    const fault = job.fault;
    if (fault?.kind === 'transcript-error') {
      return failedTranscript(pending, fault.message ?? DEFAULT_TRANSCRIPT_ERROR);
    }
    if (fault?.kind === 'huge-error') return failedTranscript(pending, hugeText(DEFAULT_TRANSCRIPT_ERROR));
    if (!inspection.ok) return failedTranscript(pending, inspection.error);
    const duration = inspection.durationSeconds;
    const isSample = inspection.sha256 === sample.sha256;
    const content =
      known.get(inspection.sha256) ??
      (isSample ? sample.transcript : placeholderContent(duration, spokenLanguage));
    const outcome = jobLanguage(job, content, duration);
    if ('error' in outcome && outcome.error)
      return failedTranscript(pending, outcome.error, outcome.language);
    const completed = completedTranscript(pending, job.params, content, outcome.language as JobLanguage);
    if (fault?.kind === 'malformed-transcript')
      return malformedContent(completed, fault.variant ?? 'null-fields');
    return completed;
  };

  const isFinal = (job: Job, now: number) =>
    job.inspection !== undefined &&
    now - job.createdAt >= job.processingDelayMs &&
    job.fault?.kind !== 'never-complete';

  const currentBody = (job: Job, now = Date.now()): TranscriptBody => {
    if (job.deleted) return job.deleted;
    const elapsed = now - job.createdAt;
    const pending = pendingTranscript(
      job.id,
      job.params,
      elapsed < job.processingDelayMs / 3 ? 'queued' : 'processing',
    );
    pending.webhook_status_code = job.webhookStatusCode ?? null;
    if (!isFinal(job, now) || !job.inspection) return pending;
    job.finishedAt ??= Math.max(job.createdAt + job.processingDelayMs, job.inspectedAt ?? now);
    return finishedBody(job, pending, job.inspection);
  };

  const webhookJobState = (id: string, now: number): WebhookJobState => {
    const job = jobs.get(id);
    if (!job || job.deleted || job.fault?.kind === 'never-complete') return { kind: 'never' };
    if (!isFinal(job, now)) {
      return {
        kind: 'pending',
        earliestFinishAt: Math.max(job.createdAt + job.processingDelayMs, job.inspectedAt ?? 0),
      };
    }
    const { status } = currentBody(job, now);
    return {
      kind: 'final',
      status: status === 'error' ? 'error' : 'completed',
      finishedAt: job.finishedAt ?? now,
    };
  };

  const webhooks = new WebhookScheduler({
    delayMs: webhookDelayMs,
    retryDelayMs: webhookRetryDelayMs,
    timeoutMs: webhookTimeoutMs,
    jobState: webhookJobState,
    onAnswer: (id, status) => {
      const job = jobs.get(id);
      if (job && !job.deleted) job.webhookStatusCode = status;
    },
    log,
    signal: shutdown.signal,
  });

  const isPending = (job: Job) => {
    const status = currentBody(job).status;
    return status === 'queued' || status === 'processing';
  };

  const startDownload = (job: Job) => {
    const download = inspectAudio(job.params.audio_url, shutdown.signal)
      .then((inspection) => {
        job.inspection = inspection;
        job.inspectedAt = Date.now();
        log(`download ${pathWithoutQuery(job.params.audio_url)} ${inspection.ok ? 'audio' : 'failed'}`);
        webhooks.check();
      })
      .catch(() => undefined)
      .finally(() => downloads.delete(download));
    downloads.add(download);
  };

  const submit = async (req: IncomingMessage): Promise<Reply> => {
    const body = await readJsonBody(req);
    submitBodies.push(structuredClone(body));
    const parsed = parseSubmitParams(body);
    if ('error' in parsed) throw new HttpError(400, parsed.error);
    const { params, unknownFields } = parsed;
    stats.unknownSubmitFields.push(...unknownFields);
    const job: Job = {
      id: randomUUID(),
      params,
      createdAt: Date.now(),
      fault: plan.nextJobFault(),
      processingDelayMs: options.processingDelayMsFor?.(params.audio_url) ?? processingDelayMs,
    };
    if (job.fault) countFault(job.fault.kind);
    jobs.set(job.id, job);
    if (typeof params.webhook_url === 'string' && params.webhook_url !== '') {
      const webhookFault: WebhookFault | undefined = plan.nextWebhookFault();
      if (webhookFault) countFault(webhookFault.kind);
      webhooks.add(
        job.id,
        {
          url: params.webhook_url,
          headerName: params.webhook_auth_header_name ?? undefined,
          headerValue: params.webhook_auth_header_value ?? undefined,
        },
        webhookFault,
      );
    }
    stats.transcripts.push({
      id: job.id,
      audioPath: pathWithoutQuery(params.audio_url),
      options: {
        ...(params.speakers_expected != null && { speakers_expected: params.speakers_expected }),
        ...(params.speaker_options && { speaker_options: params.speaker_options }),
        ...(params.keyterms_prompt && { keyterms_prompt: params.keyterms_prompt }),
      },
    });
    startDownload(job);
    return { status: 200, body: pendingTranscript(job.id, params, 'queued') };
  };

  const findJob = (id: string): Job => {
    const job = jobs.get(id);
    if (!job) throw new HttpError(400, 'Transcript lookup error, transcript id not found');
    return job;
  };

  /**
   * `GET /v2/transcript`: newest first; `status`, `created_on` (UTC date), `limit` (1–200, default
   * 10), `before_id` (older than) and `after_id` (newer than; the page adjacent to it). Like the
   * recorded pages, a non-empty page links `prev_url` (older, before its last id) and `next_url`
   * (newer, after its first id), both absolute.
   */
  const list = (req: IncomingMessage): Reply => {
    const query = new URL(req.url ?? '/', 'http://emulator').searchParams;
    const limitText = query.get('limit') ?? '10';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 200) {
      throw new HttpError(400, 'limit must be an Integer between 1 and 200');
    }
    const status = query.get('status');
    if (status !== null && !STATUSES.includes(status)) {
      throw new HttpError(400, `status must be one of ${STATUSES.join(', ')}`);
    }
    const createdOn = query.get('created_on');
    if (createdOn !== null && !DATE.test(createdOn)) {
      throw new HttpError(400, 'created_on must be a date (YYYY-MM-DD)');
    }
    const beforeId = query.get('before_id');
    const afterId = query.get('after_id');
    const before = beforeId === null ? undefined : findJob(beforeId);
    const after = afterId === null ? undefined : findJob(afterId);
    if (before && after && after.createdAt >= before.createdAt) {
      throw new HttpError(400, "'after_id' must be a newer transcript than 'before_id'");
    }
    const now = Date.now();
    // Insertion order is creation order; ties in createdAt keep it.
    const order = [...jobs.values()];
    const newerThan = (a: Job, b: Job) =>
      a.createdAt !== b.createdAt ? a.createdAt > b.createdAt : order.indexOf(a) > order.indexOf(b);
    const matching = order
      .filter((job) => !before || newerThan(before, job))
      .filter((job) => !after || newerThan(job, after))
      .filter((job) => !createdOn || new Date(job.createdAt).toISOString().startsWith(createdOn))
      .filter((job) => !status || currentBody(job, now).status === status)
      .reverse();
    // after_id alone: the `limit` transcripts just newer than it, still newest first.
    const page = after && !before ? matching.slice(-limit) : matching.slice(0, limit);
    const base = `http://${req.headers.host}/v2/transcript`;
    const first = page[0];
    const last = page.at(-1);
    return {
      status: 200,
      body: {
        page_details: {
          limit,
          result_count: page.length,
          current_url: `${base}${query.size > 0 ? `?${query}` : ''}`,
          prev_url: last ? `${base}?limit=${limit}&before_id=${last.id}` : null,
          next_url: first ? `${base}?limit=${limit}&after_id=${first.id}` : null,
        },
        transcripts: page.map((job) => {
          const body = currentBody(job, now);
          return {
            id: job.id,
            resource_url: `${base}/${job.id}`,
            status: body.status,
            created: providerTime(job.createdAt),
            completed: body.status === 'completed' && job.finishedAt ? providerTime(job.finishedAt) : null,
            audio_url: job.deleted ? DELETED_URL : job.params.audio_url,
            error: body.status === 'error' ? (body.error ?? null) : null,
          };
        }),
      },
    };
  };

  const remove = (id: string): Reply => {
    const job = findJob(id);
    job.deleted ??= deletedTranscript(currentBody(job));
    webhooks.cancel(job.id);
    stats.deletesSucceeded += 1;
    return { status: 200, body: job.deleted };
  };

  const processRequest = async (route: Route, req: IncomingMessage): Promise<Reply> => {
    if (!authorized(req)) {
      throw new HttpError(401, 'Authentication error, API token missing/invalid');
    }
    switch (route.name) {
      case 'submit':
        return submit(req);
      case 'list':
        return list(req);
      case 'get':
        return { status: 200, body: currentBody(findJob(route.id)) };
      case 'delete':
        return remove(route.id);
    }
  };

  /** Answers instead of the service (true), or lets the request be processed (false). */
  const answersInstead = (fault: HttpFault, req: IncomingMessage, res: ServerResponse): boolean => {
    switch (fault.kind) {
      case 'rate-limit': {
        const retryAfter = String(fault.retryAfterSeconds ?? 1);
        send(res, {
          status: 429,
          body: { error: 'Too Many Requests' },
          headers: { 'Retry-After': retryAfter },
        });
        return true;
      }
      case 'server-error':
        send(res, { status: fault.status ?? 500, body: { error: 'Internal Server Error' } });
        return true;
      case 'huge-error':
        send(res, { status: 500, body: { error: hugeText('Internal Server Error') } });
        return true;
      case 'refuse-delete-while-processing':
        send(res, { status: 400, body: { error: REFUSED_DELETE_MESSAGE } });
        return true;
      case 'drop-connection':
        req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/js', () => req.socket.destroy());
        return true;
      default:
        return false;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    res.on('finish', () => log(`${req.method} ${path} ${res.statusCode}`));
    webhooks.check();
    const route = matchRoute(req.method, path);
    if (!route) {
      send(res, { status: 404, body: { error: 'Not found' } });
      return;
    }
    if (route.name === 'submit') stats.submissions += 1;
    else if (route.name === 'get' || route.name === 'list') stats.gets += 1;
    else stats.deletes += 1;
    if (route.name === 'list') stats.lists += 1;

    const deletingPendingJob = () => {
      if (route.name !== 'delete' || !authorized(req)) return false;
      const job = jobs.get(route.id);
      return job !== undefined && !job.deleted && isPending(job);
    };
    const fault = plan.nextHttpFault(route.name === 'list' ? 'get' : route.name, (f) =>
      f.kind === 'refuse-delete-while-processing' ? deletingPendingJob() : true,
    );
    if (fault) countFault(fault.kind);
    if (fault && answersInstead(fault, req, res)) {
      if (fault.kind === 'drop-connection') log(`${req.method} ${path} dropped`);
      return;
    }

    // The request is processed whatever happens to its answer: a submit creates its job here.
    let reply: Reply;
    try {
      reply = await processRequest(route, req);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reply = { status: error.status, body: { error: error.message } };
    }
    let contentType: string | undefined;
    if (fault?.kind === 'malformed-answer' && reply.status === 200) {
      const malformed = malformedAnswer(reply.body, fault.variant ?? 'empty-object');
      reply = { ...reply, body: malformed.body };
      contentType = malformed.contentType;
    }
    if (fault?.kind === 'slow') await sleep(fault.delayMs, undefined, { signal: shutdown.signal });
    if (fault?.kind === 'lose-response' || req.socket.destroyed) {
      req.socket.destroy();
      return;
    }
    send(res, reply, contentType);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (res.headersSent || req.socket.destroyed) return;
      if (shutdown.signal.aborted) req.socket.destroy();
      else send(res, { status: 500, body: { error: 'Internal Server Error' } });
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
    stats: () => ({ ...structuredClone(stats), webhooks: webhooks.counts() }),
    submitBodies: () => structuredClone(submitBodies),
    webhookDeliveries: () => webhooks.deliveries(),
    addKnownTranscript: (sha256, content) => {
      known.set(sha256, structuredClone(content));
    },
    nextWebhookDueAt: () => webhooks.nextDueAt(),
    close() {
      closing ??= (async () => {
        shutdown.abort();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await Promise.allSettled([closed, ...downloads, webhooks.close()]);
      })();
      return closing;
    },
  };
}
