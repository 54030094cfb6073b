import { expect, it } from 'vitest';
import { deletionBudgetExceeded } from '../../src/sync/deletions/safety.js';

const budget = { percent: 50, perMinute: 1000 };

it.each([
  { description: 'a few deletions in a small folder are an edit', inWindow: 3, atOnce: 3, folderSize: 5, held: false },
  { description: 'most of a folder vanishing at once is held', inWindow: 60, atOnce: 60, folderSize: 100, held: true },
  { description: 'exactly half is still allowed', inWindow: 50, atOnce: 50, folderSize: 100, held: false },
  { description: 'a big folder losing a big subtree under the percentage goes', inWindow: 900, atOnce: 900, folderSize: 10_000, held: false },
  { description: 'ten at once that make most of the window are held', inWindow: 12, atOnce: 10, folderSize: 20, held: true },
  { description: 'most of a small folder, a few at a time, is the pace of work below twenty within the window', inWindow: 19, atOnce: 1, folderSize: 30, held: false },
  { description: 'twenty within the window, a few at a time, that are most of the folder are held', inWindow: 21, atOnce: 1, folderSize: 40, held: true },
  { description: 'too many within a minute is held', inWindow: 1100, atOnce: 600, folderSize: 100_000, held: true },
])('$description', ({ inWindow, atOnce, folderSize, held }) => {
  expect(deletionBudgetExceeded(inWindow, atOnce, folderSize, budget) !== undefined).toBe(held);
});
