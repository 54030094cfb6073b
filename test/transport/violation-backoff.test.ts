import { describe, expect, it } from 'vitest';
import { FORGIVE_AFTER_MS, isViolation, MAX_VIOLATION_PENALTY_MS, VIOLATION_PENALTY_MS, ViolationBackoff } from '../../src/transport/violation-backoff.js';
import { FakeClock } from '../support/clock.js';

describe('ViolationBackoff', () => {
  const WALL = Date.UTC(2026, 0, 1);

  it('leaves a peer that broke the protocol alone for a minute, doubling with each violation up to half an hour', () => {
    const clock = new FakeClock(WALL);
    const backoff = new ViolationBackoff(() => clock.monotonic(), () => clock.now());
    expect(backoff.waitMs('p')).toBe(0);
    const penalties: number[] = [];
    for (let i = 0; i < 7; i++) {
      backoff.record('p', 'protocol error: index entry: version counter of x is 2^53');
      penalties.push(backoff.waitMs('p'));
      clock.advance(backoff.waitMs('p'));
      expect(backoff.waitMs('p')).toBe(0);
    }
    expect(penalties).toEqual([1, 2, 4, 8, 16, 30, 30].map((m) => m * 60_000));
    expect(penalties[0]).toBe(VIOLATION_PENALTY_MS);
    expect(Math.max(...penalties)).toBe(MAX_VIOLATION_PENALTY_MS);
    expect(backoff.waitMs('q')).toBe(0);
  });

  it('forgives a peer that kept to the protocol for an hour after its last violation', () => {
    const clock = new FakeClock(WALL);
    const backoff = new ViolationBackoff(() => clock.monotonic(), () => clock.now());
    backoff.record('p', 'a');
    backoff.record('p', 'b');
    expect(backoff.status('p')).toEqual({ violations: 2, untilMs: WALL + 2 * 60_000, lastReason: 'b' });
    clock.advance(FORGIVE_AFTER_MS);
    expect(backoff.status('p')).toBeUndefined();
    backoff.record('p', 'c');
    expect(backoff.waitMs('p')).toBe(VIOLATION_PENALTY_MS);
  });

  it('counts as violations the closes a session makes for a peer\'s bad messages, not the closes a peer sends or a timeout', () => {
    expect(isViolation('protocol error: index entry: version counter of aaaaaaaaaaaaaaaa is 4503599627370497, not an integer from 1 to 2^52')).toBe(true);
    expect(isViolation('protocol error: second hello')).toBe(true);
    expect(isViolation('peer closed: protocol error: second hello')).toBe(false);
    expect(isViolation('no traffic from peer for 90000 ms')).toBe(false);
  });

  it('counts the penalty in elapsed time: a wall-clock step neither ends it nor stretches it', () => {
    const clock = new FakeClock(WALL);
    const backoff = new ViolationBackoff(() => clock.monotonic(), () => clock.now());
    backoff.record('p', 'a');
    clock.jump(24 * 3_600_000);
    expect(backoff.waitMs('p')).toBe(VIOLATION_PENALTY_MS);
    clock.jump(-48 * 3_600_000);
    expect(backoff.waitMs('p')).toBe(VIOLATION_PENALTY_MS);
  });
});
