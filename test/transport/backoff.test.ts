import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/transport/backoff.js';

describe('backoffDelay', () => {
  it('doubles from the base and stops at the maximum', () => {
    const mid = () => 0.5;
    expect([0, 1, 2, 3, 10, 50].map((n) => backoffDelay(n, mid, 1000, 60_000))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
  });

  it('spreads delays by at most 20% either way', () => {
    expect(backoffDelay(2, () => 0)).toBe(3200);
    expect(backoffDelay(2, () => 0.999999)).toBe(4800);
  });
});
