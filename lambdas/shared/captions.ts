/**
 * Captions (`outputs`: `srt`, `vtt`) and plain text (`txt`) from the transcript's timed words,
 * made by the workflow itself: the transcript is deleted at AssemblyAI once the result is stored,
 * and AssemblyAI's own caption endpoints carry no speaker labels. Our own code because the work is
 * the cue layout (where a cue starts and ends, how its lines break), which no caption library does;
 * the formats themselves are a few lines each. Tests read the files back with SRT and WebVTT parsers.
 *
 * The layout rules are those of the subtitling style guides, for a phone screen:
 * - at most 2 lines of 42 characters (Netflix's English guide; 39 for Russian in Netflix's Russian one);
 * - a cue lasts 1–7 s and is shown long enough to read at 17 characters per second where the next
 *   cue leaves room (Netflix's reading speed for adult programmes);
 * - a new cue at every change of speaker and at every pause of more than 1 s, so one cue never
 *   mixes two voices and captions do not linger over silence.
 */

/** The label a reader sees: the given name for a speaker, else its letter. */
export type SpeakerNames = Readonly<Record<string, string>>;
const nameOf = (speaker: string, names: SpeakerNames) => names[speaker] ?? speaker;

export interface CaptionRules {
  maxLineChars: number;
  maxLines: number;
  minCueMs: number;
  maxCueMs: number;
  maxCharsPerSecond: number;
  /** A pause between two words longer than this starts a new cue. */
  pauseMs: number;
  /** Between two cues, so a player never shows both. */
  gapMs: number;
}

export const CAPTION_RULES: CaptionRules = {
  maxLineChars: 42,
  maxLines: 2,
  minCueMs: 1000,
  maxCueMs: 7000,
  maxCharsPerSecond: 17,
  pauseMs: 1000,
  gapMs: 80,
};

/** Netflix's Russian guide allows 39 characters a line. */
const LINE_CHARS_BY_LANGUAGE: Record<string, number> = { ru: 39 };

/** The rules for a transcript's language (AssemblyAI's code, e.g. `ru`, `en_us`). */
export function captionRulesFor(languageCode: string | null | undefined): CaptionRules {
  const base = languageCode?.split('_')[0]?.toLowerCase() ?? '';
  const maxLineChars = LINE_CHARS_BY_LANGUAGE[base] ?? CAPTION_RULES.maxLineChars;
  return { ...CAPTION_RULES, maxLineChars };
}

/** A word as AssemblyAI times it, in milliseconds. */
export interface CaptionWord {
  text: string;
  start: number;
  end: number;
  speaker?: string | null;
}

export interface Cue {
  /** Milliseconds. */
  start: number;
  end: number;
  /** AssemblyAI's label (`A`, …). */
  speaker: string;
  lines: string[];
}

/**
 * Greedy line breaking; a single word longer than a line keeps a line to itself. `indent`
 * characters of the first line are taken (a speaker label printed before it).
 */
function wrap(words: string[], maxLineChars: number, indent = 0): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const room = maxLineChars - (lines.length === 0 ? indent : 0);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

interface OpenCue {
  start: number;
  end: number;
  speaker: string;
  words: string[];
  indent: number;
}

/** The label SubRip prints before a cue whose speaker differs from the previous cue's. */
export const srtLabel = (speaker: string, names: SpeakerNames = {}) => `${nameOf(speaker, names)}: `;

/**
 * Cues from the timed words, in order. `defaultSpeaker` labels words without one (diarization
 * off or unavailable). `label`, when given, is printed before the first line of each cue whose
 * speaker differs from the previous cue's (SubRip's speaker names), so that line leaves it room.
 */
export function buildCues(
  words: readonly CaptionWord[],
  rules: CaptionRules = CAPTION_RULES,
  defaultSpeaker = 'A',
  label?: (speaker: string) => string,
): Cue[] {
  const open: OpenCue[] = [];
  let current: OpenCue | undefined;
  for (const word of words) {
    const text = word.text.trim();
    if (!text) continue;
    const speaker = word.speaker || defaultSpeaker;
    const fits =
      current !== undefined &&
      current.speaker === speaker &&
      word.start - current.end <= rules.pauseMs &&
      word.end - current.start <= rules.maxCueMs &&
      wrap([...current.words, text], rules.maxLineChars, current.indent).length <= rules.maxLines;
    if (current && fits) {
      current.words.push(text);
      current.end = Math.max(current.end, word.end);
    } else {
      const labelled = label !== undefined && current?.speaker !== speaker;
      const indent = labelled ? label(speaker).length : 0;
      current = { start: word.start, end: Math.max(word.start, word.end), speaker, words: [text], indent };
      open.push(current);
    }
  }
  return open.map((cue, index) => {
    const lines = wrap(cue.words, rules.maxLineChars, cue.indent);
    const chars = lines.join(' ').length;
    const readable =
      cue.start + Math.max(rules.minCueMs, Math.ceil((chars / rules.maxCharsPerSecond) * 1000));
    const next = open[index + 1];
    const latest = Math.min(
      cue.start + rules.maxCueMs,
      next ? next.start - rules.gapMs : Number.POSITIVE_INFINITY,
    );
    // Longer to be readable where the next cue leaves room; never shorter than the speech itself.
    const end = Math.max(cue.end, Math.min(readable, latest));
    return { start: cue.start, end, speaker: cue.speaker, lines };
  });
}

function timestamp(ms: number, separator: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  const millis = total % 1000;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}${separator}${pad(millis, 3)}`;
}

/**
 * SubRip: numbered cues, `HH:MM:SS,mmm`, the speaker's name before the first line of each cue
 * whose speaker differs from the previous cue's (SRT has no voice markup). Build the cues with
 * `srtLabel` and the same names, so the labelled lines keep within the line length.
 */
export function toSrt(cues: readonly Cue[], names: SpeakerNames = {}): string {
  return cues
    .map((cue, index) => {
      const changed = index === 0 || cues[index - 1]?.speaker !== cue.speaker;
      const lines = changed
        ? [`${srtLabel(cue.speaker, names)}${cue.lines[0]}`, ...cue.lines.slice(1)]
        : cue.lines;
      return `${index + 1}\n${timestamp(cue.start, ',')} --> ${timestamp(cue.end, ',')}\n${lines.join('\n')}\n`;
    })
    .join('\n');
}

const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** WebVTT with a voice span (`<v Name>`) per cue, which players show or style as the speaker. */
export function toVtt(cues: readonly Cue[], names: SpeakerNames = {}): string {
  const body = cues
    .map((cue) => {
      const voice = escapeVtt(nameOf(cue.speaker, names)).replace(/\s+/g, ' ');
      const text = cue.lines.map(escapeVtt).join('\n');
      return `${timestamp(cue.start, '.')} --> ${timestamp(cue.end, '.')}\n<v ${voice}>${text}</v>\n`;
    })
    .join('\n');
  return `WEBVTT\n\n${body}`;
}

/** Plain text: one paragraph per speaker turn, `Name: text`. */
export function toText(
  segments: readonly { speaker: string; text: string }[],
  names: SpeakerNames = {},
): string {
  return segments.map((s) => `${nameOf(s.speaker, names)}: ${s.text.trim()}\n`).join('\n');
}
