/**
 * The walk on a real temp dir, with faults injected at its directory read
 * (S5): root, which runs the tests, reads any dir whatever its permission
 * bits, and EIO has no cheap real cause. A real chmod 000 is tried too, as
 * a normal user (under root, as nobody in a child run: as-nobody.ts).
 */
import type { Dirent } from 'node:fs';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore } from '../../src/ignore/matcher.js';
import { LISTINGS_AHEAD } from '../../src/index/dir-listings.js';
import { classify, observeNow, StatMode, walk, walkDirs, type WalkOptions } from '../../src/index/scanner.js';
import { itAsNonRoot } from '../support/as-nobody.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-scanner-'));
  mkdirSync(path.join(root, 'ok'));
  mkdirSync(path.join(root, 'bad', 'deeper'), { recursive: true });
  writeFileSync(path.join(root, 'ok', 'a.txt'), 'a');
  writeFileSync(path.join(root, 'bad', 'b.txt'), 'b');
  writeFileSync(path.join(root, 'bad', 'deeper', 'c.txt'), 'c');
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const options = (readDir?: WalkOptions['readDir']): WalkOptions => ({
  matcher: compileIgnore([]),
  isInternal: () => false,
  ...(readDir === undefined ? {} : { readDir }),
});

/** Real listings, but `failing` (relative) fails with errno `code`. */
function failingAt(failing: string, code: string): (abs: string) => Promise<Dirent[]> {
  return (abs) =>
    abs === path.join(root, failing)
      ? Promise.reject(Object.assign(new Error(`${code}: injected, scandir '${abs}'`), { code, syscall: 'scandir' }))
      : readdir(abs, { withFileTypes: true });
}

describe('walk', () => {
  it.each(['EIO', 'EACCES'])('S5: %s listing a subdirectory reports it unreadable and goes on with the rest', async (code) => {
    const result = await walk(root, '', options(failingAt('bad', code)));
    expect(result.unreadable).toEqual(['bad']);
    expect([...result.seen.keys()].sort()).toEqual(['bad', 'ok', 'ok/a.txt']);
  });

  it('S5: EIO listing the dir a watcher event names reports it unreadable, not empty', async () => {
    const result = await walk(root, 'bad', options(failingAt('bad', 'EIO')));
    expect(result.unreadable).toEqual(['bad']);
  });

  itAsNonRoot(import.meta.url, 'S5: a path below a real chmod 000 dir (as a normal user) fails the walk instead of looking deleted', async () => {
    chmodSync(path.join(root, 'bad'), 0o000);
    try {
      await expect(walk(root, 'bad/deeper/c.txt', options())).rejects.toMatchObject({ code: 'EACCES' });
      const whole = await walk(root, '', options());
      expect(whole.unreadable).toEqual(['bad']);
    } finally {
      chmodSync(path.join(root, 'bad'), 0o755);
    }
  });
});

describe('walkDirs: listings read ahead', () => {
  it('reads the next dirs\' listings before it hands over the step before, and never one older than two steps before its own', async () => {
    // Three levels, two and three dirs wide: the walk goes down into one sibling while the others wait.
    for (const d of ['t/a/x', 't/a/y', 't/b/x', 't/b/y', 't/b/z', 't/c']) mkdirSync(path.join(root, ...d.split('/')), { recursive: true });
    const events: string[] = [];
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/');
    const readDir = (abs: string): Promise<Dirent[]> => {
      events.push(`read ${rel(abs)}`);
      return readdir(abs, { withFileTypes: true });
    };
    let marks = 0;
    const handed: string[] = [];
    for await (const step of walkDirs(root, 't', { ...options(readDir), mark: () => ++marks })) {
      if (step.dir === undefined) continue;
      events.push(`step ${step.dir}`);
      handed.push(step.dir);
      // Each step's mark was taken as its own listing began: the latest mark taken before that read.
      const read = events.lastIndexOf(`read ${step.dir}`);
      expect(step.mark, step.dir).toBe(events.slice(0, read + 1).filter((e) => e.startsWith('read ')).length);
    }
    expect(new Set(handed)).toEqual(new Set(['t', 't/a', 't/a/x', 't/a/y', 't/b', 't/b/x', 't/b/y', 't/b/z', 't/c']));
    // Read ahead: every dir but the first was read before the step before it was handed over.
    for (const dir of handed.slice(1)) {
      const at = handed.indexOf(dir);
      expect(events.lastIndexOf(`read ${dir}`), dir).toBeLessThan(events.indexOf(`step ${handed[at - 1] as string}`));
    }
    // Never older than LISTINGS_AHEAD steps: a read the walk went past (into a sibling's subtree) was dropped and made again.
    for (const dir of handed) {
      const stepsBetween = events.slice(events.lastIndexOf(`read ${dir}`), events.indexOf(`step ${dir}`)).filter((e) => e.startsWith('step ')).length;
      expect(stepsBetween, dir).toBeLessThanOrEqual(LISTINGS_AHEAD);
    }
  });
});

describe('observeNow with the dirs found real shared across one step (a commit batch’s second look)', () => {
  it('checks each dir above a path once per step, and a link in place of a dir still hides what is below it', () => {
    writeFileSync(path.join(root, 'ok', 'b.txt'), 'b');
    symlinkSync('ok', path.join(root, 'link'));
    const realDirs = new Set<string>();
    expect(observeNow(root, 'ok/a.txt', 'ok/a.txt', realDirs)?.type).toBe('file');
    expect(observeNow(root, 'ok/b.txt', 'ok/b.txt', realDirs)?.type).toBe('file');
    expect([...realDirs]).toEqual(['ok']);
    // Another dir's answer is not this one's: below a link nothing is ours.
    expect(observeNow(root, 'link/a.txt', 'link/a.txt', realDirs)).toBeUndefined();
    expect(realDirs.has('link')).toBe(false);
    // A later step starts afresh: the dir swapped for a link since is seen as one.
    renameSync(path.join(root, 'ok'), path.join(root, 'moved'));
    symlinkSync('moved', path.join(root, 'ok'));
    expect(observeNow(root, 'ok/a.txt', 'ok/a.txt', new Set())).toBeUndefined();
  });
});

describe('walk: names not in NFC (issue 15, item 12)', () => {
  const nfd = 'cafe\u0301.txt';
  const nfc = nfd.normalize('NFC');
  const dirNfd = 'dire\u0301';
  const dirNfc = dirNfd.normalize('NFC');

  it('keys a name written in NFD by its NFC form and looks at it under its own name, in a dir named in NFD too', async () => {
    writeFileSync(path.join(root, nfd), 'x');
    mkdirSync(path.join(root, dirNfd));
    writeFileSync(path.join(root, dirNfd, 'in.txt'), 'y');
    const result = await walk(root, '', options());
    expect(result.skipped).toEqual([]);
    expect(result.seen.get(nfc)).toMatchObject({ path: nfc, type: 'file', size: 1, diskPath: nfd });
    expect(result.seen.get(dirNfc)).toMatchObject({ type: 'dir', diskPath: dirNfd });
    expect(result.seen.get(`${dirNfc}/in.txt`)).toMatchObject({ size: 1, diskPath: `${dirNfd}/in.txt` });
    expect(result.seen.get('ok/a.txt')?.diskPath).toBeUndefined();
  });

  it('finds an NFD file the index does not know when asked for its NFC path, and one the index knows by its recorded name', async () => {
    writeFileSync(path.join(root, 'ok', nfd), 'x');
    const unknown = await walk(root, `ok/${nfc}`, options());
    expect(unknown.seen.get(`ok/${nfc}`)).toMatchObject({ diskPath: `ok/${nfd}` });
    const known = await walk(root, `ok/${nfc}`, { ...options(), onDisk: (rel) => (rel === `ok/${nfc}` ? `ok/${nfd}` : rel) });
    expect(known.seen.get(`ok/${nfc}`)).toMatchObject({ diskPath: `ok/${nfd}` });
  });

  it('finds a file renamed to its NFC spelling although the index still has its NFD name (never taken as deleted)', async () => {
    writeFileSync(path.join(root, 'ok', nfc), 'x');
    const result = await walk(root, `ok/${nfc}`, { ...options(), onDisk: (rel) => (rel === `ok/${nfc}` ? `ok/${nfd}` : rel) });
    expect(result.seen.get(`ok/${nfc}`)).toMatchObject({ size: 1 });
    expect(result.seen.get(`ok/${nfc}`)?.diskPath).toBeUndefined();
  });

  it('skips both spellings of one NFC name as a clash, and lists the path as unreadable so that neither is taken as deleted', async () => {
    writeFileSync(path.join(root, 'ok', nfc), 'composed');
    writeFileSync(path.join(root, 'ok', nfd), 'decomposed');
    const result = await walk(root, '', options());
    expect(result.seen.has(`ok/${nfc}`)).toBe(false);
    expect(result.unreadable).toContain(`ok/${nfc}`);
    expect(result.skipped).toEqual([{ path: `ok/${nfc}`, reason: expect.stringMatching(/2 names here differ only in how their letters are encoded \(Unicode NFC, NFD\)/) as string, clash: true }]);
    expect(result.listed).toContain('ok');
  });

  it('reports a name that is not valid UTF-8 instead of dropping it in silence', async () => {
    writeFileSync(Buffer.concat([Buffer.from(`${root}/ok/`), Buffer.from([0x62, 0xff, 0x2e, 0x74])]), 'x');
    const result = await walk(root, '', options());
    expect(result.skipped).toEqual([{ path: 'ok/b\uFFFD.t', reason: expect.stringContaining('not valid UTF-8') as string }]);
    expect([...result.seen.keys()].sort()).toEqual(['bad', 'bad/b.txt', 'bad/deeper', 'bad/deeper/c.txt', 'ok', 'ok/a.txt']);
  });

  it('reports a dir it cannot list', async () => {
    const result = await walk(root, '', options(failingAt('bad', 'EACCES')));
    expect(result.skipped).toEqual([{ path: 'bad', reason: expect.stringContaining('cannot list this dir (EACCES)') as string }]);
  });
});

describe('classify: the name on disk', () => {
  const obs = { path: 'caf\u00e9', type: 'file' as const, size: 1, mtimeMs: 5, mode: 0o644, inode: 9, target: '' };
  const entry = { ...obs, hash: 'h', version: { a: 1 }, deleted: false };
  it('a file renamed between the NFC and the NFD spelling of its name is a change to record', () => {
    expect(classify({ ...obs, diskPath: 'cafe\u0301' }, entry)).toBe('changed');
    expect(classify(obs, { ...entry, diskName: 'cafe\u0301' })).toBe('changed');
    expect(classify({ ...obs, diskPath: 'cafe\u0301' }, { ...entry, diskName: 'cafe\u0301' })).toBe('same');
    expect(classify(obs, entry)).toBe('same');
  });
});

describe('StatMode: how a walk stats a batch', () => {
  it('stats synchronously while batches come from the cache, sends the 16 batches after one that held the loop 20 ms through the pool, then tries the cache again', () => {
    const mode = new StatMode();
    expect(mode.warm).toBe(true);
    mode.tookSync(900); // 64 lstats from the cache: under a millisecond
    expect(mode.warm).toBe(true);
    mode.tookSync(25_000); // went to the disk
    const modes: boolean[] = [];
    for (let i = 0; i < 17; i++) {
      modes.push(mode.warm);
      if (!mode.warm) mode.tookAsync();
    }
    expect(modes).toEqual([...Array<boolean>(16).fill(false), true]);
  });

  it('a walk sees every entry of dirs larger than one batch of stats, with its size', async () => {
    for (let d = 0; d < 3; d++) {
      mkdirSync(path.join(root, `d${d}`));
      for (let i = 0; i < 150; i++) writeFileSync(path.join(root, `d${d}`, `f${i}`), `${d}/${i}`);
    }
    const result = await walk(root, '', options());
    expect([...result.seen.keys()].filter((k) => k.startsWith('d')).length).toBe(3 + 450);
    expect(result.seen.get('d1/f149')).toMatchObject({ type: 'file', size: '1/149'.length });
  });
});
