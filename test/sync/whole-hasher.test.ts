/**
 * What a whole download computes as bytes arrive (pull/whole-hasher.ts): the
 * content hash and the stored block sums, the same whether a file's blocks
 * are one leaf each (one SHA-256 per block for both) or not.
 */
import { describe, expect, it } from 'vitest';
import { contentHash, hashOfLeaves, LEAF_BYTES, LEAF_DIGEST_BYTES } from '../../src/core/content-hash.js';
import { blockSizeFor, signatureOf, STRONG_BYTES } from '../../src/delta/signature.js';
import { weakSum } from '../../src/delta/rollsum.js';
import { wholeFileHasher } from '../../src/sync/pull/whole-hasher.js';
import { seededBytes } from '../support/random.js';

const MiB = 1024 * 1024;

/** `size` bytes of a seeded 1 MiB (plus 7) pattern: cheap to make at 170 MiB. */
function patterned(size: number): Buffer {
  const content = Buffer.alloc(size);
  const chunk = seededBytes(MiB + 7, 40);
  for (let at = 0; at < size; at += chunk.length) chunk.copy(content, at);
  return content;
}

/** Pushes `content` in pieces of `piece` bytes and finishes. */
function hashInPieces(content: Buffer, piece: number) {
  const h = wholeFileHasher(content.length);
  for (let at = 0; at < content.length; at += piece) h.push(content.subarray(at, at + piece));
  return h.finish();
}

describe('wholeFileHasher', () => {
  it('gives a file of one-leaf blocks (16 MiB and more) its hash, and sums whose strong hashes are its leaf digests cut short', () => {
    const size = 16 * MiB + 12_345;
    expect(blockSizeFor(size)).toBe(LEAF_BYTES);
    expect(blockSizeFor(16 * MiB - 1)).toBeLessThan(LEAF_BYTES);
    const content = patterned(size);
    const { hash, sums } = hashInPieces(content, MiB);
    expect(hash).toBe(contentHash(content));
    expect(sums?.blockSize).toBe(LEAF_BYTES);
    const leaves = Buffer.from(sums?.leaves ?? []);
    expect(hashOfLeaves(size, leaves)).toBe(hash);
    const blocks = Math.ceil(size / LEAF_BYTES);
    expect(sums?.weak.length).toBe(blocks);
    for (const i of [0, 1, 123, blocks - 1]) {
      const end = Math.min(size, (i + 1) * LEAF_BYTES);
      expect(sums?.weak[i], `weak sum of block ${i}`).toBe(weakSum(content, i * LEAF_BYTES, end));
      expect(Buffer.from(sums?.strong.subarray(i * STRONG_BYTES, (i + 1) * STRONG_BYTES) ?? []).equals(leaves.subarray(i * LEAF_DIGEST_BYTES, i * LEAF_DIGEST_BYTES + STRONG_BYTES))).toBe(true);
    }
  });

  it('gives a smaller file its hash and the sums signatureOf makes, whatever the pieces it arrives in', () => {
    const content = patterned(3 * MiB + 5);
    const expected = signatureOf(content);
    expect(expected.blockSize).toBeLessThan(LEAF_BYTES);
    for (const piece of [MiB, 1000]) {
      const { hash, sums } = hashInPieces(content, piece);
      expect(hash).toBe(contentHash(content));
      expect(sums?.weak).toEqual(expected.weak);
      expect(Buffer.from(sums?.strong ?? []).equals(Buffer.from(expected.strong))).toBe(true);
    }
  });

  it('keeps no sums below STORED_SUMS_MIN_BYTES', () => {
    const content = seededBytes(200_000, 41);
    expect(hashInPieces(content, 65_536)).toEqual({ hash: contentHash(content), sums: undefined });
  });
});
