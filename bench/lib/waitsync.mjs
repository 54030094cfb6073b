// Convergence waiter, adapted from ../shared/bench/waitsync.mjs: polls a tree until its digest
// equals the expected one. The reported time is the START of the first matching scan (a file
// present when the scan reaches it was there at that moment). The gap between scans is
// max(20 ms, 3 x the last scan) so the poller stays under ~25% of one core on large trees.
import { treeDigest } from './treehash.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves { ok: true, ms } once `dir` has digest `expected` (ms from `t0`, an epoch-ms
 * instant), or { ok: false, ms } when `timeoutMs` passes first.
 */
export async function waitSync(dir, expected, t0, { timeoutMs = 600_000, minIntervalMs = 20 } = {}) {
  const cache = new Map();
  for (;;) {
    const s = Date.now();
    let d = null;
    try {
      d = treeDigest(dir, cache).digest;
    } catch {
      d = null; // the tree changed under the walk: look again
    }
    const e = Date.now();
    if (d === expected) return { ok: true, ms: s - t0 };
    if (e - t0 > timeoutMs) return { ok: false, ms: e - t0 };
    await sleep(Math.max(minIntervalMs, 3 * (e - s)));
  }
}
