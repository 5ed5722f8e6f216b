/** Seconds since the execution started, as the result's `metadata.processing_time` reports it. */
export function processingTimeSeconds(startedAt: string, now: Date): number {
  const ms = now.getTime() - new Date(startedAt).getTime();
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 100) / 10) : 0;
}
