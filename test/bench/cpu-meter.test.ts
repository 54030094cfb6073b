/**
 * The bench's CPU figures (bench/lib/proc.mjs): cpuMeter splits a process's CPU time into the
 * whole and the kernel's part, and sampleGroups turns the whole into IDLE's percentage.
 */
import { writeFileSync, fsyncSync, openSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cpuMeter, sampleGroups } from '../../bench/lib/proc.mjs';

/** Spends about `ms` of this thread's CPU in JavaScript. */
function spin(ms: number): void {
  const end = process.cpuUsage().user / 1000 + ms;
  while (process.cpuUsage().user / 1000 < end);
}

it('counts user and kernel time together, and the kernel part apart, as the process itself sees them', () => {
  const meter = cpuMeter([process.pid]);
  const before = process.cpuUsage();
  spin(200);
  // Kernel work: files created and fsynced.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-cpu-meter-'));
  try {
    for (let i = 0; i < 200; i++) {
      const file = path.join(dir, `f${i}`);
      writeFileSync(file, 'x');
      const fd = openSync(file, 'r');
      fsyncSync(fd);
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const used = meter();
  const seen = process.cpuUsage(before);
  // Both count every thread of this process; /proc's clock ticks are 10 ms, so each figure may be a few ticks off.
  expect(used.ms).toBeGreaterThanOrEqual(180);
  expect(Math.abs(used.ms - used.sysMs - seen.user / 1000)).toBeLessThanOrEqual(40);
  expect(Math.abs(used.sysMs - seen.system / 1000)).toBeLessThanOrEqual(40);
});

it('counts nothing for a pid that is gone, rather than failing', () => {
  const meter = cpuMeter([2 ** 22 + 12345]);
  expect(meter()).toEqual({ ms: 0, sysMs: 0 });
});

it('gives IDLE a finite CPU percentage and RSS per group', async () => {
  const s = await sampleGroups({ me: [process.pid] }, 100);
  expect(Number.isFinite(s.me.cpu_pct)).toBe(true);
  expect(s.me.cpu_pct).toBeGreaterThanOrEqual(0);
  expect(s.me.rss_mib).toBeGreaterThan(10);
});
