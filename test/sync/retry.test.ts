/**
 * Per-path retry backoff under a clock that is stepped while the daemon runs.
 */
import { describe, expect, it } from 'vitest';
import { RetryBook } from '../../src/sync/pull/retry.js';

const T0 = Date.UTC(2026, 10, 28, 12);
const DAY = 86_400_000;

describe('RetryBook', () => {
  it('holds a failed path back for its backoff, and longer after each failure', () => {
    const book = new RetryBook();
    expect(book.fail('a', new Error('x'), T0)).toBe(1000);
    expect(book.isWaiting('a', T0 + 999)).toBe(true);
    expect(book.isWaiting('a', T0 + 1000)).toBe(false);
    expect(book.fail('a', new Error('x'), T0 + 1000)).toBe(2000);
    expect(book.isWaiting('a', T0 + 2999)).toBe(true);
    book.succeed('a');
    expect(book.isWaiting('a', T0 + 1001)).toBe(false);
  });

  it('CL1: a clock stepped back a day after a failure does not hold the path back for a day', () => {
    const book = new RetryBook();
    book.fail('a', new Error('x'), T0);
    expect(book.isWaiting('a', T0 - DAY)).toBe(false);
    expect(book.isWaiting('a', T0 - DAY + 60_000)).toBe(false);
  });

  it('CL1: a clock stepped ahead a day ends the backoff early rather than stretching it', () => {
    const book = new RetryBook();
    book.fail('a', new Error('x'), T0, 60_000);
    expect(book.isWaiting('a', T0 + DAY)).toBe(false);
  });
});

describe('RetryBook.due', () => {
  it("ends the wait of the failure whose timer fired, though the wall clock is a millisecond short, and not a later failure's wait", () => {
    const book = new RetryBook();
    book.fail('a', new Error('x'), T0);
    expect(book.isWaiting('a', T0 + 999)).toBe(true);
    book.due('a', 1);
    expect(book.isWaiting('a', T0 + 999)).toBe(false);
    book.fail('a', new Error('x'), T0 + 999);
    // The first failure's timer again (one set twice, say): the second failure's 2 s still hold.
    book.due('a', 1);
    expect(book.isWaiting('a', T0 + 2000)).toBe(true);
    expect(book.attempts('a')).toBe(2);
  });
});
