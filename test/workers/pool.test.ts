/**
 * The worker pool on real threads (the compiled worker from dist/, as the
 * daemon runs it): same results as inline, errors keep their code.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/core/errors.js';
import { statKey } from '../../src/index/hash.js';
import { inlineRunner, WorkerPool } from '../../src/workers/pool.js';
import { seededBytes } from '../support/random.js';

const workerScript = new URL('../../dist/workers/worker.js', import.meta.url);
let dir: string;
let pool: WorkerPool;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-pool-'));
  pool = new WorkerPool(() => 2, workerScript);
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('WorkerPool', () => {
  it('hashes files in worker threads with the same result as inline, several at once', async () => {
    const files = [0, 1, 2].map((i) => {
      const file = path.join(dir, `f${i}`);
      writeFileSync(file, seededBytes(100_000 * (i + 1), i));
      return file;
    });
    const jobs = files.map((file) => ({ path: file, stat: statKey(statSync(file)) }));
    const threaded = await Promise.all(jobs.map((j) => pool.run('hash', j)));
    const inline = await Promise.all(jobs.map((j) => inlineRunner.run('hash', j)));
    expect(threaded.map((r) => r.hash)).toEqual(inline.map((r) => r.hash));
    expect(threaded[2]?.sums?.weak).toEqual(inline[2]?.sums?.weak);
  });

  it('passes a job error back with its code', async () => {
    const file = path.join(dir, 'moving');
    writeFileSync(file, 'abc');
    const stale = { ...statKey(statSync(file)), size: 2 };
    const err: unknown = await pool.run('hash', { path: file, stat: stale }).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
  });

  it('refuses jobs once closed', async () => {
    const closed = new WorkerPool(() => 1, workerScript);
    await closed.close();
    await expect(closed.run('hash', { path: 'x', stat: { size: 0, mtimeMs: 0, inode: 0 } })).rejects.toThrow('closed');
  });
});
