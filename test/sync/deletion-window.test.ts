/**
 * The deletion budget's sliding window (issue 15 item 8), on times passed in:
 * what counts, and against which size of the folder.
 */
import { expect, it } from 'vitest';
import { DeletionWindow } from '../../src/sync/deletions/deletion-window.js';

const budget = { percent: 50, perMinute: 1000 };
const names = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

it('a path deleted and back stops counting; one deleted twice counts once', () => {
  const w = new DeletionWindow();
  w.record(names(20, 'out/'), 0);
  expect(w.count(1)).toBe(20);
  w.forget(names(20, 'out/'));
  expect(w.count(2)).toBe(0);
  w.record(names(20, 'out/'), 3);
  w.record(names(20, 'out/'), 4);
  expect(w.count(5)).toBe(20);
});

it('weighs against the folder as it would be without the deletions counted: steady through a trickle, growing with a folder in use', () => {
  // A folder of 40 whose files go one at a time (an rm -rf over many scans, a peer's one-path messages).
  const trickle = new DeletionWindow();
  let live = 40;
  let through = 0;
  while (trickle.judge([`f${through}`], live, through, budget) === undefined) {
    trickle.record([`f${through}`], through);
    live--;
    through++;
  }
  expect(through).toBe(20);
  expect(trickle.judge(['f20'], live, 50, budget)).toMatch(/21 of 40 entries/);
  // A folder of 16 in use: 11 deletions while it grew to 20 live is 11 of 31, not most of it.
  const busy = new DeletionWindow();
  busy.record(names(10, 'churn/'), 0);
  expect(busy.judge(['churn/10'], 20, 1, budget)).toBeUndefined();
});

it('forgets deletions once they are a window old', () => {
  const w = new DeletionWindow(60_000);
  w.record(names(30, 'a/'), 0);
  w.record(names(10, 'b/'), 30_000);
  expect(w.count(59_999)).toBe(40);
  expect(w.judge(names(11, 'c/'), 60, 59_999, budget)).toMatch(/51 of 100/);
  expect(w.count(60_000)).toBe(10);
  expect(w.judge(names(25, 'c/'), 60, 60_000, budget)).toBeUndefined();
  expect(w.judge(names(26, 'c/'), 60, 60_000, budget)).toMatch(/36 of 70/);
  expect(w.count(90_000)).toBe(0);
});
