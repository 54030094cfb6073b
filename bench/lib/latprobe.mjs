// LAT probe, adapted from ../shared/bench/latprobe.mjs: write a 4 KiB file on A, time until B
// holds identical bytes. rename = write a temp file in the same dir, then rename() it over the
// target (editor style); overwrite = O_TRUNC + write in place. B is checked on every fs.watch
// event of its dir plus a 5 ms poll. Contents are seeded per probe and distinct.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { latencySummary } from './stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function content(mode, i) {
  const key = crypto.createHash('sha256').update(`lat:${mode}:${i}`).digest();
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(4096));
}

function writeA(a, mode, name, buf) {
  const dst = path.join(a, name);
  if (mode === 'rename') {
    const tmp = path.join(a, `.${name}.wzb-tmp`);
    fs.writeFileSync(tmp, buf);
    fs.renameSync(tmp, dst);
  } else {
    fs.writeFileSync(dst, buf);
  }
}

function waitB(file, buf, timeoutMs) {
  return new Promise((resolve) => {
    let done = false;
    let watcher = null;
    const finish = (t) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(to);
      try {
        watcher?.close();
      } catch {
        // already closed
      }
      resolve(t);
    };
    const check = () => {
      if (done) return;
      let got;
      try {
        got = fs.readFileSync(file);
      } catch {
        return;
      }
      if (got.length === buf.length && got.equals(buf)) finish(performance.now());
    };
    try {
      watcher = fs.watch(path.dirname(file), () => check());
    } catch {
      // the dir may not exist on B yet: the poll covers it
    }
    const timer = setInterval(check, 5);
    const to = setTimeout(() => finish(null), timeoutMs);
    check();
  });
}

/**
 * Runs `warmup + reps` probes in `mode` ('rename' | 'overwrite'), `gapMs` (+0-500 ms jitter)
 * apart. Resolves { ok, p50_ms, p95_ms, max_ms, min_ms, samples, timeouts }; a probe that times
 * out counts as Infinity, so it shows up in max/p95 rather than vanishing.
 */
export async function probeLatency({ a, b, mode, reps, warmup = 1, gapMs = 1500, timeoutMs = 30_000, log = () => {} }) {
  const name = `probe-${mode}.txt`;
  fs.mkdirSync(a, { recursive: true });
  const samples = [];
  let timeouts = 0;
  for (let i = 0; i < warmup + reps; i++) {
    const buf = content(mode, i);
    const t0 = performance.now();
    writeA(a, mode, name, buf);
    const t1 = await waitB(path.join(b, name), buf, timeoutMs);
    const ms = t1 === null ? Infinity : t1 - t0;
    if (t1 === null) timeouts++;
    if (i >= warmup) samples.push(ms);
    log(`LAT ${mode} probe ${i}${i < warmup ? ' (warm-up)' : ''}: ${t1 === null ? 'timeout' : `${ms.toFixed(1)} ms`}`);
    if (t1 === null && timeouts >= 3) break; // a dead sync: stop spending minutes on it
    await sleep(gapMs + Math.floor(Math.random() * 500));
  }
  return { ...latencySummary(samples), samples, timeouts };
}
