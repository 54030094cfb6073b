/**
 * Work over a list with a bound on how much runs at once, for lists that are
 * long and whose items are cheap: `width` loops that each take the next item
 * when done with one. It starts items in list order and never runs more than
 * `width` at a time, as a p-limit queue holding every item would; but that
 * queue keeps a task (a closure and a promise) per waiting item alive until
 * its turn, and a scan's batch of a thousand changes made every collection
 * of the young generation copy a thousand of them.
 */

/** Runs `fn` over `items` in order, at most `width` at a time; rejects with the first failure (the other lanes run on to the end). */
export async function inLanes<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (!(width >= 1)) throw new RangeError(`inLanes needs a width of at least 1, not ${width}`);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
