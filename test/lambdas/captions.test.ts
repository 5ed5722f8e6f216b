/**
 * Captions and plain text from timed words, read back with caption parsers (not string compares):
 * `subtitle` parses SRT and WebVTT into cues, the W3C's `webvtt-parser` checks WebVTT conformance.
 * Words come from AssemblyAI's published diarized response (test/fixtures/assemblyai).
 */
import { readFileSync } from 'node:fs';
import { parseSync } from 'subtitle';
import { WebVTTParser } from 'webvtt-parser';
import {
  buildCues,
  CAPTION_RULES,
  type CaptionWord,
  captionRulesFor,
  srtLabel,
  toSrt,
  toText,
  toVtt,
} from '../../lambdas/shared/captions.js';

const diarized = JSON.parse(
  readFileSync(
    new URL(
      '../fixtures/assemblyai/diarized-utterances.docs-speaker-diarization-response.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { utterances: { speaker: string; text: string; words: CaptionWord[] }[] };
const WORDS: CaptionWord[] = diarized.utterances.flatMap((u) => u.words);

interface ParsedCue {
  start: number;
  end: number;
  text: string;
}

function parsedCues(text: string): ParsedCue[] {
  return parseSync(text)
    .filter((node) => node.type === 'cue')
    .map((node) => node.data as ParsedCue);
}

/** The text of a cue without the SRT speaker prefix or the VTT voice span. */
const spoken = (text: string) =>
  text
    .replace(/^<v [^>]+>|<\/v>$/g, '')
    .replace(/^[^:\n]+: /, '')
    .replace(/\n/g, ' ');

describe('buildCues', () => {
  const cues = buildCues(WORDS);

  it('keeps every word, in order, and never mixes two speakers in one cue', () => {
    expect(cues.map((c) => c.lines.join(' ')).join(' ')).toBe(WORDS.map((w) => w.text).join(' '));
    for (const cue of cues) {
      const inside = WORDS.filter((w) => w.start >= cue.start && w.end <= cue.end && w.start < cue.end);
      expect(new Set(inside.map((w) => w.speaker))).toEqual(new Set([cue.speaker]));
    }
  });

  it('lays cues out for a phone: ≤ 2 lines of ≤ 42 characters, 1–7 s, in order, not overlapping', () => {
    expect(cues.length).toBeGreaterThan(10);
    for (const [index, cue] of cues.entries()) {
      expect(cue.lines.length).toBeLessThanOrEqual(2);
      for (const line of cue.lines) expect(line.length).toBeLessThanOrEqual(42);
      expect(cue.end - cue.start).toBeGreaterThanOrEqual(
        Math.min(1000, (cues[index + 1]?.start ?? Infinity) - cue.start - 80),
      );
      expect(cue.end - cue.start).toBeLessThanOrEqual(7000);
      const next = cues[index + 1];
      if (next) expect(cue.end).toBeLessThanOrEqual(next.start);
    }
  });

  it('starts a new cue after a pause longer than a second, even for the same speaker', () => {
    const words: CaptionWord[] = [
      { text: 'Привет.', start: 0, end: 400, speaker: 'A' },
      { text: 'Ты', start: 2500, end: 2700, speaker: 'A' },
      { text: 'здесь?', start: 2750, end: 3100, speaker: 'A' },
    ];

    const [first, second, ...rest] = buildCues(words, captionRulesFor('ru'));

    expect(rest).toEqual([]);
    expect(first).toMatchObject({ start: 0, lines: ['Привет.'] });
    // Shown for the minimum second, though spoken in 0.4 s; the next cue is 2.5 s away.
    expect(first?.end).toBe(1000);
    expect(second).toMatchObject({ start: 2500, lines: ['Ты здесь?'] });
  });

  it('breaks Russian lines at 39 characters (Netflix’s Russian guide) and others at 42', () => {
    expect(captionRulesFor('ru').maxLineChars).toBe(39);
    expect(captionRulesFor('en_us').maxLineChars).toBe(42);
    expect(captionRulesFor(null)).toEqual(CAPTION_RULES);
    const words = 'раз два три четыре пять шесть семь восемь девять десять'
      .split(' ')
      .map((text, i) => ({ text, start: i * 300, end: i * 300 + 250, speaker: 'A' }));

    const [cue] = buildCues(words, captionRulesFor('ru'));

    expect(cue?.lines).toEqual(['раз два три четыре пять шесть семь', 'восемь девять десять']);
  });
});

describe('toSrt', () => {
  it('writes SubRip that a parser reads back with the cues’ times and words, names instead of letters', () => {
    const cues = buildCues(WORDS);

    const srt = toSrt(cues, { A: 'Anna' });
    const parsed = parsedCues(srt);

    expect(parsed.map((c) => [c.start, c.end])).toEqual(cues.map((c) => [c.start, c.end]));
    expect(parsed.map((c) => spoken(c.text)).join(' ')).toBe(WORDS.map((w) => w.text).join(' '));
    expect(parsed[0]?.text.startsWith('Anna: ')).toBe(true);
    expect(parsed.some((c) => c.text.startsWith('B: '))).toBe(true);
    expect(srt).toMatch(/^1\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}\n/);
  });

  it('keeps a line with the speaker’s name within the line length', () => {
    const names = { A: 'Анна Каренина', B: 'Борис' };
    const cues = buildCues(WORDS, CAPTION_RULES, 'A', (speaker) => srtLabel(speaker, names));

    const lines = parsedCues(toSrt(cues, names)).flatMap((c) => c.text.split('\n'));

    expect(lines.some((line) => line.startsWith('Анна Каренина: '))).toBe(true);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(CAPTION_RULES.maxLineChars);
  });
});

describe('toVtt', () => {
  it('writes WebVTT that the W3C parser accepts without errors, one voice span per cue', () => {
    const cues = buildCues(WORDS);

    const vtt = toVtt(cues, { B: 'Борис <гость> & co' });
    const checked = new WebVTTParser().parse(vtt, 'metadata');

    expect(checked.errors).toEqual([]);
    expect(checked.cues).toHaveLength(cues.length);
    expect(checked.cues.map((c: { startTime: number }) => Math.round(c.startTime * 1000))).toEqual(
      cues.map((c) => c.start),
    );
    const parsed = parsedCues(vtt);
    expect(parsed.map((c) => spoken(c.text)).join(' ')).toBe(WORDS.map((w) => w.text).join(' '));
    expect(vtt).toContain('<v Борис &lt;гость&gt; &amp; co>');
  });

  it('escapes markup in the words, so text is never read as a tag', () => {
    const vtt = toVtt(buildCues([{ text: '<b>1 < 2 & 3</b>', start: 0, end: 900, speaker: 'A' }]));

    expect(new WebVTTParser().parse(vtt, 'metadata').errors).toEqual([]);
    expect(vtt).toContain('&lt;b&gt;1 &lt; 2 &amp; 3&lt;/b&gt;');
  });
});

describe('toText', () => {
  it('writes one paragraph per speaker turn with the speaker’s name', () => {
    const text = toText(diarized.utterances, { A: 'Anna' });

    const paragraphs = text.trimEnd().split('\n\n');
    expect(paragraphs).toHaveLength(diarized.utterances.length);
    expect(paragraphs[0]).toBe(`Anna: ${diarized.utterances[0]?.text}`);
    expect(paragraphs[1]?.startsWith('B: ')).toBe(true);
  });
});
