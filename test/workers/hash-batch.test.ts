/**
 * Small files hashed many to a job on real worker threads (the compiled
 * worker from dist/, as the daemon runs it): each caller gets its own file's
 * hash, or its own file's failure, and a scan records each file's own hash.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { contentHash } from '../../src/core/content-hash.js';
import { hasCode } from '../../src/core/errors.js';
import { statKey } from '../../src/index/hash.js';
import { IndexStore } from '../../src/index/store.js';
import { Folder } from '../../src/sync/folder.js';
import { POOL_MIN_FILES, SmallFileHashes } from '../../src/workers/hash-batch.js';
import { INLINE_MAX_BYTES } from '../../src/workers/hash-file.js';
import { inlineRunner, WorkerPool, type JobRunner } from '../../src/workers/pool.js';
import { seededBytes } from '../support/random.js';
import { loneFolderDeps } from '../support/lone-folder.js';

const workerScript = new URL('../../dist/workers/worker.js', import.meta.url);
let dir: string;
let pool: WorkerPool;
/** Jobs the pool was given, by kind, and the files of the batch jobs. */
const given = { hashBatch: 0, other: 0, files: 0 };
const counted: JobRunner = {
  run: (kind, args) => {
    if (kind === 'hashBatch') {
      given.hashBatch++;
      given.files += (args as { files: unknown[] }).files.length;
    } else given.other++;
    return pool.run(kind, args);
  },
  close: () => pool.close(),
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-hash-batch-'));
  pool = new WorkerPool(() => 2, { script: workerScript });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a file of `size` seeded bytes with an mtime an hour old; returns its bytes. */
function writeOld(abs: string, size: number, seed: number): Buffer {
  mkdirSync(path.dirname(abs), { recursive: true });
  const bytes = Buffer.from(seededBytes(size, seed));
  writeFileSync(abs, bytes);
  const old = (Date.now() - 3_600_000) / 1000;
  utimesSync(abs, old, old);
  return bytes;
}

describe('SmallFileHashes', () => {
  it('gives each caller its own file’s hash, and its own file’s failure, from jobs of many files', async () => {
    Object.assign(given, { hashBatch: 0, other: 0, files: 0 });
    const files = Array.from({ length: 150 }, (_, i) => {
      const abs = path.join(dir, 'one', `f${i}`);
      // Sizes from empty to the largest small file, each content its own.
      const size = i === 0 ? 0 : i === 1 ? INLINE_MAX_BYTES : (i * 997) % INLINE_MAX_BYTES;
      return { abs, bytes: writeOld(abs, size, i) };
    });
    const hashes = new SmallFileHashes(counted, 64);
    const asked = files.map(({ abs }, i) => {
      const stat = statKey(statSync(abs));
      // One stat'ed before its file changed, one gone: the others' answers must not depend on them.
      if (i === 70) return hashes.hash(abs, { ...stat, mtimeMs: stat.mtimeMs - 1000 });
      if (i === 71) return hashes.hash(path.join(dir, 'one', 'gone'), stat);
      return hashes.hash(abs, stat);
    });
    const settled = await Promise.allSettled(asked);
    for (const [i, r] of settled.entries()) {
      if (i === 70) expect(r.status === 'rejected' && hasCode(r.reason, 'CHANGED')).toBe(true);
      else if (i === 71) expect(r.status === 'rejected' && (r.reason as { code?: string }).code).toBe('ENOENT');
      else expect(r.status === 'fulfilled' ? r.value : r.reason, `file ${i}`).toBe(contentHash((files[i] as { bytes: Buffer }).bytes));
    }
    // 150 files asked for in one turn: three jobs of at most 64.
    expect(given).toEqual({ hashBatch: 3, other: 0, files: 150 });
  });

  it('hashes a turn of fewer files than POOL_MIN_FILES on this thread (a save), and a turn of that many on the pool', async () => {
    const onThisThread = { jobs: 0 };
    const here: JobRunner = { run: (kind, args) => (onThisThread.jobs++, inlineRunner.run(kind, args)), close: () => Promise.resolve() };
    const hashes = new SmallFileHashes(counted, 64, here);
    const write = (name: string, i: number) => {
      const abs = path.join(dir, 'few', name);
      return { abs, bytes: writeOld(abs, 100 + i, 500 + i) };
    };
    for (const count of [1, POOL_MIN_FILES - 1, POOL_MIN_FILES]) {
      Object.assign(given, { hashBatch: 0, other: 0, files: 0 });
      onThisThread.jobs = 0;
      const files = Array.from({ length: count }, (_, i) => write(`${count}-${i}`, i));
      const got = await Promise.all(files.map(({ abs }) => hashes.hash(abs, statKey(statSync(abs)))));
      expect(got).toEqual(files.map(({ bytes }) => contentHash(bytes)));
      expect([count, onThisThread.jobs, given.hashBatch]).toEqual(count < POOL_MIN_FILES ? [count, 1, 0] : [count, 0, 1]);
    }
  });
});

describe('a scan with small files hashed on the pool', () => {
  it('records each file’s own hash', async () => {
    Object.assign(given, { hashBatch: 0, other: 0, files: 0 });
    const root = path.join(dir, 'folder');
    mkdirSync(path.join(root, '.wizard'), { recursive: true });
    const written = new Map<string, Buffer>();
    for (let i = 0; i < 300; i++) written.set(`d${i % 3}/f${i}`, writeOld(path.join(root, `d${i % 3}`, `f${i}`), 1 + ((i * 131) % 8192), 1000 + i));
    // A middling file goes one to a job, as before.
    written.set('d0/mid', writeOld(path.join(root, 'd0', 'mid'), INLINE_MAX_BYTES + 1, 7));
    // The jobs hashed on this thread: SmallFileHashes's `here` is inlineRunner.
    const hereJobs: number[] = [];
    const inline = inlineRunner.run.bind(inlineRunner);
    const spy = vi.spyOn(inlineRunner, 'run').mockImplementation((kind, args) => {
      if (kind === 'hashBatch') hereJobs.push((args as { files: unknown[] }).files.length);
      return inline(kind, args);
    });
    const store = IndexStore.open(':memory:');
    const folder = new Folder(loneFolderDeps('f', root, store, { runner: counted }));
    try {
      await folder.start();
      for (const [rel, bytes] of written) expect(store.getLocal('f', rel)?.hash, rel).toBe(contentHash(bytes));
      // Every small file once, most on the pool, many to a job. Not always all 300 there: the scan yields the event
      // loop now and then, and a turn that ends with fewer than POOL_MIN_FILES files asked for hashes those here, as
      // a save's are (CI once saw 298 on the pool).
      expect(given.files + hereJobs.reduce((a, b) => a + b, 0)).toBe(300);
      for (const files of hereJobs) expect(files).toBeLessThan(POOL_MIN_FILES);
      expect(given.files).toBeGreaterThanOrEqual(300 / 2);
      expect(given.hashBatch).toBeLessThan(given.files / POOL_MIN_FILES);
      expect(given.other).toBe(1);
    } finally {
      spy.mockRestore();
      await folder.stop();
      store.close();
    }
  });
});
