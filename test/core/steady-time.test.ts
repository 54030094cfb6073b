/**
 * SteadyTime against a wall clock that is stepped at random: an age computed
 * from a stamp (`notBefore`) and a later judgement (`notAfter`) never exceeds
 * the real time elapsed between them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SteadyTime } from '../../src/core/steady-time.js';
import { FakeClock } from '../support/clock.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 28, 12);

describe('SteadyTime', () => {
  it('reads the wall clock as it is while the clock is not stepped', () => {
    const clock = new FakeClock(T0);
    const steady = new SteadyTime(clock, () => clock.monotonic());
    clock.advance(5000);
    expect([steady.notBefore(), steady.notAfter()]).toEqual([T0 + 5000, T0 + 5000]);
  });

  it('CL1: whatever steps the clock takes (±1 day, to 2100, before 1970), an age is never more than the real time elapsed', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3 * DAY }) }),
      fc.record({ kind: fc.constant('jump' as const), ms: fc.constantFrom(DAY, -DAY, Date.UTC(2100, 0, 1) - T0, -T0 - DAY, 1, -1) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), fc.array(step, { maxLength: 12 }), (before, between) => {
        const clock = new FakeClock(T0);
        const steady = new SteadyTime(clock, () => clock.monotonic());
        const apply = (s: { kind: 'advance' | 'jump'; ms: number }) => (s.kind === 'advance' ? clock.advance(s.ms) : clock.jump(s.ms));
        before.forEach(apply);
        const stamp = steady.notBefore();
        const stampedAtMono = clock.monotonic();
        between.forEach(apply);
        expect(steady.notAfter() - stamp).toBeLessThanOrEqual(clock.monotonic() - stampedAtMono);
      }),
    );
  });
});
