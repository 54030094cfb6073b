/**
 * Hashing a big file split over the pool's threads in one read: the same
 * content hash, leaf digests and block sums as one pass over it, and CHANGED
 * when the file moves under the jobs.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentHash, LEAF_BYTES, LeafHasher } from '../../src/core/content-hash.js';
import { hasCode } from '../../src/core/errors.js';
import { blockCount, blockSizeFor, signatureOf } from '../../src/delta/signature.js';
import { statKey } from '../../src/index/hash.js';
import { hashFile, hashSlices, SPLIT_MIN_BYTES } from '../../src/workers/hash-file.js';
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

describe('hashSlices', () => {
  // size: file bytes; slices: expected number of slices; sums: whether block sums come too.
  const cases = [
    { name: 'a file under one slice is one slice', size: 5 * MiB, slices: 1, sums: true },
    { name: '16 MiB makes two slices of 8 MiB', size: 16 * MiB, slices: 2, sums: true },
    { name: '15 MiB is one slice: its blocks of 19 KiB and the leaves line up every 1,216 KiB', size: 15 * MiB, slices: 1, sums: true },
    { name: '64 MiB makes 8 slices: its blocks are leaves', size: 64 * MiB, slices: 8, sums: true },
    { name: '512 MiB still makes the most slices', size: 512 * MiB, slices: 8, sums: true },
    { name: 'a short last block lands in the last slice', size: 40 * MiB + 123, slices: 5, sums: true },
    { name: 'leaves only (a file too big for sums) cut on leaves', size: 300 * MiB + 5, slices: 8, sums: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const blockSize = c.sums ? blockSizeFor(c.size) : undefined;
      const slices = hashSlices(c.size, blockSize);
      expect(slices).toHaveLength(c.slices);
      // Consecutive, covering every byte exactly once, each starting on a leaf and a block.
      let next = 0;
      for (const [start, length] of slices) {
        expect(start).toBe(next);
        expect(start % LEAF_BYTES).toBe(0);
        if (blockSize !== undefined) expect(start % blockSize).toBe(0);
        expect(length).toBeGreaterThan(0);
        next = start + length;
      }
      expect(next).toBe(c.size);
      if (blockSize !== undefined) expect(blockCount(c.size, blockSize)).toBeGreaterThan(0);
    });
  }
});

describe('hashFile', () => {
  it('gives the same hash, leaves and sums as one pass, for a file split over threads and one that is not (blocks of one leaf included)', async () => {
    for (const size of [SPLIT_MIN_BYTES - 1, SPLIT_MIN_BYTES + 3 * MiB + 17, 172 * MiB + 5]) {
      const data = seededBytes(size, size % 97);
      const file = path.join(dir, `f${size}`);
      writeFileSync(file, data);
      const stat = statKey(statSync(file));
      const expected = signatureOf(data);
      for (const runner of [pool, inlineRunner]) {
        const got = await hashFile(runner, file, stat);
        expect(got.hash).toBe(contentHash(data));
        const leaves = new LeafHasher();
        leaves.push(data);
        expect(Buffer.from(got.leaves).equals(Buffer.from(leaves.finish()))).toBe(true);
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
    const sha = contentHash;
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
