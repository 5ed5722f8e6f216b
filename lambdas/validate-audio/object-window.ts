/**
 * A bounded, in-memory view of an S3 object for header parsing. Ranged reads of a few KB each (what
 * @tokenizer/s3 does) let a hostile header decide how many requests Validate makes: a WEBM whose
 * Tags element claims 19 MB took 5,600+ GETs. Here the head is fetched once (one GET of up to
 * HEAD_BYTES, the whole file for a voice message), the tail once where a format keeps its length
 * there, and any other range only while the caps allow; a read past a cap throws HeaderReadCapReached
 * instead of fetching.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AbstractTokenizer, EndOfStreamError, type IFileInfo, type IReadChunkOptions } from 'strtok3';
import { AUDIO_CHANGED_MESSAGE, AudioChanged } from '../shared/errors.js';
import { classifyStorageError, isPreconditionFailed } from '../shared/storage.js';

/** The caps on what reading one object's header may cost. */
export interface ReadCaps {
  /** S3 requests in all, the HEAD included. */
  requests: number;
  /** Bytes fetched in all. */
  bytes: number;
  /** Wall time for all reads and parsing. */
  milliseconds: number;
}

export const DEFAULT_CAPS: ReadCaps = { requests: 4, bytes: 1024 * 1024, milliseconds: 10_000 };

/** Enough for every corpus file and most voice messages in one GET; the rest need one more at most. */
export const HEAD_BYTES = 256 * 1024;
/** An Ogg page is at most 65,307 bytes: two fit, so the last audio page of an interleaved file does. */
export const TAIL_BYTES = 128 * 1024;
/** The smallest extra range fetched, so that a parser reading field by field costs one request. */
const MIN_FETCH_BYTES = 64 * 1024;

/** A cap was hit: the header could not be read within the bounds. */
export class HeaderReadCapReached extends Error {
  override name = 'HeaderReadCapReached';
}

interface Chunk {
  start: number;
  bytes: Uint8Array;
}

export class ObjectWindow {
  private readonly chunks: Chunk[] = [];
  private readonly deadline: number;
  requests: number;
  bytesFetched = 0;

  private constructor(
    private readonly s3: S3Client | undefined,
    private readonly bucket: string,
    private readonly key: string,
    readonly size: number,
    private readonly caps: ReadCaps,
    requestsSoFar: number,
    /** Every ranged read is pinned to this object (`If-Match`): a replaced upload answers 412. */
    private readonly etag?: string,
  ) {
    this.requests = requestsSoFar;
    this.deadline = Date.now() + caps.milliseconds;
  }

  /** Opens the window with its head already read; `requestsSoFar` counts the HEAD that found `size`. */
  static async open(
    s3: S3Client,
    location: { bucket: string; key: string; size: number; etag?: string },
    caps: ReadCaps = DEFAULT_CAPS,
    requestsSoFar = 1,
  ): Promise<ObjectWindow> {
    const window = new ObjectWindow(
      s3,
      location.bucket,
      location.key,
      location.size,
      caps,
      requestsSoFar,
      location.etag,
    );
    await window.fetch(0, Math.min(location.size, HEAD_BYTES));
    return window;
  }

  /** A window over bytes already in memory (the emulator's downloads): nothing is fetched. */
  static fromBytes(bytes: Uint8Array): ObjectWindow {
    const window = new ObjectWindow(undefined, '', '', bytes.length, DEFAULT_CAPS, 0);
    window.chunks.push({ start: 0, bytes });
    return window;
  }

  /** The first bytes, as fetched by `open`. */
  get head(): Uint8Array {
    return (this.chunks[0] as Chunk).bytes;
  }

  /** Whether the whole object is in memory. */
  get complete(): boolean {
    return this.missing(0, this.size) === undefined;
  }

  /** Throws HeaderReadCapReached once the time cap is spent. */
  checkDeadline(): void {
    if (Date.now() > this.deadline) throw new HeaderReadCapReached('time cap reached');
  }

  /** The bytes in [start, end), fetched if needed (within the caps); shorter at the end of the object. */
  async bytesAt(start: number, end: number): Promise<Uint8Array> {
    const to = Math.min(end, this.size);
    if (start >= to) return new Uint8Array(0);
    const gap = this.missing(start, to);
    if (gap) {
      const fetchEnd = Math.min(this.size, Math.max(gap.end, gap.start + MIN_FETCH_BYTES));
      const affordable = Math.min(fetchEnd, gap.start + (this.caps.bytes - this.bytesFetched));
      if (affordable < gap.end) throw new HeaderReadCapReached('byte cap reached');
      await this.fetch(gap.start, affordable);
      if (this.missing(start, to)) throw new HeaderReadCapReached('range needs more than one request');
    }
    return this.copy(start, to);
  }

  /** The last `length` bytes (one request if not in memory yet); offset is where they start. */
  async tail(length = TAIL_BYTES): Promise<{ offset: number; bytes: Uint8Array }> {
    const offset = Math.max(0, this.size - length);
    return { offset, bytes: await this.bytesAt(offset, this.size) };
  }

  /** The bytes in memory that start at `start`, without fetching (for scans that may stop short). */
  available(start: number): Uint8Array {
    const chunk = this.chunks.find((c) => c.start <= start && start < c.start + c.bytes.length);
    return chunk ? chunk.bytes.subarray(start - chunk.start) : new Uint8Array(0);
  }

  private missing(start: number, end: number): { start: number; end: number } | undefined {
    let at = start;
    for (const chunk of [...this.chunks].sort((a, b) => a.start - b.start)) {
      if (chunk.start > at) break;
      at = Math.max(at, chunk.start + chunk.bytes.length);
      if (at >= end) return undefined;
    }
    return at >= end ? undefined : { start: at, end };
  }

  private copy(start: number, end: number): Uint8Array {
    const out = new Uint8Array(end - start);
    for (const chunk of this.chunks) {
      const from = Math.max(start, chunk.start);
      const to = Math.min(end, chunk.start + chunk.bytes.length);
      if (from < to) out.set(chunk.bytes.subarray(from - chunk.start, to - chunk.start), from - start);
    }
    return out;
  }

  private async fetch(start: number, end: number): Promise<void> {
    if (end <= start) {
      this.chunks.push({ start, bytes: new Uint8Array(0) });
      return;
    }
    if (!this.s3 || this.requests >= this.caps.requests)
      throw new HeaderReadCapReached('request cap reached');
    if (this.bytesFetched + (end - start) > this.caps.bytes)
      throw new HeaderReadCapReached('byte cap reached');
    this.checkDeadline();
    this.requests += 1;
    let bytes: Uint8Array;
    try {
      const response = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Range: `bytes=${start}-${end - 1}`,
          IfMatch: this.etag || undefined,
        }),
        { abortSignal: AbortSignal.timeout(Math.max(1, this.deadline - Date.now())) },
      );
      // Read at once: an unread body pins a pooled socket (see the README's load notes).
      bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
    } catch (error) {
      if ((error as Error)?.name === 'TimeoutError' || (error as Error)?.name === 'AbortError') {
        throw new HeaderReadCapReached('time cap reached');
      }
      if (isPreconditionFailed(error)) throw new AudioChanged(AUDIO_CHANGED_MESSAGE);
      return classifyStorageError(error, 'read header');
    }
    // S3 never returns more than asked; a shorter body means the object changed under us.
    this.bytesFetched += bytes.length;
    this.chunks.push({ start, bytes: bytes.subarray(0, end - start) });
  }
}

/**
 * A strtok3 tokenizer over the window, for music-metadata: sequential (so music-metadata does not
 * scan the end of the file for tags), `ignore` costs nothing, and every read goes through the
 * window's caps. `offset` hides leading bytes (an ID3v2 tag already skipped).
 */
export class WindowTokenizer extends AbstractTokenizer {
  fileInfo: IFileInfo;

  constructor(
    private readonly window: ObjectWindow,
    private readonly offset: number,
    mimeType?: string,
  ) {
    super({});
    this.fileInfo = { size: window.size - offset, mimeType };
  }

  supportsRandomAccess(): boolean {
    return false;
  }

  async readBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    const read = await this.peekBuffer(target, options);
    this.position = (options?.position ?? this.position) + read;
    return read;
  }

  async peekBuffer(target: Uint8Array, options?: IReadChunkOptions): Promise<number> {
    this.window.checkDeadline();
    const position = options?.position ?? this.position;
    const length = options?.length ?? target.length;
    const size = this.fileInfo.size ?? 0;
    if (!options?.mayBeLess && position + length > size) throw new EndOfStreamError();
    const bytes = await this.window.bytesAt(this.offset + position, this.offset + position + length);
    target.set(bytes);
    return bytes.length;
  }

  override async ignore(length: number): Promise<number> {
    const skipped = Math.max(0, Math.min(length, (this.fileInfo.size ?? 0) - this.position));
    this.position += skipped;
    return skipped;
  }
}
