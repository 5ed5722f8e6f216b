/**
 * Downloads `audio_url` and judges the bytes the way AssemblyAI does, with its error messages.
 * AssemblyAI transcodes with ffmpeg, so anything with an audio track is accepted — the same formats
 * "Validate audio" accepts, judged by the same code (probeAudioBytes) — with an unknown duration
 * where the container does not tell it cheaply.
 */
import { createHash } from 'node:crypto';
import { probeAudioBytes } from '../../lambdas/validate-audio/validate-audio.js';

/** AssemblyAI rejects audio shorter than this. */
export const MIN_AUDIO_SECONDS = 0.2;

export type AudioInspection =
  | { ok: true; durationSeconds: number | null; sha256: string }
  | { ok: false; error: string };

export const downloadErrorMessage = (url: string): string =>
  `Download error, unable to download ${url}. Please make sure the file exists and is accessible from the internet.`;

/** Names the bytes' type like libmagic does, for the "does not contain audio" message. */
export function sniffMimeType(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'application/x-empty';
  if (bytes.length < 2) return 'application/octet-stream';
  const ascii = Buffer.from(bytes.subarray(0, 512)).toString('latin1');
  if (ascii.startsWith('%PDF-')) return 'application/pdf';
  if (ascii.startsWith('\x89PNG\r\n\x1a\n')) return 'image/png';
  if (ascii.startsWith('\xff\xd8\xff')) return 'image/jpeg';
  if (ascii.startsWith('GIF8')) return 'image/gif';
  if (ascii.startsWith('PK\x03\x04')) return 'application/zip';
  if (/^\s*(<!doctype html|<html)/i.test(ascii)) return 'text/html';
  if (/^\s*[{[]/.test(ascii) && isText(bytes)) return 'application/json';
  if (isText(bytes)) return 'text/plain';
  if (ascii.slice(4, 8) === 'ftyp') return 'video/mp4';
  if (ascii.startsWith('\x1aE\xdf\xa3')) return 'video/webm';
  return 'application/octet-stream';
}

function isText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample);
  } catch {
    return false;
  }
  return !sample.some((b) => b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b));
}

/** Fetches the audio as the real service would and returns its duration and hash, or the job's error. */
export async function downloadAndInspectAudio(url: string, signal: AbortSignal): Promise<AudioInspection> {
  let bytes: Uint8Array;
  try {
    const response = await fetch(url, { signal });
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, error: downloadErrorMessage(url) };
    }
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (signal.aborted) throw error;
    return { ok: false, error: downloadErrorMessage(url) };
  }
  return inspectAudioBytes(bytes);
}

/** The judgement of downloaded bytes, separate from the download so it can be tested on files. */
export async function inspectAudioBytes(bytes: Uint8Array): Promise<AudioInspection> {
  const notAudio = `Transcoding failed. File does not appear to contain audio. File type is ${sniffMimeType(bytes)}.`;
  if (bytes.length === 0) return { ok: false, error: notAudio };
  let durationSeconds: number | null;
  try {
    durationSeconds = (await probeAudioBytes(bytes)).durationSeconds;
  } catch {
    return { ok: false, error: notAudio };
  }
  if (durationSeconds !== null && durationSeconds < MIN_AUDIO_SECONDS) {
    return { ok: false, error: 'Audio duration is too short.' };
  }
  return { ok: true, durationSeconds, sha256: createHash('sha256').update(bytes).digest('hex') };
}
