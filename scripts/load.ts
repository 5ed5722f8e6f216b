/**
 * `npm run load -- [--executions 200] [--concurrency 200] [--fault-rate 0.1] [--seed 1]`
 *
 * The load test: many executions of the real state machine at once, through the local runner
 * with the real handlers, against the embedded S3 and the AssemblyAI emulator injecting seeded
 * transient faults (429, 500/502/503, dropped connections) on submit and status requests. Then
 * every execution's result object is read back, and the emulator's transcripts are counted per
 * audio file. Prints a table; exits 1 when a result is lost or wrong, the runner crashed, or a file
 * was submitted twice (2 on a usage error).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { resultKey, type TranscriptionResult } from '../lambdas/shared/contracts.js';
import { type AssemblyAIEmulator, type Fault, startEmulator } from '../local/assemblyai-emulator/emulator.js';
import { startEmbeddedS3 } from '../local/embedded-s3.js';
import { type ExecutionOutcome, LocalWorkflow, loadLambdaHandlers } from '../local/workflow.js';

const SAMPLE = new URL('../local/sample/sample.ogg', import.meta.url);
const BUCKET = 'wisevoice-transcription-load';
/** Emulated time from submit to completed, and the local runner's waits and retry intervals. */
const PROCESSING_DELAY_MS = 200;
const WAIT_MS = 50;
const RETRY_INTERVAL_MS = 10;
const USERS = 20;
const USAGE = 'Usage: npm run load -- [--executions 200] [--concurrency 200] [--fault-rate 0.1] [--seed 1]';

interface Options {
  executions: number;
  concurrency: number;
  faultRate: number;
  seed: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      executions: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '200' },
      'fault-rate': { type: 'string', default: '0.1' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const integer = (flag: string, raw: string) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${flag} must be a positive integer`);
    return value;
  };
  const faultRate = Number(values['fault-rate']);
  if (!(faultRate >= 0 && faultRate < 1)) throw new RangeError('--fault-rate must be in [0, 1)');
  return {
    executions: integer('executions', values.executions),
    concurrency: integer('concurrency', values.concurrency),
    faultRate,
    seed: integer('seed', values.seed),
  };
}

/**
 * Transient faults on submit and on status requests, each request hit with probability `rate`:
 * a third rate limits, a third 5xx (500/502/503 alike), a third dropped connections. The plan
 * fires the first entry whose roll succeeds, so each entry's probability is conditional on the
 * ones before it not firing.
 */
function transientFaults(rate: number): Fault[] {
  const kinds: { weight: number; fault: Fault }[] = [
    { weight: 1 / 3, fault: { kind: 'rate-limit', retryAfterSeconds: 1 } },
    { weight: 1 / 9, fault: { kind: 'server-error', status: 500 } },
    { weight: 1 / 9, fault: { kind: 'server-error', status: 502 } },
    { weight: 1 / 9, fault: { kind: 'server-error', status: 503 } },
    { weight: 1 / 3, fault: { kind: 'drop-connection' } },
  ];
  return (['submit', 'get'] as const).flatMap((on) => {
    let notYetFired = 1;
    return kinds.map(({ weight, fault }) => {
      const probability = notYetFired > 0 ? Math.min(1, (rate * weight) / notYetFired) : 0;
      notYetFired -= rate * weight;
      return { ...fault, on, probability } as Fault;
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Peak resident set size, sampled every 50 ms. */
function sampleMemory() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * Warnings printed while the executions run, counted by their first line. Run in one process, the
 * handlers share their module-level clients and Metrics across concurrent invocations (a Lambda
 * never does), so SDK socket warnings and "No application metrics to publish" are expected here.
 */
function collectWarnings() {
  const counts = new Map<string, number>();
  const original = { warn: console.warn, error: console.error };
  console.warn = console.error = (...args: unknown[]) => {
    const first = (format(...args).split('\n')[0] ?? '').slice(0, 110);
    counts.set(first, (counts.get(first) ?? 0) + 1);
  };
  return {
    stop: () => {
      Object.assign(console, original);
      return counts;
    },
  };
}

interface Execution {
  index: number;
  userId: number;
  fileId: string;
  s3Key: string;
  outcome?: ExecutionOutcome;
  crash?: unknown;
  /** From the failure result object. */
  failure?: string;
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function duplicateSubmissions(emulator: AssemblyAIEmulator) {
  const perAudio = new Map<string, number>();
  for (const { audioPath } of emulator.stats().transcripts) {
    perAudio.set(audioPath, (perAudio.get(audioPath) ?? 0) + 1);
  }
  const repeated = [...perAudio.values()].filter((count) => count > 1);
  return {
    transcripts: emulator.stats().transcripts.length,
    filesSubmittedTwice: repeated.length,
    extraTranscripts: repeated.reduce((sum, count) => sum + count - 1, 0),
  };
}

async function main(): Promise<number> {
  const options = parseOptions();
  const directory = await mkdtemp(join(tmpdir(), 'transcription-load-'));
  const s3 = await startEmbeddedS3({ directory, bucket: BUCKET });
  const emulator = await startEmulator({
    processingDelayMs: PROCESSING_DELAY_MS,
    seed: options.seed,
    faults: options.faultRate > 0 ? transientFaults(options.faultRate) : [],
  });
  try {
    Object.assign(process.env, s3.env, {
      TRANSCRIPTION_BUCKET: BUCKET,
      ASSEMBLYAI_BASE_URL: emulator.url,
      ASSEMBLYAI_API_KEY: emulator.apiKey,
      // Time is compressed like the retry intervals: a dropped submit's retry waits out 2 s + 0.3 s
      // (10 s + 15 s deployed) before looking for the job, within the SubmissionPending retries.
      ASSEMBLYAI_TIMEOUT_MS: '2000',
      ASSEMBLYAI_SUBMIT_SETTLE_MS: '300',
      POWERTOOLS_SERVICE_NAME: 'transcription',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Powertools then writes through the global console, where collectWarnings sees it.
      POWERTOOLS_DEV: 'true',
    });
    const workflow = new LocalWorkflow(await loadLambdaHandlers());

    const sample = await readFile(SAMPLE);
    const executions: Execution[] = Array.from({ length: options.executions }, (_, index) => {
      const userId = (index % USERS) + 1;
      const fileId = `load-${options.seed}-${index}`;
      return { index, userId, fileId, s3Key: `transcription/${userId}/${fileId}.ogg` };
    });
    await pool(executions, 20, async ({ s3Key }) => {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: s3Key, Body: sample }));
    });

    const stateDurations = new Map<string, number[]>();
    const warnings = collectWarnings();
    const memory = sampleMemory();
    const started = performance.now();
    await pool(executions, options.concurrency, async (execution) => {
      const entered = new Map<string, number>();
      try {
        execution.outcome = await workflow.run(
          { s3_key: execution.s3Key, user_id: execution.userId, file_id: execution.fileId, bucket: BUCKET },
          {
            executionName: `load-${options.seed}-${execution.index}`,
            waitMs: WAIT_MS,
            retryIntervalMs: RETRY_INTERVAL_MS,
            onEvent: (event) => {
              if (event.type === 'StateEntered') entered.set(event.state.name, performance.now());
              if (event.type !== 'StateExited' && event.type !== 'StateFailed') return;
              const name = event.state.name;
              const durations = stateDurations.get(name) ?? [];
              durations.push((performance.now() - (entered.get(name) ?? performance.now())) / 1000);
              stateDurations.set(name, durations);
            },
          },
        );
      } catch (error) {
        execution.crash = error;
      }
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const peakRss = memory.stop();
    const warningCounts = warnings.stop();

    // Every execution must have left exactly its own result object.
    let lost = 0;
    let wrong = 0;
    await pool(executions, 20, async (execution) => {
      const key = resultKey('results/', execution.userId, execution.fileId);
      const result = await s3.client
        .send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
        .then(
          async (r) =>
            JSON.parse((await r.Body?.transformToString('utf-8')) ?? 'null') as TranscriptionResult,
        )
        .catch(() => undefined);
      if (!result) {
        lost += 1;
        return;
      }
      if (result.status === 'failed')
        execution.failure = `${result.error.type} in "${result.metadata.failed_state}": ${result.error.message}`;
      const expectedStatus = execution.outcome?.status === 'SUCCEEDED' ? 'completed' : 'failed';
      if (
        result.status !== expectedStatus ||
        result.metadata.execution_arn !== execution.outcome?.executionArn
      ) {
        wrong += 1;
      }
    });

    const outcomes = executions.flatMap((e) => (e.outcome ? [e.outcome] : []));
    const completed = outcomes.filter((o) => o.status === 'SUCCEEDED').length;
    const failedByType = new Map<string, number>();
    for (const o of outcomes.filter((o) => o.status === 'FAILED')) {
      failedByType.set(o.error ?? '?', (failedByType.get(o.error ?? '?') ?? 0) + 1);
    }
    const failed = [...failedByType.values()].reduce((a, b) => a + b, 0);
    const crashed = executions.filter((e) => e.crash !== undefined).length;
    const durations = outcomes.map((o) => o.durationMs / 1000).sort((a, b) => a - b);
    const retries = outcomes.reduce((sum, o) => sum + Object.values(o.retries).reduce((a, b) => a + b, 0), 0);
    const stats = emulator.stats();
    const faults = Object.entries(stats.faults).map(([kind, count]) => `${kind} ${count}`);
    const duplicates = duplicateSubmissions(emulator);
    const byType = [...failedByType].map(([type, count]) => `${type} ${count}`).join(', ');
    const stateP95 = [...stateDurations]
      .map(([name, durations]) => ({
        name,
        p95: percentile(
          durations.sort((a, b) => a - b),
          95,
        ),
      }))
      .sort((a, b) => b.p95 - a.p95)
      .slice(0, 3)
      .map(({ name, p95 }) => `${name} ${p95.toFixed(2)} s`)
      .join(', ');

    const rows: [string, string, string?][] = [
      ['executions started', String(executions.length)],
      ['completed', String(completed)],
      ['failed', String(failed), byType],
      ['runner crashed', String(crashed)],
      ['lost (no result object)', String(lost)],
      ['wrong result object', String(wrong), 'status or execution_arn not its own'],
      [
        'duplicate submissions',
        String(duplicates.extraTranscripts),
        `${duplicates.transcripts} transcripts for ${executions.length} executions; ${duplicates.filesSubmittedTwice} files submitted more than once`,
      ],
      [
        'provider requests',
        String(stats.submissions + stats.gets),
        `${stats.submissions} submit, ${stats.gets} status/list; faulted ones included`,
      ],
      ['faults injected', String(Object.values(stats.faults).reduce((a, b) => a + b, 0)), faults.join(', ')],
      ['step retries', String(retries)],
      ['wall time', `${wallSeconds.toFixed(1)} s`],
      [
        'execution p50 / p95',
        `${percentile(durations, 50).toFixed(2)} s / ${percentile(durations, 95).toFixed(2)} s`,
        `max ${(durations.at(-1) ?? Number.NaN).toFixed(2)} s`,
      ],
      ['slowest states (p95)', '', stateP95],
      ['peak RSS', `${(peakRss / 1024 ** 2).toFixed(0)} MB`],
    ];
    console.log(
      `Load test: ${options.executions} executions, concurrency ${options.concurrency}, ` +
        `fault rate ${options.faultRate} on submit and status requests (seed ${options.seed}), ` +
        `emulated processing ${PROCESSING_DELAY_MS} ms, Node ${process.version}`,
    );
    for (const [label, value, note] of rows) {
      console.log(`  ${label.padEnd(26)}${value.padStart(10)}${note ? `   ${note}` : ''}`);
    }
    for (const [line, count] of warningCounts) console.log(`  warning ×${count}: ${line}`);
    for (const execution of executions.filter((e) => e.crash !== undefined).slice(0, 5)) {
      console.log(`  crash in ${execution.fileId}: ${String(execution.crash)}`);
    }
    for (const execution of executions.filter((e) => e.failure !== undefined).slice(0, 5)) {
      console.log(`  failed ${execution.fileId}: ${execution.failure}`);
    }
    const ok = lost === 0 && wrong === 0 && crashed === 0 && duplicates.extraTranscripts === 0;
    console.log(ok ? 'OK: no result lost, no file submitted twice' : 'FAILED: see the rows above');
    return ok ? 0 : 1;
  } finally {
    await emulator.close();
    await s3.close();
    await rm(directory, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
