/** Minimal typings for webvtt-parser 2 (the W3C's WebVTT parser, which ships none): what the caption tests use. */
declare module 'webvtt-parser' {
  export interface WebVTTCue {
    startTime: number;
    endTime: number;
    text: string;
  }
  export class WebVTTParser {
    parse(input: string, mode?: 'metadata' | 'chapters'): { cues: WebVTTCue[]; errors: unknown[] };
  }
}
