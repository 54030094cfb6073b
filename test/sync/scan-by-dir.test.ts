/**
 * A scan that holds one directory at a time (issue 17, SCALE-1M memory): the
 * walk gives one dir's listing per step, the scan compares it with that
 * dir's index entries, and hands changes to the recorder in bounded batches.
 * - It decides what a comparison of the whole subtree decides
 *   (`changedPaths`): deletions found by absence, below a dir now gone or now
 *   a file, below a parent the index never had; nothing below an unreadable
 *   dir (S5) or an ignored one; the sibling names that sort between a dir and
 *   its children.
 * - A scan of many dirs never holds more than one dir's observations, nor
 *   more changes than one batch (status `fullScans.held`).
 * - A dir that cannot be listed is logged once, not at every rescan, though
 *   its parent's step and its own report it apart.
 */
import type { Dirent } from 'node:fs';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore } from '../../src/ignore/matcher.js';
import { walk, walkDirs, type WalkOptions } from '../../src/index/scanner.js';
import { IndexStore, type LocalChange } from '../../src/index/store.js';
import { Folder } from '../../src/sync/folder.js';
import { stepChanges, type DirIndex } from '../../src/sync/scan/dir-changes.js';
import { changedPaths, type Candidate } from '../../src/sync/scan/local-changes.js';
import { SCAN_BATCH } from '../../src/sync/scan/scan-feed.js';
import { waitFor } from '../support/wait.js';
import { loneFolderDeps } from '../support/lone-folder.js';

const ID = 'f';
let base: string;
let root: string;
let store: IndexStore;
let folders: Folder[];

beforeEach(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'wizard-scan-by-dir-'));
  root = path.join(base, 'root');
  mkdirSync(path.join(root, '.wizard'), { recursive: true });
  store = IndexStore.open(path.join(base, 'index.db'));
  folders = [];
});

afterEach(async () => {
  for (const f of folders) await f.stop();
  store.close();
  rmSync(base, { recursive: true, force: true });
});

/** Writes a file with an mtime an hour old: a scan hashes it without waiting for its tick. */
function writeOld(rel: string, text: string): void {
  const abs = path.join(root, ...rel.split('/'));
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  const old = (Date.now() - 3_600_000) / 1000;
  utimesSync(abs, old, old);
}

function newFolder(opts: { readDir?: (abs: string) => Promise<Dirent[]>; log?: Logger; rescanIntervalMs?: number } = {}): Folder {
  const folder = new Folder(
    loneFolderDeps(ID, root, store, {
      ...(opts.log === undefined ? {} : { log: opts.log }),
      ...(opts.rescanIntervalMs === undefined ? {} : { rescanIntervalMs: () => opts.rescanIntervalMs as number }),
      ...(opts.readDir === undefined ? {} : { readDir: opts.readDir }),
    }),
  );
  folders.push(folder);
  return folder;
}

/** Candidates as compared: path, what the disk holds, what the index held. */
const sorted = (cs: Candidate[]) => [...cs].sort((a, b) => (a.path < b.path ? -1 : 1));

describe('a scan one dir at a time decides what a scan of the whole subtree does', () => {
  it('for changes, new paths, deletions by absence and below gone or replaced dirs, orphans, tombstones, ignored and unreadable dirs, and names sorting between a dir and its children', async () => {
    for (const f of ['keep/a.txt', 'keep/b.txt', 'keep/changed.txt', 'gone-file.txt', 'gonedir/x', 'gonedir/sub/y', 'was-dir/w/in.txt', 'was-file', 'd/one', 'd-x.txt', 'd.txt', 'd0', 'ign/q', 'bad/z', 'bad/deep/w']) {
      writeOld(f, f);
    }
    const opts = (readDir?: WalkOptions['readDir']): WalkOptions => ({
      matcher: compileIgnore([]),
      isInternal: (p) => p === '.wizard' || p.startsWith('.wizard/'),
      ...(readDir === undefined ? {} : { readDir }),
    });
    // The index as a first scan would leave it, plus what no scan made: entries below parents it never had, a tombstone.
    const entry = (p: string, o: { type: 'file' | 'dir'; size: number; mtimeMs: number; mode: number; inode: number }, deleted = false): LocalChange => ({
      path: p, type: o.type, size: o.size, mtimeMs: o.mtimeMs, mode: o.mode, inode: o.inode, hash: o.type === 'file' ? 'h' : '', target: '', deleted, version: { a: 1 },
    });
    const first = await walk(root, '', opts());
    const file = { type: 'file' as const, size: 1, mtimeMs: 1, mode: 0o644, inode: 1 };
    store.commitLocal(ID, [
      ...[...first.seen.values()].map((o) => entry(o.path, { ...o, type: o.type as 'file' | 'dir' })),
      entry('orphan/p/q', file),
      entry('keep/ghost/g', file),
      entry('tomb.txt', file, true),
    ]);
    // Then the disk moves on.
    writeOld('keep/changed.txt', 'changed, and longer');
    writeOld('keep/new.txt', 'new');
    rmSync(path.join(root, 'gone-file.txt'));
    rmSync(path.join(root, 'gonedir'), { recursive: true });
    rmSync(path.join(root, 'was-dir'), { recursive: true });
    writeOld('was-dir', 'a file now');
    rmSync(path.join(root, 'was-file'));
    writeOld('was-file/inside.txt', 'a dir now');
    rmSync(path.join(root, 'd', 'one'));
    rmSync(path.join(root, 'ign', 'q'));
    rmSync(path.join(root, 'bad', 'z'));
    const ignored = compileIgnore([{ text: 'ign/\n', base: '' }]);
    const failing = path.join(root, 'bad');
    const readDir = (abs: string) => (abs === failing ? Promise.reject(Object.assign(new Error('EIO: injected'), { code: 'EIO' })) : readdir(abs, { withFileTypes: true }));
    const walkOpts = { ...opts(readDir), matcher: ignored };
    const isIgnored = (p: string, isDir: boolean) => ignored.isIgnored(p, isDir);
    const mustHash = (p: string) => p === 'keep/a.txt';
    const index: DirIndex = { getLocal: (p) => store.getLocal(ID, p), below: (dir, skip) => store.reads.below(ID, dir, skip, 2), comparedBelow: (dir, skip) => store.reads.comparedBelow(ID, dir, skip, 2) };

    for (const rel of ['', 'keep', 'gonedir', 'was-dir', 'was-file', 'orphan', 'bad', 'ign', 'keep/a.txt', 'keep/ghost']) {
      const whole = await walk(root, rel, walkOpts);
      const known = new Map(store.localUnder(ID, rel).map((e) => [e.path, e]));
      const expected = changedPaths(whole.seen, known, whole.unreadable, isIgnored, mustHash);
      const stepped: Candidate[] = [];
      for await (const step of walkDirs(root, rel, walkOpts)) stepped.push(...stepChanges(rel, step, index, { isIgnored, mustHash }));
      expect(sorted(stepped), `scan of '${rel}'`).toEqual(sorted(expected));
    }
    // And the whole-folder scan found what this test set out to make it find.
    const all: Candidate[] = [];
    for await (const step of walkDirs(root, '', walkOpts)) all.push(...stepChanges('', step, index, { isIgnored, mustHash }));
    expect(all.filter((c) => c.obs === undefined).map((c) => c.path).sort()).toEqual(
      ['d/one', 'gone-file.txt', 'gonedir', 'gonedir/sub', 'gonedir/sub/y', 'gonedir/x', 'keep/ghost/g', 'orphan/p/q', 'was-dir/w', 'was-dir/w/in.txt'],
    );
    expect(all.filter((c) => c.obs !== undefined).map((c) => c.path).sort()).toEqual(['keep/a.txt', 'keep/changed.txt', 'keep/new.txt', 'was-dir', 'was-file', 'was-file/inside.txt']);
  });
});

describe('a rescan compares a narrow read of the index and records against the whole entry', () => {
  it('finds a change of each thing compared (size, mtime, inode alone, mode, type, link target, name on disk, gone, below a dir now a file, a tombstone now a file), each recorded on its whole previous version, and leaves the rest alone', async () => {
    // Whole seconds, so a copy can be given exactly the mtime of the file it replaces.
    const t = Math.floor(Date.now() / 1000) - 3600;
    const put = (rel: string, text: string, at = t): void => {
      const abs = path.join(root, ...rel.split('/'));
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, text);
      utimesSync(abs, at, at);
    };
    for (const f of ['size.txt', 'mtime.txt', 'inode.txt', 'mode.txt', 'tolink.txt', 'gone.txt', 'same.txt', 'dir2file/x', 'caf\u00e9.txt']) put(f, `${f} 0123`);
    symlinkSync('a', path.join(root, 'link'));
    const peer = 'bbbbbbbbbbbbbbbb';
    store.commitLocal(ID, [{ path: 'back.txt', type: 'file', size: 0, mtimeMs: 0, mode: 0o644, inode: 0, hash: '', target: '', deleted: true, version: { [peer]: 3 } }]);
    const first = newFolder();
    await first.start();
    await first.stop();
    // Every entry also carries a peer's counter: a change recorded without the whole previous entry would lose it.
    store.commitLocal(ID, store.localUnder(ID, '').map(({ sequence: _, ...e }) => ({ ...e, version: { ...e.version, [peer]: 7 } })));
    const before = new Map(store.localUnder(ID, '').map((e) => [e.path, e]));

    put('size.txt', 'size.txt 0123 and more');
    put('mtime.txt', 'mtime.txt 4567', t + 10);
    // The same size and mtime under a new inode: only the inode says it changed.
    put('inode.new', 'inode.txt 4567');
    renameSync(path.join(root, 'inode.new'), path.join(root, 'inode.txt'));
    expect(lstatSync(path.join(root, 'inode.txt')).mtimeMs).toBe(before.get('inode.txt')?.mtimeMs);
    chmodSync(path.join(root, 'mode.txt'), 0o600);
    rmSync(path.join(root, 'tolink.txt'));
    symlinkSync('elsewhere', path.join(root, 'tolink.txt'));
    rmSync(path.join(root, 'link'));
    symlinkSync('b', path.join(root, 'link'));
    renameSync(path.join(root, 'caf\u00e9.txt'), path.join(root, 'cafe\u0301.txt'));
    rmSync(path.join(root, 'gone.txt'));
    rmSync(path.join(root, 'dir2file'), { recursive: true });
    put('dir2file', 'a file now');
    put('back.txt', 'back');

    const again = newFolder();
    await again.start();
    const now = (p: string) => store.getLocal(ID, p);
    const changed = ['size.txt', 'mtime.txt', 'inode.txt', 'mode.txt', 'tolink.txt', 'link', 'caf\u00e9.txt', 'gone.txt', 'dir2file', 'dir2file/x'];
    for (const p of changed) {
      const was = before.get(p);
      expect(now(p)?.sequence, p).toBeGreaterThan(was?.sequence ?? Infinity);
      // Our counter moves on from the previous entry's; the peer's is kept (the name on disk alone is no new version).
      expect(now(p)?.version[peer], p).toBe(7);
      if (p !== 'caf\u00e9.txt') expect(now(p)?.version['aaaaaaaaaaaaaaaa'], p).toBeGreaterThan(was?.version['aaaaaaaaaaaaaaaa'] ?? Infinity);
    }
    expect(now('size.txt')?.size).toBe('size.txt 0123 and more'.length);
    expect(now('mtime.txt')?.hash).not.toBe(before.get('mtime.txt')?.hash);
    expect(now('inode.txt')?.hash).not.toBe(before.get('inode.txt')?.hash);
    expect(now('mode.txt')?.mode).toBe(0o600);
    expect(now('tolink.txt')).toMatchObject({ type: 'symlink', target: 'elsewhere' });
    expect(now('link')?.target).toBe('b');
    expect(now('caf\u00e9.txt')?.diskName).toBe('cafe\u0301.txt');
    expect(now('gone.txt')?.deleted).toBe(true);
    expect(now('dir2file/x')?.deleted).toBe(true);
    expect(now('dir2file')?.type).toBe('file');
    expect(now('back.txt')).toMatchObject({ deleted: false, size: 4 });
    expect(now('back.txt')?.version[peer]).toBe(7);
    expect(now('same.txt')?.sequence).toBe(before.get('same.txt')?.sequence);
  });
});

describe('what a scan holds', () => {
  it('a whole-folder scan of several dirs holds one dir of observations at a time, and hands changes to the recorder a bounded batch at a time', async () => {
    const perDir = 400;
    for (const d of ['a', 'b', 'c']) for (let i = 0; i < perDir; i++) writeOld(`${d}/f${i}`, `${d}${i}`);
    const first = newFolder();
    await first.start();
    const files = 3 * perDir;
    expect(store.localStats(ID).files).toBe(files);
    // Every entry of one dir at once, never the tree's; the changes of several dirs, cut at the batch size.
    expect(first.status().fullScans.held).toEqual({ step: perDir, batch: SCAN_BATCH });
    expect(files + 3).toBeGreaterThan(SCAN_BATCH);
    await first.stop();

    // A rescan with nothing changed: one dir at a time again, and no change to hand over.
    const again = newFolder();
    await again.start();
    expect(again.status().fullScans.held).toEqual({ step: perDir, batch: 0 });
  });

  it('logs a dir it cannot list once, not at every rescan, though its parent and its own step report it apart', async () => {
    writeOld('ok/a.txt', 'a');
    writeOld('locked/b.txt', 'b');
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _enc, done) => void (lines.push(chunk.toString()), done()) }));
    const failing = path.join(root, 'locked');
    const readDir = (abs: string) => (abs === failing ? Promise.reject(Object.assign(new Error('EACCES: injected'), { code: 'EACCES' })) : readdir(abs, { withFileTypes: true }));
    const folder = newFolder({ readDir, log });
    await folder.start();
    folder.queueScan(['']);
    await waitFor('the rescan', () => folder.status().fullScans.count === 2, 10_000);
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; path?: string }).filter((l) => l.msg === 'not syncing path');
    expect(logged.map((l) => l.path)).toEqual(['locked']);
    expect(folder.status().skipped?.count).toBe(1);
  });
});

describe('listings read ahead of the scan', () => {
  it('do not take a path recorded after its dir\'s listing began, and missing from it, for a deletion', async () => {
    // What a pull does beside a scan: it lands a file in a dir whose listing has begun without it, and records it.
    writeOld('top.txt', 'top');
    writeOld('late/kept.txt', 'kept');
    let arm = false;
    let landedAt = -1;
    const lateDir = path.join(root, 'late');
    const readDir = (abs: string): Promise<Dirent[]> => {
      if (!arm || abs !== lateDir) return readdir(abs, { withFileTypes: true });
      arm = false;
      const listing = readdirSync(abs, { withFileTypes: true });
      // A burst, many times the folder: taken for deletions, it would be held as "most of the folder vanished".
      const landed = Array.from({ length: 40 }, (_, i) => `late/landed-${i}.txt`);
      store.commitLocal(ID, landed.map((rel) => {
        const abs = path.join(root, ...rel.split('/'));
        writeFileSync(abs, `from a peer: ${rel}`);
        const st = lstatSync(abs);
        return { path: rel, type: 'file' as const, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, hash: 'h', target: '', deleted: false, version: { peer: 1 } };
      }));
      landedAt = store.folderState(ID).maxSequence;
      return Promise.resolve(listing);
    };
    const folder = newFolder({ readDir });
    await folder.start();
    arm = true;
    folder.queueScan(['']);
    await waitFor('the rescan', () => folder.status().fullScans.count === 2, 10_000);
    expect(landedAt).toBeGreaterThan(0);
    expect(folder.status().heldDeletions).toBe(0);
    expect(store.getLocal(ID, 'late/landed-0.txt')?.deleted).toBe(false);
    expect(existsSync(path.join(lateDir, 'landed-0.txt'))).toBe(true);
  });
});

describe('tombstone expiry at the periodic rescan', () => {
  it('forgets the tombstones past their lifetime and keeps the rest, reading only the tombstones', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const gone = (path: string, counter: number): LocalChange => ({ path, type: 'file', size: 0, mtimeMs: 0, mode: 0o644, inode: 0, hash: '', target: '', deleted: true, version: { a: counter } });
    store.commitLocal(ID, [gone('old.txt', nowS - 400 * 86_400), gone('recent.txt', nowS - 60)]);
    writeOld('live.txt', 'live');
    const folder = newFolder({ rescanIntervalMs: 50 });
    await folder.start();
    await waitFor('the old tombstone forgotten', () => store.getLocal(ID, 'old.txt') === undefined, 10_000);
    expect(store.getLocal(ID, 'recent.txt')?.deleted).toBe(true);
    expect(store.getLocal(ID, 'live.txt')?.deleted).toBe(false);
  });
});
