/**
 * LandedPaths tells the watcher's echo of a pull from a user's edit. A
 * settled hand-over leaves a path out only while it is the echo of a file
 * that landed and the disk (a real file here) still holds that file as the
 * index recorded it; any edit, a mode change, a swap for a dir or a link, a
 * deletion, a local change recorded meanwhile, or the end of the echo window
 * puts the path back in the scan.
 */
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalEntry } from '../../src/index/entry.js';
import { observeFileNow } from '../../src/index/scanner.js';
import { LandedPaths } from '../../src/sync/pull/landed-paths.js';
import { FakeClock } from '../support/clock.js';

let root: string;
let clock: FakeClock;
let landed: LandedPaths;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-landed-'));
  clock = new FakeClock(1_700_000_000_000);
  landed = new LandedPaths(() => clock.monotonic());
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes `rel` and returns the entry a pull would have recorded for it (its stat, as recordedAs takes it). */
function land(rel: string, content = 'pulled content'): Omit<LocalEntry, 'sequence'> {
  const abs = path.join(root, rel);
  writeFileSync(abs, content);
  const st = lstatSync(abs);
  return { path: rel, type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: 'h', target: '', version: { peer: 1 }, deleted: false, inode: st.ino };
}

const look = (rel: string) => observeFileNow(root, rel);

describe('isUnchangedEcho', () => {
  it('is true for a file that landed and is on disk as recorded', () => {
    landed.note([land('a.txt')]);
    expect(landed.isOwnEcho('a.txt')).toBe(true);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(true);
  });

  it('is false for a path no pull landed', () => {
    land('mine.txt');
    expect(landed.isUnchangedEcho('mine.txt', look)).toBe(false);
  });

  it('is false once the file was edited, even to the same size', () => {
    landed.note([land('a.txt', 'pulled content')]);
    const abs = path.join(root, 'a.txt');
    writeFileSync(abs, 'edited content'); // same size, same inode
    // The edit shows in the mtime alone; set it apart explicitly, as a coarse clock might not.
    const later = new Date(Date.now() + 5_000);
    utimesSync(abs, later, later);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(false);
  });

  it('is false when only the mode changed', () => {
    landed.note([land('a.txt')]);
    chmodSync(path.join(root, 'a.txt'), 0o600);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(false);
  });

  it('is false when the file was replaced by a new one (another inode), deleted, or swapped for a dir or a link', () => {
    const entries = ['new.txt', 'gone.txt', 'dir.txt', 'link.txt'].map((p) => land(p));
    landed.note(entries);
    // An editor's save: the same content written to a new file and renamed over the old one.
    writeFileSync(path.join(root, 'new.txt.tmp'), 'pulled content');
    renameSync(path.join(root, 'new.txt.tmp'), path.join(root, 'new.txt'));
    writeFileSync(path.join(root, 'other.txt'), 'pulled content');
    rmSync(path.join(root, 'gone.txt'));
    rmSync(path.join(root, 'dir.txt'));
    mkdirSync(path.join(root, 'dir.txt'));
    rmSync(path.join(root, 'link.txt'));
    symlinkSync('other.txt', path.join(root, 'link.txt'));
    for (const p of ['new.txt', 'gone.txt', 'dir.txt', 'link.txt']) expect(landed.isUnchangedEcho(p, look), p).toBe(false);
  });

  it('is false for a dir that landed: its scan walks what it holds', () => {
    mkdirSync(path.join(root, 'd'));
    const st = lstatSync(path.join(root, 'd'));
    landed.note([{ path: 'd', type: 'dir', size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, hash: '', target: '', version: { peer: 1 }, deleted: false, inode: st.ino }]);
    expect(landed.isOwnEcho('d')).toBe(true);
    // Even a look that sees the dir exactly as it landed.
    const asLanded = (rel: string) => ({ path: rel, type: 'dir' as const, size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, inode: st.ino, target: '' });
    expect(landed.isUnchangedEcho('d', asLanded)).toBe(false);
  });

  it('is false once a local change was recorded for the path', () => {
    landed.note([land('a.txt')]);
    landed.forget(['a.txt']);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(false);
  });

  it('is false after the echo window, and true again when the path lands again', () => {
    landed.note([land('a.txt')]);
    clock.advance(2_001);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(false);
    landed.note([land('a.txt', 'a newer version')]);
    expect(landed.isUnchangedEcho('a.txt', look)).toBe(true);
  });

  it('is false when the look fails: the scan meets the failure and deals with it', () => {
    landed.note([land('a.txt')]);
    const failing = () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    expect(landed.isUnchangedEcho('a.txt', failing)).toBe(false);
  });
});
