/**
 * What the AssemblyAI emulator should "hear" in given audio (its `addKnownTranscript`): one speaker
 * saying these words, 400 ms apart, in this language. For tests of what AssemblyAI does with the
 * words (redaction, keyterms) rather than of diarization.
 */
import { createHash } from 'node:crypto';
import type { TranscriptContent } from '../../local/assemblyai-emulator/transcripts.js';

export function heardContent(tokens: string[], languageCode: string): TranscriptContent {
  const words = tokens.map((text, i) => ({
    text,
    start: i * 400,
    end: i * 400 + 350,
    confidence: 0.9,
    speaker: 'A',
  }));
  const text = tokens.join(' ');
  const end = words.at(-1)?.end ?? 0;
  return {
    language_code: languageCode,
    audio_duration: (end + 50) / 1000,
    text,
    confidence: 0.9,
    words,
    utterances: [{ speaker: 'A', text, start: 0, end, confidence: 0.9, words }],
  };
}

/** The digest the emulator knows audio by. */
export function audioDigest(audio: Buffer): string {
  return createHash('sha256').update(audio).digest('hex');
}
