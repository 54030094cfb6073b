import { expect, it } from 'vitest';
import { deletionBudgetExceeded } from '../../src/sync/safety.js';

const budget = { percent: 50, perMinute: 1000 };

it.each([
  { description: 'a few deletions in a small folder are an edit', deletions: 3, folderSize: 5, held: false },
  { description: 'most of a folder vanishing within the window is held', deletions: 60, folderSize: 100, held: true },
  { description: 'exactly half is still allowed', deletions: 50, folderSize: 100, held: false },
  { description: 'a big folder losing a big subtree under the percentage goes', deletions: 900, folderSize: 10_000, held: false },
  { description: 'too many within a minute is held', deletions: 1100, folderSize: 100_000, held: true },
])('$description', ({ deletions, folderSize, held }) => {
  expect(deletionBudgetExceeded(deletions, folderSize, budget) !== undefined).toBe(held);
});
