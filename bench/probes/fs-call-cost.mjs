#!/usr/bin/env node
/**
 * What a file-system call costs Wizard's event loop, and the floor the
 * receiver's write rule sets for BURST, on this machine (docs/BENCHMARKS.md,
 * "Small files with fewer calls through libuv's pool"). Not a benchmark of
 * Wizard: a measure of the ground it stands on.
 *
 *   node bench/probes/fs-call-cost.mjs [scratch dir]
 *
 * 1. 20,000 lstats of a cached dir: synchronous, and through fs.promises 1
 *    and 16 at a time (CPU of the whole process, so the pool's threads count).
 * 2. 2,000 files of 1-8 KiB landed as Wizard lands a pull (temp file, write,
 *    chmod, utimes, fsync, fstat, close, rename; one dir fsync at the end), 16
 *    and 64 at a time, with and without the fsyncs.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { lstat, open, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const scratch = process.argv[2] ?? path.join(os.tmpdir(), 'wizard-fs-call-cost');
const ms = (n) => `${Math.round(n)} ms`;
const cpuMs = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

async function lstatCost() {
  const N = 20_000;
  const dir = path.dirname(new URL(import.meta.url).pathname);
  let c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) lstatSync(dir);
  console.log(`lstat x${N}, synchronous: ${ms(cpuMs(c0))} CPU`);
  for (const concurrency of [1, 16]) {
    c0 = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => { while (next++ < N) await lstat(dir); }));
    console.log(`lstat x${N}, fs.promises ${concurrency} at a time: ${ms(cpuMs(c0))} CPU`);
  }
}

async function landingFloor(concurrency, fsync) {
  const dir = path.join(scratch, `land-${concurrency}-${fsync}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const N = 2000;
  const data = Array.from({ length: N }, (_, i) => randomBytes(1024 + ((i * 37) % 7168)));
  const t0 = performance.now();
  let next = 0;
  const land = async (i) => {
    const temp = path.join(dir, `.~wizard-f${i}.tmp`);
    const fh = await open(temp, 'wx', 0o600);
    await fh.write(data[i], 0, data[i].length, 0);
    await fh.chmod(0o644);
    await fh.utimes(new Date(), new Date());
    if (fsync) await fh.sync();
    await fh.stat();
    await fh.close();
    await rename(temp, path.join(dir, `f${i}`));
  };
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next < N) await land(next++); }));
  const d = await open(dir, 'r');
  if (fsync) await d.sync();
  await d.close();
  console.log(`land ${N} files of 1-8 KiB, ${concurrency} at a time, ${fsync ? 'with' : 'without'} fsync: ${ms(performance.now() - t0)}`);
  rmSync(dir, { recursive: true, force: true });
}

await lstatCost();
for (const [concurrency, fsync] of [[16, true], [64, true], [64, false]]) await landingFloor(concurrency, fsync);
rmSync(scratch, { recursive: true, force: true });
