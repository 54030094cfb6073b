// MIXED probe, adapted from ../shared/bench/mixedwatch.mjs: after T0 (a big file and 100 small
// files start being copied to A at once), records when each small file is identical on B and
// when the big file is complete on B (full size and same sha256), polling every 20 ms plus
// fs.watch on B's small dir.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { median } from './stats.mjs';
import { hashFile } from './treehash.mjs';

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * What B must end up with: each small file's size and sha256, the big file's name, size and
 * sha256. Computed before T0: hashing the 1 GiB template takes seconds, and done inside the
 * probe after T0 it held the probe back, so every small file looked as late as that hash.
 */
export function mixedExpectation({ smallTpl, bigTpl }) {
  const small = new Map();
  for (const n of fs.readdirSync(smallTpl).sort()) {
    const buf = fs.readFileSync(path.join(smallTpl, n));
    small.set(n, { size: buf.length, h: sha(buf) });
  }
  return { small, bigName: path.basename(bigTpl), bigSize: fs.statSync(bigTpl).size, bigHash: hashFile(bigTpl) };
}

/**
 * Watches `b` (B's mixed folder: big file at its root, small files in `small/`) from `t0`
 * (epoch ms) for what `expect` (mixedExpectation) says. Resolves { ok, small_first_ms,
 * small_p50_ms, small_max_ms, big_ms } (ms after t0; Infinity for what never arrived).
 */
export async function watchMixed({ b, expect, t0, timeoutMs = 600_000 }) {
  const small = new Map([...expect.small].map(([n, s]) => [n, { ...s, t: null }]));
  const { bigSize, bigHash } = expect;
  const bigFile = path.join(b, expect.bigName);
  const smallDir = path.join(b, 'small');
  let bigT = null;
  let bigCheckedMtime = -1;

  const check = () => {
    const now = Date.now();
    for (const [n, s] of small) {
      if (s.t !== null) continue;
      try {
        const p = path.join(smallDir, n);
        if (fs.statSync(p).size === s.size && sha(fs.readFileSync(p)) === s.h) s.t = now - t0;
      } catch {
        // not there yet
      }
    }
    if (bigT === null) {
      try {
        const st = fs.statSync(bigFile);
        // Hash only once the size is right and the file stopped changing, then trust the time of that stat.
        if (st.size === bigSize && st.mtimeMs !== bigCheckedMtime) {
          bigCheckedMtime = st.mtimeMs;
          if (hashFile(bigFile) === bigHash) bigT = now - t0;
        }
      } catch {
        // not there yet
      }
    }
    return bigT !== null && [...small.values()].every((s) => s.t !== null);
  };

  let watcher = null;
  let complete = false;
  try {
    for (;;) {
      if (!watcher) {
        try {
          watcher = fs.watch(smallDir, () => check());
        } catch {
          // dir not on B yet
        }
      }
      if (check()) {
        complete = true;
        break;
      }
      if (Date.now() - t0 > timeoutMs) break;
      await sleep(20);
    }
  } finally {
    try {
      watcher?.close();
    } catch {
      // already closed
    }
  }
  const ts = [...small.values()].map((s) => (s.t === null ? Infinity : s.t)).sort((x, y) => x - y);
  return {
    ok: complete,
    small_first_ms: ts[0],
    small_p50_ms: median(ts),
    small_max_ms: ts[ts.length - 1],
    big_ms: bigT ?? Infinity,
  };
}
