/**
 * The emulator's judgement of downloaded bytes (local/assemblyai-emulator/audio.ts) on the corpus
 * of real files: AssemblyAI transcodes anything with an audio track, so every real format is
 * accepted, with its error texts for what is not audio or too short.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspectAudioBytes, MIN_AUDIO_SECONDS } from '../../local/assemblyai-emulator/audio.js';

const CORPUS = fileURLToPath(new URL('../fixtures/audio/corpus/', import.meta.url));

interface CorpusEntry {
  expected: 'accept' | 'refuse';
  error?: string;
  ffprobe_duration: number | null;
}

const manifest = JSON.parse(await readFile(join(CORPUS, 'manifest.json'), 'utf8')) as Record<
  string,
  CorpusEntry
>;
const entries = Object.entries(manifest);

describe('inspectAudioBytes', () => {
  it.each(entries.filter(([, entry]) => entry.expected === 'accept'))(
    'accepts %s, as AssemblyAI transcodes it',
    async (file) => {
      // Act
      const inspection = await inspectAudioBytes(await readFile(join(CORPUS, file)));

      // Assert
      expect(inspection).toMatchObject({ ok: true });
      if (inspection.ok && inspection.durationSeconds !== null) {
        expect(inspection.durationSeconds).toBeGreaterThanOrEqual(MIN_AUDIO_SECONDS);
      }
    },
  );

  it.each(
    entries.filter(([, entry]) => entry.error === 'UnsupportedAudioFormat' || entry.error === 'AudioEmpty'),
  )('ends %s with "does not appear to contain audio"', async (file) => {
    // Act
    const inspection = await inspectAudioBytes(await readFile(join(CORPUS, file)));

    // Assert
    expect(inspection.ok).toBe(false);
    if (!inspection.ok) {
      expect(inspection.error).toMatch(
        /^Transcoding failed\. File does not appear to contain audio\. File type is \S+\.$/,
      );
    }
  });

  it.each([
    ['too-short.ogg', 'Audio duration is too short.'],
    ['freedesktop-bell.oga', 'Audio duration is too short.'],
  ])('ends %s (under 0.2 s) with %j', async (file, message) => {
    // Act
    const inspection = await inspectAudioBytes(await readFile(join(CORPUS, file)));

    // Assert
    expect(inspection).toEqual({ ok: false, error: message });
  });

  it.each([
    ['document.pdf', 'application/pdf'],
    ['image.png', 'image/png'],
    ['empty.ogg', 'application/x-empty'],
    ['no-audio.mp4', 'video/mp4'],
  ])('names %s as %s in the error', async (file, mimeType) => {
    // Act
    const inspection = await inspectAudioBytes(await readFile(join(CORPUS, file)));

    // Assert
    expect(inspection).toEqual({
      ok: false,
      error: `Transcoding failed. File does not appear to contain audio. File type is ${mimeType}.`,
    });
  });
});
