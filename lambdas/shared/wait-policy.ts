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
export function expectedTurnaroundSeconds(audioSeconds: number | null): number {
  return 3 + 0.05 * (audioSeconds ?? 60);
}

export function pollDeadline(submittedAt: Date, audioSeconds: number | null, policy: WaitPolicy): Date {
  const allowance = policy.deadlineBaseSeconds + policy.deadlinePerAudioSecond * (audioSeconds ?? 0);
  return new Date(submittedAt.getTime() + allowance * 1000);
}

/**
 * Seconds until the next check: first around the expected turnaround, then a quarter of the time
 * already spent (geometric back-off), clamped to [MIN_WAIT_SECONDS, maxWaitSeconds] and never past
 * the deadline by more than the 1 s minimum, so the check after the deadline is the last one.
 */
export function nextWaitSeconds(
  args: { audioSeconds: number | null; submittedAt: Date; deadline: Date; now: Date },
  policy: WaitPolicy,
): number {
  const elapsed = (args.now.getTime() - args.submittedAt.getTime()) / 1000;
  const untilDeadline = (args.deadline.getTime() - args.now.getTime()) / 1000;
  const wanted = Math.max(expectedTurnaroundSeconds(args.audioSeconds) - elapsed, elapsed * 0.25);
  const clamped = Math.min(Math.max(wanted, MIN_WAIT_SECONDS), policy.maxWaitSeconds);
  return Math.max(1, Math.ceil(Math.min(clamped, untilDeadline)));
}
