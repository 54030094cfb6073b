import { describe, expect, it } from 'vitest';
import { Mutex } from '../../src/core/mutex.js';
import type { LocalEntry } from '../../src/index/entry.js';
import { GroupCommit } from '../../src/sync/pull/group-commit.js';

type Entry = Omit<LocalEntry, 'sequence'>;

const entry = (p: string): Entry => ({ path: p, type: 'file', size: 1, mtimeMs: 1, mode: 0o644, hash: 'h', target: '', version: { a: 1 }, deleted: false, inode: 1 });

function setup(opts: { failSync?: boolean } = {}) {
  const lock = new Mutex();
  const log: string[] = [];
  const commits: string[][] = [];
  const group = new GroupCommit({
    locked: (fn) => lock.run(fn),
    commit: (entries) => {
      log.push(`commit ${entries.map((e) => e.path).join(',')}`);
      commits.push(entries.map((e) => e.path));
    },
    syncDir: (dir) => {
      log.push(`sync ${dir}`);
      return opts.failSync === true ? Promise.reject(new Error('EIO')) : Promise.resolve();
    },
    placed: (entries) => log.push(`placed ${entries.map((e) => e.path).join(',')}`),
  });
  const land = (p: string, dir: string) =>
    group.land(() => {
      log.push(`step ${p}`);
      return Promise.resolve({ entries: [entry(p)], dir });
    });
  return { group, log, commits, land };
}

describe('GroupCommit', () => {
  it('lands what arrives while a batch holds the lock as one batch: one fsync per dir, one commit', async () => {
    const { log, commits, land } = setup();
    await Promise.all([land('a', '/d1'), land('b', '/d1'), land('c', '/d2'), land('d', '/d1')]);
    // The first lands alone; the three that queued behind it share the next batch.
    expect(commits).toEqual([['a'], ['b', 'c', 'd']]);
    expect(log.filter((l) => !l.startsWith('placed'))).toEqual(['step a', 'sync /d1', 'commit a', 'step b', 'step c', 'step d', 'sync /d1', 'sync /d2', 'commit b,c,d']);
  });

  it('tells of each path as soon as its step has put it on disk, before the batch is durable and committed', async () => {
    const { log, land } = setup();
    await Promise.all([land('a', '/d1'), land('b', '/d1'), land('c', '/d2')]);
    // The steps of a batch run side by side: each is told of once its own step has ended.
    expect(log).toEqual(['step a', 'placed a', 'sync /d1', 'commit a', 'step b', 'step c', 'placed b', 'placed c', 'sync /d1', 'sync /d2', 'commit b,c']);
  });

  it('tells nothing of a path whose step throws', async () => {
    const { group, log, land } = setup();
    await Promise.allSettled([land('a', '/d'), group.land(() => Promise.reject(new Error('CHANGED')))]);
    expect(log.filter((l) => l.startsWith('placed'))).toEqual(['placed a']);
  });

  it('fails only the path whose step throws', async () => {
    const { group, commits, land } = setup();
    const bad = group.land(() => Promise.reject(new Error('CHANGED')));
    const results = await Promise.allSettled([land('a', '/d'), bad, land('b', '/d')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(commits.flat()).toEqual(['a', 'b']);
  });

  it('records nothing when the dir fsync fails, and fails every path of that batch', async () => {
    const { commits, land } = setup({ failSync: true });
    const results = await Promise.allSettled([land('a', '/d'), land('b', '/d')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(commits).toEqual([]);
  });

  it('runs the steps, the fsync and the commit holding the lock', async () => {
    let held = false;
    const seen: boolean[] = [];
    const group = new GroupCommit({
      locked: async (fn) => {
        held = true;
        try {
          return await fn();
        } finally {
          held = false;
        }
      },
      commit: () => void seen.push(held),
      syncDir: () => {
        seen.push(held);
        return Promise.resolve();
      },
    });
    await group.land(() => {
      seen.push(held);
      return Promise.resolve({ entries: [entry('a')], dir: '/d' });
    });
    expect(seen).toEqual([true, true, true]);
  });

  it('runs `after` once its entries are committed', async () => {
    const { group, log } = setup();
    await group.land(() => Promise.resolve({ entries: [entry('a')], dir: '/d', after: () => log.push('after a') }));
    expect(log).toEqual(['placed a', 'sync /d', 'commit a', 'after a']);
  });

  it('runs the steps of a batch side by side, but a step marked alone after those before it and before those after it', async () => {
    const { group, log } = setup();
    let running = 0;
    let most = 0;
    const slow = (p: string, opts: { alone?: boolean } = {}) =>
      group.land(async () => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${p}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${p}`);
        running--;
        return { entries: [entry(p)], dir: '/d' };
      }, opts);
    const first = slow('first');
    await Promise.all([first, slow('f1'), slow('f2'), slow('f3'), slow('gone', { alone: true }), slow('f4'), slow('f5')]);
    expect(most).toBeGreaterThanOrEqual(3);
    const at = (what: string) => log.indexOf(what);
    for (const p of ['f1', 'f2', 'f3']) expect(at(`end ${p}`)).toBeLessThan(at('start gone'));
    for (const p of ['f4', 'f5']) expect(at(`start ${p}`)).toBeGreaterThan(at('end gone'));
  });

  it('runs the commit and the landings\' after hooks inside one `atomically`, and fails the batch when it throws', async () => {
    const log: string[] = [];
    const group = new GroupCommit({
      locked: (fn) => fn(),
      commit: (entries) => void log.push(`commit ${entries.map((e) => e.path).join(',')}`),
      atomically: (fn) => {
        log.push('begin');
        fn();
        log.push('end');
        throw new Error('SQLITE_FULL');
      },
      syncDir: () => Promise.resolve(),
    });
    const land = (p: string) => group.land(() => Promise.resolve({ entries: [entry(p)], dir: '/d', after: () => void log.push(`after ${p}`) }));
    const results = await Promise.allSettled([land('a')]);
    expect(log).toEqual(['begin', 'commit a', 'after a', 'end']);
    expect(results.map((r) => r.status)).toEqual(['rejected']);
  });
});

