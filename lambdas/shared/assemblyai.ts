/**
 * The transcription provider behind one small interface. Everything AssemblyAI-specific (the
 * SDK, request parameters, HTTP error classification, the job's error strings) lives here, so a
 * webhook mode or another provider changes this module only.
 */
import { createHash } from 'node:crypto';
import { type ParsedTokenInfo, Tokenizer, TokenParser, TokenType } from '@streamparser/json';
import { FileService, type Transcript, type TranscriptParams, TranscriptService } from 'assemblyai';
import {
  AudioDownloadFailed,
  AudioTooShort,
  ProviderRateLimited,
  ProviderRejected,
  ProviderUnavailable,
  type TranscriptionError,
  TranscriptionFailed,
  UnsupportedAudioFormat,
} from './errors.js';

export type ProviderTranscript = Transcript;

/**
 * What Format reads of the stored transcript. The object Check stores is AssemblyAI's whole answer
 * as it came (see ProviderJob), so it holds these and every other field AssemblyAI sends; objects
 * stored by earlier versions hold only these.
 */
export type StoredTranscript = Pick<
  Transcript,
  'id' | 'language_code' | 'audio_duration' | 'text' | 'words' | 'utterances'
> & {
  /** Which model ran (`speech_models` is a priority list); absent in transcripts stored before this field. */
  speech_model_used?: string | null;
  /** 0–1 when the language was detected; null when it was given. */
  language_confidence?: number | null;
  /** Echoed from the request: whether PII was redacted, and by which policies. */
  redact_pii?: boolean | null;
  redact_pii_policies?: string[] | null;
};

/**
 * A job as `get` reads it. Only the top-level fields the workflow routes on are parsed
 * (`checkedAnswer`, `isDeletedTranscript` and `classifyJobError` read nothing else), so a ten-hour
 * transcript — ~19 MB, every word twice, in `words` and in its utterance — is never held as objects:
 * a completed one stays the bytes AssemblyAI sent, which Check stores as they are. A 200 answer that
 * is not a JSON object comes back as parsed, for `checkedAnswer` to refuse.
 */
export interface ProviderJob {
  id?: string;
  status?: Transcript['status'];
  /** A failed job's reason, as AssemblyAI wrote it. */
  error?: string | null;
  audio_url?: string;
  /** Only when short (a deleted transcript's `Deleted by user.`): a transcript's text stays in `body`. */
  text?: string | null;
  /**
   * A completed job's whole answer: UTF-8 JSON exactly as AssemblyAI sent it, except that its
   * top-level `audio_url` member (a presigned URL of our own bucket) is overwritten with spaces.
   */
  body?: Uint8Array;
}

export interface SubmitRequest {
  /** A presigned GET URL: the provider downloads the audio itself. */
  audioUrl: string;
  /** Absent: automatic language detection. */
  languageCode?: string;
  speakersExpected?: number;
  /** A speaker range (AssemblyAI's `speaker_options`), instead of `speakersExpected`. */
  speakersRange?: { min?: number; max?: number };
  /** AssemblyAI's `keyterms_prompt`, already checked against the models' limits. */
  keyterms?: string[];
  /** Redact these PII policies; entities become `[POLICY_NAME]` in the text and words. */
  redactPii?: { policies: string[] };
  /** Webhook mode: AssemblyAI POSTs `{transcript_id, status}` here when the job ends, with this header. */
  webhook?: WebhookTarget;
}

/** Where AssemblyAI delivers a job's webhook, and the secret header it sends back (it signs nothing). */
export interface WebhookTarget {
  url: string;
  authHeaderName: string;
  authHeaderValue: string;
}

export interface SubmittedJob {
  id: string;
  status: Transcript['status'];
}

export interface TranscriptionProvider {
  submit(request: SubmitRequest): Promise<SubmittedJob>;
  /**
   * The job created since `since` (the caller's marker time; the lookup allows for clock skew
   * between Lambda and AssemblyAI) whose `audio_url` has this digest (`audioUrlDigest`), if any: how
   * a retried Submit finds the job an interrupted attempt may have created (AssemblyAI has no
   * idempotency key). The URL is unique to the attempt that signed it, so a job of another
   * execution — the same file, forced again — is never adopted.
   */
  findSubmitted(audioUrlDigest: string, since: Date): Promise<SubmittedJob | undefined>;
  /** The job's routing fields, and a completed transcript's body as bytes (see ProviderJob). */
  get(id: string): Promise<ProviderJob>;
  delete(id: string): Promise<void>;
}

/** How the language is chosen when a request does not name it (see WorkflowConfig). */
export interface LanguageDetectionPolicy {
  /** Published codes, or `['all']`. */
  expectedLanguages: string[];
  /** A published code, or `auto`. */
  fallbackLanguage: string;
  /** 0 = off: AssemblyAI fails a job whose detected language is less certain than this. */
  confidenceThreshold: number;
}

/**
 * The keys of a deployment (the secret's JSON form, parsed by `clients.ts`): the one in use and,
 * while a rotation is under way, the one replacing it. Both are keys of the same AssemblyAI project.
 */
export interface ApiKeys {
  current: string;
  next?: string;
}

/** Logged (WARN) once per cold start when the next key answers after the current one was refused. */
export const NEXT_KEY_IN_USE_WARNING =
  'The next AssemblyAI key is in use (the current one was refused with HTTP 401): finish the rotation (transcription rotate-key --finish)';

export interface AssemblyAIOptions {
  /**
   * Resolved per call so a rotated secret is picked up when the cache expires: one key, or the
   * current and next keys of a rotation (a 401 with one is tried once more with the other).
   */
  apiKey: () => Promise<string | ApiKeys>;
  /**
   * Called once per provider (per cold start) the first time the next key is used because the
   * current one was refused. Never given a key. @default console.warn(NEXT_KEY_IN_USE_WARNING),
   * which Lambda's JSON log format records at level WARN
   */
  onNextKeyInUse?: () => void;
  baseUrl: string;
  speechModels: string[];
  languageDetection: LanguageDetectionPolicy;
  timeoutMs: number;
  /** Transcripts per page when looking for a lost job. @default 200 (AssemblyAI's maximum) */
  lookupPageSize?: number;
}

/** AssemblyAI ids are UUID-like; the SDK does not URL-encode them, so nothing else may reach a path. */
const TRANSCRIPT_ID = /^[A-Za-z0-9-]{1,64}$/;

export function isTranscriptId(value: unknown): value is string {
  return typeof value === 'string' && TRANSCRIPT_ID.test(value);
}

/** SHA-256 of an audio URL as submitted: recorded instead of the URL, which is a credential. */
export function audioUrlDigest(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/**
 * The longest provider text that may enter a state, a result or a log line. AssemblyAI's errors
 * are a sentence; a 300 KB one (seen) would otherwise become a state over Step Functions' 256 KB
 * limit, which no Catch handles.
 */
export const MAX_PROVIDER_TEXT = 300;

/** Cuts provider text to `MAX_PROVIDER_TEXT` characters (never inside a surrogate pair). */
export function capProviderText(text: string): string {
  if (text.length <= MAX_PROVIDER_TEXT) return text;
  let cut = '';
  for (const codePoint of text) {
    if (cut.length + codePoint.length > MAX_PROVIDER_TEXT - 1) break;
    cut += codePoint;
  }
  return `${cut}…`;
}

/** Whether a presigned URL points at exactly this object (path-style `/bucket/key` or virtual-hosted `bucket.host/key`). */
export function urlPointsAtObject(url: string, object: { bucket: string; key: string }): boolean {
  try {
    const parsed = new URL(url);
    const path = decodeURIComponent(parsed.pathname);
    return (
      path === `/${object.bucket}/${object.key}` ||
      (parsed.hostname.startsWith(`${object.bucket}.`) && path === `/${object.key}`)
    );
  } catch {
    return false;
  }
}

/** The `audio_url` AssemblyAI shows for a deleted transcript, in GET and in the list. */
export const DELETED_AUDIO_URL = 'http://deleted_by_user';

/**
 * Virtual-hosted S3 hosts (`bucket.s3.region.amazonaws.com`, `bucket.s3-accelerate.amazonaws.com`,
 * dual-stack, China): the bucket is everything before the last `.s3.`/`.s3-` label (bucket names
 * may contain dots, S3's own labels after it do not contain `.s3`).
 */
const VIRTUAL_HOSTED_S3 = /^(.+)\.s3[.-](?:[a-z0-9-]+\.)*amazonaws\.com(?:\.cn)?$/;

/**
 * The bucket and key a (presigned) S3 URL points at: virtual-hosted (`bucket.s3….amazonaws.com/key`)
 * or path-style (`host/bucket/key`, an S3 endpoint or a local emulator). Undefined for anything
 * else, or a URL without a key.
 */
export function s3ObjectOfUrl(url: string): { bucket: string; key: string } | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
    const path = decodeURIComponent(parsed.pathname);
    const virtualHosted = VIRTUAL_HOSTED_S3.exec(parsed.hostname);
    if (virtualHosted?.[1]) {
      const key = path.slice(1);
      return key ? { bucket: virtualHosted[1], key } : undefined;
    }
    const slash = path.indexOf('/', 1);
    const bucket = path.slice(1, slash);
    const key = path.slice(slash + 1);
    return slash > 1 && key ? { bucket, key } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a (presigned) URL points at an object of exactly this bucket under `prefix`: how the
 * sweeper recognises this deployment's jobs among every job of the AssemblyAI account. Stricter
 * than `urlPointsAtObject` about the host: a virtual-hosted bucket must be the whole bucket label.
 */
export function urlPointsAtBucket(url: string, target: { bucket: string; prefix: string }): boolean {
  const object = s3ObjectOfUrl(url);
  return (
    object !== undefined &&
    object.bucket === target.bucket &&
    object.key.startsWith(target.prefix) &&
    object.key.length > target.prefix.length
  );
}

/** Pages of recent transcripts read when looking for a lost job (newest first, 200 each). */
const LOOKUP_PAGES = 5;
/** Allowance for clock skew between Lambda and AssemblyAI when matching a job to a marker time. */
const LOOKUP_CLOCK_SKEW_MS = 5_000;
/** Time the lookup may take, well inside Submit's Lambda timeout. */
const LOOKUP_BUDGET_MS = 12_000;

/** A page of `GET /v2/transcript`, as sent (the SDK's `list` converts `created` in local time). */
interface TranscriptListPage {
  transcripts: { id: string; status: Transcript['status']; created: string; audio_url: string }[];
  page_details: { prev_url: string | null };
}

/** One transcript of the list (OpenAPI `TranscriptListItem`): `audio_url` is the URL as submitted, a credential. */
export type TranscriptListItem = TranscriptListPage['transcripts'][number];

/** Reads AssemblyAI's transcript list page by page, newest first (`GET /v2/transcript`). */
export interface TranscriptLister {
  /**
   * One page: the newest `limit` transcripts (1–200), or the `limit` created just before the
   * transcript `beforeId`. `more` is false once AssemblyAI says there is no older page.
   */
  listTranscripts(page: {
    limit: number;
    beforeId?: string;
  }): Promise<{ transcripts: TranscriptListItem[]; more: boolean }>;
}

/** AssemblyAI's list sends `created` without a zone (`2023-11-02T21:49:25.586965`); it is UTC. */
export function parseProviderTime(value: string): Date {
  return new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`);
}

/**
 * Replaces URLs (presigned ones included) so a provider message is safe for logs and results:
 * any case (`HTTPS://`), JSON-escaped slashes (`https:\/\/`), and a bare presigned query that lost
 * its scheme. Runs before any cut, so a signature is never half kept.
 */
export function redactUrls(message: string): string {
  // Token by token (runs between whitespace, quotes and angle brackets), each looked at in linear
  // time: a scheme pattern tried at every position of a 300 KB run without a space, as a single
  // regex would, takes a minute and outlasts the Lambda.
  return message.replace(/[^\s"'<>]+/g, redactToken);
}

const PRESIGNED_QUERY = /X-Amz-(?:Signature|Credential|Security-Token)=/i;
const SCHEME_SEPARATOR = /:(?:\\?\/){2}/g;
const SCHEME_CHAR = /[a-z0-9+.-]/i;

/** The token with everything from its first URL's scheme on replaced; `<url>` if it holds a presigned query. */
function redactToken(token: string): string {
  if (PRESIGNED_QUERY.test(token)) return '<url>';
  for (const separator of token.matchAll(SCHEME_SEPARATOR)) {
    let start = separator.index;
    while (start > 0 && SCHEME_CHAR.test(token.charAt(start - 1))) start -= 1;
    while (start < separator.index && !/[a-z]/i.test(token.charAt(start))) start += 1;
    if (start < separator.index) return `${token.slice(0, start)}<url>`;
  }
  return token;
}

/** A body that is an HTML page (a proxy's or load balancer's error page), not AssemblyAI's JSON. */
function isHtml(body: string): boolean {
  return /^\s*(<!doctype html|<html|<head|<body)/i.test(body);
}

/** Provider text made safe to show and store: URLs redacted, HTML not echoed, length capped. */
export function safeProviderText(text: string): string {
  if (isHtml(text)) return 'an HTML error page';
  return capProviderText(redactUrls(text).replace(/\s+/g, ' ').trim());
}

/** Maps a non-2xx AssemblyAI answer to the error type the state machine routes on. */
export function classifyHttpError(
  status: number,
  body: string,
  retryAfter: string | null,
): TranscriptionError {
  const error = classifyStatus(status, body, retryAfter);
  error.httpStatus = status;
  return error;
}

function classifyStatus(status: number, body: string, retryAfter: string | null): TranscriptionError {
  let detail = body.trim();
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed?.error === 'string') detail = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  detail = safeProviderText(detail) || `HTTP ${status}`;
  if (status === 429) {
    const seconds = retryAfter?.trim() ? Number(retryAfter) : Number.NaN;
    return new ProviderRateLimited(
      `AssemblyAI rate limit reached: ${detail}`,
      Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined,
    );
  }
  if (status >= 500 || status === 408)
    return new ProviderUnavailable(`AssemblyAI is unavailable (HTTP ${status}): ${detail}`);
  return new ProviderRejected(`AssemblyAI rejected the request (HTTP ${status}): ${detail}`);
}

/** A failed job (`status: "error"`) as the most specific error type we can tell the user about. */
export function classifyJobError(providerMessage: string | null | undefined): TranscriptionError {
  const message =
    safeProviderText(typeof providerMessage === 'string' ? providerMessage : '') || 'no reason given';
  if (/too short/i.test(message))
    return new AudioTooShort(`The audio is too short to transcribe (${message})`);
  if (/download error|unable to download/i.test(message)) {
    return new AudioDownloadFailed(`AssemblyAI could not download the audio (${message})`);
  }
  if (/does not appear to contain audio|transcod|unsupported|no audio/i.test(message)) {
    return new UnsupportedAudioFormat(`The file could not be read as audio (${message})`);
  }
  if (/confidence threshold|language_confidence/i.test(message)) {
    // Only with ASSEMBLYAI_LANGUAGE_CONFIDENCE_THRESHOLD set: the job is not billed; the bot can
    // retry with the user's language as language_code.
    return new TranscriptionFailed(
      `The language of the audio could not be recognised with enough confidence; please say which language it is (${message})`,
    );
  }
  return new TranscriptionFailed(`AssemblyAI could not transcribe the audio (${message})`);
}

/**
 * AssemblyAI's detection options (OpenAPI `language_detection_options`, `language_confidence_threshold`):
 * restricting detection to the expected languages, with a fallback, is what makes a 5 s Russian
 * voice message come back Russian; `all` sends bare detection.
 */
export function languageDetectionParams(policy: LanguageDetectionPolicy): Partial<TranscriptParams> {
  const expectsAll = policy.expectedLanguages.length === 0 || policy.expectedLanguages.includes('all');
  return {
    language_detection: true,
    ...(!expectsAll && {
      language_detection_options: {
        expected_languages: policy.expectedLanguages,
        fallback_language: policy.fallbackLanguage,
      },
    }),
    ...(policy.confidenceThreshold > 0 && { language_confidence_threshold: policy.confidenceThreshold }),
  };
}

/**
 * The whole body in one buffer. Sized from Content-Length when the body is not content-encoded,
 * so no list of chunks is concatenated into a second copy; a body of another length is an error.
 */
async function readBody(response: Response): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const sized = Number.isSafeInteger(declared) && declared >= 0 && !response.headers.has('content-encoding');
  if (!response.body || !sized) {
    return new Uint8Array(await response.arrayBuffer());
  }
  const body = new Uint8Array(declared);
  let length = 0;
  for await (const chunk of response.body) {
    if (length + chunk.length > declared) throw new RangeError('The body is longer than its Content-Length');
    body.set(chunk, length);
    length += chunk.length;
  }
  if (length !== declared) throw new RangeError('The body is shorter than its Content-Length');
  return body;
}

function describeNetworkError(error: unknown): string {
  const e = error as { name?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'the request timed out';
  return e?.cause?.code ? `network error ${e.cause.code}` : 'network error';
}

/** The top-level fields of a job answer that `ProviderJob` keeps. */
const ROUTING_PATHS = ['$.id', '$.status', '$.error', '$.audio_url', '$.text'];

/** Longer `text` is a transcript's, not the `Deleted by user.` of a deleted one: it stays in the body. */
const ROUTING_TEXT_CHARS = 64;

const BYTE = { space: 0x20, quote: 0x22, comma: 0x2c, openBrace: 0x7b, closeBrace: 0x7d };

/** Where a top-level member lies: the `{` or `,` before its key, its key's opening quote, the `,` or `}` after its value. */
interface MemberSpan {
  before: number;
  key: number;
  after: number;
}

/**
 * Reads the routing fields of a JSON object answer with a streaming parser (`@streamparser/json`).
 * It checks the whole document as strictly as JSON.parse (a cut-off body throws), but with `paths`
 * and `keepStack: false` it builds only those fields: each word of `words` and `utterances` is made
 * and dropped at once. It also notes where the top-level `audio_url` member lies, in bytes.
 */
function readRoutingFields(body: Uint8Array): { fields: Record<string, unknown>; audioUrls: MemberSpan[] } {
  const fields: Record<string, unknown> = {};
  const audioUrls: MemberSpan[] = [];
  const tokenizer = new Tokenizer();
  const parser = new TokenParser({ paths: ROUTING_PATHS, keepStack: false });
  parser.onValue = ({ key, value }) => {
    if (typeof key === 'string') fields[key] = value;
  };
  // The root object's members, followed through the tokens' byte offsets.
  let depth = 0;
  let member: { before: number; key?: string; keyOffset?: number } | undefined;
  const endMember = (after: number) => {
    if (member?.key === 'audio_url' && member.keyOffset !== undefined) {
      audioUrls.push({ before: member.before, key: member.keyOffset, after });
    }
  };
  tokenizer.onToken = (info: ParsedTokenInfo) => {
    const { token, offset } = info;
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
      depth += 1;
      if (depth === 1) member = { before: offset };
    } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) {
      if (depth === 1) endMember(offset);
      depth -= 1;
    } else if (depth === 1 && token === TokenType.COMMA) {
      endMember(offset);
      member = { before: offset };
    } else if (depth === 1 && token === TokenType.STRING && member && member.key === undefined) {
      member.key = info.value as string;
      member.keyOffset = offset;
    }
    parser.write(info);
  };
  tokenizer.write(body);
  tokenizer.end();
  if (!parser.isEnded) throw new SyntaxError('The JSON document ended early');
  return { fields, audioUrls };
}

/**
 * Overwrites a member with spaces, with one comma next to it, in place: the JSON stays valid and
 * no second copy of the body is made. Leaves the bytes alone unless they are as the span says.
 */
function blankMember(body: Uint8Array, span: MemberSpan): void {
  const before = body[span.before];
  const after = body[span.after];
  if (body[span.key] !== BYTE.quote || (after !== BYTE.comma && after !== BYTE.closeBrace)) return;
  if (before === BYTE.comma) {
    body.fill(BYTE.space, span.before, span.after);
  } else if (before === BYTE.openBrace) {
    body.fill(BYTE.space, span.key, after === BYTE.comma ? span.after + 1 : span.after);
  }
}

/**
 * A `GET /v2/transcript/:id` answer (a 200) as a ProviderJob. Anything but a JSON object (a string,
 * `null`, an array: small, and not a transcript) is parsed whole and returned as it is.
 */
export function providerJobOf(answer: Uint8Array): ProviderJob {
  // A UTF-8 byte order mark, which fetch's `json()` would also have skipped.
  const body = answer[0] === 0xef && answer[1] === 0xbb && answer[2] === 0xbf ? answer.subarray(3) : answer;
  let first = 0;
  while (first < body.length && [0x20, 0x09, 0x0a, 0x0d].includes(body[first] as number)) first += 1;
  if (body[first] !== BYTE.openBrace) return JSON.parse(new TextDecoder().decode(body)) as ProviderJob;
  const { fields, audioUrls } = readRoutingFields(body);
  const job = fields as ProviderJob;
  if (typeof job.text === 'string' && job.text.length > ROUTING_TEXT_CHARS) delete job.text;
  if (job.status === 'completed') {
    // Blanked so that the work object holds no presigned URL. Were its bytes ever not where the
    // parser said, it would stay: a read of our own audio, valid for an hour at most, and deleted
    // with the work objects.
    for (const span of audioUrls.reverse()) blankMember(body, span);
    job.body = body;
  }
  return job;
}

/**
 * The SDK's TranscriptService with its single HTTP entry point overridden: the SDK turns every
 * non-2xx answer into a plain Error and drops the status and `Retry-After`, and has no timeout.
 * Overriding `fetchJson` (which submit/delete/list use) keeps the SDK's request building, auth and
 * types while giving us a timeout and faithful classification; `getJob` reads a job through the
 * same checks, as bytes.
 */
class ClassifyingTranscriptService extends TranscriptService {
  constructor(
    params: { apiKey: string; baseUrl: string },
    private readonly timeoutMs: number,
  ) {
    super(params, new FileService(params));
  }

  /** One page of the transcript list, unconverted (`url` is a path or an absolute `prev_url`). */
  listPage(url: string): Promise<TranscriptListPage> {
    return this.fetchJson<TranscriptListPage>(url);
  }

  /**
   * `GET /v2/transcript/:id`, its body read once as bytes: a completed ten-hour transcript is
   * neither decoded to a string nor parsed into objects (see ProviderJob).
   */
  async getJob(id: string): Promise<ProviderJob> {
    const response = await this.fetchOk(`/v2/transcript/${id}`);
    let body: Uint8Array;
    try {
      body = await readBody(response);
    } catch (error) {
      throw new ProviderUnavailable(`AssemblyAI answer was cut off: ${describeNetworkError(error)}`);
    }
    try {
      return providerJobOf(body);
    } catch {
      throw new ProviderUnavailable('AssemblyAI answer was cut off or is not JSON');
    }
  }

  protected override async fetchJson<T>(input: string, init?: RequestInit): Promise<T> {
    const response = await this.fetchOk(input, init);
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new ProviderUnavailable(`AssemblyAI answer was cut off: ${describeNetworkError(error)}`);
    }
  }

  /** A 2xx response whose body is still to be read within the timeout, or the classified error. */
  private async fetchOk(input: string, init?: RequestInit): Promise<Response> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await this.fetchResponse(input, { ...init, signal });
    } catch (error) {
      throw new ProviderUnavailable(`AssemblyAI is unreachable: ${describeNetworkError(error)}`);
    }
    if (!response.ok) {
      const body = await response.text().catch(() => '');
      throw classifyHttpError(response.status, body, response.headers.get('retry-after'));
    }
    return response;
  }
}

/** AssemblyAI's answer to a key it does not know (or no longer knows: a revoked one). */
export function isKeyRefused(error: unknown): boolean {
  return error instanceof ProviderRejected && error.httpStatus === 401;
}

export function createAssemblyAIProvider(
  options: AssemblyAIOptions,
): TranscriptionProvider & TranscriptLister {
  const serviceFor = (apiKey: string) =>
    new ClassifyingTranscriptService({ apiKey, baseUrl: options.baseUrl }, options.timeoutMs);
  const onNextKeyInUse = options.onNextKeyInUse ?? (() => console.warn(NEXT_KEY_IN_USE_WARNING));
  /** The next key once it answered where the current one was refused: tried first from then on. */
  let preferredKey: string | undefined;
  let warned = false;

  /**
   * Runs one request with the deployment's key. During a rotation (a next key in the secret) a 401
   * is tried once more with the other key; the key that answers is tried first for the rest of
   * the cold start. A 401 with a single key, or with both, is the ProviderRejected it always was.
   */
  const withKey = async <T>(call: (service: ClassifyingTranscriptService) => Promise<T>): Promise<T> => {
    const resolved = await options.apiKey();
    const keys: ApiKeys = typeof resolved === 'string' ? { current: resolved } : resolved;
    if (!keys.next || keys.next === keys.current) return call(serviceFor(keys.current));
    const nextFirst = preferredKey === keys.next;
    const [first, second] = nextFirst ? [keys.next, keys.current] : [keys.current, keys.next];
    try {
      return await call(serviceFor(first));
    } catch (error) {
      if (!isKeyRefused(error)) throw error;
    }
    const answer = await call(serviceFor(second));
    preferredKey = nextFirst ? undefined : keys.next;
    if (!nextFirst && !warned) {
      warned = true;
      onNextKeyInUse();
    }
    return answer;
  };

  const checkedId = (id: unknown) => {
    if (!isTranscriptId(id)) throw new ProviderRejected('Refusing a malformed transcript id');
    return id;
  };
  /**
   * A submit answer without a usable id may still mean a created job: retryable, and the retry's
   * lookup (by the audio URL's digest, which the list reports with the real id) finds it.
   */
  const answeredId = (id: unknown) => {
    if (!isTranscriptId(id))
      throw new ProviderUnavailable('AssemblyAI answered without a usable transcript id');
    return id;
  };

  return {
    async submit(request) {
      const params: TranscriptParams = {
        audio_url: request.audioUrl,
        speech_models: options.speechModels,
        speaker_labels: true,
        ...(request.languageCode
          ? { language_code: request.languageCode }
          : languageDetectionParams(options.languageDetection)),
        ...(request.speakersExpected ? { speakers_expected: request.speakersExpected } : {}),
        ...(request.speakersRange && {
          speaker_options: {
            ...(request.speakersRange.min !== undefined && {
              min_speakers_expected: request.speakersRange.min,
            }),
            ...(request.speakersRange.max !== undefined && {
              max_speakers_expected: request.speakersRange.max,
            }),
          },
        }),
        ...(request.keyterms && request.keyterms.length > 0 && { keyterms_prompt: request.keyterms }),
        // Placeholders by entity name, so the result can count them; nothing unredacted comes back.
        ...(request.redactPii && {
          redact_pii: true,
          redact_pii_policies: request.redactPii.policies as TranscriptParams['redact_pii_policies'],
          redact_pii_sub: 'entity_name',
        }),
        ...(request.webhook && {
          webhook_url: request.webhook.url,
          webhook_auth_header_name: request.webhook.authHeaderName,
          webhook_auth_header_value: request.webhook.authHeaderValue,
        }),
      };
      // Retrying the POST with the other key after a 401 is safe: AssemblyAI authenticates before
      // it creates anything, so a refused request made no job (and bills nothing).
      const transcript = await withKey((service) => service.submit(params));
      return { id: answeredId((transcript as Partial<Transcript> | null)?.id), status: 'queued' };
    },
    async findSubmitted(digest, markerTime) {
      const since = new Date(markerTime.getTime() - LOOKUP_CLOCK_SKEW_MS);
      // Newest first, page by page back to `since` (a busy account may create hundreds of jobs in
      // the seconds between a lost answer and its retry), within a time budget so the Lambda
      // never times out here. Read raw: the SDK would parse the zone-less `created` as local time.
      const started = Date.now();
      let url: string | null = `/v2/transcript?limit=${options.lookupPageSize ?? 200}`;
      for (let read = 0; url; read++) {
        if (read >= LOOKUP_PAGES || Date.now() - started > LOOKUP_BUDGET_MS) {
          // Not knowing is not 'not found': submitting now could pay twice. Retry later instead.
          throw new ProviderUnavailable('Could not finish looking for the job an earlier attempt created');
        }
        const pageUrl: string = url;
        const page: TranscriptListPage = await withKey((service) => service.listPage(pageUrl));
        const recent = page.transcripts.filter((item) => parseProviderTime(item.created) >= since);
        const match = recent.find(
          (item) => typeof item.audio_url === 'string' && audioUrlDigest(item.audio_url) === digest,
        );
        if (match) return { id: checkedId(match.id), status: match.status };
        if (recent.length < page.transcripts.length) return undefined;
        url = page.page_details.prev_url;
      }
      return undefined;
    },
    async listTranscripts({ limit, beforeId }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
        throw new RangeError('A transcript list page holds 1 to 200 transcripts');
      }
      // Built from the last id rather than by following `prev_url`: only our base URL gets the key.
      const before = beforeId === undefined ? '' : `&before_id=${checkedId(beforeId)}`;
      const page = await withKey((service) => service.listPage(`/v2/transcript?limit=${limit}${before}`));
      const transcripts = Array.isArray(page?.transcripts) ? page.transcripts : [];
      return { transcripts, more: transcripts.length > 0 && Boolean(page.page_details?.prev_url) };
    },
    async get(id) {
      const checked = checkedId(id);
      return withKey((service) => service.getJob(checked));
    },
    async delete(id) {
      const checked = checkedId(id);
      await withKey((service) => service.delete(checked));
    },
  };
}
