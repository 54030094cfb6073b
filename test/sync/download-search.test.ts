/**
 * A delta download whose rolling search runs while the temp file is written
 * (search-fill.ts, issue 18's SHIFT): a real worker thread searches our file
 * slice by slice, against an in-memory peer, on a real temp dir. What it
 * must keep: every block taken from our file checked against the peer's
 * strong sum before it is written, a wrong one fetched in its place, and no
 * write or search left running when the download returns or fails.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { signatureOf } from '../../src/delta/signature.js';
import type { FileEntry } from '../../src/index/entry.js';
import { download } from '../../src/sync/pull/fetch.js';
import type { JobRunner } from '../../src/workers/pool.js';
import { diskFullAfter } from '../support/disk-full.js';
import { eachDownloadFolder, fileWorkerPool } from '../support/download-folder.js';
import { fakePeer } from '../support/peer.js';
import { seededBytes } from '../support/random.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const workers = fileWorkerPool(1);
const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});
const folder = eachDownloadFolder('wizard-download-search-');

/** 17 MiB (blocks of one leaf), and the same with 100 bytes inserted at offset 0 (SHIFT). */
const old = seededBytes(17 * MiB, 31);
const shifted = Buffer.concat([seededBytes(100, 32), old]);

/** Our file `f` with `content` and its stored sums, open as a delta basis. */
function basisOf(content: Buffer): { fd: number; sums: ReturnType<typeof signatureOf> } {
  writeFileSync(path.join(folder.dir, 'f'), content);
  const fd = openSync(path.join(folder.dir, 'f'), 'r');
  opened.push(fd);
  return { fd, sums: signatureOf(content) };
}

function entryOf(content: Buffer): FileEntry {
  return { path: 'f', type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, hash: contentHash(content), target: '', version: { p: 1 }, deleted: false, sequence: 1 };
}

const temps = () => (existsSync(folder.place.dir) ? readdirSync(folder.place.dir).filter((n) => n.startsWith('.~wizard-')) : []);

/**
 * What a download did, in order ('locate' as a search job starts, 'write' as
 * a write to the temp file starts), and what is still running: search jobs
 * and writes. `onLocate(n)` runs as the n-th search job starts.
 */
function watched(onLocate: (n: number) => void = () => undefined, openTemp: (file: string) => Promise<FileHandle> = (f) => open(f, 'wx+', 0o600)) {
  const log: string[] = [];
  const running = { jobs: 0, writes: 0 };
  let locates = 0;
  const runner: JobRunner = {
    run: (kind, args) => {
      if (kind === 'locate') {
        log.push('locate');
        onLocate(++locates);
      }
      running.jobs++;
      return workers.pool.run(kind, args).finally(() => running.jobs--);
    },
    close: () => Promise.resolve(),
  };
  const watchedTemp = async (file: string): Promise<FileHandle> => {
    const fh = await openTemp(file);
    return new Proxy(fh, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (prop !== 'write') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        return (...args: unknown[]) => {
          log.push('write');
          running.writes++;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => running.writes--);
        };
      },
    });
  };
  return { log, running, runner, openTemp: watchedTemp };
}

describe('a shift searched while it is written (blocks of one leaf)', () => {
  it('searches our file slice by slice and writes the blocks found before the search ends; one block fetched, no 1 KiB refinement', async () => {
    const peer = fakePeer({ f: shifted });
    const asked: number[] = [];
    const readSums: typeof peer.readSums = (p, req) => (asked.push(req.blockSize), peer.readSums(p, req));
    const w = watched();
    const { temp, sums } = await download(folder.place, entryOf(shifted), ['peer'], basisOf(old), { ...peer, readSums, runner: w.runner, openTemp: w.openTemp });
    expect(readFileSync(temp).equals(shifted)).toBe(true);
    expect(peer.blockBytes).toBe(64 * KiB);
    expect(w.log.indexOf('write')).toBeGreaterThanOrEqual(0);
    expect(w.log.indexOf('write'), w.log.join(' ')).toBeLessThan(w.log.lastIndexOf('locate'));
    // The new first block's neighbour moved: comparing it with ours at the same offset at 1 KiB would find nothing.
    expect(asked).not.toContain(KiB);
    const expected = signatureOf(shifted);
    expect(Array.from(sums?.weak ?? [])).toEqual(Array.from(expected.weak));
    expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
  });

  it('a thread is started for the search during the block sums\' round trip when every group from the first changed one changed; not for an edit in place', async () => {
    const edited = Buffer.from(old);
    edited.fill(7, 5 * MiB, 5 * MiB + 100);
    for (const [content, warms] of [[shifted, 1], [edited, 0]] as const) {
      const peer = fakePeer({ f: content });
      const order: string[] = [];
      const readSums: typeof peer.readSums = (p, req) => (order.push(req.group > 1 ? 'groups' : 'sums'), peer.readSums(p, req));
      const runner: JobRunner = { run: (kind, args) => (order.push(kind), workers.pool.run(kind, args)), close: () => Promise.resolve(), warm: () => order.push('warm') };
      const { temp } = await download(folder.place, entryOf(content), ['peer'], basisOf(old), { ...peer, readSums, runner });
      expect(readFileSync(temp).equals(content)).toBe(true);
      expect(order.filter((o) => o === 'warm').length, order.join(' ')).toBe(warms);
      if (warms > 0) expect(order.slice(0, 3), order.join(' ')).toEqual(['groups', 'warm', 'sums']);
    }
  });

  it('an edit in place of the first block is still refined to 1 KiB', async () => {
    const edited = Buffer.from(old);
    edited.fill(7, 2100, 2200);
    const peer = fakePeer({ f: edited });
    const asked: number[] = [];
    const readSums: typeof peer.readSums = (p, req) => (asked.push(req.blockSize), peer.readSums(p, req));
    const { temp } = await download(folder.place, entryOf(edited), ['peer'], basisOf(old), { ...peer, readSums, runner: workers.pool });
    expect(readFileSync(temp).equals(edited)).toBe(true);
    expect(asked).toContain(KiB);
    expect(peer.blockBytes).toBe(KiB);
  });

  it('an edit in place before a shift: the search runs while writing, and the edited block, its neighbours in place, is refined to 1 KiB', async () => {
    const edited = Buffer.from(old);
    edited.fill(7, 5 * 64 * KiB + 2100, 5 * 64 * KiB + 2200);
    const target = Buffer.concat([edited.subarray(0, 10 * MiB), seededBytes(100, 33), edited.subarray(10 * MiB)]);
    const peer = fakePeer({ f: target });
    const asked: number[] = [];
    const readSums: typeof peer.readSums = (p, req) => (asked.push(req.blockSize), peer.readSums(p, req));
    const w = watched();
    const { temp } = await download(folder.place, entryOf(target), ['peer'], basisOf(old), { ...peer, readSums, runner: w.runner, openTemp: w.openTemp });
    expect(readFileSync(temp).equals(target)).toBe(true);
    expect(w.log.filter((e) => e === 'locate').length).toBeGreaterThan(1);
    expect(asked).toContain(KiB);
    // 1 KiB of the edit, and the block holding the 100 new bytes (its piece after them shifted: nothing lines up).
    expect(peer.blockBytes).toBe(KiB + 64 * KiB);
  });

  it('a block of our file that changed after the search found it is fetched in its place, and the file lands right', async () => {
    const peer = fakePeer({ f: shifted });
    const basis = basisOf(old);
    // Once the second slice is searched, the first slice's finds are known: damage the bytes of target block 2
    // (our bytes from 128 KiB - 100) before they are copied.
    const damaged = 2 * 64 * KiB - 100 + 10;
    const w = watched((n) => {
      if (n === 2) writeFileSync(path.join(folder.dir, 'f'), Buffer.concat([old.subarray(0, damaged), Buffer.alloc(KiB, 9), old.subarray(damaged + KiB)]), { flag: 'r+' });
    });
    const fallbacks: unknown[] = [];
    const { temp, sums } = await download(folder.place, entryOf(shifted), ['peer'], basis, { ...peer, runner: w.runner, openTemp: w.openTemp, onDeltaFallback: (_r, err) => fallbacks.push(err) });
    expect(readFileSync(temp).equals(shifted)).toBe(true);
    expect(fallbacks).toEqual([]);
    // The new first block, and block 2 again: not the whole file.
    expect(peer.blockBytes).toBe(2 * 64 * KiB);
    expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(signatureOf(shifted).strong))).toBe(true);
  });

  it('aborted mid-search: it fails with the abort, no write and no search job still running, our file untouched', async () => {
    const peer = fakePeer({ f: shifted });
    const abort = new AbortController();
    const w = watched((n) => {
      if (n === 3) abort.abort();
    });
    const err: unknown = await download(folder.place, entryOf(shifted), ['peer'], basisOf(old), { ...peer, runner: w.runner, openTemp: w.openTemp, signal: abort.signal }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    expect(w.running).toEqual({ jobs: 0, writes: 0 });
    expect(w.log.filter((e) => e === 'locate').length).toBe(3);
    expect(readFileSync(path.join(folder.dir, 'f')).equals(old)).toBe(true);
  });

  it('S1: a write failing with ENOSPC mid-search fails the download with it, leaves no temp file, and nothing still running', async () => {
    const peer = fakePeer({ f: shifted });
    const w = watched(undefined, diskFullAfter(MiB).openTemp);
    const err: unknown = await download(folder.place, entryOf(shifted), ['peer'], basisOf(old), { ...peer, runner: w.runner, openTemp: w.openTemp }).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(w.running).toEqual({ jobs: 0, writes: 0 });
    expect(temps()).toEqual([]);
    expect(readFileSync(path.join(folder.dir, 'f')).equals(old)).toBe(true);
  });
});
