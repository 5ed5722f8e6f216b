/**
 * Step 6, "Format segments": the stored AssemblyAI transcript becomes the bot's speaker segments,
 * S3 to S3. Only the key and counts go back into the state, so a ten-hour transcript never
 * touches Step Functions' payload limit.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { StoredTranscript } from '../shared/assemblyai.js';
import {
  buildCues,
  type CaptionWord,
  captionRulesFor,
  type SpeakerNames,
  srtLabel,
  toSrt,
  toText,
  toVtt,
} from '../shared/captions.js';
import type { WorkflowConfig } from '../shared/config.js';
import { type OutputFormat, type Segment, segmentProblem } from '../shared/contracts.js';
import { TranscriptionFailed } from '../shared/errors.js';
import { getJson, putJson } from '../shared/storage.js';
import {
  SEGMENTS_OBJECT,
  type SegmentsDocument,
  type SegmentsRef,
  type SubmittedState,
  TRANSCRIPT_OBJECT,
  workKey,
} from '../shared/workflow-state.js';

export interface FormatDeps {
  s3: S3Client;
  config: WorkflowConfig;
}

/** Speaker used when diarization gave none (one voice, or speaker labels unavailable). */
export const DEFAULT_SPEAKER = 'A';

const seconds = (ms: number) => Math.round(ms) / 1000;

interface TimedWord {
  text: string;
  start: number;
  end: number;
  speaker?: string | null;
}

/**
 * AssemblyAI's utterances in order; without them, words grouped by consecutive speaker; with no
 * speaker at all, one segment; silence (no words, no text) gives no segments.
 */
export function toSegments(transcript: StoredTranscript): Segment[] {
  if (transcript.utterances && transcript.utterances.length > 0) {
    return transcript.utterances.map((u) => ({
      speaker: u.speaker || DEFAULT_SPEAKER,
      text: u.text,
      start: seconds(u.start),
      end: seconds(u.end),
    }));
  }
  const words: TimedWord[] = transcript.words ?? [];
  if (words.length > 0) {
    if (!words.some((w) => w.speaker)) {
      const first = words[0] as TimedWord;
      const last = words[words.length - 1] as TimedWord;
      const text = transcript.text?.trim() || words.map((w) => w.text).join(' ');
      return [{ speaker: DEFAULT_SPEAKER, text, start: seconds(first.start), end: seconds(last.end) }];
    }
    const segments: Segment[] = [];
    let texts: string[] = [];
    let current: Segment | undefined;
    for (const word of words) {
      const speaker = word.speaker || DEFAULT_SPEAKER;
      if (!current || current.speaker !== speaker) {
        if (current) segments.push({ ...current, text: texts.join(' ') });
        current = { speaker, text: '', start: seconds(word.start), end: seconds(word.end) };
        texts = [];
      }
      texts.push(word.text);
      current.end = seconds(word.end);
    }
    if (current) segments.push({ ...current, text: texts.join(' ') });
    return segments;
  }
  const text = transcript.text?.trim();
  if (text) return [{ speaker: DEFAULT_SPEAKER, text, start: 0, end: transcript.audio_duration ?? 0 }];
  return [];
}

/**
 * The segments, or TranscriptionFailed when the transcript cannot make a result that keeps the
 * contract (a speaker that is a number, text or times missing): the bot must never read
 * `{"speaker":1,"text":null,"start":null}` as a completed transcription.
 */
export function validSegments(transcript: StoredTranscript): Segment[] {
  let segments: Segment[];
  try {
    segments = toSegments(transcript);
  } catch {
    throw new TranscriptionFailed('AssemblyAI returned a transcript that could not be read');
  }
  for (const [index, segment] of segments.entries()) {
    const problem = segmentProblem(segment);
    if (problem) {
      throw new TranscriptionFailed(
        `AssemblyAI returned a transcript that could not be read (segment ${index + 1} ${problem})`,
      );
    }
  }
  return segments;
}

/**
 * The timed words captions are laid out from: AssemblyAI's words, else its utterances' words; a
 * transcript with text but no word timings spreads each segment's words evenly over the segment.
 */
export function captionWordsOf(transcript: StoredTranscript, segments: readonly Segment[]): CaptionWord[] {
  if (transcript.words && transcript.words.length > 0) return transcript.words;
  const fromUtterances = (transcript.utterances ?? []).flatMap((u) => u.words ?? []);
  if (fromUtterances.length > 0) return fromUtterances;
  return segments.flatMap((segment) => {
    const words = segment.text.split(/\s+/).filter(Boolean);
    const step = ((segment.end - segment.start) * 1000) / Math.max(words.length, 1);
    return words.map((text, i) => ({
      text,
      speaker: segment.speaker,
      start: Math.round(segment.start * 1000 + i * step),
      end: Math.round(segment.start * 1000 + (i + 1) * step),
    }));
  });
}

/** The requested files' contents: captions from the timed words, plain text from the segments. */
export function renderOutputs(
  transcript: StoredTranscript,
  segments: readonly Segment[],
  formats: readonly OutputFormat[],
  names: SpeakerNames,
): Partial<Record<OutputFormat, string>> {
  const cues = (label?: (speaker: string) => string) =>
    buildCues(
      captionWordsOf(transcript, segments),
      captionRulesFor(transcript.language_code),
      DEFAULT_SPEAKER,
      label,
    );
  const render: Record<OutputFormat, () => string> = {
    // SubRip prints the speaker's name in the text, so its cues leave the name room; WebVTT's
    // voice span is markup, not text.
    srt: () =>
      toSrt(
        cues((speaker) => srtLabel(speaker, names)),
        names,
      ),
    vtt: () => toVtt(cues(), names),
    txt: () => toText(segments, names),
  };
  return Object.fromEntries(formats.map((format) => [format, render[format]()]));
}

/**
 * How many entities of each policy were redacted: AssemblyAI's response has no count, so they are
 * counted from the `[POLICY_NAME]` placeholders (`redact_pii_sub: entity_name`) in the text, a run
 * of the same placeholder (a multi-word entity) once. Only the policies asked for count, so text
 * that happens to hold brackets is not taken for a redaction.
 */
export function redactionCounts(text: string, policies: readonly string[]): Record<string, number> {
  const wanted = new Set(policies.map((p) => p.toUpperCase()));
  const counts: Record<string, number> = {};
  let previous: string | undefined;
  for (const match of text.matchAll(/\[([A-Z][A-Z_]*)\]|(\S+)/g)) {
    const placeholder = match[1];
    if (placeholder && wanted.has(placeholder)) {
      if (placeholder !== previous) {
        const policy = placeholder.toLowerCase();
        counts[policy] = (counts[policy] ?? 0) + 1;
      }
      previous = placeholder;
    } else {
      previous = undefined;
    }
  }
  return counts;
}

/** Segments with the request's names in place of AssemblyAI's letters (unnamed letters stay). */
export function namedSegments(segments: readonly Segment[], names: SpeakerNames): Segment[] {
  return segments.map((s) => ({ ...s, speaker: names[s.speaker] ?? s.speaker }));
}

export async function formatSegments(state: SubmittedState, deps: FormatDeps): Promise<SegmentsRef> {
  const { s3, config } = deps;
  const transcriptKey =
    state.transcript.transcript_key ?? workKey(config.workPrefix, state.execution, TRANSCRIPT_OBJECT);
  const transcript = await getJson<StoredTranscript>(s3, config.bucket, transcriptKey);
  const lettered = validSegments(transcript);
  const names = state.request.speaker_names;
  const outputs = state.request.outputs;
  const document: SegmentsDocument = {
    transcript_id: transcript.id,
    language_code: transcript.language_code ?? null,
    language_confidence: transcript.language_confidence ?? null,
    speech_model_used: transcript.speech_model_used ?? null,
    audio_duration: transcript.audio_duration ?? state.audio.duration_seconds,
    segments: names ? namedSegments(lettered, names) : lettered,
    ...(names && { speaker_names: names }),
    ...(outputs && { outputs: renderOutputs(transcript, lettered, outputs, names ?? {}) }),
    ...(transcript.redact_pii && {
      redaction: {
        policies: transcript.redact_pii_policies ?? [],
        counts: redactionCounts(
          transcript.text ?? lettered.map((segment) => segment.text).join(' '),
          transcript.redact_pii_policies ?? [],
        ),
      },
    }),
  };
  const segments = document.segments;
  const key = workKey(config.workPrefix, state.execution, SEGMENTS_OBJECT);
  await putJson(s3, config.bucket, key, document);
  return {
    key,
    total_segments: segments.length,
    audio_duration: document.audio_duration,
    language_code: document.language_code,
  };
}
