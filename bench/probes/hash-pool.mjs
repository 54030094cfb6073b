#!/usr/bin/env node
/**
 * Hashing one big file (512 MiB by default, random) as a scan does, through
 * hashFile: with a pool of one worker thread, then of two (the slices of
 * identity v2 run side by side), and for reference one SHA-256 of the whole
 * file on this thread (what the content hash was before protocol 6). Prints
 * each time, the best of `REPS` runs, and the load average before and after.
 *
 *   npx tsc -p tsconfig.build.json && node bench/probes/hash-pool.mjs "$PWD"
 *   SIZE_MIB=2048 REPS=3 node bench/probes/hash-pool.mjs "$PWD"
 */
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
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
for (const threads of [1, 2]) {
  const pool = new WorkerPool(() => threads, { script: new URL(`file://${W}/dist/workers/worker.js`) });
  const ms = await best(() => hashFile(pool, file, stat));
  await pool.close();
  console.log(`hashFile, ${threads} thread${threads > 1 ? 's' : ''}: ${ms.toFixed(0)} ms (${(size / MiB / (ms / 1000)).toFixed(0)} MiB/s), content hash, leaves and block sums`);
}
const sha = await best(() => {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(MiB);
  const f = openSync(file, 'r');
  for (let n; (n = readSync(f, buf)) > 0; ) h.update(buf.subarray(0, n));
  closeSync(f);
  return h.digest('hex');
});
console.log(`one SHA-256 of the whole file, this thread (the v1 hash alone, no sums): ${sha.toFixed(0)} ms`);
console.log(`load after ${load()}`);
rmSync(dir, { recursive: true, force: true });
