#!/usr/bin/env node
/**
 * CPU of SHIFT's rolling search in one 'locate' job against the slices search-fill.ts cuts it into
 * (2 MiB, doubling to 16 MiB, each reaching a block less a byte past its end), inline on this
 * thread: 64 MiB of random bytes, the target the same with 100 bytes inserted at 0, three rounds.
 *
 *   npm run build && node bench/probes/search-slices.mjs "$PWD"
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const W = process.argv[2];
const { runJob } = await import(`${W}/dist/workers/jobs.js`);
const { signatureOf } = await import(`${W}/dist/delta/signature.js`);
const MiB = 1 << 20;
const old = randomFillSync(Buffer.allocUnsafe(64 * MiB));
const target = signatureOf(Buffer.concat([randomFillSync(Buffer.allocUnsafe(100)), old]));
const dir = mkdtempSync(path.join(os.tmpdir(), 'wzb-slices-'));
writeFileSync(path.join(dir, 'old'), old);
const fd = openSync(path.join(dir, 'old'), 'r');
const cpuMs = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const end = 68 * MiB; // the file and one group's margin, as the plan asks
for (let r = 0; r < 3; r++) {
  let c0 = cpuMs();
  runJob('locate', { bases: [fd], target, runsByWeak: true, ranges: [[0, end]] });
  const one = Math.round(cpuMs() - c0);
  const slices = [];
  for (let at = 0, step = 2 * MiB; at < end; at += step, step = Math.min(16 * MiB, step * 2)) slices.push([at, Math.min(end, at + step + 64 * 1024 - 1)]);
  c0 = cpuMs();
  for (const s of slices) runJob('locate', { bases: [fd], target, runsByWeak: true, ranges: [s] });
  console.log(JSON.stringify({ oneJobCpuMs: one, slicedCpuMs: Math.round(cpuMs() - c0), jobs: slices.length, load: os.loadavg()[0].toFixed(2) }));
}
rmSync(dir, { recursive: true, force: true });
