/**
 * Step 1, "Validate audio": the input contract first, then the object itself — it exists, is not
 * empty or too large, and its bytes are audio (read from the header with a few ranged GETs, never
 * the whole file), with a duration inside the configured limits.
 */

import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makeChunkedTokenizerFromS3 } from '@tokenizer/s3';
import { type IAudioMetadata, parseFromTokenizer } from 'music-metadata';
import type { z } from 'zod';
import type { WorkflowConfig } from '../shared/config.js';
import { resultKey, type TranscriptionRequest, type TranscriptionResult } from '../shared/contracts.js';
import {
  AudioEmpty,
  AudioNotFound,
  AudioTooLarge,
  AudioTooLong,
  AudioTooShort,
  InvalidInput,
  UnsupportedAudioFormat,
} from '../shared/errors.js';
import { classifyStorageError, getJsonIfExists, isMissingObject } from '../shared/storage.js';
import type {
  AlreadyTranscribedState,
  AudioInfo,
  ExecutionRef,
  ValidatedState,
} from '../shared/workflow-state.js';
import { transcriptionRequestSchema } from './request-schema.js';

export interface ValidateEvent {
  input: unknown;
  execution: ExecutionRef;
}

export interface ValidateDeps {
  s3: S3Client;
  config: WorkflowConfig;
}

/** One readable sentence listing every contract violation, e.g. `user_id must be a positive integer`. */
function describeIssues(error: z.ZodError, input: Record<string, unknown>): string {
  const parts = error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // Field names are echoed to the user only when they look like field names (not URLs or text).
      const names = issue.keys.filter((k) => /^[A-Za-z0-9_]{1,40}$/.test(k)).slice(0, 3);
      return names.length === issue.keys.length
        ? `unknown field(s) ${names.map((k) => `"${k}"`).join(', ')}`
        : `${issue.keys.length} unknown field(s)`;
    }
    const field = issue.path.join('.') || 'input';
    if (issue.path.length === 1 && !(String(issue.path[0]) in input)) return `${field} is required`;
    if (issue.code === 'invalid_type') return `${field} must be a ${issue.expected}`;
    return `${field} ${issue.message}`;
  });
  return `Invalid input: ${[...new Set(parts)].slice(0, 5).join('; ')}`;
}

export function parseRequest(input: unknown, config: WorkflowConfig): TranscriptionRequest {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInput('Invalid input: expected a JSON object with s3_key, user_id, file_id and bucket');
  }
  const parsed = transcriptionRequestSchema({
    bucket: config.bucket,
    inputPrefix: config.inputPrefix,
  }).safeParse(input);
  if (!parsed.success) throw new InvalidInput(describeIssues(parsed.error, input as Record<string, unknown>));
  return parsed.data;
}

async function objectSize(s3: S3Client, bucket: string, key: string): Promise<number> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if (isMissingObject(error)) throw new AudioNotFound('The audio file was not found in storage');
    return classifyStorageError(error, 'head');
  }
}

/**
 * Duration from the header. MPEG without one (no Xing/VBRI frame) is estimated from the bitrate
 * as CBR, to avoid a full scan; PCM containers always state their length, so one that does not
 * has no samples.
 */
function durationOf(metadata: IAudioMetadata, sizeBytes: number): number | null {
  const { duration, bitrate, container } = metadata.format;
  if (duration !== undefined && Number.isFinite(duration)) return duration;
  if (container === 'MPEG' && bitrate && bitrate > 0) return (sizeBytes * 8) / bitrate;
  if (container === 'WAVE' || container === 'AIFF') return 0;
  return null;
}

/** `1.4 s`, `3.5 min`, `2.0 h`: durations in messages for users. */
function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(seconds < 10 ? 2 : 1))} s`;
  if (seconds < 3600) return `${Number((seconds / 60).toFixed(1))} min`;
  return `${Number((seconds / 3600).toFixed(1))} h`;
}

/** A voice message's last Ogg page is a few KB; the largest possible one is 65,307 bytes. */
const OGG_TAIL_READS = [16 * 1024, 80 * 1024];
const OGG_PAGE_HEADER_BYTES = 27;

/** The granule position of the last complete page in `tail`, or undefined. */
function lastOggGranule(tail: Buffer): bigint | undefined {
  for (let at = tail.lastIndexOf('OggS'); at >= 0; at = at > 0 ? tail.lastIndexOf('OggS', at - 1) : -1) {
    if (at + OGG_PAGE_HEADER_BYTES > tail.length) continue;
    const segments = tail[at + 26] as number;
    const table = tail.subarray(at + OGG_PAGE_HEADER_BYTES, at + OGG_PAGE_HEADER_BYTES + segments);
    const pageLength = OGG_PAGE_HEADER_BYTES + segments + table.reduce((sum, lacing) => sum + lacing, 0);
    const granule = tail.readBigInt64LE(at + 6);
    // A cut-off page (truncated upload) or one with no packet end (-1) does not tell the length.
    if (table.length === segments && at + pageLength <= tail.length && granule >= 0n) return granule;
  }
  return undefined;
}

/**
 * An Ogg stream's length is the granule position of its last page, which music-metadata finds
 * only by reading the whole stream (hundreds of ranged GETs for a long file). One ranged GET of
 * the tail finds it — our own code because no library reads just the tail. Opus granules count
 * 48 kHz samples whatever the input rate; Vorbis and FLAC count at the stream's sample rate.
 */
async function oggDuration(
  s3: S3Client,
  bucket: string,
  key: string,
  size: number,
  metadata: IAudioMetadata,
) {
  const rate = /opus/i.test(metadata.format.codec ?? '') ? 48_000 : metadata.format.sampleRate;
  if (!rate) return null;
  for (const length of OGG_TAIL_READS) {
    const start = Math.max(0, size - length);
    let tail: Buffer;
    try {
      const range = `bytes=${start}-${size - 1}`;
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
      tail = Buffer.from((await response.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      return classifyStorageError(error, 'read tail');
    }
    const granule = lastOggGranule(tail);
    if (granule !== undefined) return Number(granule) / rate;
    if (start === 0) break;
  }
  return null;
}

/**
 * @tokenizer/s3 learns the object's size from a ranged GET whose body it never reads, so that
 * response pins a pooled socket until the server drops it: with the pool full (50 concurrent
 * validations on a warm Lambda) every validation stalls for seconds. Reading each ranged body
 * into memory (a few KB each) returns the socket at once.
 */
function bufferingClient(s3: S3Client): Parameters<typeof makeChunkedTokenizerFromS3>[0] {
  return {
    async send(command: GetObjectCommand, options?: { abortSignal?: AbortSignal }) {
      const response = await s3.send(command, options);
      const bytes = await response.Body?.transformToByteArray();
      return { ...response, Body: Readable.from(bytes ? [Buffer.from(bytes)] : []) };
    },
  };
}

async function readHeader(s3: S3Client, bucket: string, key: string): Promise<IAudioMetadata> {
  try {
    const tokenizer = await makeChunkedTokenizerFromS3(bufferingClient(s3), { Bucket: bucket, Key: key });
    return await parseFromTokenizer(tokenizer, { duration: false, skipCovers: true, skipPostHeaders: true });
  } catch (error) {
    const name = (error as Error)?.name ?? '';
    if (/FileType|FileContent|Parser|FieldDecoding|EndOfStream/.test(name) || error instanceof RangeError) {
      throw new UnsupportedAudioFormat(
        'The file is not audio in a supported format (OGG/Opus, MP3, M4A, WAV, WEBM, FLAC)',
      );
    }
    return classifyStorageError(error, 'read header');
  }
}

export async function inspectAudio(
  s3: S3Client,
  config: WorkflowConfig,
  bucket: string,
  key: string,
): Promise<AudioInfo> {
  const size = await objectSize(s3, bucket, key);
  if (size === 0) throw new AudioEmpty('The audio file is empty');
  if (size > config.maxAudioBytes) {
    throw new AudioTooLarge(
      `The audio file is ${(size / 1024 ** 2).toFixed(1)} MB; the limit is ${(config.maxAudioBytes / 1024 ** 2).toFixed(0)} MB`,
    );
  }
  const metadata = await readHeader(s3, bucket, key);
  const { container, codec, numberOfChannels, sampleRate } = metadata.format;
  if (!container || (!codec && !numberOfChannels && !sampleRate)) {
    throw new UnsupportedAudioFormat(
      'The file is not audio in a supported format (OGG/Opus, MP3, M4A, WAV, WEBM, FLAC)',
    );
  }
  const duration =
    container === 'Ogg'
      ? ((await oggDuration(s3, bucket, key, size, metadata)) ?? durationOf(metadata, size))
      : durationOf(metadata, size);
  if (duration !== null && duration <= 0) throw new AudioEmpty('The audio file contains no sound');
  if (duration !== null && duration < config.minAudioSeconds) {
    throw new AudioTooShort(
      `The audio is ${formatDuration(duration)} long; the minimum is ${formatDuration(config.minAudioSeconds)}`,
    );
  }
  if (duration !== null && duration > config.maxAudioSeconds) {
    throw new AudioTooLong(
      `The audio is ${formatDuration(duration)} long; the limit is ${formatDuration(config.maxAudioSeconds)}`,
    );
  }
  return {
    container,
    codec: codec ?? null,
    duration_seconds: duration === null ? null : Math.round(duration * 1000) / 1000,
    size_bytes: size,
  };
}

/**
 * A completed result for this user and file already exists: the bot retried StartExecution (e.g.
 * after a network blip), so return it instead of paying AssemblyAI twice. `force: true` skips this.
 */
async function existingCompletedResult(s3: S3Client, config: WorkflowConfig, request: TranscriptionRequest) {
  if (request.force) return undefined;
  const key = resultKey(config.resultsPrefix, request.user_id, request.file_id);
  const existing = await getJsonIfExists<TranscriptionResult>(s3, config.bucket, key);
  return existing?.status === 'completed'
    ? { key, execution_arn: existing.metadata.execution_arn }
    : undefined;
}

export async function validateAudio(
  event: ValidateEvent,
  deps: ValidateDeps,
): Promise<ValidatedState | AlreadyTranscribedState> {
  const request = parseRequest(event.input, deps.config);
  const existing = await existingCompletedResult(deps.s3, deps.config, request);
  if (existing) return { execution: event.execution, request, existing_result: existing };
  const audio = await inspectAudio(deps.s3, deps.config, request.bucket, request.s3_key);
  return { execution: event.execution, request, audio };
}
