import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isUnder } from '../../src/core/paths.js';
import type { LocalEntry } from '../../src/index/entry.js';
import type { Observation } from '../../src/index/scanner.js';
import { changedPaths, entryFor, expiredTombstones, looksUnflushed, minimalRoots, MTIME_TICK_MS, sameObservation, tooFreshToHash, UNFLUSHED_SETTLE_MS } from '../../src/sync/scan/local-changes.js';

const H = 'a'.repeat(64);
const obs = (path: string, extra: Partial<Observation> = {}): Observation => ({ path, type: 'file', size: 3, mtimeMs: 10, mode: 0o644, inode: 7, target: '', ...extra });
const entry = (path: string, extra: Partial<LocalEntry> = {}): LocalEntry => ({
  path, type: 'file', size: 3, mtimeMs: 10, mode: 0o644, hash: H, target: '', version: { me: 1 }, deleted: false, sequence: 1, inode: 7, ...extra,
});
const noIgnores = () => false;

describe('changedPaths', () => {
  it('finds new, changed and vanished paths, parents first', () => {
    const seen = new Map([
      ['same', obs('same')],
      ['new', obs('new')],
      ['grew', obs('grew', { size: 4 })],
    ]);
    const known = new Map([
      ['same', entry('same')],
      ['grew', entry('grew')],
      ['gone', entry('gone')],
      ['gone-long-ago', entry('gone-long-ago', { deleted: true })],
    ]);
    expect(changedPaths(seen, known, [], noIgnores).map((c) => c.path)).toEqual(['gone', 'grew', 'new']);
  });

  it('never takes an ignored path or one below an unreadable dir as deleted', () => {
    const known = new Map([
      ['build/out.o', entry('build/out.o')],
      ['locked/secret', entry('locked/secret')],
      ['plain', entry('plain')],
    ]);
    const ignored = (p: string) => p.startsWith('build/');
    expect(changedPaths(new Map(), known, ['locked'], ignored).map((c) => c.path)).toEqual(['plain']);
  });
});

describe('looksUnflushed', () => {
  const later = 10 + UNFLUSHED_SETTLE_MS;
  const candidate = (o: Partial<Observation>) => ({ path: 'f', obs: obs('f', o), prev: entry('f', { size: 100 }) });

  it('K4: suspects a file that shrank (0 bytes or shorter) under its indexed mtime and inode', () => {
    expect(looksUnflushed(candidate({ size: 0 }), later)).toBe(true);
    expect(looksUnflushed(candidate({ size: 40 }), later)).toBe(true);
  });

  it('M3: takes a file that grew under its old mtime (an append, then `touch -d`) as an edit', () => {
    expect(looksUnflushed(candidate({ size: 150 }), later)).toBe(false);
  });

  it('takes a new mtime, a new inode, or a write moments ago as an edit', () => {
    expect(looksUnflushed(candidate({ size: 0, mtimeMs: 11 }), later)).toBe(false);
    expect(looksUnflushed(candidate({ size: 0, inode: 8 }), later)).toBe(false);
    expect(looksUnflushed(candidate({ size: 0 }), later - 1)).toBe(false);
  });
});

describe('entryFor', () => {
  it('bumps our counter for new content', () => {
    expect(entryFor({ path: 'f', obs: obs('f'), prev: entry('f', { hash: 'b'.repeat(64) }) }, H, 'me')?.version).toEqual({ me: 2 });
  });

  it('records a deletion as a bumped tombstone', () => {
    expect(entryFor({ path: 'f', obs: undefined, prev: entry('f', { version: { p: 3 } }) }, '', 'me')).toMatchObject({ deleted: true, size: 0, hash: '', version: { p: 3, me: 4 } });
  });

  it('keeps the version when only the inode moved', () => {
    expect(entryFor({ path: 'f', obs: obs('f', { inode: 99 }), prev: entry('f') }, H, 'me')).toMatchObject({ inode: 99, version: { me: 1 } });
  });

  it('bumps when only the mtime moved, so peers get the new mtime', () => {
    expect(entryFor({ path: 'f', obs: obs('f', { mtimeMs: 11 }), prev: entry('f') }, H, 'me')?.version).toEqual({ me: 2 });
  });
});

describe('sameObservation and minimalRoots', () => {
  it('ignores a dir mtime but not a file mtime', () => {
    expect(sameObservation(obs('d', { type: 'dir', mtimeMs: 1 }), obs('d', { type: 'dir', mtimeMs: 2 }))).toBe(true);
    expect(sameObservation(obs('f', { mtimeMs: 1 }), obs('f', { mtimeMs: 2 }))).toBe(false);
    expect(sameObservation(undefined, undefined)).toBe(true);
  });

  it('drops paths covered by another', () => {
    expect(minimalRoots(['a/b', 'a', 'c/d', 'c/de', 'a/b/c'])).toEqual(['a', 'c/d', 'c/de']);
    expect(minimalRoots(['x', ''])).toEqual(['']);
    expect(minimalRoots(['a-x', 'a/b', 'a', 'a b/c', 'a b'])).toEqual(['a', 'a b', 'a-x']);
  });

  it('keeps exactly the paths under no other path of the list (against the definition, on random trees)', () => {
    const segment = fc.constantFrom('a', 'b', 'a-b', 'a.b', 'a b', 'ab');
    const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.array(relPath, { maxLength: 40 }), (paths) => {
        const expected = [...new Set(paths)].filter((p) => !paths.some((r) => r !== p && isUnder(p, r))).sort();
        expect(minimalRoots(paths)).toEqual(expected);
      }),
    );
  });
});

describe('expiredTombstones', () => {
  const now = Date.UTC(2026, 10, 25);
  const day = 86_400;
  const nowS = now / 1000;

  it('forgets deletions older than the limit, judged by the newest counter, and keeps live entries', () => {
    const entries = [
      entry('old', { deleted: true, version: { me: nowS - 400 * day } }),
      entry('recent', { deleted: true, version: { me: nowS - 10 * day } }),
      entry('re-deleted', { deleted: true, version: { me: nowS - 400 * day, peer: nowS - 1 * day } }),
      entry('ahead-of-our-clock', { deleted: true, version: { peer: nowS + 1000 * day } }),
      entry('live', { version: { me: 1 } }),
    ];
    expect(expiredTombstones(entries, now, 365)).toEqual(['old']);
  });
});

describe('tooFreshToHash (M1: a file rewritten within one mtime tick)', () => {
  const T = Date.UTC(2026, 10, 28, 12);

  it('M1: waits until one mtime tick has passed since the last write before hashing, so a same-tick rewrite cannot hide behind the recorded stat', () => {
    expect(tooFreshToHash(T, T)).toBe(MTIME_TICK_MS + 1);
    expect(tooFreshToHash(T + 10, T)).toBe(MTIME_TICK_MS - 10 + 1);
    expect(tooFreshToHash(T + MTIME_TICK_MS, T)).toBe(0);
    expect(tooFreshToHash(T + 60_000, T)).toBe(0);
  });

  it('CL1: an mtime in the future (2100, or a clock set back) or before 1970 is hashed at once', () => {
    expect(tooFreshToHash(T, Date.UTC(2100, 0, 1))).toBe(0);
    expect(tooFreshToHash(T, T + 5)).toBe(0);
    expect(tooFreshToHash(T, -86_400_000)).toBe(0);
  });
});
