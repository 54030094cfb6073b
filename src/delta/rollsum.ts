/**
 * The rsync weak rolling checksum, exactly as librsync's `rollsum.h` ("rrs0":
 * M = 2^16, character offset 31), so its published test vectors pin ours.
 * Both halves stay small integers masked to 16 bits, which V8 keeps as SMIs.
 */

import { BLOCK_SUM_MIN_BYTES, blockSums } from './block-sum.js';

/** Added to every byte so runs of zeros still move the sum (librsync ROLLSUM_CHAR_OFFSET). */
export const CHAR_OFFSET = 31;

/**
 * Words summed lane-wise before s1 and s2 take them: a lane of running sums
 * reaches 16 x 17 / 2 x 255 = 34,680 over 16 words, so no lane carries into
 * the next (each has 16 bits).
 */
const RUN_WORDS = 16;

/** Whether a Uint32Array reads bytes b0..b3 as b0 + b1·2^8 + b2·2^16 + b3·2^24 (the word loop needs that order). */
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A rolling sum over a window of bytes: roll bytes in and out, or rotate one out and one in. */
export class Rollsum {
  count = 0;
  s1 = 0;
  s2 = 0;

  /** Adds `buf[start..end)` to the window (librsync RollsumUpdate). */
  update(buf: Uint8Array, start = 0, end = buf.length): void {
    let s1 = this.s1;
    let s2 = this.s2;
    let i = start;
    // Bytes up to a 4-byte boundary, then whole 32-bit words, then the rest.
    const wordStart = IS_LITTLE_ENDIAN ? Math.min(end, start + ((4 - ((buf.byteOffset + start) & 3)) & 3)) : end;
    for (; i < wordStart; i++) {
      s1 = (s1 + (buf[i] as number)) & 0xffff;
      s2 = (s2 + s1) & 0xffff;
    }
    const words = (end - i) >>> 2;
    if (words > 0) {
      // Most of the CPU of a big file's block sums is here. Each 32-bit word is split into two
      // words of two 16-bit lanes (bytes 0 and 2, bytes 1 and 3) and summed lane-wise, so a
      // word costs two masks, a shift and four adds; per RUN_WORDS words the lanes give s1 and s2:
      // with S_j the byte sum of word j, W_j = 4b0 + 3b1 + 2b2 + b3 and P_j the sum of S_0..S_j,
      // s2 grows by 4n·s1 + 4·Σ(P_j - S_j) + ΣW_j and s1 by ΣS_j over n words.
      const view = new Int32Array(buf.buffer, buf.byteOffset + i, words);
      for (let w = 0; w < words; ) {
        const stop = Math.min(words, w + RUN_WORDS);
        const n = stop - w;
        let lo = 0; // lanes: sums of byte 0 and byte 2
        let hi = 0; // lanes: sums of byte 1 and byte 3
        let plo = 0; // lanes: the running sums of lo, summed
        let phi = 0;
        for (; w < stop; w++) {
          const x = view[w] as number;
          lo = (lo + (x & 0x00ff00ff)) | 0;
          hi = (hi + ((x >>> 8) & 0x00ff00ff)) | 0;
          plo = (plo + lo) | 0;
          phi = (phi + hi) | 0;
        }
        const b0 = lo & 0xffff;
        const b2 = lo >>> 16;
        const b1 = hi & 0xffff;
        const b3 = hi >>> 16;
        const sum = b0 + b1 + b2 + b3;
        const prefixes = (plo & 0xffff) + (plo >>> 16) + (phi & 0xffff) + (phi >>> 16);
        s2 = (s2 + 4 * n * s1 + 4 * (prefixes - sum) + 4 * b0 + 3 * b1 + 2 * b2 + b3) & 0xffff;
        s1 = (s1 + sum) & 0xffff;
      }
      i += words * 4;
    }
    for (; i < end; i++) {
      s1 = (s1 + (buf[i] as number)) & 0xffff;
      s2 = (s2 + s1) & 0xffff;
    }
    const n = end - start;
    this.s1 = s1WithOffset(s1, n);
    this.s2 = s2WithOffset(s2, n);
    this.count += n;
  }

  /** Appends one byte to the window. */
  rollIn(c: number): void {
    this.s1 = (this.s1 + c + CHAR_OFFSET) & 0xffff;
    this.s2 = (this.s2 + this.s1) & 0xffff;
    this.count++;
  }

  /** Drops the window's first byte, `c`. */
  rollOut(c: number): void {
    this.s1 = (this.s1 - (c + CHAR_OFFSET)) & 0xffff;
    this.s2 = (this.s2 - this.count * (c + CHAR_OFFSET)) & 0xffff;
    this.count--;
  }

  /** Slides the window one byte: `out` leaves at the front, `inb` enters at the back. */
  rotate(out: number, inb: number): void {
    this.s1 = (this.s1 + inb - out) & 0xffff;
    this.s2 = (this.s2 + this.s1 - this.count * (out + CHAR_OFFSET)) & 0xffff;
  }

  /** The 32-bit weak sum: s2 in the high half, s1 in the low half. */
  digest(): number {
    return ((this.s2 << 16) | this.s1) >>> 0;
  }
}

/**
 * The character offset of `n` bytes, added once at the end as librsync does:
 * n*C to s1 and C*n(n+1)/2 to s2 (mod 2^16).
 */
function s1WithOffset(s1: number, n: number): number {
  return (s1 + n * CHAR_OFFSET) & 0xffff;
}

function s2WithOffset(s2: number, n: number): number {
  return (s2 + triangleMod16(n) * CHAR_OFFSET) & 0xffff;
}

/** n(n+1)/2 mod 2^16 without leaving exact integer range: halve the even factor first. */
function triangleMod16(n: number): number {
  const [a, b] = n % 2 === 0 ? [n / 2, n + 1] : [n, (n + 1) / 2];
  return ((a % 65536) * (b % 65536)) % 65536;
}

/** The weak sum of `buf[start..end)` in one call, without an object: through WebAssembly's SIMD for a block of some length (block-sum.ts). */
export function weakSum(buf: Uint8Array, start = 0, end = buf.length): number {
  const raw = end - start >= BLOCK_SUM_MIN_BYTES ? blockSums(buf, start, end) : undefined;
  if (raw !== undefined) {
    const n = end - start;
    return ((s2WithOffset(raw >>> 16, n) << 16) | s1WithOffset(raw & 0xffff, n)) >>> 0;
  }
  const r = new Rollsum();
  r.update(buf, start, end);
  return r.digest();
}
