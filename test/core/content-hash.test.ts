/**
 * The content hash (identity v2): pinned by the test vectors of
 * docs/PROTOCOL.md (computed there by an independent Python script), the same
 * whatever the chunking of the bytes, and the same from leaves joined in any order of computation.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash, ContentHasher, hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES, leafCount, LeafHasher } from '../../src/core/content-hash.js';
import { seededBytes } from '../support/random.js';
import { contentHashHex } from '../support/wire-peer.js';

describe('content hash', () => {
  // The vectors of docs/PROTOCOL.md section 2.1.
  const vectors = [
    { name: 'no bytes (one leaf, the digest of nothing)', bytes: Buffer.alloc(0), hex: 'b85d45fa411b32898b91cdf6354939a6262573464c11dccf591d6e2490a3324e' },
    { name: '"abc"', bytes: Buffer.from('abc'), hex: 'c5014cd753156a47f1fa4a92d6c599668f082c9e2f9b701039a36ee0245543fc' },
    { name: '64 KiB of zeros (exactly one leaf)', bytes: Buffer.alloc(LEAF_BYTES), hex: 'cdb8dcbbf034883cbf7991df12fc7dea214ab28ff78d246ad918064bf957a5d7' },
    { name: '64 KiB + 1 of "a" (a second leaf of one byte)', bytes: Buffer.alloc(LEAF_BYTES + 1, 'a'), hex: 'ea4f334e4670a1863fc0a604f1e1b1fc18047d630398fc55232042017727e3d0' },
    { name: '1 MiB of i mod 251', bytes: Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => i % 251)), hex: '4e3d0c046dcc7e9cd2dcbfd6283bc7e990369b251f4a559f65d28728ab6ac0c9' },
  ];
  for (const v of vectors) {
    it(`matches the vector for ${v.name}`, () => {
      expect(contentHash(v.bytes)).toBe(v.hex);
      // The test client's own copy, written from the spec, agrees.
      expect(contentHashHex(v.bytes)).toBe(v.hex);
    });
  }

  it('does not depend on how the bytes are chunked', () => {
    const data = seededBytes(3 * LEAF_BYTES + 777, 4);
    const whole = contentHash(data);
    for (const step of [1000, LEAF_BYTES - 1, LEAF_BYTES, LEAF_BYTES + 1, 5 * LEAF_BYTES]) {
      const h = new ContentHasher();
      for (let at = 0; at < data.length; at += step) h.update(data.subarray(at, at + step));
      expect(h.digest(), `chunks of ${step}`).toBe(whole);
    }
  });

  it('is the same from leaves hashed apart and joined in file order', () => {
    const data = seededBytes(5 * LEAF_BYTES + 9, 8);
    const leaves = new Uint8Array(leafCount(data.length) * LEAF_DIGEST_BYTES);
    // Second half first, as another thread might finish it first.
    for (const [from, to] of [[3, 6], [0, 3]] as const) {
      const part = new LeafHasher();
      part.push(data.subarray(from * LEAF_BYTES, to * LEAF_BYTES));
      leaves.set(part.finish(), from * LEAF_DIGEST_BYTES);
    }
    expect(hashOfLeaves(data.length, leaves)).toBe(contentHash(data));
  });

  it('differs for the same leaves under another size, and refuses a leaf count that does not fit the size', () => {
    const a = new LeafHasher();
    a.push(Buffer.from('x'));
    const leaves = a.finish();
    expect(hashOfLeaves(1, leaves)).not.toBe(hashOfLeaves(2, leaves));
    expect(() => hashOfLeaves(LEAF_BYTES + 1, leaves)).toThrow();
  });
});

describe('ContentHasher.updateLeaf (a download that hashed a leaf itself, to check it)', () => {
  it('gives the same hash as the bytes, for whole leaves and a short last one', () => {
    const data = seededBytes(3 * LEAF_BYTES + 1000, 41);
    const h = new ContentHasher();
    h.update(data.subarray(0, LEAF_BYTES));
    expect(h.atLeaf).toBe(true);
    for (let at = LEAF_BYTES; at < data.length; at += LEAF_BYTES) {
      const leaf = data.subarray(at, Math.min(data.length, at + LEAF_BYTES));
      h.updateLeaf(createHash('sha256').update(leaf).digest(), leaf.length);
    }
    expect(h.atLeaf).toBe(false);
    expect(h.digest()).toBe(contentHash(data));
  });

  it('refuses a leaf digest off a leaf boundary, and bytes after a short leaf', () => {
    const h = new ContentHasher();
    h.update(Buffer.alloc(10));
    expect(h.atLeaf).toBe(false);
    expect(() => h.updateLeaf(Buffer.alloc(LEAF_DIGEST_BYTES), LEAF_BYTES)).toThrow(/leaf/);
    const g = new ContentHasher();
    g.updateLeaf(Buffer.alloc(LEAF_DIGEST_BYTES), 100);
    expect(() => g.update(Buffer.alloc(1))).toThrow(/short leaf/);
  });
});
