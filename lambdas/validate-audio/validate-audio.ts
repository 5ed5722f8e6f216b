/**
 * Step 1, "Validate audio": the input contract first, then the object itself — it exists, is not
 * empty or too large, and its bytes are audio, or video with an audio track, in a format AssemblyAI
 * transcodes, with a duration inside the configured limits. The format is decided by the bytes, and
 * only a bounded window of the object is read (see object-window.ts): at most 4 S3 requests.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import { type IAudioMetadata, type IFormat, parseFromTokenizer } from 'music-metadata';
import type * as z from 'zod/mini';
import { keytermsProblem, piiRedactionProblem } from '../shared/assemblyai-catalog.js';
import { redactionOf, type WorkflowConfig } from '../shared/config.js';
import {
  resultKey,
  type TranscriptionRequest,
  type TranscriptionResult,
  transcribesAudio,
} from '../shared/contracts.js';
import {
  AudioEmpty,
  AudioNotFound,
  AudioTooLarge,
  AudioTooLong,
  AudioTooShort,
  InvalidInput,
  StorageUnavailable,
  UnsupportedAudioFormat,
} from '../shared/errors.js';
import { getJsonIfExists, headObject } from '../shared/storage.js';
import { plannedAudioSeconds, webhookWaitSeconds } from '../shared/wait-policy.js';
import type {
  AlreadyTranscribedState,
  AudioInfo,
  ExecutionRef,
  ValidatedState,
} from '../shared/workflow-state.js';
import {
  ac3Audio,
  adtsAudio,
  amrAudio,
  auAudio,
  id3v2End,
  mpegAudio,
  type StreamEstimate,
  ttaAudio,
  vocAudio,
} from './bitstreams.js';
import * as messages from './messages.js';
import {
  HeaderReadCapReached,
  ObjectWindow,
  type ReadCaps,
  TAIL_BYTES,
  WindowTokenizer,
} from './object-window.js';
import { analyzeOgg, tailHasAudioPage } from './ogg.js';
import { transcriptionRequestSchema } from './request-schema.js';
import { type Sniffed, sniff } from './sniff.js';
import { aviTracks, type ContainerTracks, flvTracks, psTracks, tsTracks } from './video-containers.js';

export interface ValidateEvent {
  input: unknown;
  execution: ExecutionRef;
}

export interface ValidateDeps {
  s3: S3Client;
  config: WorkflowConfig;
}

/** zod's type names as a sentence says them: "must be an integer", not "must be a int". */
const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  bigint: 'an integer',
  null: 'null',
};

/** One readable sentence listing every contract violation, e.g. `user_id must be a positive integer`. */
function describeIssues(error: z.core.$ZodError, input: Record<string, unknown>): string {
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
    // A field's own wording ("must be an integer from 1 to 10") says more than zod's type name.
    if (issue.message.startsWith('must ') || issue.message.startsWith('is '))
      return `${field} ${issue.message}`;
    if (issue.code === 'invalid_type')
      return `${field} must be ${TYPE_NAMES[issue.expected] ?? `of type ${issue.expected}`}`;
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
    inputPerUser: config.inputPerUser,
  }).safeParse(input);
  if (!parsed.success) throw new InvalidInput(describeIssues(parsed.error, input as Record<string, unknown>));
  // What depends on the deployment's speech models, refused here rather than by AssemblyAI after
  // the audio was uploaded and paid for (or silently ignored by it).
  const { keyterms, language_code: languageCode } = parsed.data;
  const problem =
    (keyterms && keytermsProblem(config.assemblyai.speechModels, languageCode, keyterms)) ||
    (redactionOf(parsed.data, config) &&
      piiRedactionProblem(languageCode, config.assemblyai.languageDetection));
  if (problem) throw new InvalidInput(`Invalid input: ${problem}`);
  return parsed.data;
}

/** Size and identity of the audio object (one HEAD), or AudioNotFound. */
async function audioHead(s3: S3Client, bucket: string, key: string): Promise<AudioHead> {
  const head = await headObject(s3, bucket, key);
  if (!head) throw new AudioNotFound('The audio file was not found in storage');
  return { size: head.size, etag: head.etag };
}

export interface AudioHead {
  size: number;
  etag: string;
}

/** What the bytes say: the fields of AudioInfo besides the size, or a refusal already thrown. */
export interface Probed {
  container: string;
  codec: string | null;
  durationSeconds: number | null;
}

const OGG_EXTENSIONS = new Set(['ogg', 'oga', 'ogv', 'opus', 'ogx', 'spx', 'ogm']);
const MP4_EXTENSIONS = new Set([
  'mp4',
  'm4a',
  'm4v',
  'm4b',
  'm4p',
  'mov',
  '3gp',
  '3g2',
  'f4v',
  'f4a',
  'mj2',
  'qt',
]);
const MPEG_EXTENSIONS = new Set(['mp3', 'mp2', 'mp1']);

/** music-metadata's audio track type in `trackInfo` (Matroska numbering, used by every parser). */
const AUDIO_TRACK = 2;

function hasAudioTrack(format: Partial<IFormat>): boolean {
  return (
    format.codec !== undefined ||
    format.sampleRate !== undefined ||
    format.numberOfChannels !== undefined ||
    (format.trackInfo ?? []).some((track) => track.type === AUDIO_TRACK)
  );
}

/** S3 failures (typed by classifyStorageError, or raw AWS errors) are never a verdict on the file. */
const isStorageError = (error: unknown) =>
  error instanceof StorageUnavailable ||
  (typeof error === 'object' && error !== null && '$metadata' in error);

/**
 * music-metadata over the window (MP4/MOV/3GP, WebM/Matroska, WAV, AIFF, FLAC, ASF, WavPack, APE…).
 * A cap hit mid-parse keeps what was learned so far: the format is known, only the length may not be.
 */
async function viaMusicMetadata(window: ObjectWindow, offset: number, sniffed: Sniffed & { kind: 'media' }) {
  let partial: Partial<IFormat> = {};
  const mimeType = MP4_EXTENSIONS.has(sniffed.ext) ? 'audio/mp4' : sniffed.mime;
  try {
    const metadata: IAudioMetadata = await parseFromTokenizer(new WindowTokenizer(window, offset, mimeType), {
      duration: false,
      skipCovers: true,
      skipPostHeaders: true,
      observer: (event) => {
        partial = event.metadata.format;
      },
    });
    return { format: metadata.format as Partial<IFormat>, capped: false };
  } catch (error) {
    if (error instanceof HeaderReadCapReached) return { format: partial, capped: true };
    // The parser failing past the audio track's description (a broken Tags element, say) still
    // leaves a file ffmpeg transcodes; failing before it leaves nothing known to be audio.
    if (isStorageError(error) || !hasAudioTrack(partial)) throw error;
    return { format: partial, capped: true };
  }
}

/** An elementary stream or simple header format (no container): its codec and duration. */
async function probeStream(
  window: ObjectWindow,
  offset: number,
  ext: string,
): Promise<StreamEstimate | undefined> {
  const bytes = window.available(offset);
  const total = window.size - offset;
  const complete = offset + bytes.length >= window.size;
  switch (ext) {
    case 'mp3':
    case 'mp2':
    case 'mp1':
      return mpegAudio(bytes, total, complete);
    case 'aac':
      return adtsAudio(bytes, total, complete);
    case 'ac3':
      return ac3Audio(bytes, total);
    case 'amr':
      return amrAudio(bytes, total, complete);
    case 'au':
      return auAudio(bytes, total);
    case 'voc':
      return vocAudio(bytes, total);
    case 'tta':
      return ttaAudio(bytes);
    default:
      return undefined;
  }
}

async function probeOgg(window: ObjectWindow): Promise<Probed> {
  let tail = window.complete ? undefined : await window.tail();
  // A video-heavy file may end with video pages only: one larger tail read finds the audio's last page.
  if (tail && !tailHasAudioPage(window.head, tail.bytes) && window.size > TAIL_BYTES) {
    tail = await window.tail(TAIL_BYTES * 4).catch((error) => {
      if (error instanceof HeaderReadCapReached) return tail;
      throw error;
    });
  }
  const ogg = analyzeOgg(
    window.complete ? await window.bytesAt(0, window.size) : window.head,
    tail,
    window.complete,
  );
  if (!ogg.hasAudio) {
    throw new UnsupportedAudioFormat(ogg.hasVideo ? messages.NO_AUDIO_TRACK : messages.noAudioStream('Ogg'));
  }
  return { container: 'Ogg', codec: ogg.codec, durationSeconds: ogg.durationSeconds };
}

async function probeVideoContainer(window: ObjectWindow, ext: string): Promise<Probed | undefined> {
  const tail = async () => (window.complete ? undefined : (await window.tail()).bytes);
  let tracks: ContainerTracks;
  if (ext === 'avi') tracks = aviTracks(window.head);
  else if (ext === 'flv') tracks = flvTracks(window.head);
  else if (ext === 'mts') tracks = tsTracks(window.head, await tail());
  else if (ext === 'mpg') tracks = psTracks(window.head, await tail());
  else return undefined;
  if (tracks.hasAudio === false) throw new UnsupportedAudioFormat(messages.NO_AUDIO_TRACK);
  return {
    container: messages.formatName(ext),
    codec: tracks.codec,
    durationSeconds: tracks.durationSeconds,
  };
}

/** Reads the window, decides the format from the bytes and learns the audio's codec and duration. */
async function probe(window: ObjectWindow): Promise<Probed> {
  // ID3v2 tags may precede MP3, AAC or FLAC and be any size (cover art): skip them without reading.
  const offset = id3v2End(window.head);
  if (offset >= window.size) throw new UnsupportedAudioFormat(messages.UNRECOGNIZED);
  const start = await window.bytesAt(offset, offset + 4100);
  const sniffed = await sniff(start);
  if (sniffed.kind === 'not-media') throw new UnsupportedAudioFormat(messages.notMedia(sniffed.what));
  if (sniffed.kind === 'unknown') throw new UnsupportedAudioFormat(messages.UNRECOGNIZED);
  const { ext } = sniffed;
  const name = messages.formatName(ext);

  if (OGG_EXTENSIONS.has(ext)) return probeOgg(window);
  const video = await probeVideoContainer(window, ext);
  if (video) return video;
  const stream = await probeStream(window, offset, ext);
  if (stream) return { container: MPEG_EXTENSIONS.has(ext) ? 'MPEG' : name, ...stream };
  if (MPEG_EXTENSIONS.has(ext)) throw new UnsupportedAudioFormat(messages.damaged('MP3'));
  if (ext === 'mxf') return { container: 'MXF', codec: null, durationSeconds: null };

  // Never Ogg, MP3/MP2 or AAC (all handled above): the bundles leave music-metadata's parsers for
  // those out (NEVER_LOADED_MODULES in cdk/constructs/transcription-function.ts).
  let result: { format: Partial<IFormat>; capped: boolean };
  try {
    result = await viaMusicMetadata(window, offset, sniffed);
  } catch (error) {
    if (/UnsupportedFileType|CouldNotDetermineFileType/.test((error as Error)?.name ?? '')) {
      // A format AssemblyAI's ffmpeg reads that music-metadata does not: accept, length unknown.
      return { container: name, codec: null, durationSeconds: null };
    }
    if (isStorageError(error)) throw error;
    // The parser's own errors (and its TypeErrors on garbage) are a verdict on the bytes.
    throw new UnsupportedAudioFormat(
      sniffed.mime.startsWith('video/') ? messages.NO_AUDIO_TRACK : messages.damaged(name),
    );
  }
  const { format, capped } = result;
  if (!capped && !hasAudioTrack(format)) {
    throw new UnsupportedAudioFormat(
      sniffed.mime.startsWith('video/') || format.hasVideo ? messages.NO_AUDIO_TRACK : messages.damaged(name),
    );
  }
  const duration = format.duration;
  const isPcm = format.container === 'WAVE' || format.container === 'AIFF';
  return {
    container: format.container ?? name,
    codec: format.codec ?? null,
    durationSeconds:
      duration !== undefined && Number.isFinite(duration) ? duration : isPcm && !capped ? 0 : null,
  };
}

/**
 * The same judgement over bytes already in memory, for the AssemblyAI emulator: the audio's
 * container, codec and duration, or the UnsupportedAudioFormat it would be refused with.
 */
export async function probeAudioBytes(bytes: Uint8Array): Promise<Probed> {
  try {
    return await probe(ObjectWindow.fromBytes(bytes));
  } catch (error) {
    if (error instanceof HeaderReadCapReached) throw new UnsupportedAudioFormat(messages.UNRECOGNIZED);
    throw error;
  }
}

/**
 * The object's audio: container, codec, duration (null where it cannot be learned cheaply) and
 * size, or the typed refusal. `caps` bound what reading the header may cost.
 */
export async function inspectAudio(
  s3: S3Client,
  config: WorkflowConfig,
  bucket: string,
  key: string,
  caps?: ReadCaps,
  /** The HEAD already made for this object (validateAudio makes it first); read when absent. */
  knownHead?: AudioHead,
): Promise<AudioInfo> {
  const head = knownHead ?? (await audioHead(s3, bucket, key));
  const size = head.size;
  if (size === 0) throw new AudioEmpty(messages.EMPTY);
  if (size > config.maxAudioBytes) throw new AudioTooLarge(messages.tooLarge(size, config.maxAudioBytes));
  const window = await ObjectWindow.open(s3, { bucket, key, size, etag: head.etag }, caps).catch((error) => {
    if (error instanceof HeaderReadCapReached) throw new UnsupportedAudioFormat(messages.UNRECOGNIZED);
    throw error;
  });
  let probed: Probed;
  try {
    probed = await probe(window);
  } catch (error) {
    if (!(error instanceof HeaderReadCapReached)) throw error;
    // Only reached before the format was known; once it is, the probes answer with a null length.
    throw new UnsupportedAudioFormat(messages.UNRECOGNIZED);
  }
  const duration = probed.durationSeconds;
  if (duration !== null && duration <= 0) throw new AudioEmpty(messages.NO_SOUND);
  if (duration !== null && duration < config.minAudioSeconds) {
    throw new AudioTooShort(messages.tooShort(duration, config.minAudioSeconds));
  }
  if (duration !== null && duration > config.maxAudioSeconds) {
    throw new AudioTooLong(messages.tooLong(duration, config.maxAudioSeconds));
  }
  return {
    container: probed.container,
    codec: probed.codec,
    duration_seconds: duration === null ? null : Math.round(duration * 1000) / 1000,
    size_bytes: size,
    ...(head.etag && { etag: head.etag }),
  };
}

/**
 * A completed result of *this audio* already exists — the same `s3_key` and the same object (its
 * ETag) — so the bot retried StartExecution: return it instead of paying AssemblyAI twice. A result
 * of other audio for the same file id (a new upload, another key) is not an answer to this
 * request, nor is one written before results named their audio. `force: true` skips this.
 */
async function existingCompletedResult(
  s3: S3Client,
  config: WorkflowConfig,
  request: TranscriptionRequest,
  head: AudioHead,
) {
  if (request.force) return undefined;
  const key = resultKey(config.resultsPrefix, request.user_id, request.file_id);
  const existing = await getJsonIfExists<TranscriptionResult>(s3, config.bucket, key);
  return existing && transcribesAudio(existing, request.s3_key, head.etag)
    ? { key, execution_arn: existing.metadata.execution_arn }
    : undefined;
}

export async function validateAudio(
  event: ValidateEvent,
  deps: ValidateDeps,
): Promise<ValidatedState | AlreadyTranscribedState> {
  const request = parseRequest(event.input, deps.config);
  const head = await audioHead(deps.s3, request.bucket, request.s3_key);
  const existing = await existingCompletedResult(deps.s3, deps.config, request, head);
  if (existing) return { execution: event.execution, request, existing_result: existing };
  const audio = await inspectAudio(deps.s3, deps.config, request.bucket, request.s3_key, undefined, head);
  const { config } = deps;
  if (config.delivery !== 'webhook') return { execution: event.execution, request, audio };
  const audioSeconds = plannedAudioSeconds(audio, config.maxAudioSeconds);
  const webhook = { timeout_seconds: webhookWaitSeconds(audioSeconds, config.poll) };
  return { execution: event.execution, request, audio, webhook };
}
