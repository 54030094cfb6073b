#!/usr/bin/env node
/**
 * Hashing one big file (512 MiB by default, random) as a scan does, through
 * hashFile: with a pool of one worker thread, then of two (the slices of
 * identity v2 run side by side), each again with the sums just computed as
 * the prior version's (what a sender's rescan after an edit does), and the
 * floor: one read and one SHA-256 of each byte, on two threads and on one
 * (one SHA-256 of the whole file, what the content hash was before protocol 6). Prints
 * each time, the best of `REPS` runs, and the load average before and after.
 *
 *   npx tsc -p tsconfig.build.json && node bench/probes/hash-pool.mjs "$PWD"
 *   SIZE_MIB=2048 REPS=3 node bench/probes/hash-pool.mjs "$PWD"
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
const W = process.argv[2];
const { hashFile } = await import(`${W}/dist/workers/hash-file.js`);
const { WorkerPool } = await import(`${W}/dist/workers/pool.js`);
const { statKey } = await import(`${W}/dist/index/hash.js`);
const MiB = 1 << 20;
const size = Number(process.env.SIZE_MIB ?? 512) * MiB;
const reps = Number(process.env.REPS ?? 2);
const dir = mkdtempSync(path.join(os.tmpdir(), 'wzb-hash-pool-'));
const file = path.join(dir, 'big');
const fd = openSync(file, 'w');
const chunk = Buffer.alloc(8 * MiB);
for (let at = 0; at < size; at += chunk.length) writeSync(fd, randomFillSync(chunk), 0, Math.min(chunk.length, size - at));
closeSync(fd);
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`file ${size / MiB} MiB, load before ${load()}`);
const best = async (fn) => {
  let min = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
};
const stat = statKey(statSync(file));
const rate = (ms) => `${ms.toFixed(0)} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s)`;
let prior;
for (const threads of [1, 2]) {
  const pool = new WorkerPool(() => threads, { script: new URL(`file://${W}/dist/workers/worker.js`) });
  const ms = await best(async () => {
    prior = (await hashFile(pool, file, stat)).sums;
  });
  // What a sender does after an edit: the stored sums of the version it replaces give every unchanged block's weak sum.
  const again = prior === undefined ? undefined : await best(() => hashFile(pool, file, stat, prior));
  await pool.close();
  console.log(`hashFile, ${threads} thread${threads > 1 ? 's' : ''}: ${rate(ms)}, content hash, leaves and block sums`);
  if (again !== undefined) console.log(`hashFile, ${threads} thread${threads > 1 ? 's' : ''}, with the prior sums (an edit's rescan): ${rate(again)}`);
}
// The floor: each byte read once and through SHA-256 once, the file cut in two halves, one per thread.
const floor2 = await best(
  () =>
    new Promise((resolve, reject) => {
      const half = Math.ceil(size / 2 / MiB) * MiB;
      let left = 2;
      for (const [start, end] of [[0, half], [half, size]]) {
        const code = `const { parentPort, workerData: w } = require('node:worker_threads'); const fs = require('node:fs'); const h = require('node:crypto').createHash('sha256');
          const buf = Buffer.allocUnsafe(1 << 20); const f = fs.openSync(w.file, 'r');
          for (let at = w.start; at < w.end; ) { const n = fs.readSync(f, buf, 0, Math.min(buf.length, w.end - at), at); if (n === 0) break; h.update(buf.subarray(0, n)); at += n; }
          fs.closeSync(f); parentPort.postMessage(h.digest('hex'));`;
        const t = new Worker(code, { eval: true, workerData: { file, start, end } });
        t.once('message', () => {
          void t.terminate();
          if (--left === 0) resolve();
        });
        t.once('error', reject);
      }
    }),
);
console.log(`the floor, one read and one SHA-256 of each byte, two threads (thread start included): ${rate(floor2)}`);
const sha = await best(() => {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(MiB);
  const f = openSync(file, 'r');
  for (let n; (n = readSync(f, buf)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(f);
  return h.digest('hex');
});
console.log(`the floor on one thread: one SHA-256 of the whole file, this thread (the v1 hash alone, no sums): ${rate(sha)}`);
console.log(`load after ${load()}`);
rmSync(dir, { recursive: true, force: true });
