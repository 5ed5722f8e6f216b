import { describe, expect, it } from '@jest/globals';
import { executionName, MAX_EXECUTION_NAME_LENGTH } from '../../lambdas/shared/contracts.js';

/** The characters AWS recommends for names that reach CloudWatch. */
const NAME_CHARACTERS = /^[A-Za-z0-9_-]+$/;

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
    expect(a).toMatch(NAME_CHARACTERS);
    expect(a).not.toBe(b);
  });

  it('gives a deliberate retry after a failure a new name, within the recommended characters', () => {
    expect(executionName(123, 'abc-123', 1)).toBe('123-abc-123');
    expect(executionName(123, 'abc-123', 2)).toBe('123_2-abc-123');
    expect(executionName(123, 'abc-123', 2)).toMatch(NAME_CHARACTERS);
    expect(executionName(Number.MAX_SAFE_INTEGER, 'a'.repeat(128), 2).length).toBeLessThanOrEqual(
      MAX_EXECUTION_NAME_LENGTH,
    );
  });

  it('never gives a hashed long id the name of a literal file id that looks like its hash', () => {
    // Arrange: a long id, and a short id equal to the hash part of its name
    const long = executionName(123, 'z'.repeat(100));
    const hashPart = long.slice(long.indexOf('-') + 1);

    // Assert
    expect(executionName(123, hashPart)).not.toBe(long);
    expect(executionName(12, `3-${hashPart}`)).not.toBe(long);
  });

  it('is injective over users, files and attempts that look alike', () => {
    // Arrange: ids chosen to collide under naive joins (user/file boundary, attempt suffixes, hashing)
    const users = [1, 12, 123, 1234, Number.MAX_SAFE_INTEGER];
    const files = [
      '3',
      '23',
      '3-x',
      'x',
      'x-2',
      'x_2',
      '2-x',
      '_2-x',
      'h-x',
      'a'.repeat(79),
      'a'.repeat(128),
    ];
    const attempts = [1, 2, 3, 12, 21];
    const names = new Map<string, string>();

    // Act
    for (const user of users)
      for (const file of files)
        for (const attempt of attempts) {
          const name = executionName(user, file, attempt);
          const owner = `${user}/${file}/${attempt}`;
          // Assert
          expect(name).toMatch(NAME_CHARACTERS);
          expect(name.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME_LENGTH);
          expect(names.get(name) ?? owner).toBe(owner);
          names.set(name, owner);
        }
    expect(names.size).toBe(users.length * files.length * attempts.length);
  });

  it.each([0, -1, Number.NaN, 1.5, 1e21, Number.POSITIVE_INFINITY])('refuses attempt %p', (attempt) => {
    expect(() => executionName(123, 'abc', attempt)).toThrow(RangeError);
  });

  it('refuses ids that break the input contract', () => {
    expect(() => executionName(0, 'abc')).toThrow(RangeError);
    expect(() => executionName(123, 'a.b')).toThrow(RangeError);
    expect(() => executionName(123, '')).toThrow(RangeError);
  });
});
