/** The execution timeout's margin after the poll deadline, read from the definition's Retry blocks. */
import {
  longestRetryDelaySeconds,
  readDefinitionFile,
  retryBudgetAfterDeadlineSeconds,
  STATES_AFTER_DEADLINE,
  worstCaseStateSeconds,
} from '../../cdk/retry-budget.js';

const task = (TimeoutSeconds: number, Retry: Record<string, unknown>[] = []) => ({
  Type: 'Task',
  TimeoutSeconds,
  Retry: Retry.map((r) => ({ ErrorEquals: ['X'], ...r })),
});

describe('worstCaseStateSeconds', () => {
  it('is one attempt without retriers', () => {
    expect(worstCaseStateSeconds(task(45))).toBe(45);
  });

  it('adds every retry of every retrier, each after its longest wait and up to the timeout', () => {
    const state = task(75, [
      { MaxAttempts: 3, MaxDelaySeconds: 20 },
      { MaxAttempts: 8, MaxDelaySeconds: 60 },
    ]);

    expect(worstCaseStateSeconds(state)).toBe(75 + 3 * (75 + 20) + 8 * (75 + 60));
  });

  it('uses the ASL defaults for what a retrier leaves out', () => {
    // 3 attempts; 1 s doubling: waits of at most 1, 2, 4 s.
    expect(longestRetryDelaySeconds({ ErrorEquals: ['X'] })).toBe(4);
    expect(worstCaseStateSeconds({ Type: 'Task', Retry: [{ ErrorEquals: ['X'] }] })).toBe(60 + 3 * (60 + 4));
  });
});

describe('retryBudgetAfterDeadlineSeconds', () => {
  const definition = readDefinitionFile();

  it('sums the states that can run after the deadline', () => {
    const expected = STATES_AFTER_DEADLINE.reduce(
      (sum, name) => sum + worstCaseStateSeconds(definition.States[name] ?? task(0)),
      0,
    );

    expect(retryBudgetAfterDeadlineSeconds(definition)).toBe(expected);
    // The fixed 30 minutes it replaces did not cover the retries (about 5,000 s before the
    // throttling retrier, which made it longer still).
    expect(expected).toBeGreaterThan(1800 + 5000);
  });

  it('grows when a retrier is added to one of those states', () => {
    const before = retryBudgetAfterDeadlineSeconds(definition);
    const format = definition.States['Format segments'];
    const widened = {
      States: {
        ...definition.States,
        'Format segments': {
          ...format,
          Type: 'Task',
          Retry: [...(format?.Retry ?? []), { ErrorEquals: ['Y'], MaxAttempts: 2, MaxDelaySeconds: 10 }],
        },
      },
    };

    expect(retryBudgetAfterDeadlineSeconds(widened)).toBe(before + 2 * ((format?.TimeoutSeconds ?? 0) + 10));
  });

  it('refuses a definition without one of those states', () => {
    const { 'Persist result': _removed, ...others } = definition.States;

    expect(() => retryBudgetAfterDeadlineSeconds({ States: others })).toThrow(/Persist result/);
  });
});
