/** The bundled sample (local/sample) that the emulator recognises by its bytes and answers with its known transcript. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { TranscriptContent } from './transcripts.js';

export const SAMPLE_AUDIO_PATH = fileURLToPath(new URL('../sample/sample.ogg', import.meta.url));
export const SAMPLE_TRANSCRIPT_PATH = fileURLToPath(
  new URL('../sample/sample.transcript.json', import.meta.url),
);

export interface BundledSample {
  sha256: string;
  transcript: TranscriptContent;
}

export async function loadBundledSample(): Promise<BundledSample> {
  const [audio, transcript] = await Promise.all([
    readFile(SAMPLE_AUDIO_PATH),
    readFile(SAMPLE_TRANSCRIPT_PATH, 'utf8'),
  ]);
  return {
    sha256: createHash('sha256').update(audio).digest('hex'),
    transcript: JSON.parse(transcript) as TranscriptContent,
  };
}
