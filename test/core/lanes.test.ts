import { describe, expect, it } from 'vitest';
import { inLanes } from '../../src/core/lanes.js';

/** A job that resolves when the test says so, recording when it started. */
function gatedJobs() {
  const started: number[] = [];
  const gates = new Map<number, () => void>();
  let running = 0;
  let most = 0;
  const fn = (n: number) =>
    new Promise<void>((resolve) => {
      started.push(n);
      most = Math.max(most, ++running);
      gates.set(n, () => {
        running--;
        resolve();
      });
    });
  const open = async (n: number) => {
    gates.get(n)?.();
    // Let the lane that waited on it take its next item.
    await new Promise((r) => setImmediate(r));
  };
  return { fn, started, open, most: () => most };
}

describe('inLanes', () => {
  it('starts items in list order, never more than the width at once, and runs each once', async () => {
    const jobs = gatedJobs();
    const done = inLanes([0, 1, 2, 3, 4, 5, 6], 3, jobs.fn);
    await new Promise((r) => setImmediate(r));
    expect(jobs.started).toEqual([0, 1, 2]);
    await jobs.open(1);
    expect(jobs.started).toEqual([0, 1, 2, 3]);
    for (const n of [0, 2, 3, 4, 5, 6]) await jobs.open(n);
    await done;
    expect(jobs.started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(jobs.most()).toBe(3);
  });

  it('rejects with a failure, and refuses a width that runs nothing', async () => {
    await expect(inLanes([1, 2], 2, (n) => (n === 2 ? Promise.reject(new Error('item 2 failed')) : Promise.resolve()))).rejects.toThrow('item 2 failed');
    await expect(inLanes([1], Number.NaN, () => Promise.resolve())).rejects.toThrow(/width of at least 1/);
    await expect(inLanes([1], 0, () => Promise.resolve())).rejects.toThrow(/width of at least 1/);
  });
});
