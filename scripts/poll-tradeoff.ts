/**
 * The poll loop's trade-off curve (issue 10): for several in-Lambda hold windows and first-check
 * choices, the lag between AssemblyAI finishing and Check seeing it (median / p95), the state
 * transitions and the AWS cost per file, by simulating the wait policy itself
 * (`lambdas/shared/wait-policy.ts`) against modelled provider turnaround times. Not timed: no
 * sleeping, no network.
 *
 *   npx tsx scripts/poll-tradeoff.ts [--provider published|pessimistic|both]
 *
 * The seed row is the policy this one replaced (first check after 3 s + 5 % of the audio, then a
 * quarter of the time spent, 2–120 s, no hold).
 */
import { parseArgs } from 'node:util';
import {
  holdSecondsAt,
  nextWaitSeconds,
  type PollMoment,
  pollDeadline,
  type WaitPolicy,
} from '../lambdas/shared/wait-policy.js';

/**
 * Prices, us-east-1, checked 2026-12-02 on https://aws.amazon.com/step-functions/pricing/ and
 * https://aws.amazon.com/lambda/pricing/ (Arm): Standard workflows $0.025 per 1,000 transitions;
 * Lambda arm64 $0.0000133334 per GB-s and $0.20 per million requests.
 */
export const PRICES = {
  transition: 0.000025,
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.0000002,
} as const;

/** Check's memory (cdk/constructs/transcription-steps.ts) and its billed time per status read. */
const CHECK_MEMORY_GB = 0.5;
const CHECK_INVOCATION_SECONDS = 0.2;
/** Validate, Already transcribed?, Submit, then Format and Persist (which ends the run). */
const FIXED_TRANSITIONS = 5;
const LOOP_TRANSITIONS = 3;

/** A provider model: the completion time (s after submission) of a file at quantiles u, v ∈ [0, 1). */
export interface ProviderModel {
  name: string;
  completionSeconds(audioSeconds: number, u: number, v: number): number;
}

/** The published turnaround: 3–12 s fixed plus 0.005–0.015× real time (1 h: 21–66 s). */
export const PUBLISHED: ProviderModel = {
  name: 'published',
  completionSeconds: (a, u, v) => 3 + 9 * u + (0.005 + 0.01 * v) * a,
};

/** A provider three to thirty times slower than published: 0.1–0.3× real time. */
export const PESSIMISTIC: ProviderModel = {
  name: 'pessimistic',
  completionSeconds: (a, u, v) => 3 + 9 * u + (0.1 + 0.2 * v) * a,
};

export type Policy = {
  label: string;
  wait: (m: PollMoment) => number;
  hold: (m: PollMoment) => number;
  deadline: WaitPolicy;
};

/** The seed's policy, kept here to compare against. */
function seedWait(m: PollMoment): number {
  const elapsed = (m.now.getTime() - m.submittedAt.getTime()) / 1000;
  const untilDeadline = (m.deadline.getTime() - m.now.getTime()) / 1000;
  const wanted = Math.max(3 + 0.05 * m.audioSeconds - elapsed, elapsed * 0.25);
  const clamped = Math.min(Math.max(wanted, 2), 120);
  return Math.max(1, Math.ceil(Math.min(clamped, untilDeadline)));
}

export interface RunOutcome {
  loops: number;
  transitions: number;
  lagSeconds: number;
  checkSeconds: number;
  costUsd: number;
  timedOut: boolean;
}

const SUBMITTED = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(SUBMITTED.getTime() + s * 1000);

/** One execution: Wait, Check (holding as the policy allows, polling every second), repeat. */
export function simulateRun(policy: Policy, audioSeconds: number, completion: number): RunOutcome {
  const deadline = pollDeadline(SUBMITTED, audioSeconds, policy.deadline);
  const moment = (s: number): PollMoment => ({ audioSeconds, submittedAt: SUBMITTED, deadline, now: at(s) });
  let t = policy.wait(moment(0));
  let loops = 0;
  let checkSeconds = 0;
  let seen: number | undefined;
  let timedOut = false;
  while (seen === undefined) {
    loops += 1;
    checkSeconds += CHECK_INVOCATION_SECONDS;
    if (completion <= t) {
      seen = t;
      break;
    }
    const hold = policy.hold(moment(t));
    for (let i = 1; i <= Math.ceil(hold); i += 1) {
      const poll = t + Math.min(i, hold);
      if (completion <= poll) seen = poll;
      if (seen !== undefined) break;
    }
    const held = seen === undefined ? hold : seen - t;
    checkSeconds += held;
    t += held;
    if (seen !== undefined) break;
    if (at(t) >= deadline) {
      timedOut = true;
      break;
    }
    t += policy.wait(moment(t));
  }
  const transitions = FIXED_TRANSITIONS + LOOP_TRANSITIONS * loops;
  const costUsd =
    transitions * PRICES.transition +
    loops * PRICES.lambdaRequest +
    checkSeconds * CHECK_MEMORY_GB * PRICES.lambdaGbSecond;
  return { loops, transitions, lagSeconds: (seen ?? t) - completion, checkSeconds, costUsd, timedOut };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

export interface Summary {
  lagMedian: number;
  lagP95: number;
  transitionsMedian: number;
  transitionsMax: number;
  costMean: number;
}

/** The outcomes over a 20 × 20 grid of provider quantiles (deterministic). */
export function summarize(policy: Policy, model: ProviderModel, audioSeconds: number): Summary {
  const runs: RunOutcome[] = [];
  const n = 20;
  for (let i = 0; i < n; i += 1) {
    for (let j = 0; j < n; j += 1) {
      runs.push(
        simulateRun(
          policy,
          audioSeconds,
          model.completionSeconds(audioSeconds, (i + 0.5) / n, (j + 0.5) / n),
        ),
      );
    }
  }
  const lags = runs.map((r) => r.lagSeconds).sort((a, b) => a - b);
  const transitions = runs.map((r) => r.transitions).sort((a, b) => a - b);
  return {
    lagMedian: quantile(lags, 0.5),
    lagP95: quantile(lags, 0.95),
    transitionsMedian: quantile(transitions, 0.5),
    transitionsMax: transitions[transitions.length - 1] ?? Number.NaN,
    costMean: runs.reduce((sum, r) => sum + r.costUsd, 0) / runs.length,
  };
}

export const DEADLINE_POLICY = { deadlineBaseSeconds: 900, deadlinePerAudioSecond: 0.5 };

export function currentPolicy(holdSeconds: number, maxWaitSeconds = 3600, label?: string): Policy {
  const p: WaitPolicy = { ...DEADLINE_POLICY, maxWaitSeconds, holdSeconds };
  return {
    label: label ?? `hold ${holdSeconds} s`,
    wait: (m) => nextWaitSeconds(m, p),
    hold: (m) => holdSecondsAt(m, p),
    deadline: p,
  };
}

/** The current policy with its first check shifted by `shiftSeconds` (a first-wait choice). */
function shiftedFirstCheck(holdSeconds: number, shiftSeconds: number): Policy {
  const base = currentPolicy(holdSeconds);
  return {
    ...base,
    label: `hold ${holdSeconds} s, first ${shiftSeconds >= 0 ? '+' : ''}${shiftSeconds} s`,
    wait: (m) =>
      m.now.getTime() === m.submittedAt.getTime() ? Math.max(1, base.wait(m) + shiftSeconds) : base.wait(m),
  };
}

export const SEED: Policy = {
  label: 'seed (3 s + 5 %, ×0.25, ≤120 s)',
  wait: seedWait,
  hold: () => 0,
  deadline: { ...DEADLINE_POLICY, maxWaitSeconds: 120, holdSeconds: 0 },
};

export const AUDIO_LENGTHS = [15, 60, 600, 3_600, 36_000];

function table(model: ProviderModel, policies: Policy[]): string {
  const lines = [`provider: ${model.name}`];
  lines.push(['policy'.padEnd(34), ...AUDIO_LENGTHS.map((a) => `${a} s audio`.padStart(34))].join(' | '));
  const seed = AUDIO_LENGTHS.map((a) => summarize(SEED, model, a));
  for (const policy of policies) {
    const cells = AUDIO_LENGTHS.map((a, i) => {
      const s = summarize(policy, model, a);
      const ratio = s.costMean / (seed[i]?.costMean ?? Number.NaN);
      return `${s.lagMedian.toFixed(1)}/${s.lagP95.toFixed(0)}s ${s.transitionsMedian}/${s.transitionsMax} $${(s.costMean * 1000).toFixed(3)}m ×${ratio.toFixed(2)}`.padStart(
        34,
      );
    });
    lines.push([policy.label.padEnd(34), ...cells].join(' | '));
  }
  return lines.join('\n');
}

const isMain = import.meta.url === `file://${process.argv[1]}`;
if (isMain) {
  const { values } = parseArgs({ options: { provider: { type: 'string', default: 'both' } } });
  const policies = [
    SEED,
    ...[0, 5, 10, 15, 20, 25].map((h) => currentPolicy(h)),
    shiftedFirstCheck(10, -2),
    shiftedFirstCheck(10, 3),
    shiftedFirstCheck(10, 6),
    currentPolicy(15, 120, 'hold 15 s, max wait 120 s'),
  ];
  const models =
    values.provider === 'both'
      ? [PUBLISHED, PESSIMISTIC]
      : [values.provider === 'pessimistic' ? PESSIMISTIC : PUBLISHED];
  console.log(
    'Each cell: lag median/p95 · transitions median/max · mean $/file in thousandths of a dollar ("m": transitions + Check Lambda at 512 MB arm64; the other steps cost the same under every policy) · ×seed.',
  );
  for (const model of models) console.log(`\n${table(model, policies)}`);
}
