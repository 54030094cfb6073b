/**
 * Hashing a big file split over the pool's threads: the same hash and block
 * sums as one pass over it, and CHANGED when the file moves under the jobs.
 */
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../src/core/errors.js';
import { blockCount, blockSizeFor, signatureOf } from '../../src/delta/signature.js';
import { statKey } from '../../src/index/hash.js';
import { hashFile, SPLIT_MIN_BYTES, sumsSlices } from '../../src/workers/hash-file.js';
import { inlineRunner, WorkerPool } from '../../src/workers/pool.js';
import { seededBytes } from '../support/random.js';

const workerScript = new URL('../../dist/workers/worker.js', import.meta.url);
const MiB = 1024 * 1024;
let dir: string;
let pool: WorkerPool;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-hashfile-'));
  pool = new WorkerPool(() => 2, { script: workerScript });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sumsSlices', () => {
  // size: file bytes; slices: expected number of slices.
  const cases = [
    { name: 'a file under one slice is one slice', size: 5 * MiB, slices: 1 },
    { name: '16 MiB makes two slices of 8 MiB', size: 16 * MiB, slices: 2 },
    { name: '64 MiB makes the most slices', size: 64 * MiB, slices: 8 },
    { name: '512 MiB still makes the most slices', size: 512 * MiB, slices: 8 },
    { name: 'a short last block lands in the last slice', size: 40 * MiB + 123, slices: 5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const blockSize = blockSizeFor(c.size);
      const slices = sumsSlices(c.size, blockSize);
      expect(slices).toHaveLength(c.slices);
      // Consecutive and covering every block exactly once.
      let next = 0;
      for (const [first, count] of slices) {
        expect(first).toBe(next);
        expect(count).toBeGreaterThan(0);
        next = first + count;
      }
      expect(next).toBe(blockCount(c.size, blockSize));
    });
  }
});

describe('hashFile', () => {
  it('gives the same hash and sums as one pass, for a file split over threads and one that is not', async () => {
    for (const size of [SPLIT_MIN_BYTES - 1, SPLIT_MIN_BYTES + 3 * MiB + 17]) {
      const data = seededBytes(size, size % 97);
      const file = path.join(dir, `f${size}`);
      writeFileSync(file, data);
      const stat = statKey(statSync(file));
      const expected = signatureOf(data);
      for (const runner of [pool, inlineRunner]) {
        const got = await hashFile(runner, file, stat);
        expect(got.hash).toBe(createHash('sha256').update(data).digest('hex'));
        expect(got.sums?.blockSize).toBe(expected.blockSize);
        expect(got.sums?.fileSize).toBe(size);
        expect(Buffer.from(got.sums?.weak.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(expected.weak.buffer))).toBe(true);
        expect(Buffer.from(got.sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
      }
    }
  });

  it('gives the same sums with the prior version’s sums, split or not', async () => {
    for (const size of [SPLIT_MIN_BYTES - 1, SPLIT_MIN_BYTES + 3 * MiB + 17]) {
      const before = seededBytes(size, 1);
      const after = Buffer.from(before);
      after.fill(3, size >> 1, (size >> 1) + 4096);
      const file = path.join(dir, `edited${size}`);
      writeFileSync(file, after);
      const got = await hashFile(pool, file, statKey(statSync(file)), signatureOf(before));
      const expected = signatureOf(after);
      expect(Buffer.from(got.sums?.weak.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(expected.weak.buffer))).toBe(true);
      expect(Buffer.from(got.sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
    }
  });

  it('fails with CHANGED when the file is not the version stat’ed', async () => {
    const file = path.join(dir, 'moved');
    writeFileSync(file, seededBytes(SPLIT_MIN_BYTES + MiB, 5));
    const stat = statKey(statSync(file));
    // Another file renamed over it: same size, other inode.
    const other = path.join(dir, 'other');
    writeFileSync(other, seededBytes(SPLIT_MIN_BYTES + MiB, 6));
    renameSync(other, file);
    const err: unknown = await hashFile(pool, file, stat).catch((e: unknown) => e);
    expect(hasCode(err, 'CHANGED')).toBe(true);
  });
});

describe('M1: a file appended, truncated and rewritten at about 1 kHz while it is hashed', () => {
  it('M1: each hash is dropped with CHANGED or is the hash of a version the file really had; once writes stop it is the last content', async () => {
    const file = path.join(dir, 'busy');
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    let content = Buffer.from(seededBytes(512 * 1024, 9));
    writeFileSync(file, content);
    const versions = new Set([sha(content)]);
    let stop = false;
    const writer = (async () => {
      const fd = openSync(file, 'r+');
      try {
        for (let n = 0; !stop; n++) {
          if (n % 3 === 0) {
            // Rewritten in place: same size, same inode, new bytes.
            content = Buffer.from(content.map((x, i) => (i % 4096 === 0 ? (x + 1) & 0xff : x)));
            writeSync(fd, content, 0, content.length, 0);
          } else if (n % 3 === 1) {
            const more = Buffer.from(seededBytes(1000, n));
            writeSync(fd, more, 0, more.length, content.length);
            content = Buffer.concat([content, more]);
          } else {
            content = content.subarray(0, content.length - 700);
            ftruncateSync(fd, content.length);
          }
          versions.add(sha(content));
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        closeSync(fd);
      }
    })();
    let changed = 0;
    const deadline = Date.now() + 1500;
    try {
      while (Date.now() < deadline) {
        try {
          const { hash } = await hashFile(pool, file, statKey(statSync(file)));
          expect(versions.has(hash)).toBe(true);
        } catch (err) {
          expect(hasCode(err, 'CHANGED'), String(err)).toBe(true);
          changed++;
        }
      }
    } finally {
      stop = true;
      await writer;
    }
    expect(changed).toBeGreaterThan(0);
    const { hash } = await hashFile(pool, file, statKey(statSync(file)));
    expect(hash).toBe(sha(content));
  });
});
