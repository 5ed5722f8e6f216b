/**
 * Durations of the formats music-metadata does not parse (AMR, AC-3, Sun .au, .voc, TTA) or parses
 * only by reading the whole file (MP3 without a Xing header, ADTS AAC), from the bytes already in
 * memory. Each is a few fixed header fields, documented in the format's specification; a library
 * for each would cost more than the fields. Where a file is longer than what was read, the length
 * is estimated from the frames that were read, and the function says so.
 */

export interface StreamEstimate {
  codec: string;
  /** Null when the header does not say and nothing was read to estimate from. */
  durationSeconds: number | null;
}

const u16be = (b: Uint8Array, at: number) => (((b[at] as number) << 8) | (b[at + 1] as number)) >>> 0;
const u32be = (b: Uint8Array, at: number) =>
  (((b[at] as number) << 24) |
    ((b[at + 1] as number) << 16) |
    ((b[at + 2] as number) << 8) |
    (b[at + 3] as number)) >>>
  0;
const u16le = (b: Uint8Array, at: number) => ((b[at] as number) | ((b[at + 1] as number) << 8)) >>> 0;
const u32le = (b: Uint8Array, at: number) => (u16le(b, at) + u16le(b, at + 2) * 65536) >>> 0;
const text = (b: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...b.subarray(at, Math.min(b.length, at + length)));

/**
 * Seconds of a stream of frames: exact when every frame was read, otherwise the average rate of the
 * frames read applied to the bytes not read (an estimate; for VBR it is as good as the sample).
 */
function fromFrames(
  seconds: number,
  bytesRead: number,
  totalBytes: number,
  complete: boolean,
): number | null {
  if (bytesRead <= 0 || seconds <= 0) return null;
  return complete ? seconds : (seconds * totalBytes) / bytesRead;
}

/** ID3v2 tags (one or several) at the start: the offset of the audio after them. */
export function id3v2End(head: Uint8Array): number {
  let at = 0;
  while (text(head, at, 3) === 'ID3' && at + 10 <= head.length) {
    const size =
      (((head[at + 6] as number) & 0x7f) << 21) |
      (((head[at + 7] as number) & 0x7f) << 14) |
      (((head[at + 8] as number) & 0x7f) << 7) |
      ((head[at + 9] as number) & 0x7f);
    const footer = (head[at + 5] as number) & 0x10 ? 10 : 0;
    at += 10 + size + footer;
  }
  return at;
}

const MPEG_BITRATES: Record<string, number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const MPEG_RATES: Record<string, number[]> = {
  '1': [44100, 48000, 32000],
  '2': [22050, 24000, 16000],
  '2.5': [11025, 12000, 8000],
};

interface MpegFrame {
  version: '1' | '2' | '2.5';
  layer: 1 | 2 | 3;
  length: number;
  samples: number;
  rate: number;
  mono: boolean;
}

function mpegFrameAt(b: Uint8Array, at: number): MpegFrame | undefined {
  if (at + 4 > b.length || b[at] !== 0xff || ((b[at + 1] as number) & 0xe0) !== 0xe0) return undefined;
  const v = ((b[at + 1] as number) >> 3) & 3;
  const l = ((b[at + 1] as number) >> 1) & 3;
  const bitrateIndex = (b[at + 2] as number) >> 4;
  const rateIndex = ((b[at + 2] as number) >> 2) & 3;
  if (v === 1 || l === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const version = v === 3 ? '1' : v === 2 ? '2' : '2.5';
  const layer = (4 - l) as 1 | 2 | 3;
  const table = MPEG_BITRATES[version === '1' ? `1-${layer}` : `2-${layer === 1 ? 1 : 2}`] as number[];
  const bitrate = (table[bitrateIndex] as number) * 1000;
  const rate = (MPEG_RATES[version] as number[])[rateIndex] as number;
  const padding = ((b[at + 2] as number) >> 1) & 1;
  const samples = layer === 1 ? 384 : layer === 3 && version !== '1' ? 576 : 1152;
  const length =
    layer === 1
      ? Math.floor((12 * bitrate) / rate + padding) * 4
      : Math.floor((samples / 8) * (bitrate / rate)) + padding;
  return { version, layer, length, samples, rate, mono: (b[at + 3] as number) >> 6 === 3 };
}

/** The frame count of a Xing/Info or VBRI header in the first frame, if any. */
function vbrFrames(b: Uint8Array, at: number, frame: MpegFrame): number | undefined {
  const side = frame.version === '1' ? (frame.mono ? 17 : 32) : frame.mono ? 9 : 17;
  const xing = at + 4 + side;
  const tag = text(b, xing, 4);
  if ((tag === 'Xing' || tag === 'Info') && (u32be(b, xing + 4) & 1) === 1) return u32be(b, xing + 8);
  if (text(b, at + 36, 4) === 'VBRI') return u32be(b, at + 36 + 14);
  return undefined;
}

/**
 * MPEG audio (MP3, MP2) starting at `b[0]`: the Xing/Info or VBRI frame count when there is one;
 * otherwise the frames in `b` are walked, and a longer file is estimated from their average
 * bitrate — for VBR without a Xing header an estimate, honest to the frames read, not to the
 * first frame's bitrate alone. Undefined when `b` does not start with three chained frames.
 */
export function mpegAudio(b: Uint8Array, totalBytes: number, complete: boolean): StreamEstimate | undefined {
  const first = mpegFrameAt(b, 0);
  if (!first) return undefined;
  const codec = `MPEG ${first.version} Layer ${first.layer}`;
  const frames = vbrFrames(b, 0, first);
  if (frames !== undefined && frames > 0)
    return { codec, durationSeconds: (frames * first.samples) / first.rate };
  let at = 0;
  let seconds = 0;
  let count = 0;
  for (
    let frame: MpegFrame | undefined = first;
    frame && at + frame.length <= b.length;
    frame = mpegFrameAt(b, at)
  ) {
    seconds += frame.samples / frame.rate;
    at += frame.length;
    count += 1;
  }
  if (count < 3 && !(complete && count > 0)) return undefined;
  return { codec, durationSeconds: fromFrames(seconds, at, totalBytes, complete && at >= b.length - 128) };
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** AAC in ADTS frames: each header gives its length and 1,024 samples per raw block. */
export function adtsAudio(b: Uint8Array, totalBytes: number, complete: boolean): StreamEstimate {
  let at = 0;
  let seconds = 0;
  while (at + 7 <= b.length && b[at] === 0xff && ((b[at + 1] as number) & 0xf6) === 0xf0) {
    const rate = ADTS_RATES[((b[at + 2] as number) >> 2) & 0x0f];
    const length =
      (((b[at + 3] as number) & 3) << 11) | ((b[at + 4] as number) << 3) | ((b[at + 5] as number) >> 5);
    if (!rate || length < 7 || at + length > b.length) break;
    seconds += (1024 * (((b[at + 6] as number) & 3) + 1)) / rate;
    at += length;
  }
  return { codec: 'AAC', durationSeconds: fromFrames(seconds, at, totalBytes, complete && at === b.length) };
}

const AC3_KBPS = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];

/** AC-3 is constant bitrate: the first sync frame's bitrate gives the length. E-AC-3 is not. */
export function ac3Audio(b: Uint8Array, totalBytes: number): StreamEstimate {
  const bsid = (b[5] as number) >> 3;
  if (bsid > 10) return { codec: 'E-AC-3', durationSeconds: null };
  const kbps = AC3_KBPS[((b[4] as number) & 0x3f) >> 1];
  return { codec: 'AC-3', durationSeconds: kbps ? (totalBytes * 8) / (kbps * 1000) : null };
}

const AMR_NB_BYTES = [13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1];
const AMR_WB_BYTES = [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 1, 1, 1, 1, 1, 1];

/** AMR (RFC 4867 storage format): 20 ms per frame, each frame's size set by its mode. */
export function amrAudio(b: Uint8Array, totalBytes: number, complete: boolean): StreamEstimate {
  const wide = text(b, 0, 9) === '#!AMR-WB\n';
  const start = wide ? 9 : 6;
  const sizes = wide ? AMR_WB_BYTES : AMR_NB_BYTES;
  let at = start;
  let frames = 0;
  while (at < b.length) {
    const size = sizes[((b[at] as number) >> 3) & 0x0f] as number;
    if (at + size > b.length) break;
    at += size;
    frames += 1;
  }
  return {
    codec: wide ? 'AMR-WB' : 'AMR-NB',
    durationSeconds: fromFrames(frames * 0.02, at - start, totalBytes - start, complete && at === b.length),
  };
}

const AU_BYTES_PER_SAMPLE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 8, 27: 1 };

/** Sun/NeXT .au: the header states the data size, encoding, rate and channels. */
export function auAudio(b: Uint8Array, totalBytes: number): StreamEstimate {
  const offset = u32be(b, 4);
  const declared = u32be(b, 8);
  const encoding = u32be(b, 12);
  const rate = u32be(b, 16);
  const channels = u32be(b, 20);
  const width = AU_BYTES_PER_SAMPLE[encoding];
  const codec = encoding === 1 ? 'mu-law' : encoding === 27 ? 'A-law' : 'PCM';
  if (!width || !rate || !channels) return { codec, durationSeconds: null };
  const data = declared === 0xffffffff ? totalBytes - offset : Math.min(declared, totalBytes - offset);
  return { codec, durationSeconds: Math.max(0, data) / (rate * channels * width) };
}

/**
 * Creative .voc: the first sound block's rate and sample size, applied to every byte after the
 * header (an estimate when a file mixes block types, which recorders do not write).
 */
export function vocAudio(b: Uint8Array, totalBytes: number): StreamEstimate {
  const at = u16le(b, 20);
  const type = b[at];
  if (type === 1) {
    const rate = 1_000_000 / (256 - (b[at + 4] as number));
    return { codec: 'PCM', durationSeconds: (totalBytes - at - 6) / rate };
  }
  if (type === 9) {
    const rate = u32le(b, at + 4);
    const bytesPerSecond = (rate * (b[at + 8] as number) * (b[at + 9] as number)) / 8;
    return { codec: 'PCM', durationSeconds: bytesPerSecond ? (totalBytes - at - 16) / bytesPerSecond : null };
  }
  return { codec: 'PCM', durationSeconds: null };
}

/** TTA (True Audio): the header states the sample rate and the number of samples. */
export function ttaAudio(b: Uint8Array): StreamEstimate {
  const rate = u32le(b, 10);
  return { codec: 'TTA', durationSeconds: rate ? u32le(b, 14) / rate : null };
}

export const byteOrder = { u16be, u32be, u16le, u32le, text };
