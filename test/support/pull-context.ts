/**
 * A PullContext over a real folder and index, with an in-memory peer: what
 * the puller's tests act through. `trash` and `beforeLanding` let a test
 * stand in for a user racing the pull.
 */
import { systemClock } from '../../src/core/clock.js';
import { Mutex } from '../../src/core/mutex.js';
import type { LocalEntry } from '../../src/index/entry.js';
import type { IndexStore } from '../../src/index/store.js';
import { GroupCommit } from '../../src/sync/pull/group-commit.js';
import type { PullContext } from '../../src/sync/pull/puller.js';
import { Trash } from '../../src/sync/trash/trash.js';
import { inlineRunner } from '../../src/workers/pool.js';
import { fakePeer } from './peer.js';

/** Folder ID the contexts record under. */
export const FOLDER = 'f';

/** A context on `root` and `store` whose peer serves `served` (path -> bytes). */
export function pullContext(
  root: string,
  store: IndexStore,
  served: Record<string, string>,
  hooks: { trash?: Trash; beforeLanding?: () => void; umask?: number } = {},
): PullContext {
  const lock = new Mutex();
  const commit = (entries: Array<Omit<LocalEntry, 'sequence'>>): void => void store.commitLocal(FOLDER, entries);
  return {
    root,
    umask: hooks.umask ?? 0o022,
    trash: hooks.trash ?? new Trash(root, systemClock),
    ...fakePeer(served),
    runner: inlineRunner,
    commitSums: (rel, hash, sums) => store.sums.put(FOLDER, rel, hash, sums),
    storedSums: (rel, hash) => store.sums.get(FOLDER, rel, hash),
    getLocal: (rel) => store.getLocal(FOLDER, rel),
    locked: (fn) => lock.run(fn),
    commit,
    landing: new GroupCommit({
      locked: (fn) =>
        lock.run(() => {
          hooks.beforeLanding?.();
          return fn();
        }),
      commit,
      atomically: (fn) => store.atomically(fn),
    }),
  };
}
