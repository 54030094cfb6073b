// How much JavaScript heap a folder's scan holds: indexes N small files in N/100 dirs, then rescans them
// unchanged through a restarted Folder on the same index file, sampling heapUsed every 20 ms (after a full GC
// before each). Prints the peak above the baseline, per file: garbage not yet collected included. With
// RETAINED=1 every sample (each 250 ms) follows a full GC, so the peak is what the scan holds.
// KEEP=DIR keeps the tree and index in DIR: a later run with the same DIR only rescans (for A/B runs of two builds);
// remove DIR/index.db* to index the kept tree afresh. POOL=N hashes through a pool of N worker threads, as the
// daemon does (the default runs every job on this thread).
// PROF=DIR writes a CPU profile of each scan alone there (read it with prof-top.mjs).
// Usage: npm run build && [RETAINED=1] [KEEP=DIR] [PROF=DIR] node --expose-gc bench/probes/scan-heap.mjs [N]
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import pino from 'pino';
import { Session } from 'node:inspector/promises';
const W = new URL('../../dist', import.meta.url).pathname;
const { IndexStore } = await import(`${W}/index/store.js`);
const { Folder } = await import(`${W}/sync/folder.js`);
const { TransferSlots } = await import(`${W}/sync/pull/transfer-slots.js`);
const { DEFAULTS } = await import(`${W}/config/schema.js`);
const { systemClock } = await import(`${W}/core/clock.js`);
const { inlineRunner, WorkerPool } = await import(`${W}/workers/pool.js`);
const runner = process.env.POOL === undefined ? inlineRunner : new WorkerPool(() => Number(process.env.POOL));
if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
const N = Number(process.argv[2] ?? 100_000);
const keep = process.env.KEEP;
const reuse = keep !== undefined && fs.existsSync(path.join(keep, 'index.db'));
const treeKept = keep !== undefined && fs.existsSync(path.join(keep, 'f', 'd0'));
const base = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scan-heap-'));
const root = path.join(base, 'f');
fs.mkdirSync(path.join(root, '.wizard'), { recursive: true });
const old = (Date.now() - 3600_000) / 1000;
for (let d = 0; d < (treeKept ? 0 : N / 100); d++) {
  const dir = path.join(root, `d${d}`); fs.mkdirSync(dir);
  for (let i = 0; i < 100; i++) { const f = path.join(dir, `f${i}`); fs.writeFileSync(f, 'x'.repeat(1024 + ((i * 31) % 3072))); fs.utimesSync(f, old, old); }
}
const store = IndexStore.open(path.join(base, 'index.db'));
const folderOf = () => new Folder({ id: 'f', root, store, localId: 'me', umask: 0o022, clock: systemClock, monotonicMs: () => performance.now(), log: pino({ level: 'silent' }), peers: { connected: () => [], readBlock: async () => Buffer.alloc(0), readSums: async () => { throw new Error('x'); }, announce: () => {} }, masterIgnore: () => '', limits: () => DEFAULTS.limits, rescanIntervalMs: () => 3_600_000, deletionBudget: () => ({ percent: 50, perMinute: 1_000_000 }), tombstoneDays: () => 365, runner, slots: new TransferSlots(() => 4) });
const mib = (b) => (b / 1048576).toFixed(1);
async function measure(label) {
  global.gc(); global.gc();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  const retained = process.env.RETAINED === '1';
  const timer = setInterval(() => { if (retained) global.gc(); peak = Math.max(peak, process.memoryUsage().heapUsed); }, retained ? 250 : 20);
  const session = process.env.PROF === undefined ? undefined : new Session();
  if (session !== undefined) { session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start'); }
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  const folder = folderOf();
  await folder.start();
  const ms = performance.now() - t0; const cpu = process.cpuUsage(cpu0);
  if (session !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(process.env.PROF, { recursive: true });
    fs.writeFileSync(path.join(process.env.PROF, `${label.split(' ')[0]}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  clearInterval(timer); peak = Math.max(peak, process.memoryUsage().heapUsed);
  await folder.stop();
  console.log(`${label}: ${ms.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU; heap before ${mib(before)} MiB, peak ${mib(peak)} MiB: ${(((peak - before) / N)).toFixed(0)} B a file above it; rss ${mib(process.memoryUsage().rss)} MiB`);
}
if (!reuse) await measure(`first index of ${N} files`);
await measure(`rescan of ${N} unchanged files`);
console.log(`files indexed ${store.localStats('f').files}; load ${os.loadavg()[0].toFixed(1)}`);
store.close(); await runner.close(); if (keep === undefined) fs.rmSync(base, { recursive: true, force: true });
