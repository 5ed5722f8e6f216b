/**
 * The wait policy: how long the "Wait for transcript" state sleeps between status checks, and
 * when the loop gives up. The one place these numbers are decided (webhook mode will reuse the
 * deadline).
 *
 * Short voice messages are checked every few seconds so they finish fast; long files are checked
 * rarely, since each loop costs three state transitions.
 */
export interface WaitPolicy {
  deadlineBaseSeconds: number;
  deadlinePerAudioSecond: number;
  maxWaitSeconds: number;
}

/** Shortest wait between two checks. */
export const MIN_WAIT_SECONDS = 2;

/**
 * AssemblyAI usually returns a file in a fraction of its length; this is a deliberately
 * optimistic guess of when to look first, not a promise.
 */
function expectedTurnaroundSeconds(audioSeconds: number): number {
  return 3 + 0.05 * audioSeconds;
}

/** The lowest bitrate expected for speech (Opus voice runs at 8–32 kbit/s). */
const MIN_SPEECH_BITS_PER_SECOND = 8_000;

/**
 * The audio length the policy plans with. When the header did not state it (e.g. a WEBM written
 * as a stream, without a Duration), the size at the lowest speech bitrate is an upper bound,
 * capped by the longest audio accepted: a long recording then still gets a long enough deadline.
 */
export function plannedAudioSeconds(
  audio: { duration_seconds: number | null; size_bytes: number },
  maxAudioSeconds: number,
): number {
  if (audio.duration_seconds !== null) return audio.duration_seconds;
  return Math.min((audio.size_bytes * 8) / MIN_SPEECH_BITS_PER_SECOND, maxAudioSeconds);
}

export function pollDeadline(submittedAt: Date, audioSeconds: number, policy: WaitPolicy): Date {
  const allowance = policy.deadlineBaseSeconds + policy.deadlinePerAudioSecond * audioSeconds;
  return new Date(submittedAt.getTime() + allowance * 1000);
}

/**
 * Seconds until the next check: first around the expected turnaround, then a quarter of the time
 * already spent (geometric back-off), clamped to [MIN_WAIT_SECONDS, maxWaitSeconds] and never past
 * the deadline by more than the 1 s minimum, so the check after the deadline is the last one.
 */
export function nextWaitSeconds(
  args: { audioSeconds: number; submittedAt: Date; deadline: Date; now: Date },
  policy: WaitPolicy,
): number {
  const elapsed = (args.now.getTime() - args.submittedAt.getTime()) / 1000;
  const untilDeadline = (args.deadline.getTime() - args.now.getTime()) / 1000;
  const wanted = Math.max(expectedTurnaroundSeconds(args.audioSeconds) - elapsed, elapsed * 0.25);
  const clamped = Math.min(Math.max(wanted, MIN_WAIT_SECONDS), policy.maxWaitSeconds);
  return Math.max(1, Math.ceil(Math.min(clamped, untilDeadline)));
}
