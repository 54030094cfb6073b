import { describe, expect, it } from 'vitest';
import { Deltifier, deltifyBytes, type DeltaOp } from '../../src/delta/deltify.js';
import { BlockLocator, planFill, remoteBytes } from '../../src/delta/locate.js';
import { BlockMatcher } from '../../src/delta/matcher.js';
import { patch, patchBytes } from '../../src/delta/patch.js';
import { blockSizeFor, checkSignature, isDeltaSized, signatureOf, SignatureBuilder, STRONG_BYTES, type Signature } from '../../src/delta/signature.js';
import { seededBytes, seededRandom } from '../support/random.js';

/** How a test case derives its target from its basis. */
interface Mutation {
  readonly description: string;
  readonly basisBytes: number;
  /** Builds the target from the basis and a seeded generator. */
  readonly mutate: (basis: Buffer, next: () => number) => Buffer;
  /** Most literal bytes the delta may carry (undefined: no bound asserted). */
  readonly maxLiteralBytes?: number;
}

const KiB = 1024;

const cases: Mutation[] = [
  { description: 'identical file', basisBytes: 200 * KiB, mutate: (b) => Buffer.from(b), maxLiteralBytes: 0 },
  { description: 'empty basis and empty target', basisBytes: 0, mutate: () => Buffer.alloc(0), maxLiteralBytes: 0 },
  { description: 'empty basis, new content', basisBytes: 0, mutate: (_b, next) => seededBytes(10 * KiB, next()) },
  { description: 'target emptied (truncated to zero)', basisBytes: 50 * KiB, mutate: () => Buffer.alloc(0), maxLiteralBytes: 0 },
  { description: 'files smaller than one block', basisBytes: 700, mutate: (b) => Buffer.concat([b.subarray(0, 300), Buffer.from('x'), b.subarray(300)]) },
  {
    description: 'in-place edit of 4 KiB in the middle',
    basisBytes: 1024 * KiB,
    mutate: (b, next) => {
      const t = Buffer.from(b);
      seededBytes(4 * KiB, next()).copy(t, 512 * KiB);
      return t;
    },
    maxLiteralBytes: 2 * blockSizeFor(1024 * KiB) + 4 * KiB,
  },
  {
    description: '100 bytes inserted at offset 0 (everything shifts)',
    basisBytes: 1024 * KiB,
    mutate: (b, next) => Buffer.concat([seededBytes(100, next()), b]),
    maxLiteralBytes: blockSizeFor(1024 * KiB) + 100,
  },
  {
    description: 'insertion and deletion in the middle',
    basisBytes: 600 * KiB,
    mutate: (b, next) => Buffer.concat([b.subarray(0, 100 * KiB), seededBytes(333, next()), b.subarray(100 * KiB, 300 * KiB), b.subarray(310 * KiB)]),
    maxLiteralBytes: 3 * blockSizeFor(600 * KiB),
  },
  { description: 'append', basisBytes: 300 * KiB, mutate: (b, next) => Buffer.concat([b, seededBytes(5000, next())]), maxLiteralBytes: 5000 + blockSizeFor(300 * KiB) },
  { description: 'truncation to a non-block boundary', basisBytes: 300 * KiB, mutate: (b) => b.subarray(0, 123_457), maxLiteralBytes: blockSizeFor(300 * KiB) },
  {
    description: 'random scattered byte flips',
    basisBytes: 400 * KiB,
    mutate: (b, next) => {
      const t = Buffer.from(b);
      for (let i = 0; i < 20; i++) {
        const at = next() % t.length;
        t[at] = (t[at] as number) ^ 0xff;
      }
      return t;
    },
  },
  { description: 'a file of zeros (every block equal)', basisBytes: 256 * KiB, mutate: (b) => Buffer.concat([b, Buffer.alloc(1000)]) },
];

function literalBytes(ops: readonly DeltaOp[]): number {
  return ops.reduce((n, op) => (op.kind === 'literal' ? n + op.data.length : n), 0);
}

describe('deltify + patch', () => {
  for (const [i, c] of cases.entries()) {
    it(`rebuilds the target: ${c.description}`, () => {
      const next = seededRandom(1000 + i);
      const basis = c.description.startsWith('a file of zeros') ? Buffer.alloc(c.basisBytes) : seededBytes(c.basisBytes, next());
      const target = c.mutate(basis, next);
      const sig = signatureOf(basis);
      const ops = deltifyBytes(target, sig);
      expect(Buffer.from(patchBytes(basis, sig.blockSize, ops)).equals(target)).toBe(true);
      if (c.maxLiteralBytes !== undefined) expect(literalBytes(ops)).toBeLessThanOrEqual(c.maxLiteralBytes);
      for (const op of ops) if (op.kind === 'literal') expect(op.data.length).toBeLessThanOrEqual(64 * KiB);
      for (let j = 1; j < ops.length; j++) {
        const [a, b] = [ops[j - 1], ops[j]];
        // Adjacent copies of consecutive blocks are always merged.
        if (a?.kind === 'copy' && b?.kind === 'copy') expect(a.block + a.count).not.toBe(b.block);
      }
    });
  }

  it('merges an unchanged file into a single copy op', () => {
    const basis = seededBytes(300 * KiB, 3);
    expect(deltifyBytes(basis, signatureOf(basis))).toEqual([{ kind: 'copy', block: 0, count: Math.ceil(basis.length / blockSizeFor(basis.length)) }]);
  });

  it('gives the same ops whether the target arrives whole or in odd-sized chunks', () => {
    const basis = seededBytes(500 * KiB, 4);
    const target = Buffer.concat([basis.subarray(0, 77_777), seededBytes(999, 5), basis.subarray(80_000)]);
    const sig = signatureOf(basis);
    const chunked: DeltaOp[] = [];
    const d = new Deltifier(sig, (op) => chunked.push(op));
    for (let at = 0; at < target.length; at += 4099) d.push(target.subarray(at, at + 4099));
    d.finish();
    expect(Buffer.from(patchBytes(basis, sig.blockSize, chunked)).equals(target)).toBe(true);
    expect(literalBytes(chunked)).toBe(literalBytes(deltifyBytes(target, sig)));
  });

  it('propagates an exception thrown by the emitter (no dropped write errors)', () => {
    const basis = seededBytes(100 * KiB, 6);
    const d = new Deltifier(signatureOf(basis), () => {
      throw new Error('disk full');
    });
    expect(() => {
      d.push(seededBytes(200 * KiB, 7));
      d.finish();
    }).toThrow('disk full');
  });

  it('F7: stays fast against a signature of thousands of blocks with equal weak sums', () => {
    // A peer can claim any weak sums: 4,096 distinct blocks all announced with one sum.
    const basis = seededBytes(4096 * KiB, 8);
    const sig = signatureOf(basis, 1024);
    const hostile = { ...sig, weak: new Uint32Array(sig.weak.length).fill(sig.weak[0] as number) };
    const started = performance.now();
    const ops = deltifyBytes(seededBytes(2048 * KiB, 9), hostile);
    expect(literalBytes(ops)).toBe(2048 * KiB);
    // Linear: one map probe per weak hit. A list scan would be 4,096 compares per byte (minutes).
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

describe('F7: patch (streaming) and hostile ops', () => {
  it('streams the same bytes as patchBytes through an async reader and writer', async () => {
    const basis = seededBytes(300 * KiB, 17);
    const target = Buffer.concat([basis.subarray(1000), seededBytes(3000, 18)]);
    const sig = signatureOf(basis);
    const ops = deltifyBytes(target, sig);
    const out: Buffer[] = [];
    await patch(
      ops,
      { blockSize: sig.blockSize, size: basis.length, read: (offset, length) => Promise.resolve(basis.subarray(offset, offset + length)) },
      (chunk) => {
        out.push(Buffer.from(chunk));
        return Promise.resolve();
      },
    );
    expect(Buffer.concat(out).equals(target)).toBe(true);
  });

  const hostile: Array<{ description: string; op: DeltaOp }> = [
    { description: 'a copy past the last block', op: { kind: 'copy', block: 3, count: 1 } },
    { description: 'a copy running off the end', op: { kind: 'copy', block: 1, count: 3 } },
    { description: 'a negative block', op: { kind: 'copy', block: -1, count: 1 } },
    { description: 'an empty copy', op: { kind: 'copy', block: 0, count: 0 } },
    { description: 'a fractional block', op: { kind: 'copy', block: 0.5, count: 1 } },
  ];
  for (const c of hostile) {
    it(`refuses ${c.description}`, () => {
      expect(() => patchBytes(seededBytes(3 * 1024, 19), 1024, [c.op])).toThrow(/delta copies/);
    });
  }

  it('passes a write failure up unchanged', async () => {
    const basis = seededBytes(10 * KiB, 20);
    const sig = signatureOf(basis);
    const failing = patch(deltifyBytes(basis, sig), { blockSize: sig.blockSize, size: basis.length, read: () => Promise.resolve(basis) }, () =>
      Promise.reject(new Error('disk full')),
    );
    await expect(failing).rejects.toThrow('disk full');
  });
});

describe('SignatureBuilder', () => {
  it('builds the same signature from any chunking', () => {
    const data = seededBytes(333_333, 10);
    const whole = signatureOf(data);
    const b = new SignatureBuilder(data.length);
    for (let at = 0; at < data.length; at += 5000) b.push(data.subarray(at, at + 5000));
    const chunked = b.finish();
    expect(chunked.weak).toEqual(whole.weak);
    expect(Buffer.from(chunked.strong).equals(Buffer.from(whole.strong))).toBe(true);
  });

  it('refuses more or fewer bytes than announced', () => {
    expect(() => new SignatureBuilder(10).push(new Uint8Array(11))).toThrow(/grew/);
    const short = new SignatureBuilder(10);
    short.push(new Uint8Array(9));
    expect(() => short.finish()).toThrow(/9 bytes/);
  });

  it.each([
    { size: 16 * KiB - 1, expected: false },
    { size: 16 * KiB, expected: true },
    { size: 256 * 1024 * 1024 * KiB, expected: true },
    { size: 256 * 1024 * 1024 * KiB + 1, expected: false },
  ])('uses deltas for a file of $size bytes: $expected', ({ size, expected }) => {
    expect(isDeltaSized(size)).toBe(expected);
  });

  it.each([
    { length: 0, blockSize: 1024 },
    { length: 100 * 1024, blockSize: 2048 },
    { length: 16 * 1024 * 1024 - 1, blockSize: 20 * 1024 },
    // From 16 MiB a block is one leaf of the content hash (protocol 7; 39 KiB for 64 MiB before).
    { length: 16 * 1024 * 1024, blockSize: 64 * 1024 },
    { length: 64 * 1024 * 1024, blockSize: 64 * 1024 },
    { length: 512 * 1024 * 1024, blockSize: 64 * 1024 },
  ])('picks block size $blockSize for a file of $length bytes', ({ length, blockSize }) => {
    expect(blockSizeFor(length)).toBe(blockSize);
  });
});

describe('BlockLocator + planFill (receiver rolls over its old file)', () => {
  it('finds the unchanged blocks of a shifted, edited file and fetches only the rest', () => {
    const basis = seededBytes(2048 * KiB, 11);
    const target = Buffer.concat([seededBytes(100, 12), basis.subarray(0, 1000 * KiB), seededBytes(4 * KiB, 13), basis.subarray(1004 * KiB)]);
    const sig = signatureOf(target);
    const locator = new BlockLocator(sig);
    for (let at = 0; at < basis.length; at += 65_536) locator.push(basis.subarray(at, at + 65_536));
    const plan = planFill(sig, locator.finish(), 1024 * KiB);
    const rebuilt = Buffer.alloc(target.length);
    for (const op of plan) {
      if (op.kind === 'local') basis.copy(rebuilt, op.at, op.from, op.from + op.length);
      else target.copy(rebuilt, op.at, op.at, op.at + op.length);
    }
    expect(rebuilt.equals(target)).toBe(true);
    expect(remoteBytes(plan)).toBeLessThanOrEqual(4 * sig.blockSize);
  });

  it('reports a run of consecutive blocks whose next block repeats an earlier one as copies of the first of the equals', () => {
    // Blocks A B A C: after B matches, the block expected next (2) has the bytes of block 0.
    const block = 1024;
    const [a, b, c] = [seededBytes(block, 21), seededBytes(block, 22), seededBytes(block, 23)];
    const target = Buffer.concat([a, b, a, c]);
    const sig = signatureOf(target, block);
    const copies: Array<[number, number]> = [];
    const matcher = new BlockMatcher(sig, { copy: (i, at) => copies.push([i, at]), literal: () => undefined });
    matcher.push(Buffer.concat([seededBytes(10, 24), target]));
    matcher.finish();
    expect(copies).toEqual([
      [0, 10],
      [1, 10 + block],
      [0, 10 + 2 * block],
      [3, 10 + 3 * block],
    ]);
    // And the locator gives both equal blocks a source.
    const locator = new BlockLocator(sig);
    locator.push(target);
    expect(Array.from(locator.finish())).toEqual([0, block, 0, 3 * block]);
  });

  it('fetches everything when the basis shares nothing, in fetches no larger than asked', () => {
    const target = seededBytes(300 * KiB, 14);
    const sig = signatureOf(target);
    const locator = new BlockLocator(sig);
    locator.push(seededBytes(300 * KiB, 15));
    const plan = planFill(sig, locator.finish(), 64 * KiB);
    expect(remoteBytes(plan)).toBe(target.length);
    for (const op of plan) expect(op.length).toBeLessThanOrEqual(64 * KiB);
  });
});

describe('BlockLocator with runsByWeak (blocks of one leaf: the download checks each block it copies)', () => {
  const BLOCK = 64 * KiB;
  const basis = seededBytes(12 * BLOCK, 31);
  basis[5 * BLOCK + 10] = 0;
  basis[5 * BLOCK + 10 + 4096] = 16;
  const target = Buffer.concat([seededBytes(100, 32), basis]);
  // Our file with two bytes swapped 4,096 apart, 16 apart in value: target block 5 keeps its weak sum, not its strong one.
  const ours = Buffer.from(basis);
  ours[5 * BLOCK + 10] = 16;
  ours[5 * BLOCK + 10 + 4096] = 0;
  const locate = (runsByWeak: boolean) => {
    const locator = new BlockLocator(signatureOf(target, BLOCK), runsByWeak);
    locator.push(ours);
    return Array.from(locator.finish());
  };

  it('takes a run after a match on weak sums alone, so a block with the right weak sum and other bytes is reported', () => {
    const found = locate(true);
    expect(found[0]).toBe(-1);
    for (let i = 1; i < found.length - 1; i++) expect(found[i], `block ${i}`).toBe(i * BLOCK - 100);
  });

  it('checks every block by its strong hash too without it: that block is not found', () => {
    const found = locate(false);
    expect(found[5]).toBe(-1);
    expect(found[4]).toBe(4 * BLOCK - 100);
    expect(found[6]).toBe(6 * BLOCK - 100);
  });

  it('starts a run only on a block whose strong hash matches, either way', () => {
    // Our file holds none of the target's blocks but the swapped one: nothing is reported.
    const locator = new BlockLocator(signatureOf(target, BLOCK), true);
    locator.push(Buffer.concat([seededBytes(5 * BLOCK - 100, 33), ours.subarray(5 * BLOCK - 100, 6 * BLOCK - 100), seededBytes(3 * BLOCK, 34)]));
    expect(Array.from(locator.finish()).every((at) => at === -1)).toBe(true);
  });
});

describe('F6: checkSignature (a signature from a peer is refused before use)', () => {
  const good = signatureOf(seededBytes(10 * KiB, 16), 1024);
  const cases: Array<{ description: string; sig: Signature; expectedSize?: number; error: RegExp }> = [
    { description: 'block size below 1 KiB', sig: { ...good, blockSize: 512 }, error: /block size 512/ },
    { description: 'block size above 64 KiB', sig: { ...good, blockSize: 128 * KiB }, error: /block size/ },
    { description: 'fractional block size', sig: { ...good, blockSize: 1024.5 }, error: /block size/ },
    { description: 'negative file size', sig: { ...good, fileSize: -1 }, error: /file size/ },
    { description: 'file size not the indexed one', sig: good, expectedSize: 10 * KiB + 1, error: /indexed/ },
    { description: 'a weak sum missing', sig: { ...good, weak: good.weak.subarray(1) }, error: /weak sums/ },
    { description: 'strong hashes for one block too many', sig: { ...good, strong: new Uint8Array(good.strong.length + STRONG_BYTES) }, error: /strong/ },
    { description: 'last block size inconsistent (file size one block longer than the sums)', sig: { ...good, fileSize: 11 * KiB + 1 }, error: /weak sums/ },
    { description: 'more blocks than the ceiling', sig: { ...good, fileSize: 2 ** 40 }, error: /more than/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.description}`, () => {
      expect(() => checkSignature(c.sig, c.expectedSize)).toThrow(c.error);
      // The matcher checks on its own too, so no caller can skip it.
      if (c.expectedSize === undefined) expect(() => new BlockLocator(c.sig)).toThrow(c.error);
    });
  }

  it('accepts a consistent signature', () => {
    expect(() => checkSignature(good, 10 * KiB)).not.toThrow();
  });
});
