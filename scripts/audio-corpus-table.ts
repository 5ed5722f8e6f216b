/**
 * Prints the audio corpus table: each file of test/fixtures/audio/corpus through "Validate audio"
 * against an embedded S3, its outcome, our duration next to ffprobe's (from manifest.json) and the
 * S3 requests it cost. Run: `npx tsx scripts/audio-corpus-table.ts` (Node and npm only).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../lambdas/shared/config.js';
import { inspectAudio } from '../lambdas/validate-audio/validate-audio.js';
import { startEmbeddedS3 } from '../local/embedded-s3.js';

const CORPUS = fileURLToPath(new URL('../test/fixtures/audio/corpus/', import.meta.url));
const BUCKET = 'corpus-table';

interface Entry {
  format: string;
  expected: 'accept' | 'refuse';
  error?: string;
  ffprobe_duration: number | null;
  ffprobe_audio_duration: number | null;
  expected_duration?: number | null;
}

const manifest = JSON.parse(await readFile(join(CORPUS, 'manifest.json'), 'utf8')) as Record<string, Entry>;
const directory = await mkdtemp(join(tmpdir(), 'corpus-table-'));
const s3 = await startEmbeddedS3({ directory, bucket: BUCKET, conditionalRequests: false });
let requests = 0;
s3.client.middlewareStack.add(
  (next) => async (args) => {
    requests += 1;
    return next(args);
  },
  { step: 'initialize', name: 'countRequests' },
);
const config = loadConfig({ TRANSCRIPTION_BUCKET: BUCKET });
const rows: string[][] = [
  ['file', 'format', 'expected', 'outcome', 'ours (s)', 'ffprobe (s)', 'S3 requests'],
];
try {
  for (const [file, entry] of Object.entries(manifest)) {
    const key = `transcription/1/${file}`;
    await s3.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(join(CORPUS, file)) }),
    );
    requests = 0;
    let outcome: string;
    let ours = '';
    try {
      const audio = await inspectAudio(s3.client, config, BUCKET, key);
      outcome = `accept ${audio.container}/${audio.codec ?? '?'}`;
      ours = audio.duration_seconds === null ? 'null' : audio.duration_seconds.toFixed(3);
    } catch (error) {
      outcome = `${(error as Error).name}: ${(error as Error).message}`;
    }
    const reference = entry.expected_duration ?? entry.ffprobe_audio_duration ?? entry.ffprobe_duration;
    const expected = entry.expected === 'accept' ? 'accept' : `refuse ${entry.error}`;
    rows.push([file, entry.format, expected, outcome, ours, reference?.toFixed(3) ?? '-', String(requests)]);
  }
} finally {
  await s3.close();
  await rm(directory, { recursive: true, force: true });
}
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
