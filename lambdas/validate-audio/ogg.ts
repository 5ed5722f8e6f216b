/**
 * Ogg: which logical streams carry audio, and how long the audio lasts, from the head and tail of
 * the file. Our own page walker because no library does this from two windows: music-metadata
 * reads the whole file and takes the last page's granule whatever stream it belongs to (a Theora +
 * Vorbis file got the video's length), and it follows only one link of a chained file (a 5.7 s +
 * 0.1 s file came out as 0.1 s). Here each page is attributed by serial number, each audio stream's
 * granule is divided by its own codec's rate, and the links of a chained file are added up.
 */

const PAGE_HEADER_BYTES = 27;
const BOS = 0x02;

interface Page {
  offset: number;
  flags: number;
  granule: bigint;
  serial: number;
  /** The first bytes of the page's body (the first packet of a BOS page). */
  body: Uint8Array;
  length: number;
}

/** What a stream's first packet says it is. */
interface StreamInfo {
  kind: 'audio' | 'video' | 'other';
  codec: string;
  /** Granules per second (audio only). */
  rate?: number;
  /** Opus: samples at 48 kHz to drop at the start. */
  preSkip?: number;
}

export interface OggStreams {
  hasAudio: boolean;
  hasVideo: boolean;
  codec: string | null;
  /** Seconds of audio in all links; null when the file's middle holds links never seen. */
  durationSeconds: number | null;
}

let crcTable: Uint32Array | undefined;

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, initial 0), over the page with its CRC zeroed. */
export function oggCrc(page: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i += 1) {
      let r = i << 24;
      for (let j = 0; j < 8; j += 1) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
      crcTable[i] = r >>> 0;
    }
  }
  let crc = 0;
  for (let i = 0; i < page.length; i += 1) {
    const byte = i >= 22 && i < 26 ? 0 : (page[i] as number);
    crc = ((crc << 8) ^ (crcTable[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
  }
  return crc;
}

/** The page at `at` in `bytes` if it is complete and its CRC holds. */
function pageAt(bytes: Uint8Array, at: number, baseOffset: number): Page | undefined {
  if (at + PAGE_HEADER_BYTES > bytes.length) return undefined;
  if (bytes[at] !== 0x4f || bytes[at + 1] !== 0x67 || bytes[at + 2] !== 0x67 || bytes[at + 3] !== 0x53) {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = bytes[at + 26] as number;
  if (at + PAGE_HEADER_BYTES + segments > bytes.length) return undefined;
  let bodyLength = 0;
  for (let i = 0; i < segments; i += 1) bodyLength += bytes[at + PAGE_HEADER_BYTES + i] as number;
  const length = PAGE_HEADER_BYTES + segments + bodyLength;
  if (at + length > bytes.length) return undefined;
  const page = bytes.subarray(at, at + length);
  if (oggCrc(page) !== view.getUint32(at + 22, true)) return undefined;
  const bodyStart = at + PAGE_HEADER_BYTES + segments;
  return {
    offset: baseOffset + at,
    flags: bytes[at + 5] as number,
    granule: view.getBigInt64(at + 6, true),
    serial: view.getUint32(at + 14, true),
    body: bytes.subarray(bodyStart, Math.min(bodyStart + 64, at + length)),
    length,
  };
}

/** Pages in order from the start of `bytes`; stops at the first one that is cut off or broken. */
function pagesFromStart(bytes: Uint8Array): Page[] {
  const pages: Page[] = [];
  for (let at = 0; ; ) {
    const page = pageAt(bytes, at, 0);
    if (!page) return pages;
    pages.push(page);
    at += page.length;
  }
}

/** Every valid page in a window that starts mid-page (the tail): found by capture pattern and CRC. */
function pagesIn(bytes: Uint8Array, baseOffset: number): Page[] {
  const pages: Page[] = [];
  for (let at = 0; at + PAGE_HEADER_BYTES <= bytes.length; ) {
    const page = pageAt(bytes, at, baseOffset);
    if (page) {
      pages.push(page);
      at += page.length;
    } else {
      at += 1;
    }
  }
  return pages;
}

const ascii = (bytes: Uint8Array, from: number, to: number) =>
  String.fromCharCode(...bytes.subarray(from, Math.min(to, bytes.length)));

function identify(packet: Uint8Array): StreamInfo {
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const u32 = (at: number) => (at + 4 <= packet.length ? view.getUint32(at, true) : 0);
  if (ascii(packet, 0, 8) === 'OpusHead') {
    return {
      kind: 'audio',
      codec: 'Opus',
      rate: 48_000,
      preSkip: packet.length >= 12 ? view.getUint16(10, true) : 0,
    };
  }
  if (ascii(packet, 0, 7) === '\x01vorbis') return { kind: 'audio', codec: 'Vorbis I', rate: u32(12) };
  if (ascii(packet, 0, 5) === '\x7fFLAC' && packet.length >= 30) {
    // Ogg FLAC: 9-byte mapping header, "fLaC", a 4-byte block header, then STREAMINFO.
    const rate =
      ((packet[27] as number) << 12) | ((packet[28] as number) << 4) | ((packet[29] as number) >> 4);
    return { kind: 'audio', codec: 'FLAC', rate };
  }
  if (ascii(packet, 0, 8) === 'Speex   ') return { kind: 'audio', codec: 'Speex', rate: u32(36) };
  if (ascii(packet, 0, 6) === '\x01audio') return { kind: 'audio', codec: 'OGM audio' };
  if (ascii(packet, 0, 7) === '\x80theora') return { kind: 'video', codec: 'Theora' };
  if (
    ascii(packet, 0, 5) === 'OVP80' ||
    ascii(packet, 0, 6) === '\x01video' ||
    ascii(packet, 0, 5) === '\x80daal'
  ) {
    return { kind: 'video', codec: 'video' };
  }
  return { kind: 'other', codec: 'other' };
}

interface Link {
  streams: Map<number, StreamInfo>;
  lastGranule: Map<number, bigint>;
}

function linkSeconds(link: Link): number | undefined {
  let seconds: number | undefined;
  for (const [serial, info] of link.streams) {
    const granule = link.lastGranule.get(serial);
    if (info.kind !== 'audio' || !info.rate || granule === undefined) continue;
    const s = Math.max(0, Number(granule) - (info.preSkip ?? 0)) / info.rate;
    seconds = Math.max(seconds ?? 0, s);
  }
  return seconds;
}

/**
 * Streams and audio duration of an Ogg file from `head` (its first bytes) and, when the head is not
 * the whole file, `tail` (its last bytes, starting at `tailOffset`). `complete` says `head` is all.
 */
export function analyzeOgg(
  head: Uint8Array,
  tail: { offset: number; bytes: Uint8Array } | undefined,
  complete: boolean,
): OggStreams {
  const links: Link[] = [];
  const linkOf = new Map<number, Link>();
  let current: Link | undefined;
  let sawData = false;
  const record = (page: Page) => {
    let link = linkOf.get(page.serial);
    if (!link && page.flags & BOS) {
      // A BOS page after data pages starts the next link of a chained file.
      if (!current || sawData) {
        current = { streams: new Map(), lastGranule: new Map() };
        links.push(current);
        sawData = false;
      }
      current.streams.set(page.serial, identify(page.body));
      linkOf.set(page.serial, current);
      link = current;
    }
    if (!link) return false;
    if (!(page.flags & BOS)) sawData = true;
    if (page.granule >= 0n) link.lastGranule.set(page.serial, page.granule);
    return true;
  };
  for (const page of pagesFromStart(head)) record(page);

  const streams = links.flatMap((link) => [...link.streams.values()]);
  const audio = streams.find((s) => s.kind === 'audio');
  const result = {
    hasAudio: audio !== undefined,
    hasVideo: streams.some((s) => s.kind === 'video'),
    codec: audio?.codec ?? null,
  };
  if (complete) {
    const parts = links.map(linkSeconds).filter((s): s is number => s !== undefined);
    return { ...result, durationSeconds: parts.length > 0 ? parts.reduce((a, b) => a + b, 0) : null };
  }
  if (!tail || links.length === 0) return { ...result, durationSeconds: null };

  // The tail's pages either continue the last link the head saw (then every link is known) or
  // belong to links that started after the head: their length, and any between, is unknown.
  const lastLink = links[links.length - 1] as Link;
  let unknownLink = false;
  let lastLinkSeen = false;
  for (const page of pagesIn(tail.bytes, tail.offset)) {
    const link = linkOf.get(page.serial);
    if (link === lastLink) {
      lastLinkSeen = true;
      if (page.granule >= 0n) lastLink.lastGranule.set(page.serial, page.granule);
    } else if (!link) {
      unknownLink = true;
    }
  }
  const lastAudio = [...lastLink.streams.entries()].find(([, info]) => info.kind === 'audio');
  if (unknownLink || !lastLinkSeen || !lastAudio) return { ...result, durationSeconds: null };
  // The last audio page of the link must be in the tail, or its granule is stale.
  const tailHasAudioPage = pagesIn(tail.bytes, tail.offset).some((p) => p.serial === lastAudio[0]);
  if (!tailHasAudioPage) return { ...result, durationSeconds: null };
  const parts = links.map(linkSeconds).filter((s): s is number => s !== undefined);
  return { ...result, durationSeconds: parts.reduce((a, b) => a + b, 0) };
}

/** Whether the tail holds a page of one of the head's audio streams (else a bigger tail may). */
export function tailHasAudioPage(head: Uint8Array, tail: Uint8Array): boolean {
  const audioSerials = new Set(
    pagesFromStart(head)
      .filter((p) => p.flags & BOS && identify(p.body).kind === 'audio')
      .map((p) => p.serial),
  );
  return pagesIn(tail, 0).some((p) => audioSerials.has(p.serial));
}
