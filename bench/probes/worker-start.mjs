#!/usr/bin/env node
/**
 * What a cold worker pool costs the first job (docs/DELTA.md, "SHIFT: the search while the file
 * is written"): a fresh pool of one thread, its first job (the thread's start with it) and its
 * second, an empty 'locate' job each, a few rounds. The daemon's pool ends idle threads after 15 s,
 * so a search after a quiet spell pays the first figure unless warm() started the thread.
 *
 *   npm run build && node bench/probes/worker-start.mjs "$PWD"
 */
import os from 'node:os';
const W = process.argv[2];
const { WorkerPool } = await import(`${W}/dist/workers/pool.js`);
const { signatureOf } = await import(`${W}/dist/delta/signature.js`);
const target = signatureOf(Buffer.alloc(1 << 20, 1));
for (let r = 0; r < Number(process.env.REPS ?? 4); r++) {
  const pool = new WorkerPool(() => 1, { script: new URL(`file://${W}/dist/workers/worker.js`) });
  let t = performance.now();
  await pool.run('locate', { bases: [], target });
  const firstMs = Math.round(performance.now() - t);
  t = performance.now();
  await pool.run('locate', { bases: [], target });
  console.log(JSON.stringify({ firstMs, secondMs: Math.round(performance.now() - t), load: os.loadavg()[0].toFixed(2) }));
  await pool.close();
}
