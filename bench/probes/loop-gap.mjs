// Does a first index of many small files starve the event loop? Times the gaps between 1 ms timers while a Folder indexes
// N small files (inline hashing, as the daemon does for files up to 64 KiB). Usage: npm run build && node bench/probes/loop-gap.mjs [N]
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import pino from 'pino';
const W = new URL('../../dist', import.meta.url).pathname;
const { IndexStore } = await import(`${W}/index/store.js`);
const { Folder } = await import(`${W}/sync/folder.js`);
const { TransferSlots } = await import(`${W}/sync/pull/transfer-slots.js`);
const { DEFAULTS } = await import(`${W}/config/schema.js`);
const { systemClock } = await import(`${W}/core/clock.js`);
const { inlineRunner } = await import(`${W}/workers/pool.js`);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'starve-'));
const N = Number(process.argv[2] ?? 5000);
for (let d = 0; d < N / 100; d++) { fs.mkdirSync(path.join(root, `d${d}`)); for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(root, `d${d}`, `f${i}`), 'x'.repeat(1000 + i)); }
const old = (Date.now() - 3600_000) / 1000; for (let d = 0; d < N / 100; d++) for (let i = 0; i < 100; i++) fs.utimesSync(path.join(root, `d${d}`, `f${i}`), old, old);
const store = IndexStore.open(':memory:');
const folder = new Folder({ id: 'f', root, store, localId: 'me', umask: 0o022, clock: systemClock, monotonicMs: () => performance.now(), log: pino({ level: 'silent' }), peers: { connected: () => [], readBlock: async () => Buffer.alloc(0), readSums: async () => { throw new Error('x'); }, announce: () => {} }, masterIgnore: () => '', limits: () => DEFAULTS.limits, rescanIntervalMs: () => 600000, deletionBudget: () => ({ percent: 50, perMinute: 1000 }), tombstoneDays: () => 365, runner: inlineRunner, slots: new TransferSlots(() => 4) });
let ticks = 0, maxGap = 0, last = performance.now(), running = true;
const tick = () => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; ticks++; if (running) setTimeout(tick, 1); };
setTimeout(tick, 1);
const t0 = performance.now();
await folder.start();
running = false;
console.log(`${N} files indexed in ${(performance.now() - t0).toFixed(0)} ms; timer ticks ${ticks}, longest gap between them ${maxGap.toFixed(0)} ms; files ${store.localStats('f').files}`);
await folder.stop(); fs.rmSync(root, { recursive: true, force: true });
