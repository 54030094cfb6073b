/**
 * SignatureBuilder with the signature of an earlier version, and sliced
 * signatures: the same sums as hashing from scratch, with the weak sums of
 * unchanged blocks taken from the earlier version.
 */
import { describe, expect, it } from 'vitest';
import { LEAF_BYTES, LeafHasher } from '../../src/core/content-hash.js';
import { SignatureBuilder, signatureOf, sliceSignature, STRONG_BYTES, type Signature } from '../../src/delta/signature.js';
import { seededBytes } from '../support/random.js';

const BLOCK = 4096;

function build(data: Uint8Array, prior?: Signature): Signature {
  const b = new SignatureBuilder(data.length, BLOCK, undefined, prior);
  for (let at = 0; at < data.length; at += 10_000) b.push(data.subarray(at, at + 10_000));
  return b.finish();
}

describe('SignatureBuilder with a prior version', () => {
  const old = seededBytes(20 * BLOCK + 100, 1);

  // prior: the earlier version's bytes; next: the version hashed now.
  const cases: Array<{ name: string; prior: Uint8Array; next: Uint8Array }> = [
    { name: 'one block edited in place', prior: old, next: Uint8Array.from(old).fill(7, 5 * BLOCK + 10, 5 * BLOCK + 20) },
    { name: 'bytes inserted at the start (every block moved)', prior: old, next: Buffer.concat([seededBytes(100, 2), old]) },
    { name: 'the file grew by a block', prior: old, next: Buffer.concat([old, seededBytes(BLOCK, 3)]) },
    { name: 'the file shrank into its last block', prior: old, next: old.subarray(0, old.length - 50) },
  ];
  for (const c of cases) {
    it(`gives the sums of the new bytes: ${c.name}`, () => {
      const got = build(c.next, signatureOf(c.prior, BLOCK));
      const want = signatureOf(c.next, BLOCK);
      expect(Array.from(got.weak)).toEqual(Array.from(want.weak));
      expect(Buffer.from(got.strong).equals(Buffer.from(want.strong))).toBe(true);
    });
  }

  it('takes the weak sum of a block whose strong hash is unchanged from the prior, and computes the others', () => {
    const prior = signatureOf(old, BLOCK);
    // A marked weak sum shows where the prior was used: block 3 is unchanged, block 4 is not.
    const marked = { ...prior, weak: Uint32Array.from(prior.weak) };
    marked.weak[3] = 12345;
    marked.weak[4] = 67890;
    const next = Uint8Array.from(old).fill(9, 4 * BLOCK, 4 * BLOCK + 1);
    const got = build(next, marked);
    expect(got.weak[3]).toBe(12345);
    expect(got.weak[4]).toBe(signatureOf(next, BLOCK).weak[4]);
  });

  it('ignores a prior of another block size', () => {
    const prior = signatureOf(old, 2 * BLOCK);
    expect(Array.from(build(old, prior).weak)).toEqual(Array.from(signatureOf(old, BLOCK).weak));
  });
});

describe('sliceSignature', () => {
  const sig = signatureOf(seededBytes(10 * BLOCK + 7, 4), BLOCK);
  // first, count: the blocks asked for; blocks, fileSize: what the slice must hold.
  const cases = [
    { name: 'a middle run of full blocks', first: 2, count: 3, blocks: 3, fileSize: 3 * BLOCK },
    { name: 'a run ending on the short last block', first: 9, count: 5, blocks: 2, fileSize: BLOCK + 7 },
    { name: 'a run past the end is empty', first: 20, count: 2, blocks: 0, fileSize: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = sliceSignature(sig, c.first, c.count);
      expect(s.weak.length).toBe(c.blocks);
      expect(s.fileSize).toBe(c.fileSize);
      expect(Array.from(s.weak)).toEqual(Array.from(sig.weak.subarray(c.first, c.first + c.blocks)));
      expect(Buffer.from(s.strong).equals(Buffer.from(sig.strong.subarray(c.first * STRONG_BYTES, (c.first + c.blocks) * STRONG_BYTES)))).toBe(true);
      // Its own copy: cloning it to a worker does not drag the whole signature along.
      expect(s.weak.buffer.byteLength).toBe(c.blocks * 4);
    });
  }
});

describe('SignatureBuilder reusing known blocks', () => {
  it('takes the checked strong hashes of reused blocks but computes their weak sums itself', () => {
    const data = seededBytes(8 * BLOCK, 4);
    const real = signatureOf(data, BLOCK);
    // A peer's sums: right strong hashes (the locator checked those), made-up weak sums.
    const from = { ...real, weak: new Uint32Array(real.weak.length).fill(0xdeadbeef) };
    const b = new SignatureBuilder(data.length, BLOCK, { from, isSame: (i) => i % 2 === 0 });
    b.push(data);
    const got = b.finish();
    expect(Array.from(got.weak)).toEqual(Array.from(real.weak));
    expect(Buffer.from(got.strong).equals(Buffer.from(real.strong))).toBe(true);
  });
});

describe('SignatureBuilder for a file written beside its content hash', () => {
  it('takes the weak sums of reused blocks too when the caller checked them', () => {
    const data = seededBytes(8 * BLOCK, 5);
    const real = signatureOf(data, BLOCK);
    // Checked weak sums are taken as they are: a made-up one shows that it was not recomputed.
    const weak = Uint32Array.from(real.weak);
    weak[2] = 0xdeadbeef;
    const b = new SignatureBuilder(data.length, BLOCK, { from: { ...real, weak }, isSame: (i) => i === 2, weakChecked: true });
    b.push(data);
    const got = b.finish();
    expect(got.weak[2]).toBe(0xdeadbeef);
    expect(Array.from(got.weak).filter((_w, i) => i !== 2)).toEqual(Array.from(real.weak).filter((_w, i) => i !== 2));
  });

  it('with blocks of one leaf, takes every strong hash from the leaf digests given at finish, not from the reused sums', () => {
    const size = 5 * LEAF_BYTES + 123;
    const data = seededBytes(size, 6);
    const real = signatureOf(data, LEAF_BYTES);
    // A peer's sums whose strong hashes lie: with blocks of one leaf they are never taken.
    const from = { ...real, strong: new Uint8Array(real.strong.length).fill(7) };
    const b = new SignatureBuilder(size, LEAF_BYTES, { from, isSame: () => true, weakChecked: true }, undefined, undefined, true);
    b.push(data);
    const leaves = new LeafHasher();
    leaves.push(data);
    const got = b.finish(leaves.finish());
    expect(Array.from(got.weak)).toEqual(Array.from(real.weak));
    expect(Buffer.from(got.strong).equals(Buffer.from(real.strong))).toBe(true);
    expect(() => new SignatureBuilder(size, LEAF_BYTES, undefined, undefined, undefined, true).finish()).toThrow();
  });
});
