// Workload sizes and repetitions: "full" is the workload set (byte-identical to
// ../shared/bench at seed 1); "quick" shrinks every size so a 3-system run fits in 3 minutes.

const KiB = 1024;
const MiB = 1024 * KiB;

/** Full-size workloads: the same counts and sizes as the shared anchor harness, plus SCALE. */
export const FULL = Object.freeze({
  name: 'full',
  reps: 3,
  latReps: 20,
  latGapMs: 1500,
  small: { files: 5000, minBytes: 1 * KiB, maxBytes: 64 * KiB },
  bigBytes: 512 * MiB,
  shiftBytes: 64 * MiB,
  big4gBytes: 4096 * MiB,
  burst: { files: 2000, minBytes: 1 * KiB, maxBytes: 8 * KiB },
  mixedBigBytes: 1024 * MiB,
  mixedSmallFiles: 100,
  scale: { files: 100_000, minBytes: 1 * KiB, maxBytes: 4 * KiB },
  // SCALE-1M (issue 17): `topDirs` dirs of 9 subdirs each (10,000 dirs). A first index of 1M files
  // may take half an hour on this machine, so its own timeout, and one for the no-change rescan
  // (the goal is 10 s; a slower one is measured, a stuck one is a failure row).
  scale1m: { files: 1_000_000, minBytes: 1 * KiB, maxBytes: 4 * KiB, topDirs: 1000, indexTimeoutMs: 40 * 60_000, rescanTimeoutMs: 10 * 60_000 },
  // COMPRESS: a log-like text file synced over an upload limit, a random file unthrottled.
  compress: { bytes: 64 * MiB, slowLinkBytesPerS: 8 * MiB },
  // IDLE: settle after SMALL converged, then sample over the window.
  idleSettleMs: 15_000,
  idleWindowMs: 60_000,
  // Pause before a live change (EDIT/SHIFT/BURST) so the previous sync has fully ended.
  settleMs: 2000,
  // Pause after convergence before reading byte counters, so index updates sent back are counted.
  afterSyncMs: 2000,
  syncTimeoutMs: 600_000,
});

/** Reduced sizes, 1 repetition: a smoke run of every workload, not a measurement to quote. */
export const QUICK = Object.freeze({
  name: 'quick',
  reps: 1,
  latReps: 3,
  latGapMs: 800,
  small: { files: 500, minBytes: 1 * KiB, maxBytes: 64 * KiB },
  bigBytes: 32 * MiB,
  shiftBytes: 8 * MiB,
  big4gBytes: 128 * MiB,
  burst: { files: 200, minBytes: 1 * KiB, maxBytes: 8 * KiB },
  mixedBigBytes: 64 * MiB,
  mixedSmallFiles: 100,
  scale: { files: 5000, minBytes: 1 * KiB, maxBytes: 4 * KiB },
  scale1m: { files: 20_000, minBytes: 1 * KiB, maxBytes: 4 * KiB, topDirs: 100, indexTimeoutMs: 120_000, rescanTimeoutMs: 60_000 },
  compress: { bytes: 8 * MiB, slowLinkBytesPerS: 4 * MiB },
  idleSettleMs: 1000,
  idleWindowMs: 3000,
  settleMs: 500,
  afterSyncMs: 1000,
  syncTimeoutMs: 60_000,
});

/** The profile for `--quick` or not. */
export function profileFor(quick) {
  return quick ? QUICK : FULL;
}

const n3 = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const size = (b) => (b >= 1024 * MiB ? `${b / (1024 * MiB)} GiB` : `${b / MiB} MiB`);

/** One line naming every workload size of a profile, for the report header. */
export function describeProfile(p) {
  const kib = (s) => `${s.minBytes / KiB}-${s.maxBytes / KiB} KiB`;
  return [
    `SMALL ${n3(p.small.files)} files of ${kib(p.small)}`,
    `BIG ${size(p.bigBytes)}`,
    `EDIT 4 KiB at the middle of BIG`,
    `SHIFT 100 B at offset 0 of ${size(p.shiftBytes)}`,
    `EDIT-4G 4 KiB at the middle of ${size(p.big4gBytes)}`,
    `BURST ${n3(p.burst.files)} files of ${kib(p.burst)}`,
    `MIXED ${size(p.mixedBigBytes)} + ${p.mixedSmallFiles} files of 1-8 KiB`,
    `SCALE ${n3(p.scale.files)} files of ${kib(p.scale)}`,
    `SCALE-1M ${n3(p.scale1m.files)} files of ${kib(p.scale1m)} in ${n3(p.scale1m.topDirs * 10)} dirs`,
    `COMPRESS ${size(p.compress.bytes)} of log-like text with uploads limited to ${size(p.compress.slowLinkBytesPerS)}/s, ${size(p.compress.bytes)} random unlimited, each with compression off and on`,
    `IDLE ${p.idleWindowMs / 1000} s window, ${p.idleSettleMs / 1000} s after SMALL converged`,
  ].join('; ');
}
