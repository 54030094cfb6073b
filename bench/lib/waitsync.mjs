// Convergence waiter, adapted from ../shared/bench/waitsync.mjs: polls a tree until its digest
// equals the expected one. The reported time is the START of the first matching scan (a file
// present when the scan reaches it was there at that moment). The gap between scans is
// max(20 ms, 3 x the last scan) so the poller stays under ~25% of one core on large trees.
// A live change primes the digest cache before its write (primeDigest): otherwise the first scan
// hashes every file of the old tree inside the timed window and the next one waits three times as
// long, so the reported time could not fall below about 4x one read of the tree (EDIT: hashing the
// old 512 MiB took 1.56 s at load 11, the next scan came 6.22 s after the write, while B had the
// new version at 2.51 s), and the poller's hashing took a core from the daemons meanwhile.
import { treeDigest } from './treehash.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The digest cache of `dir` as it is now, for a waitSync that starts after a change: only the files
 * the change touches are hashed again then. Call it before the timed write.
 */
export function primeDigest(dir) {
  const cache = new Map();
  try {
    treeDigest(dir, cache);
  } catch {
    // the tree changed under the walk: the files read so far are cached all the same
  }
  return cache;
}

/**
 * Resolves { ok: true, ms } once `dir` has digest `expected` (ms from `t0`, an epoch-ms
 * instant), or { ok: false, ms } when `timeoutMs` passes first. `cache`: from primeDigest.
 */
export async function waitSync(dir, expected, t0, { timeoutMs = 600_000, minIntervalMs = 20, cache = new Map() } = {}) {
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
