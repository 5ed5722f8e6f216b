/** Terminal output for the operator CLI: times, durations, segments, wrapped to the terminal's width. */
import type { Segment } from '../lambdas/shared/contracts.js';

/** `90s`, `30m`, `24h`, `7d`, or an ISO date → the instant that far back (or that instant). */
export function parseSince(value: string, now: number): Date {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (match) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(match[1]) * unit);
  }
  const instant = Date.parse(value);
  if (Number.isNaN(instant))
    throw new RangeError(`--since: "${value}" is not a duration (24h, 30m, 7d) or a date`);
  return new Date(instant);
}

/** `20m` / `90s` / `1h` as milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new RangeError(`"${value}" is not a duration (e.g. 90s, 20m, 1h)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** `2026-12-01 10:00:04Z`. */
export function formatInstant(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '—';
}

/** `850 ms`, `4.2 s`, `3 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** `[01:02.50]`, `[1:01:02.50]` past an hour. */
export function formatTimestamp(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = (seconds % 60).toFixed(2).padStart(5, '0');
  return h > 0 ? `[${h}:${String(m).padStart(2, '0')}:${s}]` : `[${String(m).padStart(2, '0')}:${s}]`;
}

/** Words onto lines of at most `width` characters, each after the first indented by `indent`. */
export function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const limit = lines.length === 0 ? width : width - indent;
    if (line && line.length + 1 + word.length > limit) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`)).join('\n');
}

/** `[00:00.25] A: Привет, как дела?`, one segment a paragraph, wrapped under its text. */
export function formatSegments(segments: Segment[], width: number): string {
  return segments
    .map((segment) => {
      const head = `${formatTimestamp(segment.start)} ${segment.speaker}: `;
      return head + wrap(segment.text, Math.max(20, width - head.length), head.length);
    })
    .join('\n');
}

/** The value at quantile q (0–1) of `values`, nearest rank. */
export function percentile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
