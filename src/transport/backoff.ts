/**
 * Reconnect delays: exponential from `baseMs` to `maxMs`, with jitter so that
 * nodes that lost each other at the same moment do not redial in lockstep.
 * Pure: the random source is passed in.
 */
export function backoffDelay(attempt: number, random: () => number, baseMs = 1000, maxMs = 60_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  // ±20%: enough to spread redials, small enough to keep the schedule predictable.
  return Math.round(exp * (0.8 + 0.4 * random()));
}
