/**
 * Which counters a node takes from a peer, and what holds at the edge: an
 * attacker's counter exactly at one node's bound, and the honest edits that
 * count on from it.
 */
import { describe, expect, it } from 'vitest';
import { counterLimit, HOLD_AHEAD_S, judgeVersion, PLAUSIBLE_AHEAD_S } from '../../src/versions/plausible.js';
import { bump, MAX_COUNTER, type VersionVector } from '../../src/versions/vector.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0, 250);
const NOW_S = Math.floor(NOW / 1000);
const DAY = 86_400_000;

describe('judgeVersion', () => {
  it('takes the counters honest nodes make: a clock a day ahead, one set to 2100 for a while, a long burst of edits', () => {
    const y2100 = Date.UTC(2100, 0, 1) / 1000;
    for (const counter of [1, NOW_S, NOW_S + 86_400, y2100, y2100 + 10_000_000]) {
      expect(judgeVersion({ peer: counter }, NOW)).toEqual({ kind: 'take' });
    }
    // A node whose clock reads 1970 (a dead RTC battery) still takes the 2100 node's counters.
    expect(judgeVersion({ peer: y2100 }, 0)).toEqual({ kind: 'take' });
    expect(judgeVersion({ peer: y2100 }, -DAY)).toEqual({ kind: 'take' });
  });

  it('refuses a counter far ahead of any clock, the wire limit among them, by the largest counter of the vector', () => {
    expect(judgeVersion({ a: 5, b: MAX_COUNTER }, NOW)).toEqual({ kind: 'refuse', counter: MAX_COUNTER });
    const far = counterLimit(NOW) + HOLD_AHEAD_S + 1;
    expect(judgeVersion({ a: far }, NOW)).toEqual({ kind: 'refuse', counter: far });
  });

  it('takes a counter exactly at the bound, and holds one a little past it until the clock reaches it', () => {
    const limit = counterLimit(NOW);
    expect(limit).toBe(NOW_S + PLAUSIBLE_AHEAD_S);
    expect(judgeVersion({ a: limit }, NOW)).toEqual({ kind: 'take' });
    const verdict = judgeVersion({ a: limit + 30 }, NOW);
    expect(verdict).toEqual({ kind: 'hold', dueMs: (NOW_S + 30) * 1000 });
    if (verdict.kind !== 'hold') return;
    expect(judgeVersion({ a: limit + 30 }, verdict.dueMs - 1)).toMatchObject({ kind: 'hold' });
    expect(judgeVersion({ a: limit + 30 }, verdict.dueMs)).toEqual({ kind: 'take' });
  });

  it('the edge: honest edits counting on from an attacker counter placed at one node\'s bound are held by a peer with a slower clock for the gap, then taken; they never near the wire limit', () => {
    const attack = { attacker: counterLimit(NOW) };
    // Alpha took it (exactly at its bound), then its user saved the file 100 times in one second.
    let v: VersionVector = attack;
    for (let i = 0; i < 100; i++) v = bump(v, 'alpha', NOW);
    expect(v['alpha']).toBe(counterLimit(NOW) + 100);
    // Beta's clock is an hour behind alpha's: it holds the edit until its clock passes alpha's by 100 s.
    const betaNow = NOW - 3_600_000;
    const verdict = judgeVersion(v, betaNow);
    expect(verdict).toEqual({ kind: 'hold', dueMs: (NOW_S + 100) * 1000 });
    // Even ten thousand edits a second for a week count on to nowhere near 2^52.
    expect((v['alpha'] ?? 0) + 10_000 * 7 * 86_400).toBeLessThan(MAX_COUNTER / 1000);
  });
});
