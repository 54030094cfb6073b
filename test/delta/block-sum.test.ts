/**
 * The weak sum through WebAssembly (block-sum.wat) against the JavaScript
 * word loop (Rollsum.update), which librsync's vectors pin (rollsum.test.ts):
 * any length, any offset in the buffer, bytes of 255 (the lanes' largest
 * products), and a block larger than the module's memory (it grows). And the
 * bytes the daemon runs are the compile of the .wat in the tree.
 */
import { describe, expect, it } from 'vitest';
import { blockSums, loadBlockSum } from '../../src/delta/block-sum.js';
import { BLOCK_SUM_WASM } from '../../src/delta/block-sum-wasm.js';
import { Rollsum, weakSum } from '../../src/delta/rollsum.js';
import { compileBlockSum } from '../../scripts/block-sum-compile.mjs';
import { seededBytes } from '../support/random.js';

/** The JavaScript sum, before the character offset, as blockSums gives it. */
function jsRaw(buf: Uint8Array, start: number, end: number): number {
  const r = new Rollsum();
  r.update(buf, start, end);
  const n = end - start;
  const tri = Number((BigInt(n) * BigInt(n + 1)) / 2n % 65536n);
  const s1 = (r.s1 - n * 31) & 0xffff;
  const s2 = (r.s2 - tri * 31) & 0xffff;
  return ((s2 << 16) | s1) >>> 0;
}

describe('blockSums (WebAssembly SIMD)', () => {
  it('gives the JavaScript loop\'s sums for every length from 0 to 300, from every start mod 16 in the caller\'s buffer', () => {
    const data = seededBytes(1024, 3);
    for (let offset = 0; offset < 16; offset++) {
      for (let n = 0; n <= 300; n++) expect((blockSums(data, offset, offset + n) as number) >>> 0, `offset ${offset}, ${n} bytes`).toBe(jsRaw(data, offset, offset + n));
    }
  });

  it('gives the same sums for blocks of 64 KiB, of bytes 255, and of 300 KiB (past its memory, which grows)', () => {
    for (const data of [seededBytes(64 * 1024, 11), new Uint8Array(64 * 1024).fill(255), seededBytes(300 * 1024 + 7, 5)]) {
      expect((blockSums(data, 0, data.length) as number) >>> 0).toBe(jsRaw(data, 0, data.length));
      expect((blockSums(data, 5, data.length - 3) as number) >>> 0).toBe(jsRaw(data, 5, data.length - 3));
    }
  });

  it('is what weakSum gives for a block, with the offset added', () => {
    const data = seededBytes(70_000, 9);
    // Lengths whose offsets are not 0 mod 2^16 in either half (65,536 would leave s1's at 0).
    for (const n of [257, 4_099, 65_000]) {
      const r = new Rollsum();
      r.update(data, 3, 3 + n);
      expect(weakSum(data, 3, 3 + n), `${n} bytes`).toBe(r.digest());
    }
  });

  it('refuses a module that cannot be made, or that answers the check sum wrong, so weakSum keeps to JavaScript', () => {
    expect(loadBlockSum(Buffer.from('not a module').toString('base64'))).toBeNull();
    // The same module with one weight changed: it compiles and runs, and its sums are wrong.
    const wrong = Buffer.from(BLOCK_SUM_WASM, 'base64');
    const weights = wrong.indexOf(Buffer.from([0x10, 0, 0x0f, 0, 0x0e, 0]));
    expect(weights).toBeGreaterThan(0);
    wrong[weights + 2] = 0x0e;
    expect(loadBlockSum(wrong.toString('base64'))).toBeNull();
    expect(loadBlockSum(BLOCK_SUM_WASM)).not.toBeNull();
  });

  it('runs the compile of block-sum.wat as it is in the tree (node scripts/build-block-sum.mjs after an edit)', async () => {
    expect(BLOCK_SUM_WASM).toBe(await compileBlockSum());
  });
});
