/**
 * Small pulls' disk work in worker jobs (disk-batches.ts, workers/disk-jobs.ts),
 * on a real temp dir: what comes together goes in batches, a lone file is
 * left to its caller, one file's failure is its own, and a download of many
 * small files at once lands its temp files through the batches. The real
 * threads (the compiled worker from dist/) run the same jobs in one case.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileEntry } from '../../src/index/entry.js';
import { DiskBatches, MAX_FILES, MIN_BATCH } from '../../src/sync/pull/disk-batches.js';
import { download } from '../../src/sync/pull/fetch.js';
import { sharedTempDir, tempPlaceFor } from '../../src/sync/disk/temp-place.js';
import { inlineRunner, WorkerPool, type JobRunner } from '../../src/workers/pool.js';
import type { JobKind } from '../../src/workers/jobs.js';
import { fakePeer } from '../support/peer.js';
import { seededBytes } from '../support/random.js';

const workerScript = new URL('../../dist/workers/worker.js', import.meta.url);
let root: string;
let tmp: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wizard-disk-batches-'));
  mkdirSync(path.join(root, '.wizard'));
  tmp = sharedTempDir(root);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** inlineRunner, counting the jobs of each kind it ran and the items in each. */
function countingRunner(): JobRunner & { jobs: Array<{ kind: JobKind; items: number }> } {
  const jobs: Array<{ kind: JobKind; items: number }> = [];
  return {
    jobs,
    run: (kind, args) => {
      const a = args as { files?: unknown[]; dirs?: unknown[] };
      jobs.push({ kind, items: (a.files ?? a.dirs ?? []).length });
      return inlineRunner.run(kind, args);
    },
    close: () => Promise.resolve(),
  };
}

/** A batcher flushed only by hand, so a test decides what comes together. */
function handFlushed(runner: JobRunner): DiskBatches {
  return new DiskBatches(runner, () => undefined);
}

const fileJob = (name: string, data: Buffer, mode = 0o640, mtimeMs = 1_600_000_000_123) => ({ file: path.join(tmp, name), data, mode, mtimeMs });

describe('DiskBatches', () => {
  it('writes temp files asked for together in one worker job: bytes, mode, mtime, and the stat the index records', async () => {
    const runner = countingRunner();
    const batches = handFlushed(runner);
    const contents = Array.from({ length: MIN_BATCH + 2 }, (_, i) => seededBytes(1024 * (i + 1), i));
    const written = contents.map((data, i) => batches.writeTemp(root, fileJob(`t${i}`, data)));
    batches.flush();
    const stats = await Promise.all(written);
    expect(runner.jobs).toEqual([{ kind: 'write-temps', items: contents.length }]);
    contents.forEach((data, i) => {
      const file = path.join(tmp, `t${i}`);
      const st = statSync(file);
      expect(readFileSync(file).equals(data)).toBe(true);
      expect(st.mode & 0o777).toBe(0o640);
      expect(Math.round(st.mtimeMs)).toBe(1_600_000_000_123);
      expect(stats[i]).toEqual({ size: data.length, mtimeMs: st.mtimeMs, mode: st.mode, ino: st.ino });
    });
  });

  it('leaves fewer than MIN_BATCH at once to the caller: no job, nothing written', async () => {
    const runner = countingRunner();
    const batches = handFlushed(runner);
    const written = Array.from({ length: MIN_BATCH - 1 }, (_, i) => batches.writeTemp(root, fileJob(`t${i}`, Buffer.from('x'))));
    const synced = batches.syncDir(root);
    batches.flush();
    expect(await Promise.all(written)).toEqual(Array.from({ length: MIN_BATCH - 1 }, () => undefined));
    expect(await synced).toBe(false);
    expect(runner.jobs).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('fails only the file that fails (a name that exists is never written over) and makes the rest', async () => {
    const batches = handFlushed(inlineRunner);
    writeFileSync(path.join(tmp, 't1'), 'not ours to replace');
    const written = ['t0', 't1', 't2', 't3', 't4'].map((n) => batches.writeTemp(root, fileJob(n, Buffer.from(`bytes of ${n}`))));
    batches.flush();
    const results = await Promise.allSettled(written);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path.join(tmp, 't1'), 'utf8')).toBe('not ours to replace');
    expect(readFileSync(path.join(tmp, 't4'), 'utf8')).toBe('bytes of t4');
  });

  it('makes nothing when the folder\'s .wizard marker is gone: every file fails with CHANGED', async () => {
    const batches = handFlushed(inlineRunner);
    rmSync(path.join(root, '.wizard'), { recursive: true });
    const written = ['a', 'b', 'c', 'd'].map((n) => batches.writeTemp(root, { ...fileJob(n, Buffer.from(n)), file: path.join(root, '.wizard', 'tmp', n) }));
    batches.flush();
    for (const r of await Promise.allSettled(written)) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'CHANGED' } });
    expect(existsSync(path.join(root, '.wizard'))).toBe(false);
  });

  it(`splits a burst into jobs of at most ${MAX_FILES} files, and fsyncs many dirs in one job (a missing dir fails alone)`, async () => {
    const runner = countingRunner();
    const batches = handFlushed(runner);
    const written = Array.from({ length: MAX_FILES + 8 }, (_, i) => batches.writeTemp(root, fileJob(`t${i}`, Buffer.from(`${i}`))));
    const dirs = ['a', 'b', 'c', 'd'].map((d) => path.join(root, d));
    for (const d of dirs.slice(0, 3)) mkdirSync(d);
    const synced = dirs.map((d) => batches.syncDir(d));
    batches.flush();
    await Promise.all(written);
    const dirResults = await Promise.allSettled(synced);
    expect(runner.jobs).toEqual([
      { kind: 'write-temps', items: MAX_FILES },
      { kind: 'write-temps', items: 8 },
      { kind: 'fsync-dirs', items: 4 },
    ]);
    expect(dirResults.slice(0, 3)).toEqual(Array.from({ length: 3 }, () => ({ status: 'fulfilled', value: true })));
    expect(dirResults[3]).toMatchObject({ status: 'rejected', reason: { code: 'ENOENT' } });
  });

  it('runs the same jobs on real worker threads', async () => {
    const pool = new WorkerPool(() => 2, { script: workerScript });
    try {
      const batches = new DiskBatches(pool);
      const contents = Array.from({ length: 6 }, (_, i) => seededBytes(4096, 40 + i));
      const stats = await Promise.all(contents.map((data, i) => batches.writeTemp(root, fileJob(`w${i}`, data))));
      contents.forEach((data, i) => {
        expect(readFileSync(path.join(tmp, `w${i}`)).equals(data)).toBe(true);
        expect(stats[i]?.ino).toBe(statSync(path.join(tmp, `w${i}`)).ino);
      });
      expect(await Promise.all(['a', 'b', 'c', 'd'].map((d) => (mkdirSync(path.join(root, d)), batches.syncDir(path.join(root, d)))))).toEqual([true, true, true, true]);
    } finally {
      await pool.close();
    }
  });

  it('lands the temp files of small downloads that arrive together through one job, each verified first', async () => {
    const runner = countingRunner();
    const batches = new DiskBatches(runner);
    const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, seededBytes(2048 + i, 60 + i)]));
    const peer = fakePeer(files);
    const entryOf = (rel: string, data: Buffer): FileEntry => ({
      path: rel, type: 'file', size: data.length, mtimeMs: 1_700_000_000_000, mode: 0o644,
      hash: createHash('sha256').update(data).digest('hex'), target: '', version: { p: 1 }, deleted: false, sequence: 1,
    });
    const deps = { ...peer, runner, diskBatches: batches };
    const done = await Promise.all(Object.entries(files).map(([rel, data]) => download(tempPlaceFor(root, rel), entryOf(rel, data), ['peer'], undefined, deps)));
    for (const [i, d] of done.entries()) expect(readFileSync(d.temp).equals(files[`f${i}`] as Buffer)).toBe(true);
    expect(runner.jobs).toEqual([{ kind: 'write-temps', items: 6 }]);
    // A forged answer is refused before anything is written for it.
    const forged = fakePeer({ g: Buffer.from('forged bytes') });
    await expect(download(tempPlaceFor(root, 'g'), entryOf('g', Buffer.from('the real bytes')), ['peer'], undefined, { ...forged, runner, diskBatches: batches })).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    expect(readdirSync(tmp)).toHaveLength(6);
  });
});
