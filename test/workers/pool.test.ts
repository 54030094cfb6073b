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
import { FakeClock } from '../support/clock.js';
import { seededBytes } from '../support/random.js';

const workerScript = new URL('../../dist/workers/worker.js', import.meta.url);
let dir: string;
let pool: WorkerPool;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-pool-'));
  pool = new WorkerPool(() => 2, { script: workerScript });
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

  it('ends a thread no job came to within the idle time, and starts one again for the next job', async () => {
    const clock = new FakeClock(0);
    const resting = new WorkerPool(() => 2, { script: workerScript, clock, idleMs: 1_000 });
    try {
      const file = path.join(dir, 'rest');
      writeFileSync(file, 'abc');
      const job = { path: file, stat: statKey(statSync(file)) };
      const first = await resting.run('hash', job);
      expect(resting.threads()).toBe(1);
      clock.advance(999);
      expect(resting.threads()).toBe(1);
      clock.advance(1);
      expect(resting.threads()).toBe(0);
      expect(clock.pendingTimers()).toBe(0);
      expect((await resting.run('hash', job)).hash).toBe(first.hash);
      expect(resting.threads()).toBe(1);
    } finally {
      await resting.close();
    }
    expect(clock.pendingTimers()).toBe(0);
  });

  it('warm starts a thread ahead of a job, which the job then takes; not with one idle or at the limit; it ends after the idle time like any', async () => {
    const clock = new FakeClock(0);
    const warmed = new WorkerPool(() => 1, { script: workerScript, clock, idleMs: 1_000 });
    try {
      warmed.warm();
      expect(warmed.threads()).toBe(1);
      // One idle already (and the limit is one): no second.
      warmed.warm();
      expect(warmed.threads()).toBe(1);
      const file = path.join(dir, 'warm');
      writeFileSync(file, 'abc');
      const done = await warmed.run('hash', { path: file, stat: statKey(statSync(file)) });
      expect(done.hash).toBe((await inlineRunner.run('hash', { path: file, stat: statKey(statSync(file)) })).hash);
      expect(warmed.threads()).toBe(1);
      clock.advance(1_000);
      expect(warmed.threads()).toBe(0);
    } finally {
      await warmed.close();
    }
    warmed.warm();
    expect(warmed.threads()).toBe(0);
  });

  it('refuses jobs once closed', async () => {
    const closed = new WorkerPool(() => 1, { script: workerScript });
    await closed.close();
    await expect(closed.run('hash', { path: 'x', stat: { size: 0, mtimeMs: 0, inode: 0 } })).rejects.toThrow('closed');
  });
});
