/**
 * `npm run bench`: what the workflow costs and how fast it answers, measured through the real
 * definition (statemachine/transcription.asl.json) and the real handlers, locally: LocalWorkflow,
 * the embedded S3 and the AssemblyAI emulator, as scripts/load.ts runs them. Prints a table with
 * PASS/FAIL per goal and writes bench/results.json. Some goals are expected to FAIL: the bench
 * reports what the code does, not what it should do.
 *
 * Time. Hours of audio cannot be waited out, and scaling the Waits alone would lie: the wait policy
 * (lambdas/shared/wait-policy.ts) decides from `Date.now()` against `submitted_at` and the
 * deadline, so with shortened Waits it would see almost no time pass. Instead the whole process
 * runs on a virtual clock: `Date` (and so `Date.now()` and `new Date()`) is replaced by one that
 * reads the real clock plus an offset, and every Wait state ends at once and moves the offset on by
 * the seconds it would have lasted on AWS (LocalWorkflow's `advanceClock` option). So the factor
 * is ∞ for Waits and 1 for everything else: the handlers, the emulator and s3rver all run in real
 * time and see the same clock, the wait policy's elapsed-time math sees exactly the time that
 * would have passed deployed, and AssemblyAI's processing time is a per-job delay on that clock
 * (the emulator's `processingDelayMsFor`). The offset is global, so executions run one at a time.
 * Lag = virtual time when Persist result returned − virtual time the emulator's job completed
 * (submit time + modelled processing time): the rest of the Wait in progress plus the real
 * in-process time of Check, Format and Persist. What is not modelled, and makes deployed lag and
 * Lambda cost somewhat higher: Step Functions' own latency per transition, Lambda invoke overhead
 * and cold starts, network round trips to S3 and AssemblyAI (here loopback), and transcript size
 * (the emulator's placeholder transcript is a few words; a real 10 h transcript is tens of MB).
 *
 * AssemblyAI's processing time, seeded per run (PROVIDER_MODELS): "published" from its figures
 * ("the vast majority of files complete in under 45 s", about 0.01× real time for long files):
 * max(U[3, 8] s, 0.01 × audio) × U[0.8, 1.25]; "pessimistic": max(U[3, 8] s, audio × U[0.1, 0.3]).
 * Audio of each length is a WAV of that duration at 8 samples/s (Validate audio reads it, the policy
 * plans with it; checked); the emulator is told the same duration instead of downloading it.
 *
 * The seed design it is compared with (SEED): one 512 MB x86 Lambda that submits, waits inside
 * the invocation for the whole processing time plus SEED.overheadSeconds, writes the result and
 * ends; SEED.transitions state transitions, one S3 PUT. Lambda's 900 s limit kills it: audio
 * whose processing exceeds 900 s fails there (reported; its cost is then 900 s of Lambda).
 *
 * Cold start: every Lambda bundled as CDK builds it, ≥ 20 fresh Node 24 processes each
 * (scripts/bench/cold-start.ts).
 */
import './bench/virtual-clock.js';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { WORKFLOW_STEPS } from '../cdk/constructs/transcription-steps.js';
import { WEBHOOK_RECEIVER_MEMORY_MB, WEBHOOK_STEP } from '../cdk/constructs/webhook-receiver.js';
import { PROJECT_ROOT } from '../cdk/paths.js';
import { startEmulator } from '../local/assemblyai-emulator/emulator.js';
import { seededRandom } from '../local/assemblyai-emulator/faults.js';
import { startEmbeddedS3 } from '../local/embedded-s3.js';
import { startLocalWebhookMode } from '../local/webhook-mode.js';
import { type LambdaHandlers, LocalWorkflow, loadLambdaHandlers } from '../local/workflow.js';
import { BASELINE, type ColdStart, measureColdStarts } from './bench/cold-start.js';
import { measureTranscriptMemory } from './bench/transcript-memory.js';
import { virtualClock } from './bench/virtual-clock.js';

/**
 * List prices, us-east-1, from aws.amazon.com/lambda/pricing/, /step-functions/pricing/ and
 * /s3/pricing/ (S3 Standard), as published in 2025 (first usage tier; free tiers ignored). Not
 * re-read for this run: re-check before quoting them.
 */
export const PRICES = {
  source:
    'AWS list prices, us-east-1, first tier, free tier ignored (aws.amazon.com/{lambda,step-functions,s3}/pricing, 2025)',
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaX86PerGbSecond: 0.0000166667,
  lambdaPerRequest: 0.2 / 1e6,
  stepFunctionsStandardPerTransition: 0.000025,
  /** PUT, COPY, POST, LIST. */
  s3Tier1PerRequest: 0.005 / 1000,
  /** GET, HEAD and the rest (DELETE is free). */
  s3Tier2PerRequest: 0.0004 / 1000,
} as const;

export const SEED = {
  memoryMb: 512,
  architecture: 'x86_64',
  lambdaTimeoutSeconds: 900,
  /** Submit before the wait and the result write after it. */
  overheadSeconds: 1,
  /** The Task state and the terminal state. */
  transitions: 2,
  s3Tier1Requests: 1,
} as const;

type Provider = 'published' | 'pessimistic';
const uniform = (random: () => number, low: number, high: number) => low + (high - low) * random();
export const PROVIDER_MODELS: Record<
  Provider,
  { text: string; seconds: (audio: number, random: () => number) => number }
> = {
  published: {
    text: 'max(U[3,8] s, 0.01 × audio) × U[0.8,1.25]',
    seconds: (audio, random) => Math.max(uniform(random, 3, 8), 0.01 * audio) * uniform(random, 0.8, 1.25),
  },
  pessimistic: {
    text: 'max(U[3,8] s, audio × U[0.1,0.3])',
    seconds: (audio, random) => Math.max(uniform(random, 3, 8), audio * uniform(random, 0.1, 0.3)),
  },
};

const AUDIO_SECONDS = [15, 60, 600, 3600, 36_000];
/**
 * How long after a job completes its webhook reaches the receiver, in callback mode. AssemblyAI
 * publishes no figure; the emulator delivers this long after completion, and the goal (lag ≤
 * delivery + 1 s) is judged on what the workflow adds to it.
 */
const WEBHOOK_DELIVERY_SECONDS = 0.5;
/** Seeded executions per (provider, audio length); lag p95 is the worst but one of them. */
const RUNS_PER_CASE = Number(process.env.BENCH_RUNS ?? 20);
/** At least 20 for the reported figures; BENCH_COLD_PROCESSES lowers it for a quick try. */
const COLD_START_PROCESSES = Number(process.env.BENCH_COLD_PROCESSES ?? 20);
const SEED_VALUE = 1;
const BUCKET = 'transcription-bench';
const RESULTS_FILE = join(PROJECT_ROOT, 'bench', 'results.json');

/* ---------- audio ---------- */

/**
 * A WAV of `seconds` at 8 samples/s (8-bit mono): a real duration, which Validate audio reads as
 * the deployed one would, in a few hundred KB even for 10 h (a header that only claims a longer
 * data chunk is not believed). `salt` makes every file's bytes (and ETag) distinct.
 */
function wavOf(seconds: number, salt: number): Buffer {
  const rate = 8;
  const data = Buffer.alloc(rate * seconds, 0x80);
  data.writeUInt32LE(salt >>> 0, 0);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + seconds * rate, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(seconds * rate, 40);
  return Buffer.concat([header, data]);
}

/* ---------- measuring one execution ---------- */

interface Sample {
  ok: boolean;
  failure?: string;
  processingSeconds: number;
  transitions: number;
  providerGets: number;
  lagSeconds: number;
  awsCostUsd: number;
  seedCostUsd: number;
  seedFails: boolean;
  waitsPassedOn: number;
  waitsEntered: number;
  invocations?: Invocation[];
}

interface Invocation {
  lambda: string;
  ms: number;
}

/** What the current execution did; executions run one at a time (the clock is global). */
let current:
  | { invocations: Invocation[]; s3Tier1: number; s3Tier2: number; persistedAt?: number }
  | undefined;

const TIER1 = /^(Put|Copy|Post|List|Create|Complete|Upload)/;
/**
 * Counts S3 requests by price tier, and keeps every S3 client on the virtual clock: Node's HTTP
 * server stamps its `Date` header from the real clock, which the SDK would take for clock skew
 * and "correct" (systemClockOffset), after which s3rver, on the virtual clock, refuses the
 * signatures (RequestTimeTooSkewed). Deployed, Lambda's clock and S3's agree.
 */
function countS3Requests(): void {
  const send = S3Client.prototype.send;
  S3Client.prototype.send = function (
    this: S3Client,
    command: { constructor: { name: string } },
    ...rest: unknown[]
  ) {
    // An accessor, not a reset: requests of one client run concurrently, and each response would
    // "correct" the offset again before the next request is signed.
    Object.defineProperty(this.config, 'systemClockOffset', {
      get: () => 0,
      set: () => undefined,
      configurable: true,
    });
    const name = command.constructor.name;
    if (current && !name.startsWith('Delete')) {
      if (TIER1.test(name)) current.s3Tier1 += 1;
      else current.s3Tier2 += 1;
    }
    return (send as (...a: unknown[]) => unknown).call(this, command, ...rest);
  } as typeof send;
}

function timed(handlers: LambdaHandlers): LambdaHandlers {
  return Object.fromEntries(
    Object.entries(handlers).map(([lambda, handler]) => [
      lambda,
      async (input: unknown) => {
        const started = performance.now();
        const slept = virtualClock.sleptMs();
        try {
          const output = await handler(input);
          if (lambda === 'persist-result' && current) current.persistedAt = Date.now();
          return output;
        } finally {
          // Billed: real time plus the sleeps inside the invocation that the virtual clock skipped.
          current?.invocations.push({
            lambda,
            ms: performance.now() - started + virtualClock.sleptMs() - slept,
          });
        }
      },
    ]),
  );
}

const MEMORY_MB: Record<string, number> = {
  ...Object.fromEntries(WORKFLOW_STEPS.map((s) => [s.step, s.memorySize])),
  [WEBHOOK_STEP]: WEBHOOK_RECEIVER_MEMORY_MB,
};
/** finalize-execution is not a workflow step (EventBridge invokes it); its construct's size. */
const OTHER_MEMORY_MB = 256;

function lambdaCost(invocations: Invocation[]): number {
  return invocations.reduce((sum, { lambda, ms }) => {
    const gb = (MEMORY_MB[lambda] ?? OTHER_MEMORY_MB) / 1024;
    return sum + gb * (Math.ceil(ms) / 1000) * PRICES.lambdaArmPerGbSecond + PRICES.lambdaPerRequest;
  }, 0);
}

function seedCost(processingSeconds: number): { usd: number; fails: boolean } {
  const wanted = processingSeconds + SEED.overheadSeconds;
  const billed = Math.min(wanted, SEED.lambdaTimeoutSeconds);
  const usd =
    (SEED.memoryMb / 1024) * billed * PRICES.lambdaX86PerGbSecond +
    PRICES.lambdaPerRequest +
    SEED.transitions * PRICES.stepFunctionsStandardPerTransition +
    (wanted > SEED.lambdaTimeoutSeconds ? 0 : SEED.s3Tier1Requests * PRICES.s3Tier1PerRequest);
  return { usd, fails: wanted > SEED.lambdaTimeoutSeconds };
}

/* ---------- statistics and printing ---------- */

function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
const median = (values: number[]) => quantile(values, 0.5);
const usd = (value: number) => `$${value.toFixed(value < 0.001 ? 6 : 4)}`;

interface RunSummary {
  mode: 'poll' | 'callback';
  provider: Provider;
  audio_seconds: number;
  executions: number;
  succeeded: number;
  processing_seconds_median: number;
  transitions: number;
  transitions_max: number;
  provider_gets: number;
  provider_gets_max: number;
  lag_seconds_median: number;
  lag_seconds_p95: number;
  aws_cost_usd: number;
  seed_cost_usd: number;
  seed_fails: number;
  failures: string[];
}

type Mode = RunSummary['mode'];

function summarize(mode: Mode, provider: Provider, audioSeconds: number, samples: Sample[]): RunSummary {
  const ok = samples.filter((s) => s.ok);
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  return {
    mode,
    provider,
    audio_seconds: audioSeconds,
    executions: samples.length,
    succeeded: ok.length,
    processing_seconds_median: round(median(samples.map((s) => s.processingSeconds)), 1),
    // transitions is the median; the goals are judged on transitions_max.
    transitions: median(samples.map((s) => s.transitions)),
    transitions_max: Math.max(...samples.map((s) => s.transitions)),
    provider_gets: median(samples.map((s) => s.providerGets)),
    provider_gets_max: Math.max(...samples.map((s) => s.providerGets)),
    lag_seconds_median: round(median(ok.map((s) => s.lagSeconds)), 2),
    lag_seconds_p95: round(
      quantile(
        ok.map((s) => s.lagSeconds),
        0.95,
      ),
      2,
    ),
    aws_cost_usd: round(median(samples.map((s) => s.awsCostUsd)), 7),
    seed_cost_usd: round(median(samples.map((s) => s.seedCostUsd)), 7),
    seed_fails: samples.filter((s) => s.seedFails).length,
    failures: [...new Set(samples.flatMap((s) => (s.failure ? [s.failure] : [])))],
  };
}

const duration = (seconds: number) =>
  seconds >= 3600 ? `${seconds / 3600} h` : seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`;

interface Goal {
  name: string;
  verdict: 'PASS' | 'FAIL' | 'not measured';
  detail: string;
}

type TranscriptMemory = Awaited<ReturnType<typeof measureTranscriptMemory>>;

function goals(allRuns: RunSummary[], coldStarts: ColdStart[], memory: TranscriptMemory): Goal[] {
  const runs = allRuns.filter((r) => r.mode === 'poll');
  const callbacks = allRuns.filter((r) => r.mode === 'callback');
  const run = (audio: number, provider: Provider = 'published') =>
    runs.find((r) => r.audio_seconds === audio && r.provider === provider) as RunSummary;
  const verdict = (pass: boolean): Goal['verdict'] => (pass ? 'PASS' : 'FAIL');
  const short = [run(15), run(60)];
  const long = [run(600), run(3600)];
  const tenHours = [run(36_000, 'pessimistic'), run(36_000)];
  const fromTenMinutes = [run(600), run(3600), run(36_000)];
  const lambdas = coldStarts.filter((c) => c.lambda !== BASELINE);
  const allOk = (rs: RunSummary[]) => rs.every((r) => r.succeeded === r.executions);
  const list = (rs: RunSummary[], f: (r: RunSummary) => string) =>
    rs
      .map((r) => `${duration(r.audio_seconds)}${r.provider === 'pessimistic' ? ' pess.' : ''} ${f(r)}`)
      .join(', ');
  return [
    {
      name: 'audio ≤ 1 min: lag median ≤ 1.5 s',
      verdict: verdict(allOk(short) && short.every((r) => r.lag_seconds_median <= 1.5)),
      detail: list(short, (r) => `${r.lag_seconds_median} s`),
    },
    {
      name: 'audio ≤ 1 min: ≤ 10 transitions (every run)',
      verdict: verdict(short.every((r) => r.transitions_max <= 10)),
      detail: list(short, (r) => `max ${r.transitions_max}`),
    },
    {
      name: '10 min and 1 h: lag median ≤ 5 s',
      verdict: verdict(allOk(long) && long.every((r) => r.lag_seconds_median <= 5)),
      detail: list(long, (r) => `${r.lag_seconds_median} s`),
    },
    {
      name: '10 h: ≤ 40 transitions (every run), pessimistic provider too',
      verdict: verdict(allOk(tenHours) && tenHours.every((r) => r.transitions_max <= 40)),
      detail: list(
        tenHours,
        (r) =>
          `max ${r.transitions_max}${r.succeeded < r.executions ? ` (${r.executions - r.succeeded} failed)` : ''}`,
      ),
    },
    {
      name: '15 s: AWS cost ≤ 2.5× the seed’s',
      verdict: verdict(run(15).aws_cost_usd <= 2.5 * run(15).seed_cost_usd),
      detail: `${usd(run(15).aws_cost_usd)} vs 2.5 × ${usd(run(15).seed_cost_usd)} (${(run(15).aws_cost_usd / run(15).seed_cost_usd).toFixed(2)}×)`,
    },
    {
      name: 'from 10 min: AWS cost below the seed’s',
      verdict: verdict(fromTenMinutes.every((r) => r.aws_cost_usd < r.seed_cost_usd)),
      detail: list(
        fromTenMinutes,
        (r) => `${(r.aws_cost_usd / r.seed_cost_usd).toFixed(2)}×${r.seed_fails ? ' (seed fails)' : ''}`,
      ),
    },
    {
      name: 'each Lambda init ≤ 1.3× baseline',
      verdict: verdict(lambdas.every((c) => c.ratio_to_baseline <= 1.3)),
      detail:
        lambdas
          .filter((c) => c.ratio_to_baseline > 1.3)
          .map((c) => `${c.lambda} ${c.ratio_to_baseline}×`)
          .join(', ') || 'all within',
    },
    {
      name: 'no bundle over 800 KB',
      verdict: verdict(lambdas.every((c) => c.bundle_kb <= 800)),
      detail:
        lambdas
          .filter((c) => c.bundle_kb > 800)
          .map((c) => `${c.lambda} ${c.bundle_kb} KB`)
          .join(', ') || 'all within',
    },
    {
      name: `10-h transcript (${memory.transcript_mb} MB): Check peak RSS ≤ 200 MB`,
      verdict: verdict(memory.check_peak_rss_mb <= 200),
      detail: `${memory.check_peak_rss_mb} MB`,
    },
    {
      name: '10-h transcript: Format < 1 s',
      verdict: verdict(memory.format_ms < 1000),
      detail: `${memory.format_ms} ms (peak RSS ${memory.format_peak_rss_mb} MB)`,
    },
    {
      name: 'callback: ≤ 8 transitions for any audio length (every run)',
      verdict: verdict(
        callbacks.length > 0 && allOk(callbacks) && callbacks.every((r) => r.transitions_max <= 8),
      ),
      detail: `max ${Math.max(...callbacks.map((r) => r.transitions_max))} over ${callbacks.length} rows (both providers)`,
    },
    {
      name: 'callback: lag ≤ webhook delivery + 1 s (p95)',
      verdict: verdict(
        callbacks.length > 0 && callbacks.every((r) => r.lag_seconds_p95 - WEBHOOK_DELIVERY_SECONDS <= 1),
      ),
      detail: `delivery ${WEBHOOK_DELIVERY_SECONDS} s; worst p95 ${Math.max(...callbacks.map((r) => r.lag_seconds_p95))} s`,
    },
  ];
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/* ---------- main ---------- */

/**
 * Seeded executions of every (provider, audio length) in one delivery mode. The handlers read the
 * mode at import, as on a cold start, so a process measures one mode: main() measures poll mode
 * itself and callback mode in a child process (BENCH_ONLY_MODE).
 */
async function measureRuns(
  mode: Mode,
  wallStarted: number,
): Promise<{ runs: RunSummary[]; warnings: string[] }> {
  countS3Requests();
  const directory = await mkdtemp(join(tmpdir(), 'transcription-bench-'));
  const s3 = await startEmbeddedS3({ directory, bucket: BUCKET });
  /** By audio path: the audio duration the emulator reports, the modelled processing time, and when the job completes (virtual ms). */
  const jobsByPath = new Map<string, { audioSeconds: number; processingMs: number; completesAt?: number }>();
  const pathOf = (url: string) => new URL(url).pathname;
  const emulator = await startEmulator({
    seed: SEED_VALUE,
    webhookDelayMs: WEBHOOK_DELIVERY_SECONDS * 1000,
    processingDelayMsFor: (url) => {
      const job = jobsByPath.get(pathOf(url));
      if (!job) throw new Error(`unexpected audio ${url}`);
      job.completesAt = Date.now() + job.processingMs;
      return job.processingMs;
    },
    inspectAudio: async (url) => ({
      ok: true,
      durationSeconds: jobsByPath.get(pathOf(url))?.audioSeconds ?? null,
      sha256: pathOf(url),
    }),
  });
  const webhook = mode === 'callback' ? await startLocalWebhookMode() : undefined;
  const warnings: string[] = [];
  const original = { warn: console.warn, error: console.error };
  try {
    Object.assign(process.env, s3.env, webhook?.env, {
      TRANSCRIPT_DELIVERY: webhook ? 'webhook' : 'poll',
      TRANSCRIPTION_BUCKET: BUCKET,
      ASSEMBLYAI_BASE_URL: emulator.url,
      ASSEMBLYAI_API_KEY: emulator.apiKey,
      POWERTOOLS_SERVICE_NAME: 'transcription',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_DEV: 'true',
    });
    console.warn = console.error = (...args: unknown[]) => {
      warnings.push((format(...args).split('\n')[0] ?? '').slice(0, 110));
    };
    const handlers = timed(await loadLambdaHandlers());
    webhook?.attach(handlers);
    const workflow = new LocalWorkflow(handlers, { taskTokens: webhook?.tokens });
    const runs: RunSummary[] = [];
    for (const provider of ['published', 'pessimistic'] as const) {
      for (const audioSeconds of AUDIO_SECONDS) {
        const random = seededRandom(
          SEED_VALUE * 1_000_003 + audioSeconds * 7 + (provider === 'published' ? 0 : 1),
        );
        const samples: Sample[] = [];
        for (let i = 0; i < RUNS_PER_CASE; i++) {
          const fileId = `bench-${provider}-${audioSeconds}-${i}`;
          const s3Key = `transcription/1/${fileId}.wav`;
          const processingSeconds = PROVIDER_MODELS[provider].seconds(audioSeconds, random);
          const job = { audioSeconds, processingMs: processingSeconds * 1000 } as {
            audioSeconds: number;
            processingMs: number;
            completesAt?: number;
          };
          jobsByPath.set(`/${BUCKET}/${s3Key}`, job);
          jobsByPath.set(`/${s3Key}`, job);
          await s3.client.send(
            new PutObjectCommand({
              Bucket: BUCKET,
              Key: s3Key,
              Body: wavOf(audioSeconds, runs.length * 1000 + i),
            }),
          );
          const getsBefore = emulator.stats().gets;
          current = { invocations: [], s3Tier1: 0, s3Tier2: 0 };
          let waitsPassedOn = 0;
          let validatedSeconds: unknown;
          const outcome = await workflow.run(
            { s3_key: s3Key, user_id: 1, file_id: fileId, bucket: BUCKET },
            {
              executionName: fileId,
              retryIntervalMs: 10,
              onTaskResult: (state, output) => {
                if (state === 'Validate audio')
                  validatedSeconds = (output as { audio?: { duration_seconds?: unknown } }).audio
                    ?.duration_seconds;
              },
              advanceClock: (seconds) => {
                waitsPassedOn += 1;
                virtualClock.advance(seconds);
              },
              // Waiting for the webhook: on to the moment the emulator delivers it, or to the
              // task's timeout when none is due before (the run then falls back to polling).
              onCallbackWait: ({ timeoutSeconds }) => {
                const now = Date.now();
                const due = emulator.nextWebhookDueAt();
                const target =
                  due !== undefined && due < now + timeoutSeconds * 1000 ? due : now + timeoutSeconds * 1000;
                if (target > now) virtualClock.advance((target - now) / 1000);
              },
            },
          );
          if (validatedSeconds !== audioSeconds)
            throw new Error(`Validate audio read ${String(validatedSeconds)} s of a ${audioSeconds} s WAV`);
          const measured = current;
          current = undefined;
          const retries = Object.values(outcome.retries).reduce((a, b) => a + b, 0);
          // Billed: every state entered, retries included.
          const transitions = outcome.statesEntered.length + retries;
          const seed = seedCost(processingSeconds);
          const ok = outcome.status === 'SUCCEEDED' && measured.persistedAt !== undefined;
          samples.push({
            ok,
            ...(!ok && {
              failure: `${outcome.status} ${outcome.error ?? ''}: ${(outcome.cause ?? '').slice(0, 120)}`,
            }),
            ...(process.env.BENCH_DEBUG && { invocations: measured.invocations }),
            processingSeconds,
            transitions,
            providerGets: emulator.stats().gets - getsBefore,
            lagSeconds: ((measured.persistedAt ?? Number.NaN) - (job.completesAt ?? Number.NaN)) / 1000,
            awsCostUsd:
              transitions * PRICES.stepFunctionsStandardPerTransition +
              lambdaCost(measured.invocations) +
              measured.s3Tier1 * PRICES.s3Tier1PerRequest +
              measured.s3Tier2 * PRICES.s3Tier2PerRequest,
            seedCostUsd: seed.usd,
            seedFails: seed.fails,
            waitsPassedOn,
            waitsEntered: outcome.statesEntered.filter((s) => workflow.definition.States[s]?.Type === 'Wait')
              .length,
          });
        }
        if (process.env.BENCH_DEBUG) original.error(JSON.stringify(samples[0]));
        const lost = samples.filter((s) => s.waitsPassedOn !== s.waitsEntered);
        if (lost.length > 0) throw new Error(`virtual clock: ${lost.length} runs had a Wait not passed on`);
        runs.push(summarize(mode, provider, audioSeconds, samples));
        original.error(
          `  measured ${mode} ${provider} ${duration(audioSeconds)}: ${samples.length} executions, ${((performance.now() - wallStarted) / 1000).toFixed(0)} s`,
        );
      }
    }
    return { runs, warnings };
  } finally {
    Object.assign(console, original);
    await webhook?.close();
    await emulator.close();
    await s3.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Callback mode in a fresh process (its handlers load with TRANSCRIPT_DELIVERY=webhook). */
async function measureInChild(mode: Mode): Promise<{ runs: RunSummary[]; warnings: string[] }> {
  const directory = await mkdtemp(join(tmpdir(), 'transcription-bench-child-'));
  const file = join(directory, 'runs.json');
  try {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_ONLY_MODE: mode, BENCH_RUNS_FILE: file },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`the ${mode}-mode bench process exited with ${code}`);
    return JSON.parse(await readFile(file, 'utf8')) as { runs: RunSummary[]; warnings: string[] };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const wallStarted = performance.now();
  const only = process.env.BENCH_ONLY_MODE as Mode | undefined;
  if (only) {
    const measured = await measureRuns(only, wallStarted);
    await writeFile(process.env.BENCH_RUNS_FILE as string, JSON.stringify(measured));
    return 0;
  }
  const poll = await measureRuns('poll', wallStarted);
  const callback = await measureInChild('callback');
  const runs = [...poll.runs, ...callback.runs];
  const warnings = [...poll.warnings, ...callback.warnings];
  const original = { warn: console.warn, error: console.error };
  {
    Object.assign(console, original);

    original.error(`  cold starts: ${COLD_START_PROCESSES} processes per bundle…`);
    const cold = await measureColdStarts(COLD_START_PROCESSES);
    original.error('  a 10-h transcript through Check and Format, in fresh processes…');
    const memory = await measureTranscriptMemory();
    const wallSeconds = (performance.now() - wallStarted) / 1000;

    console.log(
      `Bench: ${RUNS_PER_CASE} seeded executions per row (seed ${SEED_VALUE}), poll and callback (webhook) mode, virtual clock (Waits skipped, all else real time), Node ${process.version}`,
    );
    console.log(`  provider published:   ${PROVIDER_MODELS.published.text}`);
    console.log(`  provider pessimistic: ${PROVIDER_MODELS.pessimistic.text}`);
    console.log(
      `  callback: AssemblyAI's webhook arrives ${WEBHOOK_DELIVERY_SECONDS} s after the job completes (the emulator's delivery; lag is measured from completion)`,
    );
    console.log(
      `  seed: one ${SEED.memoryMb} MB ${SEED.architecture} Lambda waiting the whole processing time + ${SEED.overheadSeconds} s, dead at ${SEED.lambdaTimeoutSeconds} s; ${SEED.transitions} transitions`,
    );
    console.log('');
    console.log(
      table(
        [
          'mode',
          'provider',
          'audio',
          'processing',
          'ok',
          'transitions',
          'gets',
          'lag p50',
          'lag p95',
          'AWS $',
          'seed $',
          'vs seed',
        ],
        runs.map((r) => [
          r.mode,
          r.provider,
          duration(r.audio_seconds),
          `${r.processing_seconds_median} s`,
          `${r.succeeded}/${r.executions}`,
          `${r.transitions} (max ${r.transitions_max})`,
          `${r.provider_gets}`,
          `${r.lag_seconds_median} s`,
          `${r.lag_seconds_p95} s`,
          usd(r.aws_cost_usd),
          `${usd(r.seed_cost_usd)}${r.seed_fails ? ` (fails ${r.seed_fails}/${r.executions})` : ''}`,
          `${(r.aws_cost_usd / r.seed_cost_usd).toFixed(2)}×`,
        ]),
      ),
    );
    console.log('');
    console.log(
      `Cold start: median of ${COLD_START_PROCESSES} fresh processes importing each bundle (${cold.node})`,
    );
    console.log(
      table(
        ['lambda', 'bundle', 'init p50', 'init p95', 'vs baseline'],
        cold.results.map((c) => [
          c.lambda,
          `${c.bundle_kb} KB`,
          `${c.init_ms_median} ms`,
          `${c.init_ms_p95} ms`,
          `${c.ratio_to_baseline}×`,
        ]),
      ),
    );
    console.log('');
    console.log('Goals (poll mode and published provider unless said):');
    const results = goals(runs, cold.results, memory);
    for (const goal of results) {
      console.log(`  ${goal.verdict.padEnd(12)} ${goal.name.padEnd(62)} ${goal.detail}`);
    }
    for (const run of runs.filter((r) => r.failures.length > 0)) {
      console.log(
        `  failed executions, ${run.provider} ${duration(run.audio_seconds)}: ${run.failures.join(' | ')}`,
      );
    }
    if (warnings.length > 0)
      console.log(`  ${warnings.length} warnings printed by the handlers, e.g. ${warnings[0]}`);
    console.log(`Wall time ${wallSeconds.toFixed(0)} s; wrote ${RESULTS_FILE}`);

    await mkdir(join(PROJECT_ROOT, 'bench'), { recursive: true });
    await writeFile(
      RESULTS_FILE,
      `${JSON.stringify(
        {
          generated_at: virtualClock.realDate().toISOString(),
          node: process.version,
          seed: SEED_VALUE,
          executions_per_run: RUNS_PER_CASE,
          time: 'virtual clock: Wait states skipped and the clock advanced by their duration; everything else in real time',
          provider_models: Object.fromEntries(Object.entries(PROVIDER_MODELS).map(([k, v]) => [k, v.text])),
          prices: PRICES,
          seed_design: SEED,
          memory_mb: MEMORY_MB,
          runs,
          cold_start: cold.results,
          transcript_memory: memory,
          goals: results,
          wall_seconds: Number(wallSeconds.toFixed(1)),
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 2;
  },
);
