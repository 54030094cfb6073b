/**
 * A patch in place checked without reading what it keeps (patch/verify-kept.ts):
 * the same hash, sums and leaves as hashing the whole result, from a read of
 * only the leaves and blocks the writes touch; a wrong byte is HASH_MISMATCH.
 */
import { describe, expect, it } from 'vitest';
import { contentHash, LEAF_BYTES, LeafHasher } from '../../src/core/content-hash.js';
import { hasCode } from '../../src/core/errors.js';
import { signatureOf, type Signature } from '../../src/delta/signature.js';
import { verifyKept } from '../../src/sync/patch/verify-kept.js';
import { seededBytes } from '../support/random.js';

const MiB = 1024 * 1024;

function sumsWithLeaves(data: Buffer): Signature {
  const leaves = new LeafHasher();
  leaves.push(data);
  return { ...signatureOf(data), leaves: leaves.finish() };
}

/** Runs the check for `old` patched by `writes`, counting the bytes it reads of `old`. */
async function check(old: Buffer, writes: Array<[number, number]>, fresh: Buffer[], size: number, hash: string, oldSums: Signature | undefined = sumsWithLeaves(old)) {
  let read = 0;
  const result = await verifyKept({
    hash,
    size,
    oldSize: old.length,
    oldSums,
    writes,
    fresh,
    read: (position, length) => {
      read += length;
      return Promise.resolve(Buffer.from(old.subarray(position, position + length)));
    },
  });
  return { result, read };
}

function patched(old: Buffer, writes: Array<[number, number]>, fresh: Buffer[], size: number): Buffer {
  const out = Buffer.alloc(size);
  old.copy(out, 0, 0, Math.min(size, old.length));
  writes.forEach(([at], k) => (fresh[k] as Buffer).copy(out, at));
  return out;
}

describe('verifyKept', () => {
  const old = Buffer.from(seededBytes(3 * MiB + 100, 11));
  const cases: Array<{ name: string; writes: Array<[number, number]>; size: number }> = [
    { name: 'edits in place, one in the short last leaf', writes: [[MiB + 10, 4096], [3 * MiB + 50, 50]], size: old.length },
    { name: 'an edit across a leaf boundary', writes: [[2 * LEAF_BYTES - 100, 300]], size: old.length },
    { name: 'an append', writes: [[old.length, 1000]], size: old.length + 1000 },
  ];
  for (const c of cases) {
    it(`gives what hashing the whole result gives, reading only what the writes touch: ${c.name}`, async () => {
      const fresh = c.writes.map(([, len], k) => Buffer.from(seededBytes(len, 100 + k)));
      const result = patched(old, c.writes, fresh, c.size);
      const { result: got, read } = await check(old, c.writes, fresh, c.size, contentHash(result));
      expect(got).not.toBe('unusable');
      if (got === 'unusable') return;
      const want = sumsWithLeaves(result);
      expect(got.sums?.blockSize).toBe(want.blockSize);
      expect(Buffer.from(got.sums?.weak.buffer ?? new ArrayBuffer(0)).equals(Buffer.from(want.weak.buffer))).toBe(true);
      expect(Buffer.from(got.sums?.strong ?? []).equals(Buffer.from(want.strong))).toBe(true);
      expect(Buffer.from(got.sums?.leaves ?? []).equals(Buffer.from(want.leaves ?? []))).toBe(true);
      // At most the touched leaves (two each) and blocks (two each), never the 3 MiB kept.
      expect(read).toBeLessThanOrEqual(c.writes.length * 2 * (LEAF_BYTES + want.blockSize));
    });
  }

  it('refuses a result that is not the announced content', async () => {
    const writes: Array<[number, number]> = [[MiB, 10]];
    const fresh = [Buffer.from('0123456789')];
    const other = patched(old, writes, [Buffer.from('9876543210')], old.length);
    const err: unknown = await check(old, writes, fresh, old.length, contentHash(other)).catch((e: unknown) => e);
    expect(hasCode(err, 'HASH_MISMATCH')).toBe(true);
  });

  it('says unusable when the stored sums have no leaves (the caller reads the whole file)', async () => {
    const { result } = await check(old, [[MiB, 1]], [Buffer.from('x')], old.length, 'f'.repeat(64), signatureOf(old));
    expect(result).toBe('unusable');
  });
});
