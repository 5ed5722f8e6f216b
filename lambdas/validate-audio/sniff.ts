/**
 * What the first bytes of a file are: a media format (file-type's magic numbers, plus the few it
 * lacks: Sun .au, TTA), or surely not media (an image, a document, an archive, a web page, text),
 * so that a refusal can say what the file is instead of listing formats.
 */
import { fileTypeFromBuffer } from 'file-type';

export type Sniffed =
  | { kind: 'media'; ext: string; mime: string }
  | { kind: 'not-media'; what: string }
  | { kind: 'unknown' };

/** file-type extensions that are media but hold no recorded sound. */
const NOT_SOUND: Record<string, string> = { mid: 'a MIDI file (notes, not recorded sound)' };

const ARCHIVES = new Set([
  'zip',
  'rar',
  '7z',
  'gz',
  'bz2',
  'xz',
  'zst',
  'tar',
  'cab',
  'lz',
  'lzh',
  'arj',
  'cpio',
]);
const DOCUMENTS: Record<string, string> = {
  pdf: 'a PDF document',
  docx: 'a Word document',
  doc: 'a Word document',
  xlsx: 'a spreadsheet',
  pptx: 'a presentation',
  odt: 'a text document',
  epub: 'an e-book',
  rtf: 'a text document',
  ps: 'a PostScript document',
};

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample);
  } catch {
    return false;
  }
  return sample.length > 0 && !sample.some((b) => b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b));
}

export async function sniff(bytes: Uint8Array): Promise<Sniffed> {
  const latin1 = Buffer.from(bytes.subarray(0, 16)).toString('latin1');
  if (latin1.startsWith('.snd') && bytes.length >= 24)
    return { kind: 'media', ext: 'au', mime: 'audio/basic' };
  if (latin1.startsWith('TTA1')) return { kind: 'media', ext: 'tta', mime: 'audio/x-tta' };
  let type: { ext: string; mime: string } | undefined;
  try {
    type = await fileTypeFromBuffer(bytes, { mpegOffsetTolerance: 10 });
  } catch {
    type = undefined;
  }
  if (type) {
    if (NOT_SOUND[type.ext]) return { kind: 'not-media', what: NOT_SOUND[type.ext] as string };
    if (
      type.mime.startsWith('audio/') ||
      type.mime.startsWith('video/') ||
      type.ext === 'mxf' ||
      type.ext === 'ogx'
    ) {
      return { kind: 'media', ext: type.ext, mime: type.mime };
    }
    if (type.mime.startsWith('image/'))
      return { kind: 'not-media', what: `an image (${type.ext.toUpperCase()})` };
    if (DOCUMENTS[type.ext]) return { kind: 'not-media', what: DOCUMENTS[type.ext] as string };
    if (ARCHIVES.has(type.ext)) return { kind: 'not-media', what: `an archive (${type.ext.toUpperCase()})` };
    return { kind: 'not-media', what: `a ${type.ext.toUpperCase()} file` };
  }
  const start = Buffer.from(bytes.subarray(0, 512)).toString('latin1').trimStart().toLowerCase();
  if (start.startsWith('<!doctype html') || start.startsWith('<html'))
    return { kind: 'not-media', what: 'a web page' };
  if (start.startsWith('<?xml')) return { kind: 'not-media', what: 'an XML document' };
  if (looksLikeText(bytes)) return { kind: 'not-media', what: 'text' };
  return { kind: 'unknown' };
}
