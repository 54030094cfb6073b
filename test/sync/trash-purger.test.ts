/**
 * The automatic purge with a fake clock: old entries go, young ones stay,
 * and no jump of the wall clock makes it purge early.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTrash } from '../../src/sync/trash/trash-catalog.js';
import { TrashPurger } from '../../src/sync/trash/trash-purger.js';
import { SteadyTime } from '../../src/core/steady-time.js';
import { Trash, trashName } from '../../src/sync/trash/trash.js';
import { FakeClock } from '../support/clock.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 31, 12, 0, 0, 0);

let root: string;
let clock: FakeClock;
let retentionDays: number;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-purge-'));
  clock = new FakeClock(T0);
  retentionDays = 30;
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A trash entry for `rel` trashed `ageDays` before T0. */
function trashed(rel: string, ageDays: number): void {
  const abs = path.join(root, '.wizard', 'trash', ...trashName(rel, T0 - ageDays * DAY).split('/'));
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, rel);
}

function purger(steady?: SteadyTime, maxBytes?: () => number): TrashPurger {
  return new TrashPurger(
    {
      clock,
      monotonicMs: () => clock.monotonic(),
      ...(steady === undefined ? {} : { steady }),
      folders: () => [{ id: 'f', root }],
      retentionDays: () => retentionDays,
      ...(maxBytes === undefined ? {} : { maxBytes }),
      log: pino({ level: 'silent' }),
    },
    { firstMs: 1000, intervalMs: DAY / 24 },
  );
}

const kept = async () => (await listTrash(root)).map((e) => e.path);

describe('TrashPurger', () => {
  it('purges entries past retention on its first run, and more as time passes', async () => {
    trashed('ancient', 45);
    trashed('month', 29);
    trashed('fresh', 0);
    const p = purger();
    expect(await p.runOnce()).toBe(1);
    expect(await kept()).toEqual(['month', 'fresh']);
    clock.advance(2 * DAY);
    expect(await p.runOnce()).toBe(1);
    expect(await kept()).toEqual(['fresh']);
  });

  it('past trash.maxBytes purges the oldest entries until the rest fit, and 0 means no cap', async () => {
    // Each entry's content is its name: 3, 4 and 5 bytes on disk.
    trashed('old', 3);
    trashed('mid1', 2);
    trashed('newer', 1);
    let cap = 0;
    const p = purger(undefined, () => cap);
    expect(await p.runOnce()).toBe(0);
    cap = 9;
    expect(await p.runOnce()).toBe(1);
    expect(await kept()).toEqual(['mid1', 'newer']);
    cap = 5;
    expect(await p.runOnce()).toBe(1);
    expect(await kept()).toEqual(['newer']);
  });

  it('follows a hot change of retentionDays', async () => {
    trashed('week', 7);
    const p = purger();
    expect(await p.runOnce()).toBe(0);
    retentionDays = 5;
    expect(await p.runOnce()).toBe(1);
  });

  it('does not purge when the wall clock jumps a year ahead', async () => {
    trashed('month', 29);
    trashed('fresh', 0);
    const p = purger();
    clock.jump(365 * DAY);
    expect(await p.runOnce()).toBe(0);
    expect(await kept()).toEqual(['month', 'fresh']);
    // Real time still counts: two days later the 29-day-old entry is due.
    clock.advance(2 * DAY);
    expect(await p.runOnce()).toBe(1);
  });

  it('keeps entries stamped in the future after the clock went back', async () => {
    trashed('future', -10);
    const p = purger();
    clock.jump(-20 * DAY);
    expect(await p.runOnce()).toBe(0);
    expect(await kept()).toEqual(['future']);
  });

  it('runs by itself on its timer once started, and not after stop', async () => {
    trashed('ancient', 45);
    const p = purger();
    p.start();
    clock.advance(1000);
    await expect.poll(kept).toEqual([]);
    // The run is over once it has set the next one's timer.
    await expect.poll(() => clock.pendingTimers()).toBe(1);
    trashed('ancient2', 45);
    p.stop();
    // Nothing is left that could start a purge: no fake time can set one off.
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(DAY);
    expect(await kept()).toEqual(['ancient2']);
  });

  it('CL1: a file trashed while the clock was set back a day is not purged early once the clock is set right', async () => {
    // As the daemon wires it: the folder's trash stamps and the purge share one SteadyTime.
    const steady = new SteadyTime(clock, () => clock.monotonic());
    const trash = new Trash(root, { now: () => steady.notBefore() });
    const p = purger(steady);
    clock.jump(-DAY);
    writeFileSync(path.join(root, 'doc.txt'), 'old');
    await trash.moveIn(path.join(root, 'doc.txt'), 'doc.txt');
    clock.jump(DAY);
    // 29.5 days of real time: the entry is that old, whatever its stamp would say by the stepped clock.
    clock.advance(29.5 * DAY);
    expect(await p.runOnce()).toBe(0);
    expect(await kept()).toEqual(['doc.txt']);
    clock.advance(DAY);
    expect(await p.runOnce()).toBe(1);
  });

  it('CL1: the clock stepping back and forth during a run never purges an entry before its retention', async () => {
    const steady = new SteadyTime(clock, () => clock.monotonic());
    const trash = new Trash(root, { now: () => steady.notBefore() });
    const p = purger(steady);
    writeFileSync(path.join(root, 'a.txt'), 'a');
    await trash.moveIn(path.join(root, 'a.txt'), 'a.txt');
    // The steps add up to nothing: the clock ends right, and only the real 30 days make the entry due.
    for (const step of [-DAY, 2 * DAY, -3 * DAY, 400 * DAY, -398 * DAY]) {
      clock.jump(step);
      clock.advance(5 * DAY);
      expect(await p.runOnce()).toBe(0);
    }
    clock.advance(5 * DAY + 1);
    expect(await p.runOnce()).toBe(1);
  });
});
