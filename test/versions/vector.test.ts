import { describe, expect, it } from 'vitest';
import { bump, canonical, compare, dominates, MAX_COUNTER, merge, parseCanonical, type VersionVector } from '../../src/versions/vector.js';

describe('compare', () => {
  const cases: Array<{ description: string; a: VersionVector; b: VersionVector; expected: ReturnType<typeof compare> }> = [
    { description: 'two empty vectors are equal', a: {}, b: {}, expected: 'equal' },
    { description: 'same counters are equal', a: { x: 1, y: 2 }, b: { y: 2, x: 1 }, expected: 'equal' },
    { description: 'a missing key counts as zero', a: { x: 1, y: 0 }, b: { x: 1 }, expected: 'equal' },
    { description: 'one more change is greater', a: { x: 2 }, b: { x: 1 }, expected: 'greater' },
    { description: 'a change by another node on top is greater', a: { x: 1, y: 1 }, b: { x: 1 }, expected: 'greater' },
    { description: 'fewer changes is lesser', a: { x: 1 }, b: { x: 1, y: 1 }, expected: 'lesser' },
    { description: 'changes on both sides are concurrent', a: { x: 2, y: 1 }, b: { x: 1, y: 2 }, expected: 'concurrent' },
    { description: 'disjoint keys are concurrent', a: { x: 1 }, b: { y: 1 }, expected: 'concurrent' },
  ];
  it.each(cases)('$description', ({ a, b, expected }) => {
    expect(compare(a, b)).toBe(expected);
  });

  it('is antisymmetric', () => {
    const flip = { greater: 'lesser', lesser: 'greater', equal: 'equal', concurrent: 'concurrent' } as const;
    for (const { a, b } of cases) expect(compare(b, a)).toBe(flip[compare(a, b)]);
  });
});

describe('bump, merge, dominates', () => {
  it('bump makes a vector that dominates the old one, with a counter above every other', () => {
    const v = { x: 3, y: 7 };
    const next = bump(v, 'x');
    expect(next).toEqual({ x: 8, y: 7 });
    expect(compare(next, v)).toBe('greater');
    expect(v).toEqual({ x: 3, y: 7 });
  });

  it('floors a new counter at the time in seconds, so a node that lost its index cannot be dominated by its own old versions', () => {
    const now = Date.UTC(2026, 10, 25);
    const old = { me: 7, other: 5 };
    const fresh = bump({}, 'me', now);
    expect(fresh.me).toBe(now / 1000);
    expect(compare(fresh, old)).toBe('concurrent');
    expect(bump({ me: now / 1000 + 5 }, 'me', now).me).toBe(now / 1000 + 6);
  });

  it('merge is the element-wise maximum and dominates both inputs', () => {
    const a = { x: 3, y: 1 };
    const b = { y: 4, z: 2 };
    const m = merge(a, b);
    expect(m).toEqual({ x: 3, y: 4, z: 2 });
    expect(dominates(m, a) && dominates(m, b)).toBe(true);
    expect(compare(bump(m, 'z'), m)).toBe('greater');
  });

  it('canonical form sorts keys and parses back', () => {
    const v = { b: 2, a: 10 };
    expect(canonical(v)).toBe('a:10,b:2');
    expect(parseCanonical(canonical(v))).toEqual(v);
    expect(parseCanonical('')).toEqual({});
    expect(canonical({ a: 10, b: 2 })).toBe(canonical(v));
  });
});

describe('CL1: bump under skewed or stepped clocks', () => {
  const DAY = 86_400_000;
  const NOW = Date.UTC(2026, 10, 28);

  it('CL1: an edit after seeing the version of a peer a day ahead still dominates it', () => {
    const theirs = bump({}, 'peer', NOW + DAY);
    const mine = bump(theirs, 'me', NOW);
    expect(compare(mine, theirs)).toBe('greater');
  });

  it('CL1: the local clock stepping back (a day, or to before 1970) still orders each edit after the last', () => {
    let v = bump({}, 'me', NOW);
    for (const t of [NOW - DAY, NOW - 2 * DAY, -DAY, NOW + DAY, NOW]) {
      const next = bump(v, 'me', t);
      expect(compare(next, v)).toBe('greater');
      v = next;
    }
  });
});

describe('bump at the wire limit', () => {
  it('never counts past 2^52, which every peer refuses as a protocol error: a vector that took 2^52 counts on from our own counter', () => {
    const poisoned = { attacker: MAX_COUNTER, me: 1_800_000_000 };
    const next = bump(poisoned, 'me', Date.UTC(2026, 0, 1));
    expect(next.me).toBe(1_800_000_001);
    expect(Math.max(...Object.values(next))).toBeLessThanOrEqual(MAX_COUNTER);
    expect(compare(next, poisoned)).toBe('greater');
    expect(bump({ attacker: MAX_COUNTER - 1 }, 'me').me).toBe(MAX_COUNTER);
    expect(bump({ me: MAX_COUNTER }, 'me').me).toBe(MAX_COUNTER);
  });
});
