/**
 * Which version counters a node takes from a peer. Counters are Lamport
 * clocks floored at Unix seconds (vector.ts `bump`), so an honest counter is
 * about the clock of the node that made it, plus one per edit made faster
 * than one a second. A counter further ahead of our clock than any honest
 * node gets is implausible: taking it would let every node adopt it, and
 * every later edit of that file would count on from there, towards the
 * wire's limit (docs/PROTOCOL.md section 7).
 *
 * The bound is generous on purpose: PLAUSIBLE_AHEAD_S past our clock, so a
 * node whose clock reads 1970 still takes the counters of one whose clock was
 * set to 2100 for a while. Between the bound and the wire limit lie about
 * 700,000 times the bound's own span: counting on from any counter a node
 * took, one per edit, never reaches the limit.
 *
 * At the edge, a counter ahead of the bound by a little is what honest nodes
 * make after an attacker placed one exactly at another node's bound (each edit
 * adds one, and their clocks differ): such an entry is held until our clock
 * reaches it (HOLD_AHEAD_S at most), not refused. Pure: the time is passed in.
 */
import { MAX_COUNTER, type VersionVector } from './vector.js';

/** How far past our clock (in seconds) a counter may be: 200 years. */
export const PLAUSIBLE_AHEAD_S = 200 * 365 * 86_400;
/** How far past the bound an entry may be and still be held until our clock reaches it: a week. */
export const HOLD_AHEAD_S = 7 * 86_400;

/** The largest counter taken from a peer at `nowMs`; a clock before 1970 counts as 1970. */
export function counterLimit(nowMs: number): number {
  return Math.floor(Math.max(0, nowMs) / 1000) + PLAUSIBLE_AHEAD_S;
}

/** The largest counter of a version vector (0 for an empty one). */
export function largestCounter(v: VersionVector): number {
  let max = 0;
  for (const value of Object.values(v)) if (value > max) max = value;
  return max;
}

/** What to do with a peer's entry: take it now, hold it until `dueMs` (when our clock reaches it), or refuse it. */
export type CounterVerdict = { readonly kind: 'take' } | { readonly kind: 'hold'; readonly dueMs: number } | { readonly kind: 'refuse'; readonly counter: number };

/** Judges a peer's version by its largest counter against our clock at `nowMs`. */
export function judgeVersion(v: VersionVector, nowMs: number): CounterVerdict {
  const counter = largestCounter(v);
  const ahead = counter - counterLimit(nowMs);
  if (ahead <= 0) return { kind: 'take' };
  // Beyond the wire's own limit cannot pass validation; guard anyway so a due time is never absurd.
  if (ahead > HOLD_AHEAD_S || counter > MAX_COUNTER) return { kind: 'refuse', counter };
  return { kind: 'hold', dueMs: (counter - PLAUSIBLE_AHEAD_S) * 1000 };
}
