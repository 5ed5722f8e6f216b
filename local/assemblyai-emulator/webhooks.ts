/**
 * Webhook delivery as AssemblyAI does it for pre-recorded audio: when a job submitted with
 * `webhook_url` is final (completed or error), a POST of `{"transcript_id", "status"}` with the
 * job's custom auth header (no signature). An attempt not answered 2xx within the timeout (10 s)
 * is retried, up to 10 attempts in total; a 4xx answer is never retried.
 *
 * Timing follows `Date.now()`, never a timer of the job's length: a check runs every
 * `CHECK_INTERVAL_MS` of real time (unref'd) while deliveries are pending, and at once whenever the
 * emulator sees something change (a download finishing, a request, an attempt ending). So when a
 * benchmark moves a virtual `Date` on, a delivery goes out as soon as that time passes its due time.
 * Only an attempt's own timeout is real time (`AbortSignal.timeout`).
 */
import { DEFAULT_WEBHOOK_REPEAT, MAX_WEBHOOK_ATTEMPTS, type WebhookFault } from './faults.js';

/** One delivery attempt, as `emulator.webhookDeliveries()` reports it. */
export interface WebhookDelivery {
  transcript_id: string;
  status: 'completed' | 'error';
  /** 1 for the first attempt of this job's webhook, 2 for the next, … */
  attempt: number;
  /** The receiver's HTTP status, or null when it did not answer (timeout, network error, lost). */
  http_status: number | null;
  /** Why there is no answer: `timeout`, `network error (…)`, `lost (webhook-lost fault)`, `aborted (emulator closed)`. */
  error?: string;
  /** `Date.now()` when the attempt was sent. */
  at: number;
}

/** Where a job's webhook goes, from its submit body. */
export interface WebhookTarget {
  url: string;
  headerName?: string;
  headerValue?: string;
}

/** What the emulator tells the scheduler about a job. */
export type WebhookJobState =
  /** Finished (completed or error) at `finishedAt`. */
  | { kind: 'final'; status: 'completed' | 'error'; finishedAt: number }
  /** Still queued or processing; it cannot finish before `earliestFinishAt`. */
  | { kind: 'pending'; earliestFinishAt: number }
  /** It will never be delivered (deleted, never completes, unknown). */
  | { kind: 'never' };

export interface WebhookSchedulerOptions {
  /** Latency between completion and the first attempt. */
  delayMs: number;
  /** Wait between the end of an attempt and the next one. */
  retryDelayMs: number;
  /** How long an attempt waits for the receiver's answer (real time). */
  timeoutMs: number;
  jobState: (id: string, now: number) => WebhookJobState;
  /** The receiver answered an attempt of this job with `status`. */
  onAnswer: (id: string, status: number) => void;
  log: (line: string) => void;
  /** Aborts attempts in flight when the emulator closes. */
  signal: AbortSignal;
}

export const CHECK_INTERVAL_MS = 20;

interface PendingWebhook {
  id: string;
  target: WebhookTarget;
  fault?: WebhookFault;
  attempts: number;
  /** Known once the job is final: the due time of the next attempt. */
  nextDueAt?: number;
  status?: 'completed' | 'error';
  inFlight: boolean;
}

type AttemptResult = { httpStatus: number } | { error: string; endedAt?: number };

const isTimeout = (error: unknown) => error instanceof DOMException && error.name === 'TimeoutError';

/** A network error's code (ECONNREFUSED, …) without its message, which may hold the URL. */
function networkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? `network error (${cause.code})` : 'network error';
}

export class WebhookScheduler {
  readonly #options: WebhookSchedulerOptions;
  readonly #pending = new Map<string, PendingWebhook>();
  readonly #deliveries: WebhookDelivery[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #attempts = 0;
  #delivered = 0;

  constructor(options: WebhookSchedulerOptions) {
    this.#options = options;
  }

  /** Registers the webhook of a job just submitted with `webhook_url`. */
  add(id: string, target: WebhookTarget, fault?: WebhookFault): void {
    if (this.#closed) return;
    this.#pending.set(id, { id, target, fault, attempts: 0, inFlight: false });
    this.#updateTimer();
  }

  /** Drops the attempts of this job not sent yet (DELETE); one in flight still ends. */
  cancel(id: string): void {
    this.#pending.delete(id);
    this.#updateTimer();
  }

  /** Sends every attempt whose due time has passed. */
  check(now = Date.now()): void {
    if (this.#closed) return;
    for (const webhook of this.#pending.values()) {
      if (webhook.inFlight) continue;
      if (webhook.nextDueAt === undefined) {
        const state = this.#options.jobState(webhook.id, now);
        if (state.kind === 'never') {
          this.#pending.delete(webhook.id);
          continue;
        }
        if (state.kind === 'pending') continue;
        webhook.status = state.status;
        webhook.nextDueAt = state.finishedAt + this.#firstDelay(webhook);
      }
      if (webhook.nextDueAt <= now) this.#send(webhook, now);
    }
    this.#updateTimer();
  }

  /**
   * The earliest due time of an attempt not sent yet, also of jobs not finished yet (their
   * earliest completion + the delay; a lower bound while the audio download runs), or undefined.
   */
  nextDueAt(now = Date.now()): number | undefined {
    let earliest: number | undefined;
    for (const webhook of this.#pending.values()) {
      if (webhook.inFlight) continue;
      let due = webhook.nextDueAt;
      if (due === undefined) {
        const state = this.#options.jobState(webhook.id, now);
        if (state.kind === 'never') continue;
        const finish = state.kind === 'final' ? state.finishedAt : state.earliestFinishAt;
        due = finish + this.#firstDelay(webhook);
      }
      if (earliest === undefined || due < earliest) earliest = due;
    }
    return earliest;
  }

  deliveries(): WebhookDelivery[] {
    return structuredClone(this.#deliveries);
  }

  counts(): { attempts: number; delivered: number } {
    return { attempts: this.#attempts, delivered: this.#delivered };
  }

  /** Stops checking and waits for the attempts in flight (the emulator's signal aborts them). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#updateTimer();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #firstDelay(webhook: PendingWebhook): number {
    return webhook.fault?.kind === 'webhook-delay' ? webhook.fault.delayMs : this.#options.delayMs;
  }

  #send(webhook: PendingWebhook, now: number): void {
    const status = webhook.status ?? 'completed';
    webhook.inFlight = true;
    webhook.attempts += 1;
    this.#attempts += 1;
    const record: WebhookDelivery = {
      transcript_id: webhook.id,
      status,
      attempt: webhook.attempts,
      http_status: null,
      at: now,
    };
    this.#deliveries.push(record);
    const attempt = this.#attempt(webhook, record)
      .then((result) => this.#settle(webhook, record, result))
      .finally(() => this.#inFlight.delete(attempt));
    this.#inFlight.add(attempt);
  }

  async #attempt(webhook: PendingWebhook, record: WebhookDelivery): Promise<AttemptResult> {
    const { timeoutMs, signal } = this.#options;
    // Lost in the network: the sender sees a timeout, on the emulator's clock, without waiting for it.
    if (webhook.fault?.kind === 'webhook-lost') {
      return { error: 'lost (webhook-lost fault)', endedAt: record.at + timeoutMs };
    }
    const { url, headerName, headerValue } = webhook.target;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (headerName && typeof headerValue === 'string') headers[headerName] = headerValue;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ transcript_id: record.transcript_id, status: record.status }),
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      return { httpStatus: response.status };
    } catch (error) {
      if (signal.aborted) return { error: 'aborted (emulator closed)' };
      if (isTimeout(error)) return { error: 'timeout' };
      return { error: networkError(error) };
    }
  }

  #settle(webhook: PendingWebhook, record: WebhookDelivery, result: AttemptResult): void {
    webhook.inFlight = false;
    const httpStatus = 'httpStatus' in result ? result.httpStatus : null;
    if (httpStatus !== null) {
      record.http_status = httpStatus;
      this.#options.onAnswer(webhook.id, httpStatus);
    } else if ('error' in result) {
      record.error = result.error;
    }
    const delivered = httpStatus !== null && httpStatus >= 200 && httpStatus < 300;
    if (delivered) this.#delivered += 1;
    this.#options.log(
      `webhook ${webhook.id} attempt ${record.attempt}: ${httpStatus ?? record.error} (${record.status})`,
    );
    if (this.#closed || this.#pending.get(webhook.id) !== webhook) return;
    const refused = httpStatus !== null && httpStatus >= 400 && httpStatus < 500;
    const repeat =
      webhook.fault?.kind === 'webhook-repeat' ? (webhook.fault.count ?? DEFAULT_WEBHOOK_REPEAT) : 1;
    const again =
      !refused && webhook.attempts < MAX_WEBHOOK_ATTEMPTS && (!delivered || webhook.attempts < repeat);
    if (!again) {
      this.#pending.delete(webhook.id);
      this.#updateTimer();
      return;
    }
    const endedAt = 'endedAt' in result && result.endedAt !== undefined ? result.endedAt : Date.now();
    webhook.nextDueAt = endedAt + this.#options.retryDelayMs;
    this.check();
  }

  #updateTimer(): void {
    const wanted = !this.#closed && this.#pending.size > 0;
    if (wanted && !this.#timer) {
      this.#timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
      this.#timer.unref();
    } else if (!wanted && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
