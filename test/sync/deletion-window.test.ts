/**
 * The deletion budget's sliding window (issue 15 item 8), on times passed in:
 * what counts, and against which size of the folder.
 */
import { expect, it } from 'vitest';
import { DeletionWindow } from '../../src/sync/deletion-window.js';

const budget = { percent: 50, perMinute: 1000 };
const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

it('a path deleted and back stops counting; one deleted twice counts once', () => {
  const w = new DeletionWindow();
  w.record(names(20, 'out/'), 60, 0);
  expect(w.count(1)).toBe(20);
  w.forget(names(20, 'out/'));
  expect(w.count(2)).toBe(0);
  w.record(names(20, 'out/'), 60, 3);
  w.record(names(20, 'out/'), 60, 4);
  expect(w.count(5)).toBe(20);
});

it("weighs against the folder's size before the oldest deletion counted: files created since make no room", () => {
  const w = new DeletionWindow();
  // A folder of 40 whose files a peer deletes one by one, creating a junk file after each: live stays 40.
  let held = 0;
  for (let i = 0; i < 40 && held === 0; i++) {
    if (w.judge([`real/${i}`], 40, i, budget) === undefined) w.record([`real/${i}`], 40, i);
    else held = i;
  }
  expect(held).toBe(20);
  expect(w.judge(['real/20'], 40, 50, budget)).toMatch(/21 of 40 entries/);
});

it('forgets deletions once they are a window old, and the size with them', () => {
  const w = new DeletionWindow(60_000);
  w.record(names(30, 'a/'), 100, 0);
  w.record(names(10, 'b/'), 70, 30_000);
  expect(w.count(59_999)).toBe(40);
  expect(w.judge(names(11, 'c/'), 60, 59_999, budget)).toMatch(/51 of 100/);
  expect(w.count(60_000)).toBe(10);
  // a has gone: b's batch began with 70.
  expect(w.judge(names(25, 'c/'), 60, 60_000, budget)).toBeUndefined();
  expect(w.judge(names(26, 'c/'), 60, 60_000, budget)).toMatch(/36 of 70/);
  expect(w.count(90_000)).toBe(0);
});
