import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { removeStaleTemps, TEMP_LIFETIME_MS } from '../../src/sync/disk/stale-temps.js';

let root: string;
const small = 'a/.~wizard-small.txt-0123456789abcdef-01234567.tmp';
const big = 'a/.~wizard-big.bin-0123456789abcdef-01234567.tmp';
const link = '.~wizard-l-01234567.tmp';
const dir = '.~wizard-dir.tmp';

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-stale-temps-'));
  mkdirSync(path.join(root, 'a'));
  writeFileSync(path.join(root, small), 'x'.repeat(4096));
  writeFileSync(path.join(root, big), Buffer.alloc(64 * 1024));
  symlinkSync('target', path.join(root, link));
  mkdirSync(path.join(root, dir));
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const all = [small, big, link, dir];

it('K1: after a restart removes the temps no download can reuse (small files, links) and keeps big partials', async () => {
  const removed = await removeStaleTemps(root, all, { afterRestart: true, nowMs: Date.now() });
  expect(removed.sort()).toEqual([link, small].sort());
  expect(existsSync(path.join(root, small))).toBe(false);
  expect(existsSync(path.join(root, big))).toBe(true);
  expect(existsSync(path.join(root, dir))).toBe(true);
});

it('K1: while running removes only temps untouched for a day, never a dir', async () => {
  expect(await removeStaleTemps(root, all, { afterRestart: false, nowMs: Date.now() })).toEqual([]);
  const removed = await removeStaleTemps(root, all, { afterRestart: false, nowMs: Date.now() + TEMP_LIFETIME_MS + 60_000 });
  expect(removed.sort()).toEqual([big, link, small].sort());
  expect(existsSync(path.join(root, dir))).toBe(true);
});

it('K1: a temp that vanished meanwhile is skipped', async () => {
  expect(await removeStaleTemps(root, ['gone/.~wizard-x-0.tmp'], { afterRestart: true, nowMs: Date.now() })).toEqual([]);
});
