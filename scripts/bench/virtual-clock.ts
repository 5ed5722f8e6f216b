/**
 * The benchmark's virtual clock (see scripts/bench.ts): replaces the global `Date` by one that
 * reads the real clock plus an offset that `advance` moves, and makes `node:timers/promises`
 * `setTimeout` (the sleep inside a Lambda, e.g. check-transcript's hold) move the offset instead
 * of waiting. Imported first, before any module that might keep a reference to either.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const RealDate = Date;
let offsetMs = 0;
let sleptMs = 0;

const timersPromises = createRequire(import.meta.url)('node:timers/promises') as {
  setTimeout: (ms?: number, value?: unknown) => Promise<unknown>;
};
timersPromises.setTimeout = (ms = 1, value?: unknown) => {
  offsetMs += ms;
  sleptMs += ms;
  return new Promise((resolve) => setImmediate(() => resolve(value)));
};
// ES module imports of the builtin (`import { setTimeout } from 'node:timers/promises'`) see it too.
syncBuiltinESMExports();

const VirtualDate = function (this: unknown, ...args: unknown[]) {
  if (!new.target) return new RealDate(RealDate.now() + offsetMs).toString();
  return args.length === 0
    ? new RealDate(RealDate.now() + offsetMs)
    : new (RealDate as unknown as new (...a: unknown[]) => Date)(...args);
} as unknown as DateConstructor;
Object.defineProperties(VirtualDate, {
  now: { value: () => RealDate.now() + offsetMs },
  parse: { value: RealDate.parse },
  UTC: { value: RealDate.UTC },
  prototype: { value: RealDate.prototype },
});
globalThis.Date = VirtualDate;

export const virtualClock = {
  /** Moves the clock every module sees on by `seconds`. */
  advance(seconds: number): void {
    offsetMs += seconds * 1000;
  },
  /** Milliseconds of `node:timers/promises` sleeps skipped so far. */
  sleptMs: (): number => sleptMs,
  /** The real time, for what must not be virtual (e.g. the date results.json was written). */
  realDate: (): Date => new RealDate(),
};
