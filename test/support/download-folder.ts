/**
 * What the download tests run on: a fresh folder root for each test, with
 * its `.wizard` dir and the temp place of its file 'f' (where a download of
 * 'f' is made), removed after the test; and, for the tests that hash on
 * threads, a pool of the built worker for the whole file.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { tempPlaceFor, type TempPlace } from '../../src/sync/disk/temp-place.js';
import { WorkerPool } from '../../src/workers/pool.js';

/** The current test's folder root and the temp place of its file 'f'. */
export interface DownloadFolder {
  readonly dir: string;
  readonly place: TempPlace;
}

/** Registers the hooks that give each test of the file a fresh folder (named after `prefix`); read its fields inside a test. */
export function eachDownloadFolder(prefix: string): DownloadFolder {
  let current: DownloadFolder | undefined;
  const now = (): DownloadFolder => {
    if (current === undefined) throw new Error('the download folder exists only while a test runs');
    return current;
  };
  beforeEach(() => {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    mkdirSync(path.join(dir, '.wizard'));
    current = { dir, place: tempPlaceFor(dir, 'f') };
  });
  afterEach(() => {
    if (current !== undefined) rmSync(current.dir, { recursive: true, force: true });
    current = undefined;
  });
  return {
    get dir() {
      return now().dir;
    },
    get place() {
      return now().place;
    },
  };
}

/** A pool of `threads` threads of the built worker (dist/), made before the file's tests and closed after them. */
export function fileWorkerPool(threads: number): { readonly pool: WorkerPool } {
  let pool: WorkerPool | undefined;
  beforeAll(() => {
    pool = new WorkerPool(() => threads, { script: new URL('../../dist/workers/worker.js', import.meta.url) });
  });
  afterAll(async () => {
    await pool?.close();
  });
  return {
    get pool() {
      if (pool === undefined) throw new Error('the worker pool exists only while the file runs');
      return pool;
    },
  };
}
