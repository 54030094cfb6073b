import { expect, it } from 'vitest';
import { deletionBudgetExceeded } from '../../src/sync/safety.js';

const budget = { percent: 50, perMinute: 1000 };

it.each([
  { description: 'a few deletions in a small folder are an edit', deletions: 3, live: 5, recent: 0, held: false },
  { description: 'most of a folder vanishing at once is held', deletions: 60, live: 100, recent: 0, held: true },
  { description: 'exactly half is still allowed', deletions: 50, live: 100, recent: 0, held: false },
  { description: 'a big folder losing a big subtree under the percentage goes', deletions: 900, live: 10_000, recent: 0, held: false },
  { description: 'too many within a minute is held', deletions: 600, live: 100_000, recent: 500, held: true },
])('$description', ({ deletions, live, recent, held }) => {
  expect(deletionBudgetExceeded(deletions, live, recent, budget) !== undefined).toBe(held);
});
