import { executionName, MAX_EXECUTION_NAME_LENGTH } from '../../lambdas/shared/contracts.js';

describe('executionName', () => {
  it('is user id and file id for ordinary ids', () => {
    expect(executionName(123, 'abc-123')).toBe('123-abc-123');
  });

  it('is the same for the same file, so a retried StartExecution is deduplicated', () => {
    expect(executionName(9, 'x'.repeat(128))).toBe(executionName(9, 'x'.repeat(128)));
  });

  it('fits the 80-character limit for a 128-character file id and stays distinct per file', () => {
    const a = executionName(Number.MAX_SAFE_INTEGER, 'a'.repeat(128));
    const b = executionName(Number.MAX_SAFE_INTEGER, `${'a'.repeat(127)}b`);
    expect(a.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME_LENGTH);
    expect(a).toMatch(/^[0-9A-Za-z_.-]+$/);
    expect(a).not.toBe(b);
  });

  it('gives a deliberate retry after a failure a new name, the first attempt the plain one', () => {
    expect(executionName(123, 'abc-123', 1)).toBe('123-abc-123');
    expect(executionName(123, 'abc-123', 2)).toBe('123-abc-123.2');
    expect(executionName(123, 'abc-123', 2)).not.toBe(executionName(123, 'abc-123-2'));
    expect(executionName(123, 'abc-123', 2)).not.toBe(executionName(123, 'abc-123-r2'));
    expect(executionName(Number.MAX_SAFE_INTEGER, 'a'.repeat(128), 2).length).toBeLessThanOrEqual(
      MAX_EXECUTION_NAME_LENGTH,
    );
  });
});
