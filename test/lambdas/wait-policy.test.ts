/** The wait policy: how long "Wait for transcript" sleeps, and when the poll loop gives up. */
import {
  MIN_WAIT_SECONDS,
  nextWaitSeconds,
  plannedAudioSeconds,
  pollDeadline,
  type WaitPolicy,
} from '../../lambdas/shared/wait-policy.js';
import { testConfig } from './step-fixtures.js';

const policy: WaitPolicy = testConfig().poll;
const SUBMITTED = new Date('2026-03-01T10:00:00.000Z');
const DURATIONS = [0.5, 5, 42, 600, 3_600, 10_800, 36_000];

const at = (seconds: number) => new Date(SUBMITTED.getTime() + seconds * 1000);

function waitAt(audioSeconds: number, elapsedSeconds: number, p: WaitPolicy = policy): number {
  const deadline = pollDeadline(SUBMITTED, audioSeconds, p);
  return nextWaitSeconds({ audioSeconds, submittedAt: SUBMITTED, deadline, now: at(elapsedSeconds) }, p);
}

/** Runs the poll loop as the state machine would when the job never finishes: wait, check, repeat. */
function simulate(audioSeconds: number, p: WaitPolicy = policy) {
  const deadline = pollDeadline(SUBMITTED, audioSeconds, p);
  const waits: number[] = [];
  let now = SUBMITTED;
  let checks = 0;
  while (checks < 10_000) {
    const wait = nextWaitSeconds({ audioSeconds, submittedAt: SUBMITTED, deadline, now }, p);
    waits.push(wait);
    now = new Date(now.getTime() + wait * 1000);
    checks += 1;
    if (now >= deadline) break; // this check throws TranscriptionTimedOut
  }
  return { checks, waits, lastCheck: now, deadline };
}

describe('pollDeadline', () => {
  it('grows with the audio duration', () => {
    // Act
    const deadlines = [5, 60, 3_600, 36_000].map((d) => pollDeadline(SUBMITTED, d, policy).getTime());

    // Assert
    expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b));
    expect(new Set(deadlines).size).toBe(deadlines.length);
  });

  it('allows the base plus the per-audio-second allowance after submission', () => {
    // Act
    const deadline = pollDeadline(SUBMITTED, 3_600, policy);

    // Assert: defaults 900 s + 0.5 s per audio second
    expect(deadline).toEqual(at(900 + 1_800));
  });
});

describe('plannedAudioSeconds', () => {
  it('is the stated duration when the header gave one', () => {
    expect(plannedAudioSeconds({ duration_seconds: 42.5, size_bytes: 10_000_000 }, 36_000)).toBe(42.5);
  });

  it('is an upper bound from the size at 8 kbit/s when the duration is unknown', () => {
    // 1 MB at 8 kbit/s: 1,000 s (a 20 s WEBM stream would be ~60 KB → 60 s)
    expect(plannedAudioSeconds({ duration_seconds: null, size_bytes: 1_000_000 }, 36_000)).toBe(1_000);
  });

  it('never plans for longer than the longest audio accepted', () => {
    expect(plannedAudioSeconds({ duration_seconds: null, size_bytes: 1024 ** 3 }, 36_000)).toBe(36_000);
  });
});

describe('nextWaitSeconds', () => {
  it('waits at most 5 s before the first check of a 5 s voice message', () => {
    // Act
    const first = waitAt(5, 0);

    // Assert
    expect(first).toBeGreaterThanOrEqual(1);
    expect(first).toBeLessThanOrEqual(5);
  });

  it('waits longer before the first check of a one-hour file than of a voice message', () => {
    // Act
    const voice = waitAt(5, 0);
    const hour = waitAt(3_600, 0);

    // Assert
    expect(hour).toBeGreaterThan(voice);
    expect(hour).toBeLessThanOrEqual(policy.maxWaitSeconds);
  });

  it('backs off as time passes', () => {
    // Act
    const early = waitAt(5, 10);
    const later = waitAt(5, 300);

    // Assert
    expect(later).toBeGreaterThan(early);
  });

  it.each([
    ['the default policy', policy],
    ['a tight policy', { deadlineBaseSeconds: 30, deadlinePerAudioSecond: 0.1, maxWaitSeconds: 7 }],
  ])('stays within [1, maxWaitSeconds] and whole seconds under %s', (_label, p) => {
    // Arrange
    const elapsed = Array.from({ length: 400 }, (_, i) => i * 7.3 + (i % 3) * 0.001);

    // Act
    const waits = DURATIONS.flatMap((d) => elapsed.map((e) => waitAt(d, e, p)));

    // Assert
    expect(Math.max(...waits)).toBeLessThanOrEqual(p.maxWaitSeconds);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1);
    expect(waits.every(Number.isInteger)).toBe(true);
  });

  it('never waits below MIN_WAIT_SECONDS while the deadline is far', () => {
    // Act
    const waits = DURATIONS.map((d) => waitAt(d, 1));

    // Assert
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(MIN_WAIT_SECONDS);
  });

  it('never sleeps past the deadline by more than 1 s', () => {
    // Arrange: checks at whole and fractional seconds up to and around each deadline
    const overruns: { audio: number; elapsed: number; overrun: number }[] = [];

    // Act
    for (const audio of DURATIONS) {
      const deadline = pollDeadline(SUBMITTED, audio, policy);
      const total = (deadline.getTime() - SUBMITTED.getTime()) / 1000;
      for (let elapsed = 0; elapsed < total; elapsed += 0.25) {
        const wait = waitAt(audio, elapsed);
        overruns.push({ audio, elapsed, overrun: elapsed + wait - total });
      }
    }

    // Assert
    const worst = overruns.reduce((a, b) => (b.overrun > a.overrun ? b : a));
    expect(worst.overrun).toBeLessThanOrEqual(1);
  });
});

describe('the poll loop driven by the wait policy', () => {
  it('checks a 5 s voice message often at first and ends within a bounded number of checks', () => {
    // Act
    const run = simulate(5);

    // Assert
    const firstMinute = run.waits.reduce(
      (acc, w) => (acc.t + w <= 60 ? { t: acc.t + w, n: acc.n + 1 } : acc),
      { t: 0, n: 0 },
    );
    expect(firstMinute.n).toBeGreaterThanOrEqual(8);
    expect(run.checks).toBeLessThan(60);
    expect(run.lastCheck.getTime()).toBeGreaterThanOrEqual(run.deadline.getTime());
    expect(run.lastCheck.getTime() - run.deadline.getTime()).toBeLessThanOrEqual(1_000);
  });

  it('checks a 3 h file rarely and ends within fewer than 60 checks', () => {
    // Act
    const run = simulate(10_800);

    // Assert
    expect(run.checks).toBeLessThan(60);
    expect(run.waits[0]).toBeGreaterThanOrEqual(60);
    expect(run.lastCheck.getTime()).toBeGreaterThanOrEqual(run.deadline.getTime());
    expect(run.lastCheck.getTime() - run.deadline.getTime()).toBeLessThanOrEqual(1_000);
  });

  it.each(DURATIONS)('terminates for audio of %p seconds', (audio) => {
    // Act
    const run = simulate(audio);

    // Assert
    expect(run.checks).toBeLessThan(400);
    expect(run.lastCheck.getTime()).toBeGreaterThanOrEqual(run.deadline.getTime());
  });
});
