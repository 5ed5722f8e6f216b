/**
 * Video containers music-metadata does not parse (AVI, FLV, MPEG-TS, MPEG-PS): whether they carry
 * an audio track, and the audio's length where the container says so cheaply. AssemblyAI
 * transcodes these with ffmpeg, so only the audio track matters. Our own code because the only
 * libraries that read these are demuxers (ffmpeg) that need the whole file or a native binary.
 */
import { byteOrder } from './bitstreams.js';

const { u16le, u32le, u32be, text } = byteOrder;

export interface ContainerTracks {
  /** Undefined when the bytes read do not say. */
  hasAudio: boolean | undefined;
  codec: string | null;
  durationSeconds: number | null;
}

const indexOf = (b: Uint8Array, needle: string, from = 0) => Buffer.from(b).indexOf(needle, from, 'latin1');

const AVI_AUDIO_TAGS: Record<number, string> = { 1: 'PCM', 85: 'MP3', 80: 'MP2', 255: 'AAC', 8192: 'AC-3' };

/** AVI: each stream's `strh` says its type; the audio one states its length in its own units. */
export function aviTracks(head: Uint8Array): ContainerTracks {
  for (let at = indexOf(head, 'strh'); at >= 0; at = indexOf(head, 'strh', at + 4)) {
    if (text(head, at + 8, 4) !== 'auds') continue;
    const scale = u32le(head, at + 28);
    const rate = u32le(head, at + 32);
    const length = u32le(head, at + 40);
    const strf = indexOf(head, 'strf', at);
    const tag = strf > 0 ? u16le(head, strf + 8) : -1;
    return {
      hasAudio: true,
      codec: AVI_AUDIO_TAGS[tag] ?? null,
      durationSeconds: scale && rate && length ? (length * scale) / rate : null,
    };
  }
  return { hasAudio: indexOf(head, 'strh') >= 0 ? false : undefined, codec: null, durationSeconds: null };
}

const FLV_AUDIO: Record<number, string> = {
  2: 'MP3',
  10: 'AAC',
  11: 'Speex',
  4: 'Nellymoser',
  5: 'Nellymoser',
  6: 'Nellymoser',
};

/** FLV: audio tags (type 8) among the first tags; the duration from onMetaData when present. */
export function flvTracks(head: Uint8Array): ContainerTracks {
  let at = u32be(head, 5) + 4;
  let codec: string | null = null;
  let hasAudio: boolean | undefined;
  let tags = 0;
  while (at + 11 <= head.length && tags < 64) {
    const type = (head[at] as number) & 0x1f;
    const size =
      ((head[at + 1] as number) << 16) | ((head[at + 2] as number) << 8) | (head[at + 3] as number);
    if (type === 8) {
      hasAudio = true;
      codec = FLV_AUDIO[(head[at + 11] as number) >> 4] ?? null;
      break;
    }
    at += 11 + size + 4;
    tags += 1;
  }
  if (hasAudio === undefined && at + 11 <= head.length) hasAudio = false;
  const meta = indexOf(head, '\x00\x08duration\x00');
  const duration =
    meta > 0 && meta + 19 <= head.length ? Buffer.from(head).readDoubleBE(meta + 11) : Number.NaN;
  return { hasAudio, codec, durationSeconds: Number.isFinite(duration) && duration > 0 ? duration : null };
}

const TS_AUDIO: Record<number, string> = {
  3: 'MP2',
  4: 'MP2',
  15: 'AAC',
  17: 'AAC-LATM',
  129: 'AC-3',
  135: 'E-AC-3',
};

function descriptorTags(descriptors: Uint8Array): number[] {
  const tags: number[] = [];
  for (let at = 0; at + 2 <= descriptors.length; at += 2 + (descriptors[at + 1] as number)) {
    tags.push(descriptors[at] as number);
  }
  return tags;
}

/** The 33-bit presentation time of a PES packet starting at `at`, in seconds, if it has one. */
function pesTime(b: Uint8Array, at: number): number | undefined {
  if (at + 14 > b.length || b[at] !== 0 || b[at + 1] !== 0 || b[at + 2] !== 1) return undefined;
  if (!(((b[at + 7] as number) >> 7) & 1)) return undefined;
  const p = at + 9;
  const pts =
    (((b[p] as number) >> 1) & 0x07) * 2 ** 30 +
    (((b[p + 1] as number) << 7) | ((b[p + 2] as number) >> 1)) * 2 ** 15 +
    (((b[p + 3] as number) << 7) | ((b[p + 4] as number) >> 1));
  return pts / 90_000;
}

/** Packets of a transport stream in `b` (188 bytes, or 192 in M2TS), found by their sync bytes. */
function tsPackets(b: Uint8Array): { pid: number; start: boolean; payload: Uint8Array }[] {
  let stride = 188;
  let first = b.indexOf(0x47);
  if (b[4] === 0x47 && b[196] === 0x47) {
    stride = 192;
    first = 4;
  }
  for (; first >= 0 && first < 192; first = b.indexOf(0x47, first + 1)) {
    if (b[first + stride] === 0x47 && (first + 2 * stride >= b.length || b[first + 2 * stride] === 0x47))
      break;
  }
  const packets = [];
  for (let at = first; at >= 0 && at + 188 <= b.length; at += stride) {
    if (b[at] !== 0x47) break;
    const pid = (((b[at + 1] as number) & 0x1f) << 8) | (b[at + 2] as number);
    const adaptation = ((b[at + 3] as number) >> 4) & 3;
    const payloadStart = adaptation & 2 ? at + 5 + (b[at + 4] as number) : at + 4;
    if (!(adaptation & 1) || payloadStart >= at + 188) continue;
    packets.push({
      pid,
      start: Boolean((b[at + 1] as number) & 0x40),
      payload: b.subarray(payloadStart, at + 188),
    });
  }
  return packets;
}

/**
 * MPEG-TS / M2TS: the PMT's stream types tell audio from video; the audio's length is its last
 * presentation time (in the tail) minus its first (in the head), short by one frame.
 */
export function tsTracks(head: Uint8Array, tail: Uint8Array | undefined): ContainerTracks {
  const packets = tsPackets(head);
  const pat = packets.find((p) => p.pid === 0 && p.start);
  if (!pat) return { hasAudio: undefined, codec: null, durationSeconds: null };
  const pat0 = pat.payload.subarray(1 + (pat.payload[0] as number));
  const pmtPid = (((pat0[10] as number) & 0x1f) << 8) | (pat0[11] as number);
  const pmt = packets.find((p) => p.pid === pmtPid && p.start);
  if (!pmt) return { hasAudio: undefined, codec: null, durationSeconds: null };
  const s = pmt.payload.subarray(1 + (pmt.payload[0] as number));
  const sectionEnd = Math.min(s.length, 3 + ((((s[1] as number) & 0x0f) << 8) | (s[2] as number)) - 4);
  let at = 12 + ((((s[10] as number) & 0x0f) << 8) | (s[11] as number));
  let audio: { pid: number; codec: string } | undefined;
  while (at + 5 <= sectionEnd && !audio) {
    const type = s[at] as number;
    const pid = (((s[at + 1] as number) & 0x1f) << 8) | (s[at + 2] as number);
    const infoLength = (((s[at + 3] as number) & 0x0f) << 8) | (s[at + 4] as number);
    const descriptors = s.subarray(at + 5, at + 5 + infoLength);
    // Private streams (0x06) carry AC-3, E-AC-3, AAC (M2TS), Opus… or subtitles and teletext.
    const privateAudio =
      type === 0x06 && !descriptorTags(descriptors).some((tag) => tag === 0x56 || tag === 0x59);
    if (TS_AUDIO[type] || privateAudio) audio = { pid, codec: TS_AUDIO[type] ?? 'audio' };
    at += 5 + infoLength;
  }
  if (!audio) return { hasAudio: false, codec: null, durationSeconds: null };
  const times = (b: Uint8Array) =>
    tsPackets(b)
      .filter((p) => p.pid === audio.pid && p.start)
      .map((p) => pesTime(p.payload, 0))
      .filter((t): t is number => t !== undefined);
  const first = times(head)[0];
  const last = tail ? times(tail).pop() : times(head).pop();
  return {
    hasAudio: true,
    codec: audio.codec,
    durationSeconds: first !== undefined && last !== undefined && last > first ? last - first : null,
  };
}

/** MPEG-PS (.mpg, .vob): audio is stream 0xC0–0xDF (MPEG audio) or private stream 1 (AC-3, LPCM). */
export function psTracks(head: Uint8Array, tail: Uint8Array | undefined): ContainerTracks {
  const audioTimes = (b: Uint8Array) => {
    const found: { id: number; time: number | undefined }[] = [];
    for (
      let at = indexOf(b, '\x00\x00\x01');
      at >= 0 && at + 4 <= b.length;
      at = indexOf(b, '\x00\x00\x01', at + 3)
    ) {
      const id = b[at + 3] as number;
      if ((id >= 0xc0 && id <= 0xdf) || id === 0xbd) found.push({ id, time: pesTime(b, at) });
    }
    return found;
  };
  const inHead = audioTimes(head);
  if (inHead.length === 0) {
    return {
      hasAudio: indexOf(head, '\x00\x00\x01\xe0') >= 0 ? false : undefined,
      codec: null,
      durationSeconds: null,
    };
  }
  const id = (inHead[0] as { id: number }).id;
  const times = (list: typeof inHead) =>
    list.filter((f) => f.id === id && f.time !== undefined).map((f) => f.time as number);
  const first = times(inHead)[0];
  const last = times(tail ? audioTimes(tail) : inHead).pop();
  return {
    hasAudio: true,
    codec: id === 0xbd ? 'AC-3/LPCM' : 'MPEG audio',
    durationSeconds: first !== undefined && last !== undefined && last > first ? last - first : null,
  };
}
