/**
 * The wait policy: how long the "Wait for transcript" state sleeps between status checks, how long
 * "Check transcript status" may hold inside its Lambda for the job to finish, and when the loop
 * gives up. The one place these numbers are decided (webhook mode will reuse the deadline).
 *
 * Why a hold: one loop (Wait, Check, "Transcript ready?") is 3 state transitions, $0.000075 — the
 * price of ~11 s of the 512 MB arm64 Check Lambda. Inside AssemblyAI's published turnaround window,
 * polling every second from the Lambda is both cheaper and quicker than another loop. Outside it
 * (the provider is slower than published) the waits grow geometrically, so even ten hours at
 * 0.3× real time end in a dozen loops. `scripts/poll-tradeoff.ts` prints the trade-off.
 */
export interface WaitPolicy {
  deadlineBaseSeconds: number;
  deadlinePerAudioSecond: number;
  maxWaitSeconds: number;
  /** The longest in-Lambda hold of one check (0: never hold). */
  holdSeconds: number;
}

/** Shortest wait between two checks. */
export const MIN_WAIT_SECONDS = 2;

/** How often Check asks AssemblyAI again while it holds. */
export const HOLD_POLL_INTERVAL_SECONDS = 1;

/**
 * After a check that found the job running, the next wait is this fraction of the time already
 * spent: 10 h of audio at 0.3× real time (about 3 h) still ends within 11 loops (40 transitions).
 */
export const BACKOFF_FRACTION = 0.55;

/**
 * Check holds only for files whose published window is at most this many holds wide (with the
 * default 15 s: up to about 85 min of audio). A wider window is mostly covered by waits anyway,
 * and holding there costs Lambda time without saving loops.
 */
export const HOLD_WINDOW_HOLDS = 4;

/**
 * AssemblyAI's published turnaround ("the vast majority of files complete in under 45 s", about
 * 0.01× real time for long files), as the window the policy plans with: the earliest and the
 * latest a file of this length is expected to complete, in seconds after submission.
 */
export const PUBLISHED_TURNAROUND = {
  earliest: { baseSeconds: 3, perAudioSecond: 0.005 },
  latest: { baseSeconds: 12, perAudioSecond: 0.015 },
} as const;

export function turnaroundWindow(audioSeconds: number): { earliest: number; latest: number } {
  const { earliest, latest } = PUBLISHED_TURNAROUND;
  return {
    earliest: earliest.baseSeconds + earliest.perAudioSecond * audioSeconds,
    latest: latest.baseSeconds + latest.perAudioSecond * audioSeconds,
  };
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

export interface PollMoment {
  audioSeconds: number;
  submittedAt: Date;
  deadline: Date;
  now: Date;
}

const secondsBetween = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;

/**
 * Seconds until the next check: the first check at the earliest published completion, then
 * `BACKOFF_FRACTION` of the time already spent, clamped to [MIN_WAIT_SECONDS, maxWaitSeconds] and
 * never past the deadline by more than the 1 s minimum, so the check after the deadline is the
 * last one. (Inside the window the hold, not the wait, keeps the lag short.)
 */
export function nextWaitSeconds(args: PollMoment, policy: WaitPolicy): number {
  const elapsed = secondsBetween(args.submittedAt, args.now);
  const untilDeadline = secondsBetween(args.now, args.deadline);
  const { earliest, latest } = turnaroundWindow(args.audioSeconds);
  // Inside a window checks hold through, a hold that ended early is followed at once by the next
  // one, so the window is watched without gaps; outside it, back off with the time spent.
  const holding = policy.holdSeconds > 0 && latest - earliest <= HOLD_WINDOW_HOLDS * policy.holdSeconds;
  const inWindow = elapsed >= earliest && elapsed < latest;
  const wanted =
    holding && inWindow ? MIN_WAIT_SECONDS : Math.max(earliest - elapsed, elapsed * BACKOFF_FRACTION);
  const clamped = Math.min(Math.max(wanted, MIN_WAIT_SECONDS), policy.maxWaitSeconds);
  return Math.max(1, Math.ceil(Math.min(clamped, untilDeadline)));
}

/**
 * How long a check at `now` that found the job still running may keep polling inside the Lambda:
 * only within the published window and when that window is at most `HOLD_WINDOW_HOLDS` holds
 * wide, at most `holdSeconds`, and ending MIN_WAIT_SECONDS before the deadline: the loop's last
 * check (TranscriptionTimedOut) still comes after a Wait. 0: hand back to the Wait state at once.
 */
export function holdSecondsAt(args: PollMoment, policy: WaitPolicy): number {
  const elapsed = secondsBetween(args.submittedAt, args.now);
  const untilDeadline = secondsBetween(args.now, args.deadline);
  const { earliest, latest } = turnaroundWindow(args.audioSeconds);
  if (latest - earliest > HOLD_WINDOW_HOLDS * policy.holdSeconds) return 0;
  return Math.max(0, Math.min(policy.holdSeconds, latest - elapsed, untilDeadline - MIN_WAIT_SECONDS));
}

/**
 * Webhook mode: how long Submit's task waits for AssemblyAI's webhook before the execution falls
 * back to the poll loop (the task's `TimeoutSecondsPath`). Long enough for the pessimistic
 * provider (0.3× real time, see the bench) and AssemblyAI's own retries of a failed delivery, so a
 * slow job still costs no poll loop; at most 3/4 of the poll allowance, so a lost webhook still
 * leaves the loop time to find the job finished before the deadline.
 */
export const WEBHOOK_WAIT = { baseSeconds: 120, perAudioSecond: 0.35, shareOfAllowance: 0.75 } as const;

export function webhookWaitSeconds(audioSeconds: number, policy: WaitPolicy): number {
  const allowance = policy.deadlineBaseSeconds + policy.deadlinePerAudioSecond * audioSeconds;
  const wanted = WEBHOOK_WAIT.baseSeconds + WEBHOOK_WAIT.perAudioSecond * audioSeconds;
  return Math.max(1, Math.ceil(Math.min(wanted, WEBHOOK_WAIT.shareOfAllowance * allowance)));
}
