/** Fault injection for the AssemblyAI emulator: what can go wrong, when, and how often. */

/** The emulated endpoints a fault can target. */
export type FaultRoute = 'submit' | 'get' | 'delete';

/** How often a fault fires: the next `times` matching requests/jobs, each with `probability`. */
export interface FaultTrigger {
  /** Apply to the next N matches, then stop. @default unlimited */
  times?: number;
  /** Chance (0–1) that a match is hit; rolled with the emulator's seeded PRNG. @default 1 */
  probability?: number;
}

/** What `malformed-answer` sends instead of the real body, with HTTP 200. */
export const MALFORMED_ANSWER_VARIANTS = [
  'empty-object',
  'json-string',
  'html',
  'no-status',
  'unknown-status',
] as const;
export type MalformedAnswerVariant = (typeof MALFORMED_ANSWER_VARIANTS)[number];

/** How a `malformed-transcript` breaks the words/utterances contract of a completed transcript. */
export const MALFORMED_TRANSCRIPT_VARIANTS = ['null-fields', 'missing-end', 'negative-times'] as const;
export type MalformedTranscriptVariant = (typeof MALFORMED_TRANSCRIPT_VARIANTS)[number];

/** `huge-error`: a job that ends with a 300 KB `error` (`job`), or an HTTP 500 with a 300 KB body (`http`). */
export const HUGE_ERROR_VARIANTS = ['job', 'http'] as const;
export type HugeErrorVariant = (typeof HUGE_ERROR_VARIANTS)[number];

/**
 * Faults on the HTTP exchange itself. Most answer instead of the service, and the request is not
 * processed. `slow`, `lose-response` and `malformed-answer` process it first — a submit creates
 * its job, as AssemblyAI does once the POST has arrived — then delay the answer, drop the
 * connection before it, or replace it. `refuse-delete-while-processing` fires only on a DELETE of
 * a job that is still queued or processing.
 */
export type HttpFault = FaultTrigger & { on?: FaultRoute | 'any' } & (
    | { kind: 'rate-limit'; retryAfterSeconds?: number }
    | { kind: 'server-error'; status?: 500 | 502 | 503 }
    | { kind: 'drop-connection' }
    | { kind: 'slow'; delayMs: number }
    | { kind: 'lose-response' }
    | { kind: 'malformed-answer'; variant?: MalformedAnswerVariant }
    | { kind: 'huge-error'; variant: 'http' }
    | { kind: 'refuse-delete-while-processing' }
  );

/** Faults on a submitted transcription job: it is accepted, then fails, never finishes, or finishes broken. */
export type JobFault = FaultTrigger &
  (
    | { kind: 'transcript-error'; message?: string }
    | { kind: 'never-complete' }
    | { kind: 'huge-error'; variant?: 'job' }
    | { kind: 'malformed-transcript'; variant?: MalformedTranscriptVariant }
  );

/**
 * Faults on a job's webhook delivery (only jobs submitted with `webhook_url` match them). They are
 * drawn at submit time besides the job fault, so a job can both fail and have its webhook lost.
 * `webhook-lost`: every attempt is lost in the network (none reaches the receiver, each counts as
 * timed out, so it is retried). `webhook-repeat`: `count` attempts (2–10, default 3) are sent even
 * when they are answered 2xx, as at-least-once delivery can do. `webhook-delay`: the first attempt
 * comes `delayMs` after completion instead of the emulator's `webhookDelayMs`.
 */
export type WebhookFault = FaultTrigger &
  (
    | { kind: 'webhook-lost' }
    | { kind: 'webhook-repeat'; count?: number }
    | { kind: 'webhook-delay'; delayMs: number }
  );

export type Fault = HttpFault | JobFault | WebhookFault;
export type FaultKind = Fault['kind'];

/** `webhook-repeat` without a count sends the delivery this many times. */
export const DEFAULT_WEBHOOK_REPEAT = 3;
/** AssemblyAI's documented limit: at most 10 attempts in total for one webhook. */
export const MAX_WEBHOOK_ATTEMPTS = 10;

const HTTP_FAULT_KINDS: ReadonlySet<FaultKind> = new Set([
  'rate-limit',
  'server-error',
  'drop-connection',
  'slow',
  'lose-response',
  'malformed-answer',
  'refuse-delete-while-processing',
]);
const WEBHOOK_FAULT_KINDS: ReadonlySet<FaultKind> = new Set([
  'webhook-lost',
  'webhook-repeat',
  'webhook-delay',
]);
const FAULT_KINDS: readonly FaultKind[] = [
  ...HTTP_FAULT_KINDS,
  'transcript-error',
  'never-complete',
  'huge-error',
  'malformed-transcript',
  ...WEBHOOK_FAULT_KINDS,
];

export const isHttpFault = (fault: Fault): fault is HttpFault =>
  fault.kind === 'huge-error' ? fault.variant === 'http' : HTTP_FAULT_KINDS.has(fault.kind);

export const isWebhookFault = (fault: Fault): fault is WebhookFault => WEBHOOK_FAULT_KINDS.has(fault.kind);

/** Size of the `huge-error` texts: larger than any log line, Step Functions state (256 KB) or DynamoDB item should hold. */
export const HUGE_ERROR_BYTES = 300 * 1024;

/** Mulberry32: a tiny seedable PRNG so probabilistic faults replay identically. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertValidFault(fault: Fault): void {
  if (!FAULT_KINDS.includes(fault.kind)) throw new RangeError(`unknown fault kind: ${String(fault.kind)}`);
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
    throw new RangeError(`fault ${fault.kind}: times must be a positive integer`);
  }
  if (fault.probability !== undefined && !(fault.probability >= 0 && fault.probability <= 1)) {
    throw new RangeError(`fault ${fault.kind}: probability must be between 0 and 1`);
  }
  if (fault.kind === 'slow' && !(fault.delayMs >= 0))
    throw new RangeError('fault slow: delayMs must be >= 0');
  if (
    fault.kind === 'rate-limit' &&
    fault.retryAfterSeconds !== undefined &&
    !(fault.retryAfterSeconds >= 0)
  ) {
    throw new RangeError('fault rate-limit: retryAfterSeconds must be >= 0');
  }
  if (
    fault.kind === 'server-error' &&
    fault.status !== undefined &&
    ![500, 502, 503].includes(fault.status)
  ) {
    throw new RangeError('fault server-error: status must be 500, 502 or 503');
  }
  if (
    fault.kind === 'webhook-repeat' &&
    fault.count !== undefined &&
    !(Number.isInteger(fault.count) && fault.count >= 2 && fault.count <= MAX_WEBHOOK_ATTEMPTS)
  ) {
    throw new RangeError(`fault webhook-repeat: count must be an integer from 2 to ${MAX_WEBHOOK_ATTEMPTS}`);
  }
  if (fault.kind === 'webhook-delay' && !(Number.isFinite(fault.delayMs) && fault.delayMs >= 0)) {
    throw new RangeError('fault webhook-delay: delayMs must be >= 0');
  }
  const variants: Partial<Record<FaultKind, readonly string[]>> = {
    'malformed-answer': MALFORMED_ANSWER_VARIANTS,
    'malformed-transcript': MALFORMED_TRANSCRIPT_VARIANTS,
    'huge-error': HUGE_ERROR_VARIANTS,
  };
  const allowed = variants[fault.kind];
  const variant = (fault as { variant?: string }).variant;
  if (allowed && variant !== undefined && !allowed.includes(variant)) {
    throw new RangeError(`fault ${fault.kind}: variant must be one of ${allowed.join(', ')}`);
  }
}

/** The active faults, in injection order; the first one that matches and fires wins. */
export class FaultPlan {
  readonly #entries: { fault: Fault; remaining: number }[] = [];
  readonly #random: () => number;

  constructor(random: () => number, faults: readonly Fault[] = []) {
    this.#random = random;
    for (const fault of faults) this.add(fault);
  }

  add(fault: Fault): void {
    assertValidFault(fault);
    this.#entries.push({ fault: { ...fault }, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#entries.length = 0;
  }

  /** The next HTTP fault for this route; `applies` can rule kinds out for this request. */
  nextHttpFault(
    route: FaultRoute,
    applies: (fault: HttpFault) => boolean = () => true,
  ): HttpFault | undefined {
    const targetsOtherRoute = (f: HttpFault) => (f.on ?? 'any') !== 'any' && f.on !== route;
    return this.#take((f) => !isHttpFault(f) || targetsOtherRoute(f) || !applies(f)) as HttpFault | undefined;
  }

  nextJobFault(): JobFault | undefined {
    return this.#take((f) => isHttpFault(f) || isWebhookFault(f)) as JobFault | undefined;
  }

  /** The webhook fault of a job submitted with `webhook_url` (drawn besides its job fault). */
  nextWebhookFault(): WebhookFault | undefined {
    return this.#take((f) => !isWebhookFault(f)) as WebhookFault | undefined;
  }

  #take(skip: (fault: Fault) => boolean): Fault | undefined {
    for (const [index, entry] of this.#entries.entries()) {
      if (skip(entry.fault)) continue;
      if (entry.fault.probability !== undefined && this.#random() >= entry.fault.probability) continue;
      entry.remaining -= 1;
      if (entry.remaining <= 0) this.#entries.splice(index, 1);
      return entry.fault;
    }
    return undefined;
  }
}

/**
 * Parses the CLI form `<kind>[:param]`, e.g. `rate-limit:30`, `server-error:503`, `slow:2000`,
 * `malformed-answer:html`, `huge-error:http`, `malformed-transcript:negative-times`,
 * `webhook-lost`, `webhook-repeat:3`, `webhook-delay:5000`.
 */
export function parseFaultSpec(spec: string): Fault {
  const colon = spec.indexOf(':');
  const kind = colon === -1 ? spec : spec.slice(0, colon);
  const param = colon === -1 ? undefined : spec.slice(colon + 1);
  const number = (name: string): number | undefined => {
    if (param === undefined) return undefined;
    const value = Number(param);
    if (param.trim() === '' || !Number.isFinite(value))
      throw new RangeError(`--fault ${kind}: ${name} must be a number`);
    return value;
  };
  let fault: Fault;
  switch (kind) {
    case 'rate-limit':
      fault = { kind, retryAfterSeconds: number('seconds') };
      break;
    case 'server-error':
      fault = { kind, status: number('status') as 500 | 502 | 503 | undefined };
      break;
    case 'slow':
      fault = { kind, delayMs: number('delay in ms') ?? 5000 };
      break;
    case 'transcript-error':
      fault = { kind, message: param };
      break;
    case 'malformed-answer':
      fault = { kind, variant: param as MalformedAnswerVariant | undefined };
      break;
    case 'malformed-transcript':
      fault = { kind, variant: param as MalformedTranscriptVariant | undefined };
      break;
    case 'webhook-repeat':
      fault = { kind, count: number('count') };
      break;
    case 'webhook-delay':
      fault = { kind, delayMs: number('delay in ms') ?? 5000 };
      break;
    case 'huge-error':
      fault = param === 'http' ? { kind, variant: 'http' } : { kind, variant: param as 'job' | undefined };
      break;
    case 'drop-connection':
    case 'lose-response':
    case 'never-complete':
    case 'refuse-delete-while-processing':
    case 'webhook-lost':
      fault = { kind };
      break;
    default:
      throw new RangeError(`unknown fault kind: ${kind} (expected one of ${FAULT_KINDS.join(', ')})`);
  }
  assertValidFault(fault);
  return fault;
}
